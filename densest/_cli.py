"""The ``densest`` command: ``densest info`` and ``densest demo``."""

import argparse
import importlib
import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from pathlib import Path

from densest import __version__
from densest._families import FAMILIES
from densest.utils.discovery import missing_requirements

_PACKAGES = (
    "numpy", "scipy", "scikit-learn", "numba", "llvmlite", "joblib", "threadpoolctl",
    "statsmodels", "pyriemann", "mne", "torch", "zuko", "dask", "distributed", "matplotlib", "tqdm",
)  # fmt: skip


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _numba_threading():
    import numba
    import numpy as np

    from densest.utils._parallel import jit_cached

    @jit_cached(parallel=True)
    def _touch(x):
        total = 0.0
        for i in numba.prange(x.shape[0]):
            total += x[i]
        return total

    _touch(np.ones(4))
    return numba.threading_layer(), numba.get_num_threads(), numba.config.NUMBA_NUM_THREADS


def _torch_device():
    if importlib.util.find_spec("torch") is None:
        return "not installed"
    import torch

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu (no CUDA device)"


def _blas_summary():
    from threadpoolctl import threadpool_info

    rows = []
    for info in threadpool_info():
        rows.append(
            f"{info.get('internal_api')} {info.get('version')} "
            f"({info.get('user_api')}, {info.get('num_threads')} threads)"
        )
    return rows


def info(args):
    """Print versions, threading and which families and extras are present."""
    print(f"densest {__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    print(f"cpus: {os.cpu_count()}")
    print("\npackages:")
    for name in _PACKAGES:
        print(f"  {name:<14} {_version(name) or '-'}")
    layer, threads, max_threads = _numba_threading()
    print(f"\nnumba threading layer: {layer}; threads: {threads} (NUMBA_NUM_THREADS={max_threads})")
    print(f"torch device: {_torch_device()}")
    print(f"OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    for row in _blas_summary():
        print(f"threadpool: {row}")
    print("\nfamilies:")
    for family in FAMILIES:
        print(f"  {family.name:<6} {_family_status(family)}")
    return 0


def _family_status(family):
    missing = missing_requirements(family)
    if missing:
        return f'missing {", ".join(missing)}: pip install "densest[{family.extra}]"'
    return "available"


def _print_table(columns, rows):
    cells = [[str(c) for c in columns]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for k, row in enumerate(cells):
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths)))
        if k == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def demo(args):
    """Run every available family end to end on bundled or synthetic data."""
    out = Path(args.out)
    plot = importlib.util.find_spec("matplotlib") is not None and not args.no_plots
    if plot:
        out.mkdir(parents=True, exist_ok=True)
    selected = args.family or [f.name for f in FAMILIES]
    start = time.perf_counter()
    if args.quick:
        print("quick mode: smaller data and shorter training, so the numbers below are not the demo's")
    for family in FAMILIES:
        if family.name not in selected:
            continue
        print(f"\n== {family.name}: {family.title}")
        print(f"   {family.paper}")
        status = _family_status(family)
        if status != "available":
            print(f"   {status}")
            continue
        module = importlib.import_module(f"densest.{family.name}._demo")
        t0 = time.perf_counter()
        result = module.run_demo(out if plot else None, random_state=args.seed, quick=args.quick)
        for title, columns, rows in result["tables"]:
            print(f"\n   {title}")
            _print_table(columns, rows)
        for path in result.get("figures", []):
            print(f"   figure: {path}")
        print(f"   ({time.perf_counter() - t0:.1f} s)")
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s")
    if plot:
        print(f"figures written to {out.resolve()}")
    return 0


def build_parser():
    """Build the argument parser of the ``densest`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser with the ``info`` and ``demo`` subcommands.

    Examples
    --------
    >>> build_parser().parse_args(["demo", "--family", "kde"]).family
    ['kde']
    """
    parser = argparse.ArgumentParser(
        prog="densest", description="Exact, fast density estimation with a scikit-learn API."
    )
    parser.add_argument("--version", action="version", version=f"densest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_info = sub.add_parser(
        "info", help="print versions, threading, devices and available families",
        description="Print versions, the numba threading layer and thread count, the torch "
        "device, BLAS libraries and which families and extras are available.",
    )  # fmt: skip
    p_info.set_defaults(func=info)
    p_demo = sub.add_parser(
        "demo", help="run every available family end to end",
        description="Run every available family end to end on bundled or synthetic data "
        "and print a short results table per family; with matplotlib installed, "
        "write figures to --out.",
    )  # fmt: skip
    p_demo.add_argument("--out", default="densest-demo", help="folder for figures (default: %(default)s)")
    p_demo.add_argument(
        "--family", action="append", choices=[f.name for f in FAMILIES],
        help="run only this family (repeatable)",
    )  # fmt: skip
    p_demo.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p_demo.add_argument("--no-plots", action="store_true", help="do not write figures")
    p_demo.add_argument(
        "--quick", action="store_true",
        help="smaller data and shorter training: a fast check that every section runs; "
        "its numbers are not the demo's",
    )  # fmt: skip
    p_demo.set_defaults(func=demo)
    return parser


def main(argv=None):
    """Entry point of the ``densest`` console script.

    Parameters
    ----------
    argv : list of str, optional
        Arguments; ``sys.argv[1:]`` when None.

    Returns
    -------
    status : int
        Process exit status.
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.func(args)
