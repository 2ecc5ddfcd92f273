"""KLIEPWeighter: quality against the true ratio, likelihood cross-validation, odd inputs."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skxfer.datasets import make_covariate_shift
from skxfer.reweight import KLIEPWeighter
from skxfer.utils import NoTransferWarning


def _fit(data, **params):
    return KLIEPWeighter(random_state=0, **params).fit(data.X, sample_domain=data.sample_domain)


def _source(data):
    return data.sample_domain > 0


@pytest.fixture(scope="module")
def shift_3000():
    return {seed: make_covariate_shift(3000, 3000, 10, random_state=seed) for seed in (0, 1)}


@pytest.fixture(scope="module")
def shift_400():
    return make_covariate_shift(400, 300, 4, random_state=2)


@pytest.mark.parametrize("seed", [0, 1])
def test_weights_rank_rows_like_the_true_ratio(shift_3000, seed):
    # The goal: Spearman >= 0.9 (ADAPT's KLIEP 0.78, skada's 0.68).
    data = shift_3000[seed]
    weighter = KLIEPWeighter(random_state=seed).fit(data.X, sample_domain=data.sample_domain)
    assert spearmanr(weighter.weights_, data.true_ratio[_source(data)])[0] >= 0.9


def test_weights_beat_source_only_for_a_weighted_classifier(shift_3000):
    data = shift_3000[0]
    source = _source(data)
    Xs, ys = data.X[source], data.y_true[source]
    Xt, yt = data.X[~source], data.y_true[~source]
    weights = _fit(data).weights_
    plain = LogisticRegression().fit(Xs, ys).score(Xt, yt)
    weighted = LogisticRegression().fit(Xs, ys, sample_weight=weights).score(Xt, yt)
    assert weighted >= plain + 0.03


def test_auto_bandwidth_is_the_best_cross_validated_candidate(shift_400):
    weighter = _fit(shift_400)
    assert weighter.bandwidth_grid_.shape == weighter.cv_scores_.shape == (9,)
    assert np.all(np.isfinite(weighter.cv_scores_))
    assert weighter.bandwidth_ == weighter.bandwidth_grid_[np.argmax(weighter.cv_scores_)]
    # The grid is a log grid around the median heuristic, widest at 16 times the narrowest.
    ratios = weighter.bandwidth_grid_[1:] / weighter.bandwidth_grid_[:-1]
    np.testing.assert_allclose(ratios, np.sqrt(2))


def test_likelihood_cross_validation_rejects_absurd_widths(shift_400):
    weighter = _fit(shift_400, bandwidth=[0.01, 1.0, 100.0])
    np.testing.assert_array_equal(weighter.bandwidth_grid_, [0.01, 1.0, 100.0])
    assert weighter.bandwidth_ == 1.0
    assert np.argmax(weighter.cv_scores_) == 1


def test_a_float_bandwidth_skips_cross_validation(shift_400):
    weighter = _fit(shift_400, bandwidth=0.8)
    assert weighter.bandwidth_ == 0.8
    assert weighter.cv_scores_ is None
    assert len(weighter.centers_) == 100


def test_fitted_ratio_meets_the_kliep_normalisation(shift_400):
    # KLIEP's constraint: the ratio averages to 1 over the source rows it was fitted on, so
    # the rescaling to mean 1 is the identity (up to the solver tolerance).
    weighter = _fit(shift_400, subsample=None, tol=1e-10)
    assert weighter.ratio_scale_ == pytest.approx(1.0, abs=1e-4)
    assert np.all(weighter.coef_ >= 0)


def test_weights_are_nonnegative_mean_one_and_clipped(shift_400):
    weights = _fit(shift_400).weights_
    assert np.all(weights >= 0)
    assert weights.mean() == pytest.approx(1.0)
    clipped = _fit(shift_400, max_weight=2.0).weights_
    assert clipped.max() <= 2.0 + 1e-12
    assert clipped.mean() == pytest.approx(1.0)


def test_compute_weights_reproduces_weights_on_training_rows(shift_400):
    weighter = _fit(shift_400)
    np.testing.assert_array_equal(
        weighter.compute_weights(shift_400.X[_source(shift_400)]), weighter.weights_
    )


def test_subsample_keeps_quality_and_covers_every_source_row(shift_3000):
    data = shift_3000[0]
    weighter = _fit(data, subsample=800)
    assert weighter.weights_.shape == (3000,)
    assert spearmanr(weighter.weights_, data.true_ratio[_source(data)])[0] >= 0.85


def test_compute_weights_extends_to_new_rows(shift_3000):
    weighter = _fit(shift_3000[0])
    fresh = make_covariate_shift(1000, 10, 10, random_state=7)
    source = _source(fresh)
    rho = spearmanr(weighter.compute_weights(fresh.X[source]), fresh.true_ratio[source])[0]
    assert rho >= 0.9


def test_deterministic_under_random_state(shift_400):
    first, second = _fit(shift_400), _fit(shift_400)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    other = KLIEPWeighter(random_state=1).fit(shift_400.X, sample_domain=shift_400.sample_domain)
    assert not np.array_equal(other.centers_, first.centers_)


def test_too_few_iterations_warn(shift_400):
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        _fit(shift_400, bandwidth=0.8, max_iter=1)


def test_without_sample_domain_warns_and_gives_uniform_weights(shift_400):
    with pytest.warns(NoTransferWarning):
        weighter = KLIEPWeighter().fit(shift_400.X)
    np.testing.assert_array_equal(weighter.weights_, np.ones(len(shift_400.X)))


def test_too_few_target_rows_to_cross_validate_raise(shift_400):
    X = shift_400.X[:60]
    sample_domain = np.r_[np.ones(52, dtype=int), -np.ones(8, dtype=int)]
    with pytest.raises(ValueError, match="cv=5"):
        KLIEPWeighter().fit(X, sample_domain=sample_domain)
    weighter = KLIEPWeighter(bandwidth=1.0).fit(X, sample_domain=sample_domain)
    assert len(weighter.centers_) == 8


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"bandwidth": 0.0}, "'bandwidth' parameter"),
        ({"bandwidth": -1.0}, "'bandwidth' parameter"),
        ({"bandwidth": "median"}, "'bandwidth' parameter"),
        ({"bandwidth": [1.0, -1.0]}, "bandwidth must be"),
        ({"bandwidth": []}, "bandwidth must be"),
        ({"bandwidth": [1.0, np.inf]}, "bandwidth must be"),
        ({"n_centers": 0}, "'n_centers' parameter"),
        ({"cv": 1}, "'cv' parameter"),
        ({"subsample": 0}, "'subsample' parameter"),
        ({"max_iter": 0}, "'max_iter' parameter"),
        ({"tol": 0.0}, "'tol' parameter"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(shift_400, params, match):
    with pytest.raises(ValueError, match=match):
        KLIEPWeighter(**params).fit(shift_400.X, sample_domain=shift_400.sample_domain)


_values = st.sampled_from([-1.0, 0.0, 0.5, 2.0])


@settings(max_examples=25, deadline=None)
@given(
    n_source=st.integers(1, 15),
    n_target=st.integers(1, 15),
    n_features=st.integers(1, 3),
    bandwidth=st.sampled_from(["auto", 0.05, 1.0]),
    data=st.data(),
)
def test_odd_inputs_give_finite_weights_or_a_clear_error(
    n_source, n_target, n_features, bandwidth, data
):
    # Few distinct values: duplicate rows and constant columns are common here.
    rows = data.draw(
        st.lists(
            st.lists(_values, min_size=n_features, max_size=n_features),
            min_size=n_source + n_target,
            max_size=n_source + n_target,
        )
    )
    X = np.asarray(rows)
    sample_domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    weighter = KLIEPWeighter(bandwidth=bandwidth, cv=2, random_state=0)
    message = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            weighter.fit(X, sample_domain=sample_domain)
    except ValueError as exc:
        message = str(exc)
    if message is not None:
        # Too few target rows to cross-validate, or no source row near any target row.
        assert "cv=2" in message or "weight 0" in message
        return
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ >= 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)
