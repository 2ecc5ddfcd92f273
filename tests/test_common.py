"""Every public estimator through scikit-learn's common checks, pickling and determinism."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skxfer.datasets import make_covariate_shift
from skxfer.utils import NoTransferWarning, all_estimators
from tests._instances import all_instances, domain_kwargs, expected_failed_checks

ESTIMATORS = all_instances()


def _ids(est):
    return type(est).__name__


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoTransferWarning)
        check(estimator)


def _domain_data(estimator):
    """Stacked source/target rows that exercise the transfer path of ``estimator``."""
    data = make_covariate_shift(150, 100, n_features=4, random_state=0)
    y = data.y_true.copy()
    if is_regressor(estimator):
        y = data.X[:, 0] + data.X[:, 1] ** 2
    # a few labelled target rows, so estimators that need target labels can fit
    y = y.astype(float) if is_regressor(estimator) else y
    unlabelled = np.flatnonzero(data.sample_domain < 0)[20:]
    y[unlabelled] = np.nan if is_regressor(estimator) else -1
    return data.X, y, data.sample_domain


def _outputs(estimator, X):
    out = {}
    for method in ("predict", "predict_proba", "transform", "compute_weights"):
        if hasattr(estimator, method):
            out[method] = getattr(estimator, method)(X)
    if hasattr(estimator, "weights_"):
        out["weights_"] = estimator.weights_
    return out


def _fit_domain(estimator, X, y, sample_domain):
    kwargs = domain_kwargs(estimator, sample_domain)
    if is_classifier(estimator) or is_regressor(estimator):
        return estimator.fit(X, y, **kwargs)
    return estimator.fit(X, **kwargs)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_pickle_round_trip_after_domain_fit(estimator):
    X, y, sd = _domain_data(estimator)
    fitted = _fit_domain(clone(estimator), X, y, sd)
    restored = pickle.loads(pickle.dumps(fitted))
    before, after = _outputs(fitted, X), _outputs(restored, X)
    assert before, f"{type(estimator).__name__} exposes no output to compare"
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_random_state_determinism(estimator):
    X, y, sd = _domain_data(estimator)
    params = {"random_state": 0} if "random_state" in estimator.get_params() else {}
    first = _outputs(_fit_domain(clone(estimator).set_params(**params), X, y, sd), X)
    second = _outputs(_fit_domain(clone(estimator).set_params(**params), X, y, sd), X)
    for key in first:
        np.testing.assert_allclose(first[key], second[key], err_msg=key)


def test_every_public_estimator_is_discovered():
    import skxfer.featurize
    import skxfer.model_selection
    import skxfer.reweight
    import skxfer.timeseries
    import skxfer.warm_start

    modules = (
        skxfer.reweight,
        skxfer.model_selection,
        skxfer.warm_start,
        skxfer.featurize,
        skxfer.timeseries,
    )
    public = {
        name
        for module in modules
        for name in module.__all__
        if isinstance(getattr(module, name), type)
        and issubclass(getattr(module, name), BaseEstimator)
    }
    assert public == {name for name, _ in all_estimators()}
    # 6 weighters, 2 wrappers, 3 boosters, 7 warm-start estimators, 1 featurizer
    assert len(public) >= 19


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_fit_mutates_no_input_and_no_global_config(estimator):
    import sklearn

    X, y, sd = _domain_data(estimator)
    copies = [X.copy(), y.copy(), sd.copy()]
    estimator = clone(estimator)
    params = estimator.get_params(deep=False)
    config = sklearn.get_config()
    fitted = _fit_domain(estimator, X, y, sd)
    for before, after in zip(copies, [X, y, sd]):
        np.testing.assert_array_equal(before, after)
    assert sklearn.get_config() == config
    assert fitted.get_params(deep=False).keys() == params.keys()
    for name, value in params.items():
        if not hasattr(value, "get_params"):  # estimator parameters are compared by clone
            assert fitted.get_params(deep=False)[name] is value or np.all(
                fitted.get_params(deep=False)[name] == value
            ), name
