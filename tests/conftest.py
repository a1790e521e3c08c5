import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Numba compiles on first call, so no per-example deadline; derandomized in CI.
settings.register_profile(
    "densest",
    deadline=None,
    max_examples=30,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "densest"))


@pytest.fixture
def rng():
    return np.random.default_rng(0)
