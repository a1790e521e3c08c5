"""The package shell: lazy imports, extras, thread control, the command line."""

import subprocess
import sys

import numba
import pytest

import densest
from densest._cli import build_parser, main
from densest.utils import MissingExtraError, import_optional, jit_cached, numba_threads


def test_import_does_not_pull_heavy_extras():
    code = (
        "import sys, densest, densest.utils, densest.datasets;"
        "heavy = {'torch', 'pyriemann', 'mne', 'dask', 'statsmodels', 'matplotlib'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_is_the_one_in_init():
    from importlib.metadata import version

    assert densest.__version__ == version("densest")


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute"):
        densest.not_a_family  # noqa: B018


def test_missing_extra_names_the_install_command():
    with pytest.raises(ImportError, match=r'pip install "densest\[deep\]"') as info:
        import_optional("densest_no_such_module", "deep")
    assert isinstance(info.value, MissingExtraError)


def test_numba_threads_restores_on_exception():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with numba_threads(1):
            assert numba.get_num_threads() == 1
            raise RuntimeError("boom")
    assert numba.get_num_threads() == before


def test_numba_threads_caps_at_available():
    with numba_threads(-1) as n:
        assert n == numba.config.NUMBA_NUM_THREADS
    with numba_threads(10_000) as n:
        assert n == numba.config.NUMBA_NUM_THREADS


def test_jit_cached_falls_back_without_a_cache(monkeypatch):
    calls = []
    real = numba.njit

    def fake_njit(*args, cache=False, **kwargs):
        calls.append(cache)
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", fake_njit)

    @jit_cached()
    def add_one(x):
        return x + 1

    assert add_one(1) == 2
    assert calls[:2] == [True, False]  # numba calls njit internally too


def test_cli_info_runs(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numba threading layer" in out and "families:" in out


def test_cli_help_on_every_subcommand():
    for argv in (["--help"], ["info", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(argv)
        assert info.value.code == 0


def test_python_dash_m_densest():
    out = subprocess.run([sys.executable, "-m", "densest", "--version"], capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert densest.__version__ in out.stdout


def test_demo_names_the_extra_of_a_family_whose_dependencies_are_missing(capsys, tmp_path, monkeypatch):
    from densest import _cli

    monkeypatch.setattr(_cli, "missing_requirements", lambda family: ["torch"] if family.name == "deep" else [])
    assert main(["demo", "--family", "deep", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert 'missing torch: pip install "densest[deep]"' in out


@pytest.mark.slow
def test_demo_runs_the_deep_family(capsys, tmp_path):
    pytest.importorskip("zuko")
    assert main(["demo", "--family", "deep", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "noise-free circle" in out and "plain MLE" in out and "Tweedie" in out
    assert (tmp_path / "deep_circle.png").exists()


@pytest.mark.slow
def test_demo_runs_the_kde_family(capsys, tmp_path):
    assert main(["demo", "--family", "kde", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "bandwidth rules" in out and "finite log p" in out
    assert (tmp_path / "kde_bandwidth_rules.png").exists()


@pytest.mark.slow
def test_demo_runs_the_ar_family(capsys, tmp_path):
    assert main(["demo", "--family", "ar", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "without a lag matrix" in out and "order by BIC" in out and "recursive forecasts" in out


@pytest.mark.slow
def test_demo_runs_the_eeg_family(capsys, tmp_path):
    pytest.importorskip("pyriemann")
    assert main(["demo", "--family", "eeg", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "imagined left vs right fist" in out and "ACMSearchCV" in out and "Cao E1(d)" in out


@pytest.mark.slow
def test_demo_runs_the_score_family(capsys, tmp_path):
    pytest.importorskip("torch")
    assert main(["demo", "--family", "score", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ScoreAutoEncoder(sigma=0.1)" in out and "energy" in out and "MH acceptance" in out


def test_cpu_description_reads_the_first_processor_of_cpuinfo(tmp_path):
    import platform

    from densest.utils._machine import describe_cpu

    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: AMD EPYC\ncpu family\t: 26\nmodel\t\t: 2\n"
                   "flags\t\t: fpu avx2 avx512f\n\nprocessor\t: 1\nmodel name\t: other\n")  # fmt: skip
    assert describe_cpu(x86) == "AMD EPYC (family 26, model 2), AVX-512"
    x86.write_text("model name\t: Xeon\ncpu family\t: 6\nmodel\t: 85\nflags\t: fpu avx2\n")
    assert describe_cpu(x86) == "Xeon (family 6, model 85), AVX2"
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd\n")
    assert describe_cpu(arm) == platform.machine()
    assert describe_cpu(tmp_path / "missing")  # platform's name instead
