"""Statistical and algebraic properties of KernelDensity (hypothesis, seeded, bounded)."""

import math

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from scipy import integrate, stats

from densest.kde import KernelDensity, combine_partial_log_densities

RULES = ["auto", "nn", "scott", "silverman", "loo"]


@st.composite
def datasets(draw, max_d=4):
    n = draw(st.integers(5, 40))
    d = draw(st.integers(1, max_d))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)) * scale, rng


@given(datasets(), st.sampled_from(RULES))
def test_permutation_invariance(data, rule):
    X, rng = data
    Q = X[:5] + 0.1 * X.std()
    perm = rng.permutation(len(X))
    a = KernelDensity(bandwidth=rule).fit(X).score_samples(Q)
    b = KernelDensity(bandwidth=rule).fit(X[perm]).score_samples(Q)
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@given(datasets(), st.sampled_from(RULES), st.floats(-1e3, 1e3))
def test_translation_equivariance(data, rule, shift):
    X, _ = data
    Q = X[:5] * 1.1
    a = KernelDensity(bandwidth=rule).fit(X).score_samples(Q)
    b = KernelDensity(bandwidth=rule).fit(X + shift).score_samples(Q + shift)
    np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-6)


@given(datasets(), st.sampled_from(RULES + ["gauss-kl"]), st.sampled_from([1e-2, 3.0, 1e2]),
       st.sampled_from(["none", "standardize", "whiten"]))  # fmt: skip
def test_scale_equivariance_of_the_rules(data, rule, c, scale):
    X, _ = data
    if scale == "whiten" and len(X) <= 2 * X.shape[1]:
        return
    Q = X[:5] * 0.9
    d = X.shape[1]
    a = KernelDensity(bandwidth=rule, scale=scale).fit(X)
    b = KernelDensity(bandwidth=rule, scale=scale).fit(c * X)
    np.testing.assert_allclose(b.score_samples(c * Q), a.score_samples(Q) - d * math.log(c),
                               rtol=1e-7, atol=1e-6)  # fmt: skip


@pytest.mark.parametrize("rule", RULES + ["gauss-kl"])
@pytest.mark.parametrize("scale", ["none", "whiten"])
def test_scale_equivariance_far_from_unit_scale(rule, scale, rng):
    # Data near 1e-120 or 1e120 (squares near 1e+-240) still fit; the KL rule's
    # root search once left its bracket there. Beyond 1e140 fit refuses clearly.
    X = rng.standard_normal((60, 3))
    Q = X[:5] * 0.9
    a = KernelDensity(bandwidth=rule, scale=scale).fit(X)
    for c in (1e-120, 1e120):
        b = KernelDensity(bandwidth=rule, scale=scale).fit(c * X)
        np.testing.assert_allclose(b.score_samples(c * Q), a.score_samples(Q) - 3 * math.log(c),
                                   rtol=1e-9, atol=1e-8)  # fmt: skip
    for c in (1e-200, 1e200):
        with pytest.raises(ValueError, match="rescale it"):
            KernelDensity(bandwidth=rule, scale=scale).fit(c * X)


@given(datasets(), st.integers(1, 50))
def test_blocking_and_subset_invariance(data, block_size):
    X, rng = data
    Q = rng.standard_normal((37, X.shape[1])) * X.std()
    kde = KernelDensity(bandwidth=float(X.std() + 1e-3), block_size=block_size).fit(X)
    whole = kde.score_samples(Q)
    parts = np.concatenate([kde.score_samples(Q[i:i + 7]) for i in range(0, 37, 7)])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-11 * (1 + np.abs(whole).max()))


@given(datasets(), st.sampled_from(["gaussian", "epanechnikov", "exponential"]))
def test_integer_weights_equal_repetition_and_zero_equals_removal(data, kernel):
    X, rng = data
    h = float(X.std() + 1e-3)
    counts = rng.integers(0, 4, size=len(X))
    counts[0] = 1
    Q = X[:6] * 1.01
    weighted = KernelDensity(bandwidth=h, kernel=kernel).fit(X, sample_weight=counts)
    repeated = KernelDensity(bandwidth=h, kernel=kernel).fit(np.repeat(X, counts, axis=0))
    a, b = weighted.score_samples(Q), repeated.score_samples(Q)
    np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
    ok = np.isfinite(a)
    np.testing.assert_allclose(a[ok], b[ok], rtol=1e-10, atol=1e-9)


@given(datasets(), st.sampled_from(RULES + ["gauss-kl"]), st.sampled_from([1e-300, 1e-150, 1e150, 1e300]),
       st.sampled_from(["none", "standardize"]))  # fmt: skip
def test_the_scale_of_the_weights_does_not_matter(data, rule, factor, scale):
    # Only ratios of weights matter. Weights near either end of the float64 range
    # once made sums and squares of weights overflow or underflow (NaN Kish sizes,
    # wrong rules, failed sampling).
    X, rng = data
    w = rng.uniform(0.5, 2.0, len(X))
    Q = X[:5] * 1.1
    a = KernelDensity(bandwidth=rule, scale=scale).fit(X, sample_weight=w)
    b = KernelDensity(bandwidth=rule, scale=scale).fit(X, sample_weight=w * factor)
    assert b.bandwidth_ == pytest.approx(a.bandwidth_, rel=1e-9)
    assert b.n_effective_ == pytest.approx(a.n_effective_, rel=1e-12)
    np.testing.assert_allclose(b.score_samples(Q), a.score_samples(Q), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.sample(4, random_state=0), a.sample(4, random_state=0), rtol=1e-9,
                               atol=1e-12 * np.abs(X).max())  # fmt: skip


@given(datasets(), st.integers(1, 4))
def test_split_reference_combines_exactly(data, n_parts):
    X, rng = data
    h = float(X.std() + 1e-3)
    cuts = np.sort(rng.choice(np.arange(1, len(X)), size=min(n_parts, len(X) - 1), replace=False))
    parts = np.split(X, cuts)
    Q = X[:8] + 0.05 * h
    logs = [KernelDensity(bandwidth=h).fit(p).score_samples(Q) for p in parts]
    combined = combine_partial_log_densities(logs, [len(p) for p in parts])
    np.testing.assert_allclose(combined, KernelDensity(bandwidth=h).fit(X).score_samples(Q),
                               rtol=1e-10, atol=1e-9)  # fmt: skip


def _integral_1d(kde, X, h, kernel):
    # Integrate over merged windows around every centre (a single wide window can
    # miss narrow bumps: hypothesis found X = [[370], [0]], h = 0.0625), with a fine
    # vectorised trapezoid rule on each window.
    reach = 40 * h if kernel in ("gaussian", "exponential") else 1.01 * h
    centres = np.sort(X[:, 0])
    pieces = [[centres[0] - reach, centres[0] + reach]]
    for c in centres[1:]:
        if c - reach <= pieces[-1][1]:
            pieces[-1][1] = c + reach
        else:
            pieces.append([c - reach, c + reach])
    total = 0.0
    for a, b in pieces:
        grid = np.linspace(a, b, 200_001)
        total += integrate.trapezoid(np.exp(kde.score_samples(grid[:, None])), grid)
    return total


@pytest.mark.slow
@given(datasets(max_d=1), st.sampled_from(["gaussian", "tophat", "epanechnikov", "exponential",
                                          "linear", "cosine"]))  # fmt: skip
@example(data=(np.array([[370.0], [0.0]]), None), kernel="gaussian")
def test_integrates_to_one_in_1d(data, kernel):
    X, _ = data
    X = X[:6]
    h = 0.0625 if len(X) == 2 and X[0, 0] == 370.0 else float(X.std() + 0.05)
    kde = KernelDensity(bandwidth=h, kernel=kernel).fit(X)
    assert _integral_1d(kde, X, h, kernel) == pytest.approx(1.0, abs=2e-4)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["gaussian", "tophat", "epanechnikov", "exponential", "linear",
                                    "cosine"])  # fmt: skip
def test_integrates_to_one_in_2d(kernel):
    X = np.random.default_rng(3).standard_normal((4, 2))
    kde = KernelDensity(bandwidth=0.7, kernel=kernel).fit(X)
    reach = 12.0 if kernel == "exponential" else 6.0
    grid_x = np.linspace(X[:, 0].min() - reach, X[:, 0].max() + reach, 1201)
    grid_y = np.linspace(X[:, 1].min() - reach, X[:, 1].max() + reach, 1201)
    xx, yy = np.meshgrid(grid_x, grid_y)
    p = np.exp(kde.score_samples(np.column_stack([xx.ravel(), yy.ravel()]))).reshape(xx.shape)
    value = integrate.trapezoid(integrate.trapezoid(p, grid_x, axis=1), grid_y)
    assert value == pytest.approx(1.0, abs=2e-3)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["gaussian", "tophat", "epanechnikov", "exponential", "linear",
                                    "cosine"])  # fmt: skip
@pytest.mark.parametrize("scale", ["none", "whiten"])
def test_sample_is_consistent_with_score_samples(kernel, scale):
    # Monte-Carlo mean of log p(sample) equals the entropy integral computed from
    # score_samples by quadrature (1-D), within 5 standard errors.
    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(-2, 0.5, 20), rng.normal(1, 1.0, 30)])[:, None]
    kde = KernelDensity(bandwidth=0.4, kernel=kernel, scale=scale).fit(X)
    draws = kde.sample(20_000, random_state=0)
    logp = kde.score_samples(draws)
    assert np.all(np.isfinite(logp))
    grid = np.linspace(X.min() - 8, X.max() + 8, 40_001)
    lg = kde.score_samples(grid[:, None])
    p = np.exp(lg)
    with np.errstate(invalid="ignore"):
        expected = integrate.trapezoid(np.where(p > 0, p * lg, 0.0), grid)
    se = logp.std() / math.sqrt(len(logp))
    assert abs(logp.mean() - expected) < 5 * se + 1e-3
    # and a KS test of the draws against the KDE's CDF
    cdf = np.cumsum(p) * (grid[1] - grid[0])
    ks = stats.kstest(draws[:, 0], lambda x: np.interp(x, grid, cdf / cdf[-1]))
    assert ks.pvalue > 1e-3


def test_sample_is_reproducible_and_in_data_units():
    X = np.random.default_rng(0).standard_normal((100, 3)) * [1, 10, 100] + 5
    kde = KernelDensity(scale="standardize").fit(X)
    a = kde.sample(500, random_state=1)
    np.testing.assert_array_equal(a, kde.sample(500, random_state=1))
    np.testing.assert_allclose(a.std(0) / X.std(0), 1.0, atol=0.25)
