"""The EEGMMIDB loader on the shared real files, and the bundled sample."""

from pathlib import Path

import numpy as np
import pytest

from densest.datasets import eegbci_files, load_eegbci, load_eegbci_sample

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "physionet_eegmmidb"
needs_shared = pytest.mark.skipif(not (SHARED / "S001").is_dir(), reason="no ../shared EEGMMIDB files here")


def test_bundled_sample():
    X, y, info = load_eegbci_sample()
    assert X.shape == (45, 17, 481) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [23, 22]
    assert info["sfreq"] == 160.0 and info["ch_names"][0] == "FC3" and len(info["ch_names"]) == 17
    assert np.isfinite(X).all() and 1e-6 < np.std(X) < 1e-4  # volts: microvolt-scale EEG


@needs_shared
def test_loader_reads_the_shared_files_and_matches_the_sample():
    pytest.importorskip("mne")
    X, y, info = load_eegbci(1, "imagery_lr", SHARED)
    sample, sample_y, _ = load_eegbci_sample()
    assert X.shape == (45, 17, 481) and X.dtype == np.float64
    np.testing.assert_array_equal(y, sample_y)
    np.testing.assert_allclose(X, sample, rtol=1e-6, atol=1e-6 * np.abs(X).max())
    assert info["classes"] == ("left fist", "right fist")


@needs_shared
def test_loader_tasks_channels_and_window():
    pytest.importorskip("mne")
    X, y, info = load_eegbci(1, "imagery_hf", SHARED, picks=None, tmax=2.0)
    assert X.shape == (45, 64, 321) and np.bincount(y).tolist() == [21, 24]
    assert info["classes"] == ("both fists", "both feet")
    X, _, info = load_eegbci(1, "execution_lr", SHARED, picks=["C3", "Cz", "C4"])
    assert X.shape[1] == 3 and info["ch_names"] == ["C3", "Cz", "C4"]
    with pytest.raises(ValueError, match="not in the recording"):
        load_eegbci(1, "imagery_lr", SHARED, picks=["C3", "XX"])


def test_missing_files_say_where_to_get_them(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"(?s)S002R06.edf.*mne.datasets.eegbci.load_data\(2"):
        eegbci_files(2, [6], tmp_path)
    monkeypatch.delenv("DENSEST_EEGBCI_PATH", raising=False)
    with pytest.raises(FileNotFoundError, match="DENSEST_EEGBCI_PATH"):
        load_eegbci(1)
    with pytest.raises(ValueError, match="task must be one of"):
        load_eegbci(1, "imagery", tmp_path)
    with pytest.raises(ValueError, match="subject"):
        eegbci_files(0, [4], tmp_path)


def test_mne_layout_is_found(tmp_path):
    target = tmp_path / "MNE-eegbci-data" / "files" / "eegmmidb" / "1.0.0" / "S003"
    target.mkdir(parents=True)
    (target / "S003R04.edf").write_bytes(b"")
    assert eegbci_files(3, [4], tmp_path) == [target / "S003R04.edf"]


@pytest.mark.parametrize("kwargs, match", [
    ({"picks": "nope"}, "picks must be"),  # read as the channels 'n', 'o', 'p', 'e'
    ({"fmin": 30.0, "fmax": 10.0}, "0 < fmin < fmax"),  # MNE filtered band-stop, silently
    ({"fmin": -1.0}, "0 < fmin < fmax"),
])  # fmt: skip
def test_bad_loader_arguments_are_named_before_reading(kwargs, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        load_eegbci(1, path=tmp_path, **kwargs)


@needs_shared
def test_cues_whose_window_passes_the_recording_are_dropped_with_a_warning():
    pytest.importorskip("mne")
    from densest.exceptions import DensestWarning

    with pytest.warns(DensestWarning, match="36 of 45 cues were dropped"):
        X, y, _ = load_eegbci(1, "imagery_lr", SHARED, tmax=100.0)
    assert len(X) == len(y) == 9
