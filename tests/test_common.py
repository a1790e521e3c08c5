"""scikit-learn's common checks over every discovered estimator and parameterisation."""

import sys
import types

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import parametrize_with_checks

import densest._families as families_module
from densest._families import Family
from densest.base import DensityMixin
from densest.utils import all_estimators
from densest.utils._test_common import (
    INSTANCE_PARAMS,
    expected_failed_checks,
    is_3d,
    instances_to_check,
)

ESTIMATORS = all_estimators()
INSTANCES = list(instances_to_check(ESTIMATORS))
INSTANCES_2D = [est for est in INSTANCES if not is_3d(est)]
INSTANCES_3D = [est for est in INSTANCES if is_3d(est)]

DATA_FREE_CHECKS = [
    ec.check_no_attributes_set_in_init,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_parameters_default_constructible,
    ec.check_estimator_repr,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_estimator_cloneable,
]


def _id(estimator):
    return repr(estimator).replace("\n", "").replace(" ", "")


@parametrize_with_checks(INSTANCES_2D, expected_failed_checks=expected_failed_checks)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_param_validation(estimator):
    ec.check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize("check", DATA_FREE_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", INSTANCES_3D, ids=_id)
def test_data_free_checks_3d(estimator, check):
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("name", [name for name, _ in ESTIMATORS])
def test_each_estimator_has_two_parameterisations(name):
    assert len(INSTANCE_PARAMS.get(name, [])) >= 2, (
        f"{name} needs at least two parameterisations in "
        "densest/utils/_test_common.py::INSTANCE_PARAMS"
    )


def test_expected_failures_name_known_estimators():
    from densest.utils._test_common import EXPECTED_FAILED_CHECKS

    names = {name for name, _ in ESTIMATORS}
    assert set(EXPECTED_FAILED_CHECKS) <= names | set(INSTANCE_PARAMS)
    for estimator in INSTANCES:
        reasons = expected_failed_checks(estimator)
        assert all(len(reason) > 20 for reason in reasons.values())


class _TinyDensity(DensityMixin, BaseEstimator):
    """A private estimator used only to show that discovery is automatic."""

    def __init__(self, *, shift=0.0):
        self.shift = shift


def test_discovery_picks_up_a_new_family(monkeypatch):
    fake = types.ModuleType("densest.tinyfamily")
    fake.__all__ = ["_TinyDensity", "not_an_estimator"]
    fake._TinyDensity = _TinyDensity
    fake.not_an_estimator = len
    monkeypatch.setitem(sys.modules, "densest.tinyfamily", fake)
    tiny = Family("tinyfamily", "tiny", "none", None, ())
    absent = Family("absentfamily", "needs a package that is not installed", "none", "x",
                    ("densest_no_such_package",))  # fmt: skip
    monkeypatch.setattr(families_module, "FAMILIES", (*families_module.FAMILIES, tiny, absent))
    import densest.utils.discovery as discovery

    monkeypatch.setattr(discovery, "FAMILIES", families_module.FAMILIES)
    found = dict(discovery.all_estimators())
    assert found["_TinyDensity"] is _TinyDensity
    assert "not_an_estimator" not in found
    assert set(found) >= {name for name, _ in ESTIMATORS}
