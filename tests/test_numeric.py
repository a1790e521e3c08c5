"""The shared numerics of densest.utils._numeric against exact references."""

import math
import statistics

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from densest.utils._numeric import feature_std, total_std


def exact_std(column):
    """Population standard deviation from exact rational sums (statistics.pstdev)."""
    return statistics.pstdev(float(v) for v in column)


@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 40),
       exponents=st.lists(st.integers(-300, 300), min_size=1, max_size=5))  # fmt: skip
def test_feature_std_is_exact_for_columns_of_any_scale(seed, n, exponents):
    # one scale for all columns underflowed the small ones beside large ones:
    # [1e200, 1e-200]-scaled columns gave a standard deviation of 0 for the second
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, len(exponents))) * 10.0 ** np.array(exponents, dtype=float)
    before = X.copy()
    expected = [exact_std(X[:, f]) for f in range(X.shape[1])]
    np.testing.assert_allclose(feature_std(X), expected, rtol=1e-13, atol=0)
    np.testing.assert_allclose(total_std(X), math.hypot(*expected), rtol=1e-13, atol=0)
    np.testing.assert_array_equal(X, before)


def test_feature_std_of_constant_and_empty_columns_is_zero():
    np.testing.assert_array_equal(feature_std(np.full((5, 2), 3e300)), [0.0, 0.0])
    np.testing.assert_array_equal(feature_std(np.empty((0, 3))), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(feature_std(np.array([[1e-300, 7.0], [1e-300, 7.0]])), [0.0, 0.0])


def test_feature_std_keeps_a_small_column_beside_a_large_one():
    X = np.array([[1.0, 2.0], [3.0, 5.0]]) * np.array([1e200, 1e-200])
    np.testing.assert_allclose(feature_std(X), [1e200, 1.5e-200], rtol=1e-15)
