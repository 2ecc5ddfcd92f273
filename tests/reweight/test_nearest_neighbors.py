"""NearestNeighborsWeighter: the density ratio from a vote of the nearest neighbours."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import NearestNeighborsWeighter
from skxfer.utils import NoTransferWarning


@pytest.fixture(scope="module")
def shift_4000():
    return {seed: make_covariate_shift(4000, 4000, 10, random_state=seed) for seed in (0, 1)}


@pytest.fixture(scope="module")
def fitted_4000(shift_4000):
    return {
        seed: NearestNeighborsWeighter(random_state=0).fit(data.X, sample_domain=data.sample_domain)
        for seed, data in shift_4000.items()
    }


def _spearman(weights, data):
    return spearmanr(weights, data.true_ratio[data.sample_domain > 0])[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_weights_rank_like_the_true_ratio(seed, shift_4000, fitted_4000):
    assert _spearman(fitted_4000[seed].weights_, shift_4000[seed]) >= 0.9


def test_bias_correction_improves_the_ranking(shift_4000, fitted_4000):
    data = shift_4000[0]
    plain = NearestNeighborsWeighter(bias_correction=False, random_state=0)
    plain.fit(data.X, sample_domain=data.sample_domain)
    assert _spearman(fitted_4000[0].weights_, data) > _spearman(plain.weights_, data) + 0.01


def test_weights_improve_target_accuracy(shift_4000, fitted_4000):
    data = shift_4000[0]
    source = data.sample_domain > 0
    X_s, y_s = data.X[source], data.y_true[source]
    X_t, y_t = data.X[~source], data.y_true[~source]
    plain = LogisticRegression().fit(X_s, y_s).score(X_t, y_t)
    weighted = LogisticRegression().fit(X_s, y_s, sample_weight=fitted_4000[0].weights_)
    assert weighted.score(X_t, y_t) > plain + 0.05


def test_new_rows_are_weighted_like_fitted_rows(shift_4000, fitted_4000):
    fresh = make_covariate_shift(1000, 10, 10, random_state=9)
    new_source = fresh.X[fresh.sample_domain > 0]
    weights = fitted_4000[0].compute_weights(new_source)
    assert np.all(np.isfinite(weights))
    assert np.all(weights > 0)
    assert spearmanr(weights, fresh.true_ratio[fresh.sample_domain > 0])[0] > 0.9


def test_weights_are_finite_positive_mean_one():
    data = make_covariate_shift(300, 200, 4, random_state=0)
    weighter = NearestNeighborsWeighter().fit(data.X, sample_domain=data.sample_domain)
    w = weighter.weights_
    assert w.shape == (300,)
    assert np.all(np.isfinite(w))
    assert np.all(w > 0)
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(weighter.sample_weight_[data.sample_domain < 0], 1.0)
    assert weighter.n_neighbors_ == round(3 * np.sqrt(500))


def test_a_row_does_not_vote_for_itself():
    # With one neighbour: the rows at 0 and 0.05 see each other (source), the row at 10
    # sees the target row at 10.2. Counting a row as its own neighbour would make every
    # vote "source" and every weight equal.
    X_s = np.array([[0.0], [0.05], [10.0]])
    X_t = np.array([[0.2], [10.2]])
    X, _, sd = pack(X_s, None, X_t)
    weighter = NearestNeighborsWeighter(n_neighbors=1, bias_correction=False, smoothing=0.01)
    weighter.fit(X, sample_domain=sd)
    assert weighter.weights_[2] > 50 * weighter.weights_[0]
    assert weighter.weights_[0] == pytest.approx(weighter.weights_[1])
    # a new row is not in the reference sample: its nearest row votes, whatever it is
    assert weighter.compute_weights(X_s[:1])[0] == pytest.approx(weighter.weights_[0])
    assert weighter.compute_weights([[0.19]])[0] == pytest.approx(weighter.weights_[2])


def test_smoothing_pulls_weights_toward_one():
    data = make_covariate_shift(500, 500, 3, random_state=0)
    ess = [
        NearestNeighborsWeighter(n_neighbors=10, smoothing=s)
        .fit(data.X, sample_domain=data.sample_domain)
        .ess_
        for s in (0.1, 10.0, 1000.0)
    ]
    assert ess[0] < ess[1] < ess[2]
    assert ess[2] > 0.95 * 500


def test_large_input_uses_a_balanced_reference_subsample():
    data = make_covariate_shift(3000, 1000, 3, random_state=0)
    fit = {"sample_domain": data.sample_domain}
    weighter = NearestNeighborsWeighter(max_samples=1000, random_state=0).fit(data.X, **fit)
    assert weighter.reference_.shape == (1000, 3)
    assert weighter.reference_is_target_.sum() == 500
    assert weighter.n_neighbors_ == round(3 * np.sqrt(1000))
    assert _spearman(weighter.weights_, data) > 0.9
    again = NearestNeighborsWeighter(max_samples=1000, random_state=0).fit(data.X, **fit)
    np.testing.assert_array_equal(weighter.weights_, again.weights_)
    other = NearestNeighborsWeighter(max_samples=1000, random_state=1).fit(data.X, **fit)
    assert not np.array_equal(weighter.weights_, other.weights_)


def test_n_neighbors_is_capped_by_the_reference_size():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(6, 2)), None, rng.normal(size=(4, 2)))
    weighter = NearestNeighborsWeighter(n_neighbors=50).fit(X, sample_domain=sd)
    assert weighter.n_neighbors_ == 9
    assert np.all(np.isfinite(weighter.weights_))


def test_neighbourhoods_hold_about_n_neighbors_rows():
    # Above the pilot size the ball radius is estimated: the vote must still match the exact
    # k nearest neighbours closely.
    data = make_covariate_shift(1500, 1500, 3, random_state=0)
    fit = {"sample_domain": data.sample_domain}
    estimated = NearestNeighborsWeighter(random_state=0).fit(data.X, **fit)
    exact = NearestNeighborsWeighter(max_samples=1000, random_state=0)
    exact.fit(data.X, **fit)  # 1000 reference rows: exact radius
    assert len(estimated.reference_) == 3000
    assert spearmanr(estimated.weights_, exact.weights_)[0] > 0.9
    assert _spearman(estimated.weights_, data) > 0.9


def test_far_from_the_origin_and_float32_give_the_same_weights():
    data = make_covariate_shift(400, 400, 3, random_state=0)
    fit = {"sample_domain": data.sample_domain}
    base = NearestNeighborsWeighter(random_state=0).fit(data.X, **fit).weights_
    shifted = NearestNeighborsWeighter(random_state=0).fit(data.X + 1e6, **fit).weights_
    single = NearestNeighborsWeighter(random_state=0).fit(data.X.astype(np.float32), **fit)
    np.testing.assert_allclose(shifted, base, rtol=1e-4)
    assert spearmanr(single.weights_, base)[0] > 0.999


def test_threads_give_the_same_weights():
    data = make_covariate_shift(3000, 3000, 3, random_state=0)
    fit = {"sample_domain": data.sample_domain}
    one = NearestNeighborsWeighter(random_state=0).fit(data.X, **fit)
    two = NearestNeighborsWeighter(n_jobs=2, random_state=0).fit(data.X, **fit)
    np.testing.assert_array_equal(one.weights_, two.weights_)


def test_no_sample_domain_warns_and_gives_uniform_weights():
    X = np.random.RandomState(0).normal(size=(50, 3))
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        weighter = NearestNeighborsWeighter().fit(X)
    np.testing.assert_array_equal(weighter.weights_, np.ones(50))
    np.testing.assert_array_equal(weighter.compute_weights(X[:5]), np.ones(5))


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_neighbors": 0}, "n_neighbors"),
        ({"n_neighbors": "sqrt"}, "n_neighbors"),
        ({"smoothing": 0.0}, "smoothing"),
        ({"max_samples": 1}, "max_samples"),
        ({"bias_correction": "yes"}, "bias_correction"),
        ({"n_jobs": "all"}, "n_jobs"),
    ],
)
def test_bad_parameters_are_named(params, name):
    data = make_covariate_shift(50, 40, 2, random_state=0)
    with pytest.raises(ValueError, match=name):
        NearestNeighborsWeighter(**params).fit(data.X, sample_domain=data.sample_domain)


def test_one_target_row_gives_finite_weights():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(40, 2)), None, rng.normal(size=(1, 2)))
    weighter = NearestNeighborsWeighter().fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ > 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_source=st.integers(1, 8),
    n_target=st.integers(1, 8),
    n_features=st.integers(1, 7),
    seed=st.integers(0, 2**16),
    levels=st.integers(1, 3),
    bias_correction=st.booleans(),
    scale=st.sampled_from([1e-8, 1.0, 1e8]),
)
def test_odd_inputs_give_finite_weights(
    n_source, n_target, n_features, seed, levels, bias_correction, scale
):
    # few distinct values: constant features and duplicate rows are common
    rng = np.random.RandomState(seed)
    X_s = scale * rng.randint(levels, size=(n_source, n_features))
    X_t = scale * rng.randint(levels, size=(n_target, n_features))
    X, _, sd = pack(X_s, None, X_t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighter = NearestNeighborsWeighter(bias_correction=bias_correction)
        weighter.fit(X, sample_domain=sd)
        new = weighter.compute_weights(X)
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ > 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)
    assert np.all(np.isfinite(new))
    assert np.all(new > 0)


def test_auto_bias_correction_is_on_in_low_and_off_in_high_dimension():
    low = make_covariate_shift(500, 500, n_features=5, random_state=0)
    weighter = NearestNeighborsWeighter(random_state=0).fit(low.X, sample_domain=low.sample_domain)
    assert weighter.bias_correction_  # k = 95 voters for 5 slopes
    high = make_covariate_shift(500, 500, n_features=200, random_state=0)
    auto = NearestNeighborsWeighter(random_state=0).fit(high.X, sample_domain=high.sample_domain)
    forced = NearestNeighborsWeighter(bias_correction=True, random_state=0).fit(
        high.X, sample_domain=high.sample_domain
    )
    assert not auto.bias_correction_
    # 95 voters cannot fit 200 slopes: forcing the correction concentrates the weights
    assert auto.ess_ > forced.ess_
