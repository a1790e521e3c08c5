"""Augmented-covariance classifiers on real motor-imagery EEG (PhysioNet EEGMMIDB S001).

Tasks: imagined left vs right fist and imagined both fists vs both feet,
17 motor channels, 8-35 Hz, 0-3 s after the cue (45 trials each;
:func:`densest.datasets.load_eegbci`). Protocol: repeated stratified 5-fold CV
(the paper's outer loop; scikit-learn's RepeatedStratifiedKFold with
random_state=42, the splits of the reference numbers in ../shared/notes/eeg.md),
accuracy and ROC-AUC on each outer test fold, mean over folds and repeats
(+- the SD of the per-repeat means). With 45 trials the split seed alone moves
a 10-repeat mean by up to 5 points (TS+SVM: 0.77-0.82 over seeds), so compare
rows of one run.

Pipelines:
- ACM nested: ACMSearchCV, order {1, 2, 4, 6, 8} x lag {1, 2, 4} x SVM kernel
  {linear, rbf} (30 configurations), inner 3-fold, ROC-AUC inner score;
- ACM nested + prior: the same grid pruned by the AMI lag and Cao order of each
  outer training set;
- ACM auto: order and lag from AMI / Cao on each outer training set, TS + SVM;
- ACM(4, 1): fixed order 4, lag 1, TS + SVM;
- baselines on the spatial covariance (pyRiemann, OAS): TS + SVM (linear),
  MDM, FgMDM, CSP(6) + LDA.

Also times: one ACM+TS+SVM fit at orders 4 and 8 (densest's pipeline, and
the same with pyRiemann's Riemannian mean after whitening), the AMI + Cao
choice, the whole nested CV against a plain GridSearchCV of the same 30
configurations over pyRiemann's pipeline (BLAS on one thread for both), and
densest's riemann_mean against pyRiemann's mean_riemann on the augmented
covariances of 36 trials.

Usage: python benchmarks/eeg_acm.py [--path ../shared/data/physionet_eegmmidb] [--repeats 10]
       [--nested-repeats 2] [--skip-naive]
"""

import argparse
import os
import platform
import time
import warnings

import numpy as np
from pyriemann.classification import MDM, FgMDM
from pyriemann.geometry.distance import distance_riemann
from pyriemann.geometry.mean import mean_riemann
from pyriemann.preprocessing import Whitening
from pyriemann.estimation import Covariances
from pyriemann.spatialfilters import CSP
from pyriemann.tangentspace import TangentSpace
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from densest.datasets import load_eegbci
from densest.eeg import (
    ACMSearchCV,
    AugmentedCovariances,
    embedding,
    make_acm_pipeline,
    nested_cross_validate,
    riemann_mean,
)

ORDERS, LAGS = (1, 2, 4, 6, 8), (1, 2, 4)
KERNELS = {"svc__kernel": ["linear", "rbf"]}


def baselines():
    return {
        "TS+SVM (oas)": make_pipeline(Covariances("oas"), TangentSpace(), SVC(kernel="linear")),
        "MDM (oas)": make_pipeline(Covariances("oas"), MDM()),
        "FgMDM (oas)": make_pipeline(Covariances("oas"), FgMDM()),
        "CSP(6)+LDA": make_pipeline(Covariances("oas"), CSP(nfilter=6), LinearDiscriminantAnalysis()),
    }


def acm_pipelines():
    return {
        "ACM nested (30 configs)": (ACMSearchCV(param_grid=KERNELS, n_jobs=2), "nested"),
        "ACM nested + AMI/Cao prior": (ACMSearchCV(param_grid=KERNELS, prior=True, n_jobs=2), "nested"),
        "ACM auto (AMI lag, Cao order)": (make_acm_pipeline(order="auto", lag="auto"), "nested"),
        "ACM(4, 1) + TS + SVM": (make_acm_pipeline(order=4, lag=1), "fixed"),
    }


def evaluate(model, X, y, repeats):
    """Mean accuracy, its SD over repeats, mean AUC, mean fit s per outer fold, total s, choices."""
    res = nested_cross_validate(model, X, y, n_splits=5, n_repeats=repeats, random_state=42)
    per_repeat = res["test_accuracy"].reshape(repeats, 5).mean(axis=1)
    return (per_repeat.mean(), per_repeat.std(), res["test_roc_auc"].mean(), res["fit_time"].mean(),
            res["total_time"], res.get("best_params"))  # fmt: skip


def timings(X, y):
    """One fit at orders 4 and 8: densest's pipeline, and the same with pyRiemann's mean (whitened)."""
    rows = []
    with threadpool_limits(1, "blas"):
        for order in (4, 8):
            ours = make_acm_pipeline(order=order, lag=1)
            theirs = make_acm_pipeline(order=order, lag=1, whiten=True).set_params(ts__metric="riemann")
            for label, model in (("", ours), (", pyRiemann's mean after whitening", theirs)):
                best = min(_timed(lambda: model.fit(X[:36], y[:36])) for _ in range(5))
                rows.append((f"one ACM+TS+SVM fit, order {order} (36 trials){label}", best))
        train = X[:36]
        rows.append(("AMI lag + Cao order (36 trials x 17 channels)",
                     _timed(lambda: embedding.select_order(train, embedding.select_lag(train), 10, n_jobs=-1))))  # fmt: skip
    return rows


def mean_table(X):
    """riemann_mean against pyRiemann's mean_riemann on the ACMs of 36 trials, raw and whitened."""
    print("\n| order (dim) | matrices | pyRiemann s | densest s | ratio | distance between the means |")
    print("|---|---|---|---|---|---|")
    with threadpool_limits(1, "blas"):
        for order in (2, 4, 6, 8):
            covs = AugmentedCovariances(order=order, lag=1).fit_transform(X[:36])
            for label, mats in (("raw", covs), ("whitened", Whitening(metric="logeuclid").fit_transform(covs))):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    theirs = min(_timed(lambda: mean_riemann(mats)) for _ in range(3))
                    reference = mean_riemann(mats)
                flag = " (pyRiemann: not converged)" if caught else ""
                ours = min(_timed(lambda: riemann_mean(mats)) for _ in range(3))
                distance = distance_riemann(riemann_mean(mats), reference)
                print(f"| {order} ({order * X.shape[1]}) | {label}{flag} | {theirs:.3f} | {ours:.3f} | "
                      f"{theirs / ours:.1f}x | {distance:.1e} |", flush=True)  # fmt: skip


def _timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def naive_nested(X, y):
    """The same nested CV with a plain GridSearchCV over pyRiemann's pipeline (no reuse); BLAS on one thread."""
    grid = {"acm__order": list(ORDERS), "acm__lag": list(LAGS), **KERNELS}
    plain = make_acm_pipeline(whiten=False).set_params(ts__metric="riemann")  # pyRiemann's own mean
    search = GridSearchCV(plain, grid, cv=StratifiedKFold(3), scoring="roc_auc")
    return nested_cross_validate(search, X, y, n_splits=5, random_state=42)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="../shared/data/physionet_eegmmidb")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--nested-repeats", type=int, default=2)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # pyRiemann's convergence warnings of the unwhitened naive grid
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          "BLAS capped at 1 thread in every fit; ACMSearchCV scores cells on 2 threads")  # fmt: skip
    for task in ("imagery_lr", "imagery_hf"):
        X, y, info = load_eegbci(1, task, args.path)
        print(f"\n### S001 {task}: {info['classes'][0]} vs {info['classes'][1]}, X {X.shape}, "
              f"classes {np.bincount(y).tolist()}\n")  # fmt: skip
        print("| pipeline | repeats x 5 folds | accuracy | ROC-AUC | fit s per outer fold | total s |")
        print("|---|---|---|---|---|---|")
        models = {name: (model, "fixed") for name, model in baselines().items()} | acm_pipelines()
        for name, (model, kind) in models.items():
            repeats = args.nested_repeats if kind == "nested" else args.repeats
            acc, sd, auc, fit, total, best = evaluate(model, X, y, repeats)
            print(f"| {name} | {repeats} | {acc:.3f} +- {sd:.3f} | {auc:.3f} | {fit:.2f} | {total:.1f} |", flush=True)
            if best is not None:
                print(f"|   (order, lag, kernel) chosen, first repeat | | "
                      f"{[tuple(b.values()) for b in best[:5]]} | | | |")  # fmt: skip
        if task == "imagery_lr":
            print("\n| timing | seconds |\n|---|---|")
            for label, seconds in timings(X, y):
                print(f"| {label} | {seconds:.3f} |", flush=True)
            if not args.skip_naive:
                res = naive_nested(X, y)
                print(f"| whole nested CV, plain GridSearchCV of pyRiemann's pipeline (30 configs, no reuse, "
                      f"no whitening) | {res['total_time']:.1f} |")  # fmt: skip
            mean_table(X)


if __name__ == "__main__":
    main()
