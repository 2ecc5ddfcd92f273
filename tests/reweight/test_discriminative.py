"""DiscriminativeWeighter: the density ratio from a source-versus-target classifier."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils._param_validation import InvalidParameterError

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import DiscriminativeWeighter
from skxfer.reweight._discriminative import _Standardized
from skxfer.utils import NoTransferWarning


@pytest.fixture(scope="module")
def shift_4000():
    return {seed: make_covariate_shift(4000, 4000, 10, random_state=seed) for seed in (0, 1)}


@pytest.fixture
def small():
    return make_covariate_shift(300, 200, 4, random_state=0)


def _spearman(weighter, data):
    return spearmanr(weighter.weights_, data.true_ratio[data.sample_domain > 0])[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_default_weights_rank_like_the_true_ratio(seed, shift_4000):
    data = shift_4000[seed]
    weighter = DiscriminativeWeighter().fit(data.X, sample_domain=data.sample_domain)
    assert _spearman(weighter, data) >= 0.9


@pytest.mark.parametrize(
    "estimator",
    [
        LogisticRegression(),
        GaussianNB(),
        RandomForestClassifier(n_estimators=10, min_samples_leaf=20),
    ],
    ids=["logistic", "naive_bayes", "forest"],
)
def test_weights_are_never_inverted(estimator):
    # Target is class 1 whatever the classifier: a swapped column would give rho near -1.
    data = make_covariate_shift(1000, 1000, 5, random_state=0)
    weighter = DiscriminativeWeighter(estimator, random_state=0)
    weighter.fit(data.X, sample_domain=data.sample_domain)
    assert _spearman(weighter, data) > 0.5


def test_weights_improve_target_accuracy(shift_4000):
    data = shift_4000[0]
    source = data.sample_domain > 0
    weights = DiscriminativeWeighter().fit(data.X, sample_domain=data.sample_domain).weights_
    X_s, y_s = data.X[source], data.y_true[source]
    X_t, y_t = data.X[~source], data.y_true[~source]
    plain = LogisticRegression().fit(X_s, y_s).score(X_t, y_t)
    weighted = LogisticRegression().fit(X_s, y_s, sample_weight=weights).score(X_t, y_t)
    assert weighted > plain + 0.05


def test_prior_correction_gives_ratio_one_without_shift():
    # Same distribution, three times more source rows: the classifier's odds are about 1/3
    # everywhere, and the prior correction must bring the ratio back to about 1.
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(3000, 3)), None, rng.normal(size=(1000, 3)))
    weighter = DiscriminativeWeighter().fit(X, sample_domain=sd)
    raw = weighter.weights_ / weighter.ratio_scale_
    assert np.median(raw) == pytest.approx(1.0, abs=0.1)
    assert weighter.ess_ > 0.95 * 3000


def test_weights_are_finite_nonnegative_mean_one(small):
    weighter = DiscriminativeWeighter().fit(small.X, sample_domain=small.sample_domain)
    w = weighter.weights_
    assert w.shape == (300,)
    assert np.all(np.isfinite(w))
    assert np.all(w > 0)
    assert w.mean() == pytest.approx(1.0)
    np.testing.assert_array_equal(weighter.sample_weight_[small.sample_domain < 0], 1.0)
    np.testing.assert_allclose(weighter.compute_weights(small.X[small.sample_domain > 0]), w)


def test_clip_proba_bounds_the_ratio_of_separable_domains():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(200, 2)), None, 50 + rng.normal(size=(100, 2)))
    clip = 0.01
    weighter = DiscriminativeWeighter(LogisticRegression(C=1e4), clip_proba=clip)
    weighter.fit(X, sample_domain=sd)
    raw = weighter.weights_ / weighter.ratio_scale_
    prior = 200 / 100
    assert np.all(np.isfinite(weighter.weights_))
    np.testing.assert_allclose(raw, clip / (1 - clip) * prior)


def test_calibration_auto_wraps_only_classifiers_not_fitted_by_log_loss(small):
    fit = {"sample_domain": small.sample_domain}
    default = DiscriminativeWeighter().fit(small.X, **fit)
    assert not isinstance(default.estimator_, CalibratedClassifierCV)
    logistic = make_pipeline(StandardScaler(), LogisticRegression())
    assert not isinstance(
        DiscriminativeWeighter(logistic).fit(small.X, **fit).estimator_, CalibratedClassifierCV
    )
    bayes = DiscriminativeWeighter(GaussianNB()).fit(small.X, **fit)
    assert isinstance(bayes.estimator_, CalibratedClassifierCV)
    assert bayes.estimator_.method == "sigmoid"
    isotonic = DiscriminativeWeighter(GaussianNB(), calibration="isotonic").fit(small.X, **fit)
    assert isotonic.estimator_.method == "isotonic"
    raw = DiscriminativeWeighter(GaussianNB(), calibration=None).fit(small.X, **fit)
    assert isinstance(raw.estimator_, GaussianNB)


def test_calibration_needs_rows_in_every_fold():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(30, 2)), None, rng.normal(size=(3, 2)))
    with pytest.raises(ValueError, match="calibration=None"):
        DiscriminativeWeighter(GaussianNB()).fit(X, sample_domain=sd)
    weighter = DiscriminativeWeighter(GaussianNB(), calibration=None).fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))


def test_random_state_seeds_only_unset_nested_seeds(small):
    fit = {"sample_domain": small.sample_domain}
    forest = RandomForestClassifier(n_estimators=5)
    first = DiscriminativeWeighter(forest, calibration=None, random_state=0).fit(small.X, **fit)
    second = DiscriminativeWeighter(forest, calibration=None, random_state=0).fit(small.X, **fit)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    assert forest.random_state is None  # the given estimator is cloned, never changed
    assert first.estimator_.random_state is not None
    seeded = DiscriminativeWeighter(
        RandomForestClassifier(n_estimators=5, random_state=7), calibration=None, random_state=0
    ).fit(small.X, **fit)
    assert seeded.estimator_.random_state == 7
    # nested seeds too, e.g. inside a Pipeline
    nested = DiscriminativeWeighter(make_pipeline(StandardScaler(), forest), random_state=0)
    nested.fit(small.X, **fit)
    assert nested.estimator_.estimator[-1].random_state is not None


def test_estimator_without_predict_proba_is_rejected_by_name(small):
    for estimator in (LinearSVC(), SVC()):
        with pytest.raises(InvalidParameterError, match="'estimator' parameter"):
            DiscriminativeWeighter(estimator).fit(small.X, sample_domain=small.sample_domain)


def test_nested_estimator_parameters_are_validated(small):
    # a meta-estimator must not switch off the validation of the classifier it is given
    with pytest.raises(InvalidParameterError, match="'C' parameter of LogisticRegression"):
        DiscriminativeWeighter(LogisticRegression(C=-1.0)).fit(
            small.X, sample_domain=small.sample_domain
        )


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"clip_proba": 0.0}, "clip_proba"),
        ({"clip_proba": 0.5}, "clip_proba"),
        ({"calibration": "platt"}, "calibration"),
        ({"max_weight": 1.0}, "max_weight"),
    ],
)
def test_bad_parameters_are_named(small, params, name):
    with pytest.raises(ValueError, match=name):
        DiscriminativeWeighter(**params).fit(small.X, sample_domain=small.sample_domain)


def test_no_sample_domain_warns_and_gives_uniform_weights():
    X = np.random.RandomState(0).normal(size=(50, 3))
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        weighter = DiscriminativeWeighter().fit(X)
    np.testing.assert_array_equal(weighter.weights_, np.ones(50))
    assert not hasattr(weighter, "estimator_")


def test_one_target_row_gives_finite_weights():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(40, 2)), None, rng.normal(size=(1, 2)) + 1.0)
    weighter = DiscriminativeWeighter().fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))
    assert weighter.weights_.mean() == pytest.approx(1.0)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_source=st.integers(1, 8),
    n_target=st.integers(1, 8),
    n_features=st.integers(1, 3),
    seed=st.integers(0, 2**16),
    levels=st.integers(1, 3),
)
def test_odd_inputs_give_finite_weights(n_source, n_target, n_features, seed, levels):
    # few distinct values: constant features and duplicate rows are common
    rng = np.random.RandomState(seed)
    X_s = rng.randint(levels, size=(n_source, n_features)).astype(float)
    X_t = rng.randint(levels, size=(n_target, n_features)).astype(float)
    X, _, sd = pack(X_s, None, X_t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weighter = DiscriminativeWeighter().fit(X, sample_domain=sd)
    assert np.all(np.isfinite(weighter.weights_))
    assert np.all(weighter.weights_ > 0)
    assert weighter.weights_.mean() == pytest.approx(1.0)


def _rotated_scale_shift(seed, n_source=800, n_target=400, n_features=5):
    """The target is half as wide as the source along two random directions (not axes):
    the log-ratio is a quadratic form with cross terms. Returns X, sample_domain, log-ratio."""
    rng = np.random.default_rng(seed)
    directions = np.linalg.qr(rng.standard_normal((n_features, n_features)))[0][:, :2]
    X_s = rng.standard_normal((n_source, n_features))
    Z = rng.standard_normal((n_target, n_features))
    X_t = Z - 0.5 * (Z @ directions) @ directions.T
    X, _, sd = pack(X_s, None, X_t)
    return X, sd, -1.5 * np.sum((X_s @ directions) ** 2, axis=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_default_ranks_a_rotated_variance_shift(seed):
    # Before: [x, x**2] at C=1 had no cross terms for this shift; Spearman 0.60-0.65.
    X, sd, log_ratio = _rotated_scale_shift(seed)
    weighter = DiscriminativeWeighter(random_state=0).fit(X, sample_domain=sd)
    assert weighter.estimator_[0].form == "products"
    assert spearmanr(weighter.weights_, log_ratio)[0] >= 0.9


def test_default_penalty_is_chosen_by_cross_validated_log_loss():
    # 200 features, 150 rows a domain: C=1 overfits the domain label and piles the weight
    # on a few rows; the cross-validated penalty is stronger and the weights smoother.
    rng = np.random.default_rng(0)
    X_s, X_t = rng.standard_normal((150, 200)), rng.standard_normal((150, 200))
    X_t[:, 0] += 1.0
    X, _, sd = pack(X_s, None, X_t)
    weighter = DiscriminativeWeighter(random_state=0).fit(X, sample_domain=sd)
    forms = {form for form, _ in weighter.cv_scores_}
    assert forms == {"linear"}  # no squares above 50 features
    form, C = min(weighter.cv_scores_, key=weighter.cv_scores_.get)
    assert (weighter.estimator_[0].form, weighter.estimator_[-1].C) == (form, C)
    assert C < 1
    at_C_1 = DiscriminativeWeighter(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    ).fit(X, sample_domain=sd)
    assert weighter.ess_ > 1.5 * at_C_1.ess_


def test_default_without_rows_to_cross_validate_uses_squares_at_c_1():
    rng = np.random.RandomState(0)
    X, _, sd = pack(rng.normal(size=(40, 2)), None, rng.normal(size=(1, 2)) + 1.0)
    weighter = DiscriminativeWeighter().fit(X, sample_domain=sd)
    assert weighter.cv_scores_ is None
    assert (weighter.estimator_[0].form, weighter.estimator_[-1].C) == ("squares", 1.0)
    custom = DiscriminativeWeighter(LogisticRegression()).fit(X, sample_domain=sd)
    assert custom.cv_scores_ is None


def test_product_features_are_the_standardised_pairwise_products():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)) * [1, 10, 100] + 5, columns=["a", "b", "c"])
    transformer = _Standardized(form="products").fit(X)
    names = transformer.get_feature_names_out()
    assert list(names) == ["a", "b", "c", "a**2", "a b", "a c", "b**2", "b c", "c**2"]
    features = transformer.transform(X)
    z = StandardScaler().fit_transform(X)
    products = StandardScaler().fit_transform(z[:, [0, 0, 0, 1, 1, 2]] * z[:, [0, 1, 2, 1, 2, 2]])
    np.testing.assert_allclose(features, np.hstack([z, products]), atol=1e-5)


def test_unseeded_default_is_deterministic():
    # The wrappers build DiscriminativeWeighter() unseeded and have no random_state: the
    # default's cross-validation must draw nothing at random.
    data = make_covariate_shift(3000, 3000, 3, random_state=0)  # > 2,500 rows a domain
    first = DiscriminativeWeighter().fit(data.X, sample_domain=data.sample_domain)
    second = DiscriminativeWeighter().fit(data.X, sample_domain=data.sample_domain)
    assert first.cv_scores_ == second.cv_scores_
    np.testing.assert_array_equal(first.weights_, second.weights_)


@pytest.mark.parametrize("C", [1e-3, 1.0])
def test_default_logistic_fit_matches_scikit_learns(C, monkeypatch):
    # The default classifier's logistic regression sums its loss over row blocks on threads;
    # it must land where LogisticRegression(C) does on the same single-precision features.
    from skxfer.reweight import _logistic

    monkeypatch.setattr(_logistic, "_MIN_BLOCK_ROWS", 50)  # several blocks a class
    rng = np.random.default_rng(0)
    features = rng.standard_normal((900, 12)).astype(np.float32)
    features[400:, :3] += 0.7  # the last 500 rows, class 1, shifted
    y = np.repeat([0, 1], [400, 500])
    ours = _logistic.fit_logistic_on_rows(features, 400, C, tol=1e-8)
    # scikit-learn's float32 fit stops a little short (its gradient is summed in float32);
    # its float64 fit is the reference, met to the float32 products' precision
    theirs = LogisticRegression(C=C, max_iter=1000, tol=1e-8).fit(features.astype(float), y)
    assert ours.coef_.dtype == np.float32  # the rows' precision, as scikit-learn keeps it
    np.testing.assert_allclose(
        ours.predict_proba(features), theirs.predict_proba(features), atol=1e-4
    )
    assert not np.allclose(ours.predict_proba(features)[:, 1], 500 / 900, atol=1e-2)
