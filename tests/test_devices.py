"""The torch estimators take ``device`` as a string or a ``torch.device``."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

torch = pytest.importorskip("torch")

from densest.ar import ARNet  # noqa: E402
from densest.datasets import make_ar_process, make_manifold  # noqa: E402
from densest.deep import DeepGenerativeDensity, FlowDensity  # noqa: E402
from densest.score import ScoreAutoEncoder  # noqa: E402
from densest.utils._test_common import INSTANCE_PARAMS  # noqa: E402
from densest.utils.validation import InvalidParameterError  # noqa: E402

ESTIMATORS = [ARNet, ScoreAutoEncoder, DeepGenerativeDensity, FlowDensity]


def fit_and_output(estimator):
    if isinstance(estimator, ARNet):
        y = make_ar_process([0.5, -0.2], 200, random_state=0)
        return estimator.fit(y).coef_
    X = make_manifold("sphere", 80, random_state=0)
    return estimator.fit(X).score_function(X[:5]) if isinstance(estimator, ScoreAutoEncoder) else \
        estimator.fit(X).score_samples(X[:5])  # fmt: skip


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_a_torch_device_equals_its_string(Estimator):
    # a torch.device was refused ("must be an instance of 'str'")
    params = {**INSTANCE_PARAMS[Estimator.__name__][0], "device": "cpu"}
    expected = fit_and_output(Estimator(**params))
    model = Estimator(**{**params, "device": torch.device("cpu")})
    np.testing.assert_array_equal(fit_and_output(model), expected)
    assert str(model.device_) == "cpu"
    assert clone(model).get_params()["device"] == torch.device("cpu")
    np.testing.assert_array_equal(fit_and_output(pickle.loads(pickle.dumps(model))), expected)
    with pytest.raises(InvalidParameterError, match="torch.device"):
        Estimator(**{**params, "device": 0}).fit(np.zeros((5, 3)))
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            fit_and_output(Estimator(**{**params, "device": torch.device("cuda")}))
