import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold
from sklearn.neighbors import KNeighborsRegressor
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError

from skxfer.reweight import TrAdaBoostRegressor, TwoStageTrAdaBoostRegressor
from skxfer.reweight._two_stage_tradaboost import _shift_to_target
from skxfer.utils import NoTransferWarning
from tests.reweight.test_tradaboost_r2 import friedman_shift

FAST = {"n_estimators": 15, "n_steps": 5, "cv": 3}


def _mse(model, X, y):
    return float(np.mean((model.predict(X) - y) ** 2))


def test_beats_target_only_on_a_shifted_source():
    ours, target_only = [], []
    for seed in range(3):
        X, y, sd, X_test, y_test, _ = friedman_shift(seed, n_source=300)
        reg = TwoStageTrAdaBoostRegressor(**FAST, random_state=0).fit(X, y, sample_domain=sd)
        ours.append(_mse(reg, X_test, y_test))
        target = sd < 0
        tree = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X[target], y[target])
        target_only.append(_mse(tree, X_test, y_test))
    # measured: about 0.7 of the target-only error
    assert np.mean(ours) < 0.85 * np.mean(target_only)


def test_cross_validation_tells_a_related_source_from_an_unrelated_one():
    first_step = {}
    for name, shuffle in (("related", False), ("unrelated", True)):
        first_step[name] = []
        for seed in range(2):
            X, y, sd, _, _, _ = friedman_shift(seed, n_source=300, misleading=0.0)
            if shuffle:  # the source labels no longer say anything about the inputs
                y = y.copy()
                y[sd > 0] = np.random.default_rng(seed).permutation(y[sd > 0])
            reg = TwoStageTrAdaBoostRegressor(**FAST, random_state=0).fit(X, y, sample_domain=sd)
            assert reg.best_step_ == np.argmin(reg.cv_errors_)
            best_share = reg.target_shares_[reg.best_step_]
            np.testing.assert_allclose(reg.sample_weight_[sd < 0].sum(), best_share)
            first_step[name].append(reg.cv_errors_[0])
            if shuffle:
                assert reg.best_step_ > 0  # some source weight is moved to the target
            else:
                # pooling with uniform weights is close to the best step: the source helps
                assert reg.cv_errors_[0] < 1.25 * reg.cv_errors_.min()
                assert reg.cv_errors_[0] < reg.cv_errors_[-1]
    # measured: 8.5 and 11.8 (related) against 23.4 and 21.8 (unrelated)
    assert np.mean(first_step["unrelated"]) > 1.5 * np.mean(first_step["related"])


def test_target_shares_go_from_the_initial_share_to_the_target_alone():
    X, y, sd, _, _, _ = friedman_shift(0, n_source=120, n_target=30)
    reg = TwoStageTrAdaBoostRegressor(n_estimators=5, n_steps=4, cv=3, random_state=0)
    reg.fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(reg.target_shares_, [0.2, 0.2 + 0.8 / 3, 0.2 + 1.6 / 3, 1.0])
    assert reg.cv_errors_.shape == (4,)
    assert len(reg.estimators_) == len(reg.estimator_weights_) == len(reg.estimator_errors_)


def test_shift_to_target_hits_the_share_and_lowers_the_worst_rows_most():
    w = np.ones(6)
    source = np.array([True, True, True, True, False, False])
    errors = np.array([0.0, 0.2, 0.5, 1.0, 0.3, 0.1])
    out = _shift_to_target(w, errors, source, 0.5)
    np.testing.assert_allclose(out[~source], w[~source])
    np.testing.assert_allclose(out[~source].sum() / out.sum(), 0.5)
    assert out[0] > out[1] > out[2] > out[3] > 0
    np.testing.assert_array_equal(_shift_to_target(w, errors, source, 1.0)[source], 0.0)
    # rows with zero error cannot be lowered by beta ** e: the share is still reached
    flat = _shift_to_target(w, np.zeros(6), source, 0.8)
    np.testing.assert_allclose(flat[~source].sum() / flat.sum(), 0.8)


def test_cv_accepts_splitters_and_split_lists():
    X, y, sd, X_test, _, _ = friedman_shift(1, n_source=100, n_target=12)
    n_target = int((sd < 0).sum())
    splits = list(KFold(3).split(np.zeros(n_target)))
    params = {"n_estimators": 5, "n_steps": 3, "random_state": 0}
    a = TwoStageTrAdaBoostRegressor(cv=KFold(3), **params).fit(X, y, sample_domain=sd)
    b = TwoStageTrAdaBoostRegressor(cv=splits, **params).fit(X, y, sample_domain=sd)
    np.testing.assert_allclose(a.cv_errors_, b.cv_errors_)
    np.testing.assert_allclose(a.predict(X_test), b.predict(X_test))
    # an int larger than the number of labelled target rows falls back to leave-one-out
    c = TwoStageTrAdaBoostRegressor(cv=50, **params).fit(X, y, sample_domain=sd)
    assert np.all(np.isfinite(c.cv_errors_))


def test_needs_two_labelled_target_rows():
    X, y, sd, _, _, _ = friedman_shift(0, n_source=50, n_target=5)
    y = y.copy()
    y[-4:] = np.nan
    with pytest.raises(ValueError, match="at least 2 labelled target rows"):
        TwoStageTrAdaBoostRegressor(**FAST).fit(X, y, sample_domain=sd)
    y[-5:] = np.nan
    with pytest.raises(ValueError, match="labelled target rows"):
        TwoStageTrAdaBoostRegressor(**FAST).fit(X, y, sample_domain=sd)
    # the one-stage algorithm can work with a single labelled target row
    y[-1] = 0.0
    TrAdaBoostRegressor(n_estimators=3).fit(X, y, sample_domain=sd)


def test_zero_weight_on_source_rows_is_the_same_as_dropping_them():
    X, y, sd, X_test, _, _ = friedman_shift(2, n_source=80, n_target=15)
    sw = np.ones(len(y))
    sw[:80:5] = 0
    keep = sw > 0
    params = {"estimator": Ridge(), "n_estimators": 5, "n_steps": 3, "cv": 3, "random_state": 0}
    a = TwoStageTrAdaBoostRegressor(**params).fit(X, y, sample_weight=sw, sample_domain=sd)
    b = TwoStageTrAdaBoostRegressor(**params).fit(X[keep], y[keep], sample_domain=sd[keep])
    np.testing.assert_allclose(a.cv_errors_, b.cv_errors_, rtol=1e-7)
    np.testing.assert_allclose(a.predict(X_test), b.predict(X_test), rtol=1e-7)


def test_without_sample_domain_is_adaboost_r2():
    X, y, _, _, _, _ = friedman_shift(0, n_source=150)
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        reg = TwoStageTrAdaBoostRegressor(n_estimators=10, random_state=0).fit(X, y)
    assert np.isnan(reg.cv_errors_).all()
    assert reg.best_step_ == 0
    assert np.all(reg.estimator_weights_ > 0)  # every round votes
    with pytest.warns(NoTransferWarning):
        one_stage = TrAdaBoostRegressor(n_estimators=10, random_state=0).fit(X, y)
    np.testing.assert_allclose(reg.predict(X), one_stage.predict(X))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_steps": 0}, InvalidParameterError, "n_steps"),
        ({"cv": 1}, InvalidParameterError, "cv"),
        ({"loss": "abs"}, InvalidParameterError, "loss"),
        ({"estimator": KNeighborsRegressor()}, TypeError, "estimator=KNeighborsRegressor"),
    ],
)
def test_bad_params_give_clear_errors(params, error, match):
    X, y, sd, _, _, _ = friedman_shift(0, n_source=50)
    with pytest.raises(error, match=match):
        TwoStageTrAdaBoostRegressor(**params).fit(X, y, sample_domain=sd)


def test_deterministic_under_random_state_and_does_not_mutate_inputs():
    X, y, sd, X_test, _, _ = friedman_shift(3, n_source=100, n_target=20)
    copies = X.copy(), y.copy(), sd.copy()
    est = DecisionTreeRegressor(max_depth=3, max_features=2)
    params = {"estimator": est, "n_estimators": 5, "n_steps": 3, "cv": 3}
    fits = [
        TwoStageTrAdaBoostRegressor(**params, random_state=seed).fit(X, y, sample_domain=sd)
        for seed in (1, 1, 2)
    ]
    np.testing.assert_array_equal(fits[0].predict(X_test), fits[1].predict(X_test))
    np.testing.assert_array_equal(fits[0].cv_errors_, fits[1].cv_errors_)
    assert not np.array_equal(fits[0].cv_errors_, fits[2].cv_errors_)
    for before, after in zip(copies, (X, y, sd)):
        np.testing.assert_array_equal(before, after)
    assert not hasattr(est, "tree_")
