"""Every public estimator through scikit-learn's common checks, pickling and determinism."""

import pickle
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, clone, is_classifier, is_regressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skxfer import is_masked
from skxfer.datasets import make_covariate_shift
from skxfer.utils import MaskedLabelWarning, NoTransferWarning, all_estimators
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
        # the same model, to the last bits: BLAS may sum a product of the unpickled (and
        # differently aligned) arrays in another order, which moves the 16th digit
        if np.asarray(before[key]).dtype.kind == "f":
            np.testing.assert_allclose(before[key], after[key], rtol=1e-13, atol=1e-15, err_msg=key)
        else:
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
    import skxfer.align
    import skxfer.featurize
    import skxfer.model_selection
    import skxfer.reweight
    import skxfer.timeseries
    import skxfer.warm_start

    modules = (
        skxfer.align,
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


SUPERVISED_DOMAIN = [
    est
    for est in ESTIMATORS
    if (is_classifier(est) or is_regressor(est)) and domain_kwargs(est, None)
]


def _packed_labels(estimator):
    """Packed rows whose unlabelled target rows hold the mask: -1 for class labels, NaN for
    real targets (what skxfer.pack gives)."""
    X, y, sd = _domain_data(estimator)
    return X, y, sd, ~is_masked(y) | (sd > 0)


@pytest.mark.parametrize("estimator", SUPERVISED_DOMAIN, ids=_ids)
def test_unlabelled_mark_without_sample_domain_is_not_learnt_silently(estimator):
    X, y, _, _ = _packed_labels(estimator)
    y_float = y.astype(float)
    y_float[y == -1] = np.nan
    with pytest.raises(ValueError, match="sample_domain"):
        clone(estimator).fit(X, y_float)
    if is_classifier(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoTransferWarning)
            with pytest.warns(MaskedLabelWarning, match="sample_domain"):
                fitted = clone(estimator).fit(X, y.astype(int))
        assert -1 in fitted.classes_  # fitted as a class, and said so
        # -1 beside a single other label can only be a class: nothing to say
        y_pm = np.where(y.astype(int) == 0, -1, 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoTransferWarning)
            warnings.simplefilter("error", MaskedLabelWarning)
            assert set(clone(estimator).fit(X, y_pm).classes_) == {-1, 1}


@pytest.mark.parametrize("estimator", SUPERVISED_DOMAIN, ids=_ids)
def test_score_counts_labelled_rows_only(estimator):
    X, y, sd, labelled = _packed_labels(estimator)
    fitted = _fit_domain(clone(estimator), X, y, sd)
    assert not labelled.all()
    expected = fitted.score(X[labelled], y[labelled])
    assert fitted.score(X, y) == pytest.approx(expected)
    target = labelled & (sd < 0)
    assert fitted.score(X, y, sample_domain=sd) == pytest.approx(fitted.score(X[target], y[target]))
    with pytest.raises(ValueError, match="no labelled"):
        fitted.score(X[~labelled], y[~labelled])


def test_grid_search_default_score_skips_unlabelled_rows():
    """GridSearchCV's default scoring calls score on folds that hold unlabelled rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

    from skxfer.warm_start import PooledTransfer

    X, y, sd, labelled = _packed_labels(PooledTransfer(LogisticRegression()))
    cv = list(KFold(3, shuffle=True, random_state=0).split(X))
    est = PooledTransfer(LogisticRegression(), target_weight=2.0)
    search = GridSearchCV(est, {"target_weight": [2.0]}, cv=cv)
    search.fit(X, y, sample_domain=sd)
    by_hand = [
        clone(est)
        .fit(X[train], y[train], sample_domain=sd[train])
        .score(X[test][labelled[test]], y[test][labelled[test]])
        for train, test in cv
    ]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], np.mean(by_hand))
    with sklearn.config_context(enable_metadata_routing=True):
        routed = cross_val_score(est, X, y, cv=cv, params={"sample_domain": sd})
    target_scores = [
        clone(est)
        .fit(X[train], y[train], sample_domain=sd[train])
        .score(X[test], y[test], sample_domain=sd[test])
        for train, test in cv
    ]
    np.testing.assert_allclose(routed, target_scores)


def _seeded(estimator):
    """A clone with every random_state, nested ones included, set to 0."""
    params = estimator.get_params(deep=True)
    seeds = {name: 0 for name in params if name.split("__")[-1] == "random_state"}
    if "weighter" in params and params["weighter"] is None:
        # the default weighter is built unseeded in fit; a seeded one is passed instead
        from skxfer.reweight import DiscriminativeWeighter

        seeds["weighter"] = DiscriminativeWeighter(random_state=0)
    return clone(estimator).set_params(**seeds)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_fit_leaves_numpy_global_random_state_alone(estimator):
    """A seeded fit neither draws from nor re-seeds NumPy's legacy global RNG, and an
    unseeded one (which may draw from it, as scikit-learn's do) does not re-seed it."""
    X, y, sd = _domain_data(estimator)
    state = np.random.get_state()  # noqa: NPY002
    _fit_domain(_seeded(estimator), X, y, sd)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == state[0]
    np.testing.assert_array_equal(after[1], state[1], err_msg="a seeded fit moved the RNG")
    assert after[2:] == state[2:]
    draws = []
    for seed in (1, 2):
        np.random.seed(seed)  # noqa: NPY002  (the legacy RNG is what is checked)
        _fit_domain(clone(estimator), X, y, sd)
        draws.append(np.random.random_sample())  # noqa: NPY002
    np.random.set_state(state)  # noqa: NPY002
    assert draws[0] != draws[1], "fit re-seeded NumPy's global RNG"
