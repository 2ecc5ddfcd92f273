"""uLSIF and RuLSIF: least-squares (relative) density ratio on a Gaussian basis."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import RULSIFWeighter, ULSIFWeighter
from skxfer.utils import NoTransferWarning

WEIGHTERS = [ULSIFWeighter, RULSIFWeighter]


@pytest.fixture(scope="module")
def shift_4000():
    return {seed: make_covariate_shift(4000, 4000, 10, random_state=seed) for seed in (0, 1)}


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize("seed", [0, 1])
def test_weights_rank_like_the_true_ratio(cls, seed, shift_4000):
    data = shift_4000[seed]
    weighter = cls(random_state=seed).fit(data.X, sample_domain=data.sample_domain)
    rho = spearmanr(weighter.weights_, data.true_ratio[data.sample_domain > 0])[0]
    assert rho >= 0.9


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_weights_improve_target_accuracy(cls, shift_4000):
    data = shift_4000[0]
    source = data.sample_domain > 0
    weights = cls(random_state=0).fit(data.X, sample_domain=data.sample_domain).weights_
    X_s, y_s = data.X[source], data.y_true[source]
    X_t, y_t = data.X[~source], data.y_true[~source]
    plain = LogisticRegression().fit(X_s, y_s).score(X_t, y_t)
    weighted = LogisticRegression().fit(X_s, y_s, sample_weight=weights).score(X_t, y_t)
    assert weighted > plain + 0.03


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_weights_are_finite_nonnegative_mean_one(cls):
    data = make_covariate_shift(300, 200, 4, random_state=0)
    weighter = cls(random_state=0).fit(data.X, sample_domain=data.sample_domain)
    w = weighter.weights_
    assert w.shape == (300,)
    assert np.all(np.isfinite(w))
    assert np.all(w >= 0)
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(weighter.sample_weight_[data.sample_domain < 0], 1.0)
    # the fitted model reproduces the weights of the rows it was fitted on
    np.testing.assert_allclose(
        weighter.compute_weights(data.X[data.sample_domain > 0]), w, rtol=1e-10
    )


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_cross_validation_picks_from_the_grids(cls):
    data = make_covariate_shift(300, 200, 4, random_state=0)
    weighter = cls(bandwidth=[0.5, 1.0, 2.0], reg=[1e-3, 1e-1], random_state=0)
    weighter.fit(data.X, sample_domain=data.sample_domain)
    assert weighter.cv_scores_.shape == (3, 2)
    i, j = np.unravel_index(np.argmin(weighter.cv_scores_), (3, 2))
    assert weighter.bandwidth_ == [0.5, 1.0, 2.0][i]
    assert weighter.reg_ == [1e-3, 1e-1][j]
    # the auto grids are scaled around the median distance
    auto = cls(random_state=0).fit(data.X, sample_domain=data.sample_domain)
    assert auto.bandwidth_ in auto.bandwidth_grid_
    assert auto.reg_ in auto.reg_grid_
    assert auto.cv_scores_.shape == (len(auto.bandwidth_grid_), len(auto.reg_grid_))


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_fixed_bandwidth_and_reg_skip_cross_validation(cls):
    data = make_covariate_shift(200, 100, 3, random_state=0)
    weighter = cls(bandwidth=1.5, reg=0.01, random_state=0)
    weighter.fit(data.X, sample_domain=data.sample_domain)
    assert weighter.cv_scores_ is None
    assert (weighter.bandwidth_, weighter.reg_) == (1.5, 0.01)
    assert weighter.centers_.shape == (100, 3)
    assert np.all(weighter.coef_ >= 0)


def test_rulsif_with_alpha_zero_is_ulsif():
    data = make_covariate_shift(300, 200, 3, random_state=0)
    kwargs = {"n_centers": 50, "random_state": 3}
    ulsif = ULSIFWeighter(**kwargs).fit(data.X, sample_domain=data.sample_domain)
    rulsif = RULSIFWeighter(alpha=0.0, **kwargs).fit(data.X, sample_domain=data.sample_domain)
    np.testing.assert_allclose(rulsif.weights_, ulsif.weights_)
    assert "alpha" not in ULSIFWeighter().get_params()


def test_relative_ratio_is_flatter_as_alpha_grows():
    data = make_covariate_shift(1000, 1000, 5, random_state=0)
    ess = [
        RULSIFWeighter(alpha=alpha, random_state=0)
        .fit(data.X, sample_domain=data.sample_domain)
        .ess_
        for alpha in (0.0, 0.5, 0.9)
    ]
    assert ess[0] < ess[1] < ess[2]


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_random_state_makes_fit_deterministic(cls):
    data = make_covariate_shift(400, 300, 3, random_state=0)
    first = cls(n_centers=20, random_state=5).fit(data.X, sample_domain=data.sample_domain)
    second = cls(n_centers=20, random_state=5).fit(data.X, sample_domain=data.sample_domain)
    other = cls(n_centers=20, random_state=6).fit(data.X, sample_domain=data.sample_domain)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    assert not np.array_equal(first.centers_, other.centers_)


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_no_sample_domain_warns_and_gives_uniform_weights(cls):
    X = np.random.RandomState(0).normal(size=(50, 3))
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        weighter = cls().fit(X)
    np.testing.assert_array_equal(weighter.weights_, np.ones(50))
    np.testing.assert_array_equal(weighter.compute_weights(X[:5]), np.ones(5))


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_centers": 0}, "n_centers"),
        ({"bandwidth": -1.0}, "bandwidth"),
        ({"bandwidth": "median"}, "bandwidth"),
        ({"reg": 0.0}, "reg"),
        ({"max_weight": 0.5}, "max_weight"),
    ],
)
def test_bad_parameters_are_named(cls, params, name):
    data = make_covariate_shift(50, 40, 2, random_state=0)
    with pytest.raises(ValueError, match=name):
        cls(**params).fit(data.X, sample_domain=data.sample_domain)


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize("param", ["bandwidth", "reg"])
@pytest.mark.parametrize("grid", [[], [1.0, -2.0], [np.nan]])
def test_bad_grids_are_named(cls, param, grid):
    data = make_covariate_shift(50, 40, 2, random_state=0)
    with pytest.raises(ValueError, match=f"{param} must be 'auto'"):
        cls(**{param: grid}).fit(data.X, sample_domain=data.sample_domain)


@pytest.mark.parametrize("alpha", [1.0, -0.1])
def test_rulsif_rejects_alpha_outside_unit_interval(alpha):
    data = make_covariate_shift(50, 40, 2, random_state=0)
    with pytest.raises(ValueError, match="alpha"):
        RULSIFWeighter(alpha=alpha).fit(data.X, sample_domain=data.sample_domain)


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_one_target_row(cls):
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(30, 2)), None, rng.normal(size=(1, 2)))
    with pytest.raises(ValueError, match="bandwidth and reg"):
        cls().fit(X, sample_domain=sd)
    weighter = cls(bandwidth=1.0, reg=0.1).fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))
    assert weighter.weights_.mean() == pytest.approx(1.0)


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_far_apart_domains_raise_a_clear_error(cls):
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(30, 2)), None, 1e3 + rng.normal(size=(30, 2)))
    with pytest.raises(ValueError, match="weight 0"):
        cls(bandwidth=1.0, reg=0.1).fit(X, sample_domain=sd)


def test_large_input_uses_a_subsample_for_cross_validation():
    # more rows than the cross-validation subsample and than one kernel block
    data = make_covariate_shift(40000, 6000, 3, random_state=0)
    weighter = ULSIFWeighter(random_state=0).fit(data.X, sample_domain=data.sample_domain)
    source = data.sample_domain > 0
    assert spearmanr(weighter.weights_, data.true_ratio[source])[0] > 0.9
    np.testing.assert_allclose(weighter.compute_weights(data.X[source]), weighter.weights_)


@pytest.mark.parametrize("cls", WEIGHTERS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_source=st.integers(1, 8),
    n_target=st.integers(1, 8),
    n_features=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    levels=st.integers(1, 3),
)
def test_odd_inputs_give_finite_weights_or_a_clear_error(
    cls, n_source, n_target, n_features, seed, levels
):
    # few distinct values: constant features and duplicate rows are common
    rng = np.random.RandomState(seed)
    X_s = rng.randint(levels, size=(n_source, n_features)).astype(float)
    X_t = rng.randint(levels, size=(n_target, n_features)).astype(float)
    X, _, sd = pack(X_s, None, X_t)
    weighter = cls(random_state=0)
    if min(n_source, n_target) < 2:
        with pytest.raises(ValueError, match="bandwidth and reg"):
            weighter.fit(X, sample_domain=sd)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighter.fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ >= 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)
