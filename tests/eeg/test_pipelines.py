"""ACM pipelines, the reusing grid search against GridSearchCV, nested CV, MOABB entry."""

import pickle

import numpy as np
import pytest
from scipy.signal import lfilter

pytest.importorskip("pyriemann")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402

from densest.eeg import (  # noqa: E402
    ACMSearchCV,
    embedding,
    make_acm_pipeline,
    moabb_pipelines,
    nested_cross_validate,
)


def var_classes(n_per_class=15, n_channels=3, n_times=200, seed=0):
    """Two classes of VAR(1) epochs with equal zero-lag covariance, different dynamics.

    Class c: x_t = a_c x_(t-1) + e_t per channel with a_0 = 0.6, a_1 = -0.6
    (same stationary variance 1 / (1 - 0.36)), plus a shared mixing.
    """
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((n_channels, n_channels))
    y = np.repeat([0, 1], n_per_class)
    noise = rng.standard_normal((len(y), n_channels, n_times + 100))
    X = np.stack([lfilter([1.0], [1.0, -0.6 if c == 0 else 0.6], e, axis=-1) for c, e in zip(y, noise)])
    return np.einsum("ij,njt->nit", mixing, X[:, :, 100:]), y


def test_acm_separates_dynamics_that_the_spatial_covariance_cannot():
    X, y = var_classes()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    spatial = cross_val_score(make_acm_pipeline(order=1), X, y, cv=cv).mean()
    augmented = cross_val_score(make_acm_pipeline(order=2), X, y, cv=cv).mean()
    assert augmented >= 0.95
    assert spatial <= 0.75


@pytest.mark.parametrize("classifier", ["ts_svm", "ts_lr", "mdm", "fgmdm"])
def test_whitening_leaves_affine_invariant_classifiers_unchanged(classifier):
    X, y = var_classes(seed=1)
    plain = make_acm_pipeline(classifier, order=3, whiten=False).fit(X, y)
    whitened = make_acm_pipeline(classifier, order=3).fit(X, y)
    np.testing.assert_array_equal(plain.predict(X), whitened.predict(X))
    if hasattr(plain, "decision_function"):
        a, b = plain.decision_function(X), whitened.decision_function(X)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(a).max())


@pytest.mark.parametrize("whiten, scoring", [(False, "accuracy"), (True, "roc_auc")])
def test_search_equals_grid_search_cv_on_the_same_windows(whiten, scoring):
    # The search's tangent vectors come from the mean's last eigendecomposition, the pipeline's
    # from pyRiemann's log map at that mean: equal scores, with or without a whitening step before.
    X, y = var_classes(seed=2, n_per_class=10)
    orders, lags = [1, 2, 3], [1, 2]
    cv = StratifiedKFold(3, shuffle=True, random_state=1)
    kernels = {"svc__kernel": ["linear", "rbf"]}
    search = ACMSearchCV(orders=orders, lags=lags, param_grid=kernels, cv=cv, scoring=scoring, whiten=whiten)
    search.fit(X, y)
    grid = [{"acm__order": orders, "acm__lag": [lag], "acm__trim": [embedding.n_dropped(3, lag)], **kernels}
            for lag in lags]  # fmt: skip
    reference = GridSearchCV(make_acm_pipeline(whiten=whiten), grid, cv=cv, scoring=scoring).fit(X, y)
    ours = {(p["order"], p["lag"], p["svc__kernel"]): s
            for p, s in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"])}  # fmt: skip
    theirs = {(p["acm__order"], p["acm__lag"], p["svc__kernel"]): s
              for p, s in zip(reference.cv_results_["params"], reference.cv_results_["mean_test_score"])}  # fmt: skip
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-12), key
    assert search.best_score_ == pytest.approx(reference.best_score_)
    np.testing.assert_array_equal(search.predict(X), search.best_estimator_.predict(X))


def test_search_with_shrinkage_estimator_and_mdm():
    X, y = var_classes(seed=3, n_per_class=8)
    search = ACMSearchCV("mdm", orders=[1, 2], lags=[1, 3], estimator="oas").fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["order"] == 2
    assert search.score(X, y) >= 0.9
    assert set(search.predict_proba(X).shape) == {16, 2}


def test_search_prior_prunes_the_grid_on_training_data():
    X, y = var_classes(seed=4, n_per_class=8)
    search = ACMSearchCV(orders=[1, 2, 20], lags=[1, 40], prior=True).fit(X, y)
    expected = embedding.prune_grid(X, [1, 2, 20], [1, 40])
    assert (search.orders_, search.lags_) == expected
    assert len(search.cv_results_["params"]) == len(expected[0]) * len(expected[1])


def test_search_and_pipeline_clone_pickle_and_grid_search():
    X, y = var_classes(seed=5, n_per_class=8)
    for model in (ACMSearchCV(orders=[1, 2], lags=[1]), make_acm_pipeline(order=2)):
        fitted = clone(model).fit(X, y)
        again = pickle.loads(pickle.dumps(fitted))
        np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    outer = GridSearchCV(make_acm_pipeline(), {"acm__order": [1, 2], "svc__C": [0.5, 2.0]}, cv=3).fit(X, y)
    assert outer.best_params_["acm__order"] == 2


def test_search_errors():
    X, y = var_classes(n_per_class=4)
    with pytest.raises(ValueError, match="single class"):
        ACMSearchCV(orders=[1], lags=[1]).fit(X, np.zeros(len(y)))
    with pytest.raises(ValueError, match="one label per trial"):
        ACMSearchCV(orders=[1], lags=[1]).fit(X, y[:-1])
    with pytest.raises(ValueError, match="positive integers"):
        ACMSearchCV(orders=[0, 1], lags=[1]).fit(X, y)
    with pytest.raises(ValueError, match="classifier must be one of"):
        make_acm_pipeline("knn")


def test_nested_cross_validate_reports_scores_and_choices():
    X, y = var_classes(seed=6, n_per_class=10)
    search = ACMSearchCV(orders=[1, 2], lags=[1], cv=2)
    results = nested_cross_validate(search, X, y, n_splits=4)
    assert results["test_accuracy"].shape == (4,) and results["test_roc_auc"].shape == (4,)
    assert results["test_accuracy"].mean() >= 0.9
    assert [p["order"] for p in results["best_params"]] == [2, 2, 2, 2]
    assert results["total_time"] > 0


@pytest.mark.slow
def test_moabb_evaluation_runs_the_pipelines_offline(tmp_path, monkeypatch):
    pytest.importorskip("moabb")
    # MNE and MOABB write their configuration and results under the home folder.
    monkeypatch.setenv("_MNE_FAKE_HOME_DIR", str(tmp_path))
    monkeypatch.setenv("MNE_DATA", str(tmp_path))
    from moabb.datasets.fake import FakeDataset
    from moabb.evaluations import WithinSessionEvaluation
    from moabb.paradigms import LeftRightImagery

    dataset = FakeDataset(event_list=["left_hand", "right_hand"], n_sessions=1, n_runs=1, n_subjects=1)
    paradigm = LeftRightImagery(fmin=8, fmax=35)
    pipelines = moabb_pipelines(orders=(1, 2), lags=(1,))
    evaluation = WithinSessionEvaluation(paradigm=paradigm, datasets=[dataset], overwrite=True,
                                         hdf5_path=str(tmp_path / "results"), save_model=False)  # fmt: skip
    results = evaluation.process(pipelines)
    assert set(results["pipeline"]) == set(pipelines)
    assert np.isfinite(results["score"]).all()
