"""Classifier pipelines on augmented covariances, a grid search that reuses them, nested CV."""

import time
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import check_scoring
from sklearn.model_selection import ParameterGrid, RepeatedStratifiedKFold, check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.parallel import Parallel, delayed
from threadpoolctl import threadpool_limits

from densest.eeg import embedding
from densest.eeg._augmented import PLAIN_ESTIMATORS, AugmentedCovariances, augmented_covariances
from densest.eeg._riemann import mean_and_log_map, riemann_mean
from densest.utils import import_optional
from densest.utils.validation import Interval, StrOptions, check_is_fitted, fit_context

CLASSIFIERS = ("ts_svm", "ts_lr", "mdm", "fgmdm")


def make_acm_pipeline(classifier="ts_svm", order=4, lag=1, estimator="cov", trim="valid", *,
                      C=1.0, kernel="linear", metric="riemann", whiten=False):  # fmt: skip
    """A scikit-learn Pipeline: augmented covariances, then a Riemannian classifier.

    Parameters
    ----------
    classifier : {"ts_svm", "ts_lr", "mdm", "fgmdm"}, default="ts_svm"
        "ts_svm": pyRiemann ``TangentSpace`` then ``SVC`` (the paper's
        ACM+TS+SVM); "ts_lr": tangent space then logistic regression; "mdm":
        minimum distance to the class means; "fgmdm": MDM after geodesic
        filtering.
    order, lag : int or "auto"
        Embedding dimension and delay (see :class:`AugmentedCovariances`).
    estimator : str, default="cov"
        Covariance estimator of pyRiemann.
    trim : {"valid", "moabb"} or int, default="valid"
        Samples dropped at the end of each epoch.
    C : float, default=1.0
        Regularisation of the SVM or logistic regression.
    kernel : str, default="linear"
        Kernel of the SVM (with "rbf" and default ``gamma`` the SVM's
        threshold was off on S001: accuracy 0.69 at ROC-AUC 0.94).
    metric : str, default="riemann"
        Metric of the tangent space or of the class means. With "riemann"
        the Riemannian means are computed by :func:`riemann_mean` (Newton's
        method; the same mean as pyRiemann's to 1e-8, and 3-4 steps where
        pyRiemann's gradient took 8-9, or ran out of its 50 iterations on
        unwhitened order-8 covariances); the distances and tangent maps are
        pyRiemann's. Other names go to pyRiemann unchanged.
    whiten : bool, default=False
        Insert pyRiemann's ``Whitening(metric="logeuclid")`` after the
        covariances: every matrix C becomes W C W with W the inverse square
        root of the training matrices' log-Euclidean mean, which takes the
        augmented covariances' condition numbers (about 1e6 at order 4, 3e9
        at order 8 on 17 EEG channels) to 20-130. pyRiemann's own gradient
        mean needs it at large orders (on the unwhitened order-8 matrices of
        36 trials it ran its 50 iterations without converging, 4.2 s, against
        0.76 s whitened); Newton's method does not (0.48 s unwhitened), and
        the affine-invariant classifiers ("riemann" tangent space with an SVM
        or logistic regression, MDM) are unchanged by the congruence up to
        rounding, so it is off by default (one batched eigendecomposition
        less per fit). It does change the non-invariant metrics
        ("logeuclid", "euclid").

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Steps "acm", "whiten" (if ``whiten``), then "ts" and "svc" / "lr", or
        "mdm" / "fgmdm".

    Notes
    -----
    pyRiemann's tangent space and means run batched eigendecompositions of
    small matrices, which were 2-45x slower with two OpenBLAS threads than with
    one on a 2-core machine; :class:`ACMSearchCV` and
    :func:`nested_cross_validate` cap BLAS threads themselves, and a plain
    ``fit`` can be wrapped in ``threadpoolctl.threadpool_limits(1, "blas")``.

    Examples
    --------
    >>> from densest.eeg import make_acm_pipeline
    >>> make_acm_pipeline("mdm", order=2).steps[-1][0]
    'mdm'
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {CLASSIFIERS}; got {classifier!r}.")
    steps = [("acm", AugmentedCovariances(order=order, lag=lag, estimator=estimator, trim=trim))]
    if whiten:
        whitening = import_optional("pyriemann.preprocessing", "eeg").Whitening
        steps.append(("whiten", whitening(metric="logeuclid")))
    return Pipeline(steps + _classifier_steps(classifier, C, kernel, metric))


def _with_mean(metric, mean):
    """pyRiemann's metric argument, with densest's Newton solver for the Riemannian mean."""
    if metric != "riemann":
        return metric
    return {"mean": mean, "distance": "riemann", "map": "riemann"}


def _classifier_steps(classifier, C, kernel, metric):
    pyriemann = import_optional("pyriemann", "eeg")
    if classifier == "mdm":
        return [("mdm", pyriemann.classification.MDM(metric=_with_mean(metric, riemann_mean)))]
    if classifier == "fgmdm":
        return [("fgmdm", pyriemann.classification.FgMDM(metric=_with_mean(metric, riemann_mean)))]
    tangent = ("ts", pyriemann.tangentspace.TangentSpace(metric=_with_mean(metric, riemann_mean)))
    if classifier == "ts_svm":
        from sklearn.svm import SVC

        return [tangent, ("svc", SVC(C=C, kernel=kernel))]
    from sklearn.linear_model import LogisticRegression

    return [tangent, ("lr", LogisticRegression(C=C, max_iter=1000))]


def _best_has(name):
    """Whether the best pipeline (or, unfitted, the configured one) has method ``name``."""

    def check(search):
        if hasattr(search, "best_estimator_"):
            return hasattr(search.best_estimator_, name)
        return hasattr(search._pipeline({"order": 1, "lag": 1}, "valid"), name)

    return check


class ACMSearchCV(ClassifierMixin, BaseEstimator):
    """Grid search over the order and lag of an ACM classifier, one covariance per lag.

    For a fixed lag and a common window of samples, the augmented covariance
    of a smaller order is the leading block of the largest order's. So the
    search computes, for each lag, the covariances of the largest order once
    (every trial's matrix depends on that trial only, so computing them for
    all trials before splitting leaks nothing) and slices the smaller orders
    from them. In each inner split the tangent space is fitted once per
    (order, lag) and shared by all values of the classifier's grid; with the
    default Riemannian tangent space, the training vectors come from the last
    eigendecomposition of :func:`riemann_mean` (the same vectors, one batched
    eigendecomposition less). The best
    configuration is refitted on all the data as a plain pipeline
    (:func:`make_acm_pipeline`) with the same window, so it scores exactly
    what was evaluated. BLAS threads are capped during fit and prediction.

    Parameters
    ----------
    classifier : {"ts_svm", "ts_lr", "mdm", "fgmdm"}, default="ts_svm"
        The pipeline (see :func:`make_acm_pipeline`).
    orders : sequence of int, default=(1, 2, 4, 6, 8)
        Orders searched.
    lags : sequence of int, default=(1, 2, 4)
        Lags searched, in samples.
    param_grid : dict or None, default=None
        Grid over the classifier's steps, keyed as in the pipeline, e.g.
        ``{"svc__kernel": ["linear", "rbf"], "svc__C": [0.5, 1, 1.5]}``.
    estimator : str, default="cov"
        Covariance estimator of pyRiemann. Blocks are shared for "cov" and
        "scm"; other (shrinkage) estimators are computed for each order.
    trim : {"valid", "moabb"}, default="valid"
        Window rule at the largest order, used for all orders of a lag: the
        window is ``n_times - n_dropped(max(orders), lag, trim)`` samples.
    prior : bool, default=False
        Prune the grid to lags up to the first minimum of the training data's
        auto mutual information and orders up to the saturation of Cao's
        statistic (:func:`densest.eeg.embedding.prune_grid`).
    cv : int or cross-validation generator, default=3
        Inner splits (an int: stratified K-fold, as ``GridSearchCV``).
    scoring : "auto", str, callable or None, default="auto"
        Inner score. "auto": ROC-AUC for two classes (MOABB's and the
        paper's score), else accuracy; None: the classifier's accuracy. On
        S001 imagined left/right, ROC-AUC as the inner score chose better
        configurations than accuracy (benchmarks/RESULTS.md).
    whiten : bool, default=False
        Whiten the covariances before the classifier (see
        :func:`make_acm_pipeline`).
    blas_threads : int or None, default=1
        BLAS threads during fit and prediction (None: leave them).
    n_jobs : int or None, default=None
        Threads scoring (order, lag, split) cells in parallel (-1: all cores);
        each runs its small-matrix eigendecompositions on one BLAS thread. With
        ``prior=True``, also Numba's threads for Cao's statistics.

    Attributes
    ----------
    best_params_ : dict
        Order, lag and the classifier's parameters of the best configuration.
    best_score_ : float
        Its mean inner score.
    best_index_ : int
        Its index in ``cv_results_``.
    best_estimator_ : sklearn.pipeline.Pipeline
        The best pipeline refitted on all the data.
    cv_results_ : dict of ndarray
        "params", "param_order", "param_lag", "split<k>_test_score",
        "mean_test_score", "std_test_score", "rank_test_score".
    orders_, lags_ : list of int
        The grid searched (after pruning by the prior).
    classes_ : ndarray
        Class labels.
    n_channels_ : int
        Channels of the training epochs.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.signal import lfilter
    >>> from densest.eeg import ACMSearchCV
    >>> noise = np.random.default_rng(0).standard_normal((20, 2, 200))
    >>> y = np.repeat([0, 1], 10)
    >>> # AR(1) coefficient +0.6 or -0.6: same variance, opposite dynamics
    >>> X = np.stack([lfilter([1.0], [1.0, 0.6 - 1.2 * c], e, axis=-1) for c, e in zip(y, noise)])
    >>> search = ACMSearchCV(orders=[1, 2], lags=[1]).fit(X, y)
    >>> search.best_params_["order"], search.cv_results_["mean_test_score"].round(2).tolist()  # ROC-AUC
    (2, [0.42, 1.0])
    """

    _parameter_constraints = {
        "classifier": [StrOptions(set(CLASSIFIERS))],
        "orders": ["array-like"],
        "lags": ["array-like"],
        "param_grid": [dict, None],
        "estimator": [str],
        "trim": [StrOptions(set(embedding.TRIM_OPTIONS))],
        "prior": ["boolean"],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "whiten": ["boolean"],
        "blas_threads": [Interval(Integral, 1, None, closed="left"), None],
        "n_jobs": [Integral, None],
    }

    def __init__(self, classifier="ts_svm", orders=(1, 2, 4, 6, 8), lags=(1, 2, 4), param_grid=None,
                 estimator="cov", trim="valid", prior=False, cv=3, scoring="auto", whiten=False,
                 blas_threads=1, n_jobs=None):  # fmt: skip
        self.classifier = classifier
        self.orders = orders
        self.lags = lags
        self.param_grid = param_grid
        self.estimator = estimator
        self.trim = trim
        self.prior = prior
        self.cv = cv
        self.scoring = scoring
        self.whiten = whiten
        self.blas_threads = blas_threads
        self.n_jobs = n_jobs

    def _limits(self):
        return threadpool_limits(limits=self.blas_threads, user_api="blas")

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Score every (order, lag, classifier parameters) by inner CV, refit the best.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Training epochs.
        y : array-like of shape (n_trials,)
            Class labels.

        Returns
        -------
        self : ACMSearchCV
        """
        X = embedding.check_epochs(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"y must be 1-D with one label per trial; got shape {y.shape} for {len(X)} trials.")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("y has a single class; a classifier needs at least two.")
        self.n_channels_ = X.shape[1]
        orders, lags = self._grid(X)
        with self._limits():
            prune = embedding.prune_grid(X, orders, lags, n_jobs=self.n_jobs) if self.prior else (orders, lags)
            self.orders_, self.lags_ = prune
            results, window = self._search(X, y, *prune)
            self.cv_results_ = results
            self.best_index_ = int(np.argmin(results["rank_test_score"]))
            self.best_params_ = results["params"][self.best_index_]
            self.best_score_ = float(results["mean_test_score"][self.best_index_])
            self.best_estimator_ = self._pipeline(self.best_params_, window[self.best_params_["lag"]])
            self.best_estimator_.fit(X, y)
        return self

    def _grid(self, X):
        orders, lags = sorted({int(o) for o in self.orders}), sorted({int(k) for k in self.lags})
        if not orders or not lags or orders[0] < 1 or lags[0] < 1:
            raise ValueError(f"orders and lags must be non-empty positive integers; got {self.orders!r}, {self.lags!r}.")
        return orders, lags

    def _pipeline(self, params, trim):
        pipeline = make_acm_pipeline(self.classifier, params["order"], params["lag"], self.estimator, trim,
                                     whiten=self.whiten)  # fmt: skip
        return pipeline.set_params(**{k: v for k, v in params.items() if k not in ("order", "lag")})

    def _search(self, X, y, orders, lags):
        splits = list(check_cv(self.cv, y, classifier=True).split(X[:, 0, :], y))
        grid = list(ParameterGrid(self.param_grid or {}))
        n_channels = X.shape[1]
        scoring = self.scoring
        if scoring == "auto":
            scoring = "roc_auc" if len(self.classes_) == 2 else "accuracy"
        params, tasks, window = [], [], {}
        for lag in lags:
            window[lag] = embedding.n_dropped(orders[-1], lag, self.trim)
            plain = self.estimator in PLAIN_ESTIMATORS
            largest = augmented_covariances(X, orders[-1], lag, self.estimator, window[lag]) if plain else None
            for order in orders:
                dim = order * n_channels
                covs = (largest[:, :dim, :dim] if plain
                        else augmented_covariances(X, order, lag, self.estimator, window[lag]))  # fmt: skip
                params += [{"order": order, "lag": lag, **point} for point in grid]
                tasks += [delayed(self._score_split)(covs, y, split, grid, order, lag, scoring) for split in splits]
        # Threads: the eigendecompositions release the GIL; BLAS stays at one thread each.
        # Largest orders first, so that no large cell is left alone at the end.
        costs = [params[len(grid) * (i // len(splits))]["order"] for i in range(len(tasks))]
        schedule = np.argsort(costs, kind="stable")[::-1]
        done = Parallel(n_jobs=self.n_jobs, prefer="threads")(tasks[i] for i in schedule)
        columns = [None] * len(tasks)
        for i, column in zip(schedule, done):
            columns[i] = column
        scores = np.array(columns).reshape(-1, len(splits), len(grid)).transpose(0, 2, 1).reshape(-1, len(splits))
        return _results(params, scores), window

    def _score_split(self, covs, y, split, grid, order, lag, scoring):
        """Scores of each grid point on one inner split (steps after the covariances)."""
        train, test = split
        steps = self._pipeline({"order": order, "lag": lag}, "valid").steps[1:]
        last = steps[-1][0] + "__"
        n_shared = len(steps) - 1 if all(key.startswith(last) for point in grid for key in point) else 0
        X_train, X_test = covs[train], covs[test]
        if n_shared:
            X_train, X_test = _shared_transform(steps[:n_shared], X_train, X_test, y[train])
        tail = Pipeline(steps[n_shared:])
        scores = []
        for point in grid:
            model = clone(tail).set_params(**point).fit(X_train, y[train])
            scores.append(check_scoring(model, scoring)(model, X_test, y[test]))
        return scores

    def _delegate(self, method, X):
        check_is_fitted(self)
        X = embedding.check_epochs(X)
        if X.shape[1] != self.n_channels_:
            raise ValueError(f"X has {X.shape[1]} channels, but ACMSearchCV was fitted with {self.n_channels_} channels.")
        with self._limits():
            return getattr(self.best_estimator_, method)(X)

    def predict(self, X):
        """Class labels from the best pipeline.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Epochs.

        Returns
        -------
        y : ndarray of shape (n_trials,)
        """
        return self._delegate("predict", X)

    def score(self, X, y, sample_weight=None):
        """Accuracy of :meth:`predict` on labelled epochs.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Epochs.
        y : array-like of shape (n_trials,)
            True labels.
        sample_weight : array-like of shape (n_trials,) or None
            Weights of the trials.

        Returns
        -------
        accuracy : float
        """
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))

    @available_if(_best_has("decision_function"))
    def decision_function(self, X):
        """Decision values of the best pipeline (e.g. for ROC-AUC).

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Epochs.

        Returns
        -------
        scores : ndarray of shape (n_trials,) or (n_trials, n_classes)
        """
        return self._delegate("decision_function", X)

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the best pipeline.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Epochs.

        Returns
        -------
        proba : ndarray of shape (n_trials, n_classes)
        """
        return self._delegate("predict_proba", X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


def _shared_transform(steps, X_train, X_test, y_train):
    """Fit the shared steps on the training matrices; both sets transformed.

    A final Riemannian tangent space with densest's mean takes the training
    vectors from the mean's last eigendecomposition (:func:`mean_and_log_map`):
    the same vectors as the step's ``fit_transform``, one batched
    eigendecomposition less.
    """
    *before, (_, last) = steps
    if before:
        head = Pipeline(before)
        X_train, X_test = head.fit_transform(X_train, y_train), head.transform(X_test)
    if getattr(last, "metric", None) == _with_mean("riemann", riemann_mean):
        tangent_space = import_optional("pyriemann.geometry.tangentspace", "eeg")
        reference, logs = mean_and_log_map(X_train)
        return tangent_space.upper(logs), tangent_space.tangent_space(X_test, reference, metric="riemann")
    return last.fit_transform(X_train, y_train), last.transform(X_test)


def _results(params, scores):
    """GridSearchCV-style results from parameter dicts and (n_configs, n_splits) scores."""
    mean, std = scores.mean(axis=1), scores.std(axis=1)
    order = np.argsort(-mean, kind="stable")
    rank = np.empty(len(mean), dtype=np.int64)
    rank[order] = np.arange(1, len(mean) + 1)
    results = {"params": params, "param_order": np.array([p["order"] for p in params]),
               "param_lag": np.array([p["lag"] for p in params])}  # fmt: skip
    results.update({f"split{k}_test_score": scores[:, k] for k in range(scores.shape[1])})
    results.update(mean_test_score=mean, std_test_score=std, rank_test_score=rank)
    return results


def nested_cross_validate(estimator, X, y, *, n_splits=5, n_repeats=1, scoring=None, random_state=42,
                          blas_threads=1, n_jobs=None):  # fmt: skip
    """Outer repeated stratified K-fold around an estimator (e.g. an ACMSearchCV).

    The paper's protocol: outer StratifiedKFold(5, shuffle=True,
    random_state=42), each outer training set searched by the estimator's own
    inner CV, scored on the outer test fold.

    Parameters
    ----------
    estimator : estimator
        A classifier of 3-D epochs, e.g. :class:`ACMSearchCV` or a pipeline.
    X : array-like of shape (n_trials, n_channels, n_times)
        Epochs.
    y : array-like of shape (n_trials,)
        Class labels.
    n_splits, n_repeats : int
        Outer folds and repetitions with different shuffles.
    scoring : list of str or None, default=None
        Scores; None: accuracy, and ROC-AUC for two classes.
    random_state : int, default=42
        Seed of the outer shuffles.
    blas_threads : int or None, default=1
        BLAS threads while fitting (None: leave them).
    n_jobs : int or None, default=None
        Outer folds fitted in parallel.

    Returns
    -------
    results : dict
        ``cross_validate``'s ("test_accuracy", "test_roc_auc", "fit_time",
        ...) plus "best_params" (per outer fold, when the estimator has
        ``best_params_``).

    Examples
    --------
    >>> import numpy as np
    >>> from densest.eeg import make_acm_pipeline, nested_cross_validate
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((20, 2, 100)), np.repeat([0, 1], 10)
    >>> X[10:, 1] *= 2.0
    >>> res = nested_cross_validate(make_acm_pipeline(order=1), X, y, n_splits=5)
    >>> float(res["test_accuracy"].mean())
    1.0
    """
    X, y = embedding.check_epochs(X), np.asarray(y)
    if scoring is None:
        scoring = ["accuracy", "roc_auc"] if len(np.unique(y)) == 2 else ["accuracy"]
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    start = time.perf_counter()
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        results = cross_validate(estimator, X, y, cv=cv, scoring=scoring, return_estimator=True, n_jobs=n_jobs)
    results["total_time"] = time.perf_counter() - start
    fitted = results.pop("estimator")
    if all(hasattr(est, "best_params_") for est in fitted):
        results["best_params"] = [est.best_params_ for est in fitted]
    return results


def moabb_pipelines(orders=(1, 2, 4, 6, 8), lags=(1, 2, 4)):
    """densest's ACM pipelines keyed by name, as MOABB's evaluations take them.

    Pass the dict to ``WithinSessionEvaluation(...).process`` (or another
    MOABB evaluation): each value is a scikit-learn classifier of MOABB's
    epochs (n_trials, n_channels, n_times).

    Parameters
    ----------
    orders, lags : sequence of int
        Grid of the searched pipelines.

    Returns
    -------
    pipelines : dict of str -> estimator
        "ACM+TS+SVM(Grid)" (:class:`ACMSearchCV` over linear and RBF SVMs), "ACM+MDM(Grid)", and the fixed "ACM(4,1)+TS+SVM".

    Examples
    --------
    >>> from densest.eeg import moabb_pipelines
    >>> sorted(moabb_pipelines())
    ['ACM(4,1)+TS+SVM', 'ACM+MDM(Grid)', 'ACM+TS+SVM(Grid)']
    """
    kernels = {"svc__kernel": ["linear", "rbf"]}
    return {
        "ACM+TS+SVM(Grid)": ACMSearchCV("ts_svm", orders, lags, kernels),
        "ACM+MDM(Grid)": ACMSearchCV("mdm", orders, lags),
        "ACM(4,1)+TS+SVM": make_acm_pipeline("ts_svm", 4, 1),
    }
