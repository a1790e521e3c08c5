"""Delay embedding of EEG epochs and data-driven choices of its lag and order.

The augmented covariance matrix is the covariance of a delay embedding
(Takens): ``order`` copies of each epoch, copy k shifted by ``k * lag``
samples.  The functions here build that embedding and choose its two
parameters from training data, as in Carrara & Papadopoulo's non-grid
variant: the lag at the first minimum of the auto mutual information, the
order where Cao's averaged false-nearest-neighbour statistic E1 saturates.
Both curves are averaged over trials and channels.

These choices optimise the reconstruction of a dynamical system, not the
separation of classes; on motor-imagery EEG they are a better prior that
prunes a grid (lags up to the AMI minimum, orders up to the Cao saturation)
than a final choice (``../shared/notes/eeg.md``; :func:`prune_grid`).
"""

import numbers

import numpy as np

from densest.eeg import _kernels
from densest.utils._numeric import check_magnitude
from densest.utils._parallel import numba_threads
from densest.utils.validation import check_n_samples

TRIM_OPTIONS = ("valid", "moabb")
EPOCH_SCALE_HINT = ("scaling every epoch by one factor scales the covariances by its square and "
                    "leaves the Riemannian classifiers' predictions unchanged")


def check_epochs(X, name="X"):
    """``X`` as finite float64 epochs of shape (n_trials, n_channels, n_times), or a ValueError."""
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"{name} must be 3-D (n_trials, n_channels, n_times); got shape {X.shape}.")
    if X.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers; got dtype {X.dtype}.")
    if min(X.shape) == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}.")
    X = X.astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    check_magnitude(X, name, EPOCH_SCALE_HINT)
    return X


def _theiler_window(theiler, lag):
    """The Theiler window: ``lag`` for None, else a non-negative int."""
    if theiler is None:
        return lag
    if isinstance(theiler, bool) or not isinstance(theiler, numbers.Integral) or theiler < 0:
        raise ValueError(f"theiler must be a non-negative integer or None; got {theiler!r}.")
    return int(theiler)


def n_dropped(order, lag, trim="valid"):
    """Number of samples an embedding of ``order`` copies ``lag`` apart drops.

    Parameters
    ----------
    order, lag : int
        Embedding dimension and delay in samples.
    trim : {"valid", "moabb"} or int, default="valid"
        "valid" drops ``(order - 1) * lag`` samples, all an exact embedding
        needs; "moabb" drops ``order * lag``, as MOABB's ``AugmentedDataset``
        does (one lag more; nothing for order 1); an int drops that many (at least
        ``(order - 1) * lag``), which lets embeddings of different orders share
        one window.

    Returns
    -------
    n : int
        Samples dropped; each embedded epoch has ``n_times - n`` samples.

    Examples
    --------
    >>> n_dropped(4, 2), n_dropped(4, 2, "moabb"), n_dropped(1, 2, "moabb"), n_dropped(2, 2, trim=6)
    (6, 8, 0, 6)
    """
    order, lag = check_n_samples(order, "order"), check_n_samples(lag, "lag")
    need = (order - 1) * lag
    if isinstance(trim, str):
        if trim not in TRIM_OPTIONS:
            raise ValueError(f"trim must be one of {TRIM_OPTIONS} or an int; got {trim!r}.")
        return need if trim == "valid" or order == 1 else order * lag
    if isinstance(trim, bool) or not isinstance(trim, numbers.Integral) or trim < need:
        raise ValueError(f"An int trim must be at least (order - 1) * lag = {need}; got {trim!r}.")
    return int(trim)


def delay_embedding(X, order, lag, trim="valid"):
    """Stack ``order`` delayed copies of each epoch along the channel axis.

    Block k (channels ``k * n_channels`` to ``(k + 1) * n_channels - 1``) holds
    the epoch delayed by ``k * lag`` samples: ``X[:, :, k * lag + t]`` for
    ``t = 0 .. n_times - n_dropped - 1``. With ``trim="moabb"`` the result
    equals MOABB's ``AugmentedDataset(order, lag).transform(X)``.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Epochs.
    order : int
        Number of copies (embedding dimension); 1 returns the epochs.
    lag : int
        Delay between copies, in samples.
    trim : {"valid", "moabb"} or int, default="valid"
        Samples dropped at the end (see :func:`n_dropped`).

    Returns
    -------
    embedded : ndarray of shape (n_trials, order * n_channels, n_times - n_dropped)
        A new array (float64).

    Raises
    ------
    ValueError
        If X is not 3-D and finite, or the embedding leaves fewer than 2 samples.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(10.0).reshape(1, 1, 10)
    >>> delay_embedding(X, order=3, lag=2)[0]
    array([[0., 1., 2., 3., 4., 5.],
           [2., 3., 4., 5., 6., 7.],
           [4., 5., 6., 7., 8., 9.]])
    """
    X = check_epochs(X)
    drop = n_dropped(order, lag, trim)
    width = X.shape[2] - drop
    if width < 2:
        raise ValueError(
            f"An embedding of order {order} and lag {lag} (trim={trim!r}) drops {drop} of the "
            f"{X.shape[2]} samples per epoch and leaves {max(width, 0)}; at least 2 are needed: "
            "use a smaller order or lag, or longer epochs."
        )
    return np.concatenate([X[:, :, k * lag : k * lag + width] for k in range(order)], axis=1)


def auto_mutual_information(X, max_lag=30, n_bins=16):
    """Mutual information between each channel and itself ``k`` samples later.

    Histogram estimate with ``n_bins`` equal-width bins over each series'
    range, in nats, averaged over trials and channels.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Epochs.
    max_lag : int, default=30
        Largest delay, in samples (less than ``n_times - 1``).
    n_bins : int, default=16
        Bins per axis of the joint histogram.

    Returns
    -------
    ami : ndarray of shape (max_lag + 1,)
        ``ami[k]`` for delays k = 0 .. max_lag (``ami[0]`` is the entropy of
        the binned series).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.sin(2 * np.pi * np.arange(2000) / 40.0) + 0.2 * rng.standard_normal((1, 1, 2000))
    >>> ami = auto_mutual_information(X, max_lag=20)
    >>> int(np.argmin(ami)) in range(8, 13)  # near a quarter period of the sine
    True
    """
    X = check_epochs(X)
    max_lag, n_bins = check_n_samples(max_lag, "max_lag"), check_n_samples(n_bins, "n_bins")
    if max_lag >= X.shape[2] - 1:
        raise ValueError(f"max_lag must be less than n_times - 1 = {X.shape[2] - 1}; got {max_lag}.")
    series = X.reshape(-1, X.shape[2])
    low, high = series.min(axis=1, keepdims=True), series.max(axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    bins = np.minimum(((series - low) / span * n_bins).astype(np.int64), n_bins - 1)
    offset = (np.arange(len(series)) * n_bins * n_bins)[:, None]
    ami = np.empty(max_lag + 1)
    for k in range(max_lag + 1):
        joint = bins[:, : bins.shape[1] - k] * n_bins + bins[:, k:] + offset
        counts = np.bincount(joint.ravel(), minlength=len(series) * n_bins * n_bins)
        p = counts.reshape(len(series), n_bins, n_bins) / joint.shape[1]
        outer = p.sum(axis=2, keepdims=True) * p.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p / np.where(outer > 0, outer, 1.0)), 0.0)
        ami[k] = terms.sum(axis=(1, 2)).mean()
    return ami


def cao_statistics(X, lag, max_order=12, theiler=None, *, n_jobs=None):
    """Cao's averaged false-nearest-neighbour statistics E1(d) and E2(d).

    E1(d) = E(d + 1) / E(d), where E(d) is the mean growth of the distance
    from each delay vector to its nearest neighbour when a (d + 1)-th
    coordinate is added (Cao 1997). E1 stops changing once d reaches an
    embedding dimension; for noise it keeps rising slowly. E2 compares the
    next values of neighbours: it stays near 1 at every d for noise. Each
    statistic is computed per trial and channel, then averaged.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Epochs.
    lag : int
        Delay in samples.
    max_order : int, default=12
        Largest dimension d.
    theiler : int or None, default=None
        Neighbours closer than this many samples in time are skipped;
        None: ``lag``.
    n_jobs : int or None, default=None
        Numba threads over the trials' series (``None``: 1, as in scikit-learn).

    Returns
    -------
    e1, e2 : ndarray of shape (max_order,)
        The statistics for d = 1 .. max_order.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> def lorenz(t, s):
    ...     return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]
    >>> t = np.arange(0, 40, 0.02)
    >>> x = solve_ivp(lorenz, (0, 40), [1.0, 1.0, 1.0], t_eval=t, rtol=1e-9).y[0, 500:]
    >>> e1, e2 = cao_statistics(x[None, None, :], lag=8, max_order=6)
    >>> bool(e1[2] > 0.9)  # saturated by d = 3
    True
    """
    X = check_epochs(X)
    lag, max_order = check_n_samples(lag, "lag"), check_n_samples(max_order, "max_order")
    theiler = _theiler_window(theiler, lag)
    if X.shape[2] - (max_order + 1) * lag < 2 * (theiler + 2):
        raise ValueError(
            f"Epochs of {X.shape[2]} samples are too short for Cao's statistics up to dimension "
            f"{max_order + 1} at lag {lag}: use a smaller max_order or lag."
        )
    series = np.ascontiguousarray(X.reshape(-1, X.shape[2]))
    ratio = np.empty((len(series), max_order + 1))
    gap = np.empty_like(ratio)
    with numba_threads(n_jobs):
        _kernels.cao_sums(series, lag, theiler, ratio, gap)
    with np.errstate(divide="ignore", invalid="ignore"):
        e1 = np.nanmean(ratio[:, 1:] / ratio[:, :-1], axis=0)
        e2 = np.nanmean(gap[:, 1:] / gap[:, :-1], axis=0)
    return e1, e2


def first_minimum(curve):
    """Index of the first local minimum of ``curve`` (its last index if it only falls).

    Parameters
    ----------
    curve : array-like of shape (n,)
        Values, e.g. the auto mutual information by lag.

    Returns
    -------
    index : int
        The first k >= 1 with ``curve[k] <= curve[k + 1]`` after a fall.

    Examples
    --------
    >>> first_minimum([3.0, 2.0, 1.5, 1.7, 1.0])
    2
    """
    curve = np.asarray(curve, dtype=np.float64)
    for k in range(1, len(curve) - 1):
        if curve[k] < curve[k - 1] and curve[k] <= curve[k + 1]:
            return k
    return len(curve) - 1


def select_lag(X, max_lag=30, n_bins=16):
    """The delay at the first minimum of the averaged auto mutual information.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Training epochs.
    max_lag, n_bins : int
        Passed to :func:`auto_mutual_information` (``max_lag`` lowered to
        ``n_times - 2`` for short epochs).

    Returns
    -------
    lag : int
        At least 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.sin(2 * np.pi * np.arange(2000) / 40.0) + 0.2 * rng.standard_normal((1, 1, 2000))
    >>> select_lag(X, max_lag=20) in range(8, 13)  # near a quarter period of the sine
    True
    """
    X = check_epochs(X)
    max_lag = min(check_n_samples(max_lag, "max_lag"), X.shape[2] - 2)
    if max_lag < 2:
        return 1
    return max(first_minimum(auto_mutual_information(X, max_lag, n_bins)), 1)


def select_order(X, lag, max_order=12, tol=0.02, theiler=None, *, n_jobs=None):
    """The dimension where Cao's E1 saturates.

    The smallest d with ``E1(d + 1) - E1(d) < tol * E1(d)``; ``max_order`` if
    E1 is still rising there.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Training epochs.
    lag : int
        Delay in samples (e.g. from :func:`select_lag`).
    max_order : int, default=12
        Largest order considered.
    tol : float, default=0.02
        Relative change of E1 taken as saturation.
    theiler, n_jobs : int or None, default=None
        Passed to :func:`cao_statistics`.

    Returns
    -------
    order : int
        Between 1 and ``max_order`` (lowered to what the epoch length allows).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.integrate import solve_ivp
    >>> def lorenz(t, s):
    ...     return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]
    >>> t = np.arange(0, 40, 0.02)
    >>> x = solve_ivp(lorenz, (0, 40), [1.0, 1.0, 1.0], t_eval=t, rtol=1e-9).y[0, 500:]
    >>> select_order(x[None, None, :], lag=8, max_order=6, tol=0.05) in (3, 4)  # Lorenz: 3 to 4
    True
    """
    if not 0.0 < tol < 1.0:
        raise ValueError(f"tol must be in (0, 1); got {tol!r}.")
    X = check_epochs(X)
    lag, max_order = check_n_samples(lag, "lag"), check_n_samples(max_order, "max_order")
    window = _theiler_window(theiler, lag)
    # Cao's statistics up to d + 1 need n_times - (d + 2) lag >= 2 (theiler + 2) samples.
    max_order = min(max_order, (X.shape[2] - 2 * (window + 2)) // lag - 2)
    if max_order < 1:
        return 1
    e1, _ = cao_statistics(X, lag, max_order + 1, theiler, n_jobs=n_jobs)
    return saturation(e1, tol)


def saturation(e1, tol=0.02):
    """The smallest d with ``E1(d + 1) - E1(d) < tol * E1(d)``, else the last d with a successor.

    Parameters
    ----------
    e1 : array-like of shape (n,)
        Cao's E1(d) for d = 1 .. n (from :func:`cao_statistics`).
    tol : float, default=0.02
        Relative change taken as saturation.

    Returns
    -------
    order : int
        Between 1 and ``n - 1``.

    Examples
    --------
    >>> saturation([0.01, 0.3, 0.6, 0.9, 0.91, 0.92])
    4
    """
    e1 = np.asarray(e1, dtype=np.float64)
    for d in range(1, len(e1)):
        if e1[d] - e1[d - 1] < tol * e1[d - 1]:
            return d
    return max(len(e1) - 1, 1)


def prune_grid(X, orders, lags, *, max_lag=30, max_order=12, n_jobs=None):
    """Keep the grid's lags up to the AMI minimum and orders up to the Cao saturation.

    The data-driven choices bound the grid from above; at least the smallest
    order and lag are kept.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_channels, n_times)
        Training epochs.
    orders, lags : sequence of int
        The grid.
    max_lag, max_order : int
        Bounds of the searches of :func:`select_lag` and :func:`select_order`.
    n_jobs : int or None, default=None
        Numba threads for :func:`cao_statistics`.

    Returns
    -------
    orders, lags : list of int
        The pruned grid.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.sin(2 * np.pi * np.arange(2000) / 40.0) + 0.2 * rng.standard_normal((1, 1, 2000))
    >>> prune_grid(X, orders=[1, 2, 4, 8], lags=[1, 5, 10, 20], max_lag=25, max_order=6)
    ([1, 2, 4], [1, 5])
    """
    lag = select_lag(X, max_lag)
    order = select_order(X, lag, max_order, n_jobs=n_jobs)
    orders, lags = sorted(set(orders)), sorted(set(lags))
    kept_orders = [o for o in orders if o <= order] or orders[:1]
    kept_lags = [k for k in lags if k <= lag] or lags[:1]
    return kept_orders, kept_lags
