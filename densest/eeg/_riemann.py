"""The Riemannian (Karcher) mean of SPD matrices by Newton's method."""

import warnings
from numbers import Real

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _check_sample_weight

from densest.exceptions import NotPositiveDefiniteError
from densest.utils.validation import check_n_samples

INITS = ("midpoint", "arithmetic", "identity")


def riemann_mean(X, sample_weight=None, *, init="midpoint", tol=1e-8, maxiter=50):
    """Affine-invariant Riemannian mean of SPD matrices by Newton's method.

    The mean M minimises the weighted sum of squared affine-invariant
    distances to the matrices: it is the point where the weighted mean of
    the matrices' logarithms in M's frame, ``J = sum_i w_i log(M^-1/2 X_i M^-1/2)``,
    is zero. pyRiemann's ``mean_riemann`` follows the gradient,
    ``M <- M^1/2 exp(J) M^1/2``, until ``||J||_F <= tol``. This function
    stops on the same criterion, so both give the same mean to about
    ``tol``, but takes Newton steps: the derivative of J is known in closed
    form from the eigendecompositions the gradient needs anyway, and the
    Newton system is solved by conjugate gradients (its operator is at least
    the identity, so a few products suffice). An iteration costs one batched
    eigendecomposition plus a few batched matrix products. On augmented
    covariances of 17 EEG channels (orders 1-8, 36 trials) it took 3-4
    Newton steps where pyRiemann's gradient took 8-9 iterations, and it
    converged on unwhitened order-8 matrices where pyRiemann's ran out of
    its 50 iterations (``benchmarks/riemann_mean.py``).

    Parameters
    ----------
    X : ndarray of shape (n_matrices, n, n)
        Symmetric positive definite matrices.
    sample_weight : array-like of shape (n_matrices,), default=None
        Non-negative weights (equal if None); normalised to sum to one.
    init : {"midpoint", "arithmetic", "identity"} or ndarray of shape (n, n), default="midpoint"
        Starting point. "midpoint": the geometric mean ``A # H`` of the
        arithmetic mean A and the harmonic mean H (the Riemannian mean lies
        between them, ``H <= G <= A``, and equals ``A # H`` for two
        matrices). "arithmetic": A
        (pyRiemann's start). "identity": the log-Euclidean mean of matrices
        whitened by it. Or an SPD matrix.
    tol : float, default=1e-8
        Stop when the Frobenius norm of J is at most ``tol``.
    maxiter : int, default=50
        Maximum number of Newton iterations (a ConvergenceWarning when
        reached).

    Returns
    -------
    mean : ndarray of shape (n, n)

    Raises
    ------
    NotPositiveDefiniteError
        If a matrix or ``init`` is not positive definite (a ValueError).
    ValueError
        If X is not a stack of finite square matrices, or the weights or
        ``init`` are invalid.

    Notes
    -----
    In the frame where the current point is the identity, moving it to
    ``exp(S)`` changes J by ``-sum_i w_i V_i (K_i * (V_i' S V_i)) V_i'`` to
    first order, where ``X_i = V_i diag(exp(l_i)) V_i'`` and
    ``K_i[j, k] = x coth(x)`` with ``x = (l_ij - l_ik) / 2`` (the derivative
    of the matrix logarithm). Steps are halved, as in pyRiemann, whenever
    ``||J||`` grows.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.eeg import riemann_mean
    >>> A, B = np.diag([1.0, 4.0]), np.diag([4.0, 1.0])
    >>> np.round(riemann_mean(np.stack([A, B])), 6)
    array([[2., 0.],
           [0., 2.]])
    """
    factor, _, _ = _solve(X, sample_weight, init, tol, maxiter)
    return _symmetric(factor @ factor.T)


def mean_and_log_map(X, *, init="midpoint", tol=1e-8, maxiter=50):
    """Riemannian mean M and the matrices' logarithms log(M^-1/2 X_i M^-1/2) in one pass.

    The logarithms (pyRiemann's ``log_map_riemann`` at M) come from the
    eigendecomposition that checked convergence, so the tangent space of
    the training matrices costs no further batched eigendecomposition.

    Parameters
    ----------
    X : ndarray of shape (n_matrices, n, n)
        SPD matrices, valid for :func:`riemann_mean`.
    init, tol, maxiter
        As in :func:`riemann_mean` (equal weights).

    Returns
    -------
    mean : ndarray of shape (n, n)
    logs : ndarray of shape (n_matrices, n, n)
    """
    factor, values, vectors = _solve(X, None, init, tol, maxiter)
    mean = _symmetric(factor @ factor.T)
    # M^-1/2 F is orthogonal: it takes the eigenvectors from F's frame to M^-1/2's.
    rotated = _sym_function(mean, lambda v: v**-0.5) @ factor @ vectors
    return mean, _symmetric((rotated * np.log(values)[:, None, :]) @ rotated.transpose(0, 2, 1))


def _solve(X, sample_weight, init, tol, maxiter):
    """Validate the arguments, then run :func:`_newton`."""
    X = _check_matrices(X)
    _check_positive_definite(X)
    _check_tol(tol)
    return _newton(X, _check_weights(sample_weight, X), init, tol, check_n_samples(maxiter, "maxiter"))


def _newton(X, weights, init, tol, maxiter):
    """Newton's iteration on the factor F of M = F F'; F and the last eigendecomposition of F^-1 X F^-T."""
    factor = np.linalg.cholesky(_initial_point(X, weights, init))
    step = 1.0
    best = np.inf
    for _ in range(maxiter):
        values, vectors = _eigh_in_frame(factor, X)
        logs = np.log(values)
        gradient = _weighted_sum(vectors * (weights[:, None] * logs)[:, None, :], vectors)
        crit = np.linalg.norm(gradient)
        if crit <= tol:
            return factor, values, vectors
        if crit >= best:
            step /= 2
        best = min(best, crit)
        # Inexact Newton: a relative accuracy of crit (quadratic convergence), but no more than tol needs.
        forcing = max(min(0.1, crit), 0.1 * tol / crit)
        newton = _newton_step(gradient, vectors, _log_derivative(values, logs, weights), forcing)
        factor = factor @ _sym_function(newton, lambda v: np.exp(step * v / 2))
    warnings.warn(f"riemann_mean did not converge in {maxiter} iterations (||J|| = {crit:.2e} > tol = {tol:g}).",
                  ConvergenceWarning, stacklevel=4)  # fmt: skip
    return factor, *_eigh_in_frame(factor, X)


def _eigh_in_frame(factor, X):
    """Eigendecomposition of F^-1 X_i F^-T, with a NotPositiveDefiniteError naming a matrix
    that is not SPD."""
    inverse = np.linalg.inv(factor)
    values, vectors = np.linalg.eigh(inverse @ X @ inverse.T)
    if not values[:, 0].min() > 0:
        bad = int(np.argmin(values[:, 0]))
        raise NotPositiveDefiniteError(f"X[{bad}] is not positive definite (smallest eigenvalue {values[bad, 0]:.3g} in the "
                         "current frame); the Riemannian mean needs SPD matrices.")  # fmt: skip
    return values, vectors


def _weighted_sum(left, right):
    """sum_i left_i right_i' for stacks of square matrices, as one GEMM."""
    n, d, _ = left.shape
    wide = left.transpose(1, 0, 2).reshape(d, n * d)
    return _symmetric(wide @ right.transpose(1, 0, 2).reshape(d, n * d).T)


def _log_derivative(values, logs, weights):
    """w_i x coth(x) with x = (l_ij - l_ik) / 2: the derivative of the log in each eigenbasis.

    With lambda = exp(l), x coth(x) = x (lambda_j + lambda_k) / (lambda_j - lambda_k);
    near x = 0 the series 1 + x^2 / 3 (error below 1e-16 for |x| < 1e-4).
    """
    half = (logs[:, :, None] - logs[:, None, :]) / 2
    small = np.abs(half) < 1e-4
    gap = np.where(small, 1.0, values[:, :, None] - values[:, None, :])
    ratio = np.where(small, 1 + half**2 / 3, half * (values[:, :, None] + values[:, None, :]) / gap)
    return weights[:, None, None] * ratio


def _newton_step(gradient, vectors, kernel, forcing, max_products=50):
    """Solve H S = J by conjugate gradients from S = J (the gradient step).

    H S = sum_i V_i (K_i * (V_i' S V_i)) V_i': two GEMMs over the stacked
    eigenvectors and two batched products, in float32 (twice as fast; the
    step only needs a relative accuracy of ``forcing``, at least 1e-5, and
    convergence is judged on J in float64).
    """
    n, d, _ = vectors.shape
    vectors = vectors.astype(np.float32)
    kernel = kernel.astype(np.float32)
    stacked_t = np.ascontiguousarray(vectors.transpose(0, 2, 1)).reshape(n * d, d)
    wide = np.ascontiguousarray(vectors.transpose(1, 0, 2)).reshape(d, n * d)
    buffer = np.empty((d, n, d), dtype=np.float32)

    def hessian(s):
        inner = kernel * ((stacked_t @ s).reshape(n, d, d) @ vectors)
        np.matmul(vectors, inner, out=buffer.transpose(1, 0, 2))
        return _symmetric(buffer.reshape(d, n * d) @ wide.T)

    solution = gradient.astype(np.float32)
    residual = solution - hessian(solution)
    direction = residual.copy()
    norm2 = _norm2(residual)
    target = max(forcing, 1e-5) ** 2 * _norm2(solution)
    for _ in range(max_products):
        if norm2 <= target:
            break
        product = hessian(direction)
        alpha = norm2 / np.sum(direction * product, dtype=np.float64)
        solution += np.float32(alpha) * direction
        residual -= np.float32(alpha) * product
        new_norm2 = _norm2(residual)
        direction = residual + np.float32(new_norm2 / norm2) * direction
        norm2 = new_norm2
    return _symmetric(solution.astype(np.float64))


def _norm2(x):
    return float(np.sum(x * x, dtype=np.float64))


def _sym_function(x, function):
    values, vectors = np.linalg.eigh(x)
    return (vectors * function(values)) @ vectors.T


def _symmetric(x):
    """Symmetric part of a matrix or of each matrix in a stack."""
    return (x + np.swapaxes(x, -1, -2)) / 2


def _initial_point(X, weights, init):
    if isinstance(init, str):
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS} or an SPD matrix; got {init!r}.")
        if init == "identity":
            return np.eye(X.shape[1])
        arithmetic = np.einsum("i,ijk->jk", weights, X)
        if init == "arithmetic":
            return arithmetic
        harmonic = np.linalg.inv(np.einsum("i,ijk->jk", weights, np.linalg.inv(X)))
        factor = np.linalg.cholesky(arithmetic)
        inverse = np.linalg.inv(factor)
        return _symmetric(factor @ _sym_function(_symmetric(inverse @ harmonic @ inverse.T), np.sqrt) @ factor.T)
    init = np.asarray(init, dtype=float)
    if init.shape != X.shape[1:] or not np.all(np.isfinite(init)):
        raise ValueError(f"init must be a finite matrix of shape {X.shape[1:]}; got shape {init.shape}.")
    if not np.all(np.linalg.eigvalsh(_symmetric(init)) > 0):
        raise NotPositiveDefiniteError("init is not positive definite.")
    return _symmetric(init)


def _check_matrices(X):
    X = np.asarray(X)
    if X.dtype.kind not in "fiu":
        raise ValueError(f"X must hold real numbers; got dtype {X.dtype}.")
    X = X.astype(np.float64)
    if X.ndim != 3 or X.shape[1] != X.shape[2] or len(X) == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty stack of square matrices (n_matrices, n, n); got shape {X.shape}.")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity.")
    # Rounding leaves covariances asymmetric by ~1e-16 of their entries; symmetrise
    # that, but refuse matrices that are not symmetric (Cholesky reads one triangle).
    asymmetry = np.abs(X - X.transpose(0, 2, 1)).max(axis=(1, 2))
    bad = np.flatnonzero(asymmetry > 1e-8 * np.abs(X).max(axis=(1, 2)))
    if bad.size:
        raise ValueError(f"X[{bad[0]}] is not symmetric (|X - X^T| up to {asymmetry[bad[0]]:.3g}); "
                         "the Riemannian mean needs SPD matrices.")  # fmt: skip
    return _symmetric(X)


def _check_positive_definite(X):
    """A ValueError naming the first matrix without a Cholesky factor."""
    try:
        np.linalg.cholesky(X)
    except np.linalg.LinAlgError:
        for i, matrix in enumerate(X):
            try:
                np.linalg.cholesky(matrix)
            except np.linalg.LinAlgError:
                raise NotPositiveDefiniteError(f"X[{i}] is not positive definite; the Riemannian mean needs SPD "
                                               "matrices.") from None


def _check_weights(sample_weight, X):
    # sklearn's check: the right length, finite, non-negative and not all zero.
    weights = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
    return weights / weights.sum()


def _check_tol(tol):
    if not isinstance(tol, Real) or isinstance(tol, bool) or not tol > 0:
        raise ValueError(f"tol must be a positive number; got {tol!r}.")
