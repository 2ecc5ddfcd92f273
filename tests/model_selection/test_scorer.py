"""Importance-weighted validation: the weights used, the metric called, the routing."""

import numpy as np
import pytest
import sklearn
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, make_scorer, mean_squared_error
from sklearn.model_selection import KFold, cross_validate
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from skxfer.datasets import make_covariate_shift
from skxfer.model_selection import ImportanceWeightedScorer
from skxfer.reweight import ImportanceWeightedClassifier
from skxfer.reweight._base import BaseWeighter
from skxfer.utils import NoTransferWarning


class GaussianRatioWeighter(BaseWeighter):
    """The exact density ratio of make_covariate_shift (test oracle: no estimation error)."""

    def __init__(self, shift=0.7, target_scale=0.8, max_weight=None):
        self.shift = shift
        self.target_scale = target_scale
        self.max_weight = max_weight

    def _fit_ratio(self, X_source, X_target, random_state):
        return self._ratio(X_source)

    def _ratio(self, X):
        mu = np.zeros(X.shape[1])
        mu[:2] = self.shift
        return np.exp(
            -0.5 * np.sum((X - mu) ** 2, axis=1) / self.target_scale**2 + 0.5 * np.sum(X**2, axis=1)
        )


@pytest.fixture(scope="module")
def data():
    return make_covariate_shift(400, 300, n_features=3, random_state=0)


@pytest.fixture(scope="module")
def model(data):
    source = data.sample_domain > 0
    return LogisticRegression().fit(data.X[source], data.y[source])


def test_weighted_accuracy_is_the_ratio_weighted_mean_of_hits(data, model):
    source = data.sample_domain > 0
    scorer = ImportanceWeightedScorer("accuracy", weighter=GaussianRatioWeighter())
    score = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    hits = model.predict(data.X[source]) == data.y[source]
    expected = np.average(hits, weights=data.true_ratio[source])
    assert score == pytest.approx(expected)
    assert score != pytest.approx(hits.mean(), abs=1e-3)


def test_masked_labels_mark_the_target_without_sample_domain(data, model):
    scorer = ImportanceWeightedScorer(weighter=GaussianRatioWeighter())
    with_domain = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    assert scorer(model, data.X, data.y) == pytest.approx(with_domain)


def test_labelled_target_rows_are_not_scored(data, model):
    # Labelling the target rows changes nothing: only source rows are scored.
    scorer = ImportanceWeightedScorer(weighter=GaussianRatioWeighter())
    base = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    labelled = scorer(model, data.X, data.y_true, sample_domain=data.sample_domain)
    assert labelled == pytest.approx(base)


def test_metric_names_keep_their_sign_and_pass_weights(data, model):
    source = data.sample_domain > 0
    w = data.true_ratio[source]
    scorer = ImportanceWeightedScorer("neg_log_loss", weighter=GaussianRatioWeighter())
    score = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    expected = -log_loss(data.y[source], model.predict_proba(data.X[source]), sample_weight=w)
    assert score == pytest.approx(expected)
    assert score < 0


def test_callable_metric_and_make_scorer(data, model):
    source = data.sample_domain > 0
    w = data.true_ratio[source]
    expected = accuracy_score(data.y[source], model.predict(data.X[source]), sample_weight=w)
    for scoring in (accuracy_score, make_scorer(accuracy_score)):
        scorer = ImportanceWeightedScorer(scoring, weighter=GaussianRatioWeighter())
        assert scorer(model, data.X, data.y, sample_domain=data.sample_domain) == pytest.approx(
            expected
        )


def test_regression_metric(data):
    source = data.sample_domain > 0
    y = np.where(source, data.X[:, 0] ** 2, np.nan)
    reg = LinearRegression().fit(data.X[source], y[source])
    scorer = ImportanceWeightedScorer("neg_mean_squared_error", weighter=GaussianRatioWeighter())
    expected = -mean_squared_error(
        y[source], reg.predict(data.X[source]), sample_weight=data.true_ratio[source]
    )
    assert scorer(reg, data.X, y) == pytest.approx(expected)


def test_sample_weight_multiplies_the_importance_weights(data, model):
    source = data.sample_domain > 0
    extra = np.random.RandomState(0).uniform(0.5, 2.0, len(data.X))
    scorer = ImportanceWeightedScorer(weighter=GaussianRatioWeighter())
    score = scorer(model, data.X, data.y, sample_domain=data.sample_domain, sample_weight=extra)
    hits = model.predict(data.X[source]) == data.y[source]
    expected = np.average(hits, weights=data.true_ratio[source] * extra[source])
    assert score == pytest.approx(expected)


def test_uses_the_fitted_weighter_of_an_importance_weighted_pipeline(data):
    pipe = make_pipeline(
        StandardScaler(),
        ImportanceWeightedClassifier(LogisticRegression(), GaussianRatioWeighter()),
    ).fit(data.X, data.y, importanceweightedclassifier__sample_domain=data.sample_domain)
    source = data.sample_domain > 0
    # the model's own weighter is used, on the rows after the scaler: no target row needed
    weights = pipe[-1].weighter_.compute_weights(pipe[0].transform(data.X[source]))
    hits = pipe.predict(data.X[source]) == data.y[source]
    scorer = ImportanceWeightedScorer()
    score = scorer(pipe, data.X[source], data.y[source])
    assert score == pytest.approx(np.average(hits, weights=weights))
    # an explicit weighter takes precedence over the model's
    explicit = ImportanceWeightedScorer(weighter=GaussianRatioWeighter())
    assert explicit(pipe, data.X, data.y) == pytest.approx(
        np.average(hits, weights=data.true_ratio[source])
    )


def test_model_fitted_without_sample_domain_falls_back_to_a_fold_weighter(data):
    source = data.sample_domain > 0
    with pytest.warns(NoTransferWarning):
        model = ImportanceWeightedClassifier(LogisticRegression()).fit(
            data.X[source], data.y[source]
        )
    assert model.weighter_ is None
    score = ImportanceWeightedScorer()(model, data.X, data.y, sample_domain=data.sample_domain)
    assert 0.5 < score <= 1.0
    with pytest.raises(ValueError, match="no target row"):
        ImportanceWeightedScorer()(model, data.X[source], data.y[source])


class CountingWeighter(GaussianRatioWeighter):
    fits = 0

    def _fit_ratio(self, X_source, X_target, random_state):
        type(self).fits += 1
        return super()._fit_ratio(X_source, X_target, random_state)


def test_weights_are_fitted_once_per_validation_fold(data, model):
    """Every grid candidate is scored on the same folds with the same weights."""
    CountingWeighter.fits = 0
    scorer = ImportanceWeightedScorer(weighter=CountingWeighter())
    other = DummyClassifier().fit(data.X, data.y)
    first = [scorer(m, data.X, data.y, sample_domain=data.sample_domain) for m in (model, other)]
    assert CountingWeighter.fits == 1
    half = np.arange(len(data.X)) % 2 == 0
    scorer(model, data.X[half], data.y[half], sample_domain=data.sample_domain[half])
    assert CountingWeighter.fits == 2
    scorer.weighter = CountingWeighter(shift=0.5)
    changed = scorer(model, data.X, data.y, sample_domain=data.sample_domain)
    assert CountingWeighter.fits == 3
    assert changed != pytest.approx(first[0])


def test_no_target_rows_and_no_fitted_weighter_is_an_error(data, model):
    source = data.sample_domain > 0
    with pytest.raises(ValueError, match="no target row in this validation fold"):
        ImportanceWeightedScorer()(model, data.X[source], data.y[source])


def test_no_source_rows_is_an_error(data, model):
    target = data.sample_domain < 0
    with pytest.raises(ValueError, match="no labelled source row"):
        ImportanceWeightedScorer()(model, data.X[target], data.y[target])


def test_metric_without_sample_weight_is_refused(data, model):
    scorer = ImportanceWeightedScorer("adjusted_rand_score", weighter=GaussianRatioWeighter())
    with pytest.raises(ValueError, match="does not accept sample_weight"):
        scorer(model, data.X, data.y, sample_domain=data.sample_domain)


def test_bad_scoring_type(data, model):
    with pytest.raises(TypeError, match="scoring must be"):
        ImportanceWeightedScorer(scoring=3)(model, data.X, data.y)


def test_requests_sample_domain_and_can_be_told_not_to():
    scorer = ImportanceWeightedScorer()
    assert scorer.get_metadata_routing().score.requests["sample_domain"] is True
    with pytest.raises(RuntimeError, match="enable_metadata_routing"):
        scorer.set_score_request(sample_domain=False)
    with sklearn.config_context(enable_metadata_routing=True):
        other = ImportanceWeightedScorer().set_score_request(sample_domain=False)
        assert other.get_metadata_routing().score.requests["sample_domain"] is False
        assert scorer.get_metadata_routing().score.requests["sample_domain"] is True
    assert "accuracy" in repr(scorer)


@pytest.mark.parametrize("routing", [True, False])
def test_cross_validate_hands_each_fold_to_the_scorer(data, routing):
    """With routing on the fold's sample_domain reaches the scorer; off, the masks suffice."""
    seen = []

    class Recording(ImportanceWeightedScorer):
        def __call__(self, estimator, X, y, sample_domain=None, sample_weight=None):
            seen.append(sample_domain)
            return super().__call__(estimator, X, y, sample_domain, sample_weight)

    estimator = ImportanceWeightedClassifier(LogisticRegression(), GaussianRatioWeighter())
    scorer = Recording(weighter=GaussianRatioWeighter())
    cv = KFold(3, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=routing):
        # routing on: to fit and to the scorer; routing off: to fit only
        result = cross_validate(
            estimator,
            data.X,
            data.y,
            cv=cv,
            scoring=scorer,
            params={"sample_domain": data.sample_domain},
        )
    assert len(seen) == 3
    if routing:
        for fold_domain, (_, test) in zip(seen, cv.split(data.X), strict=True):
            np.testing.assert_array_equal(fold_domain, data.sample_domain[test])
    else:
        assert all(fold_domain is None for fold_domain in seen)
    assert np.all((result["test_score"] > 0.5) & (result["test_score"] <= 1))


def _models():
    return {
        "always 1": DummyClassifier(strategy="constant", constant=1),
        "logistic": LogisticRegression(),
        "tree depth 2": DecisionTreeClassifier(max_depth=2, random_state=0),
        "tree depth 6": DecisionTreeClassifier(max_depth=6, random_state=0),
        "15-NN": KNeighborsClassifier(15),
    }


def _validation_scores(data, weighter):
    """Target accuracy, plain source CV accuracy and importance-weighted CV accuracy."""
    X, y, sd = data.X, data.y, data.sample_domain
    source, target = np.flatnonzero(sd > 0), np.flatnonzero(sd < 0)
    scorer = ImportanceWeightedScorer("accuracy", weighter=weighter)
    truth, plain, weighted = [], [], []
    for model in _models().values():
        fitted = clone(model).fit(X[source], y[source])
        truth.append(fitted.score(X[target], data.y_true[target]))
        fold_plain, fold_weighted = [], []
        for train, test in KFold(5, shuffle=True, random_state=0).split(source):
            fitted = clone(model).fit(X[source[train]], y[source[train]])
            fold_plain.append(fitted.score(X[source[test]], y[source[test]]))
            # the validation fold's source rows, and every (unlabelled) target row
            rows = np.r_[source[test], target]
            fold_weighted.append(scorer(fitted, X[rows], y[rows], sample_domain=sd[rows]))
        plain.append(np.mean(fold_plain))
        weighted.append(np.mean(fold_weighted))
    return np.array(truth), np.array(plain), np.array(weighted)


@pytest.mark.parametrize(
    "weighter",
    [
        pytest.param(GaussianRatioWeighter(1.0, 0.6), id="exact"),
        pytest.param(None, id="default", marks=pytest.mark.slow),
    ],
)
def test_weighted_validation_tracks_target_accuracy_better(weighter):
    """Sugiyama et al. (2007): under covariate shift the importance-weighted source score
    estimates the target score; the plain source score does not. The constant model is the
    plainest case (about 0.52 on the source, 0.80 on this target), the depth-2 tree is good
    on the source and poor on the target."""
    errors_plain, errors_weighted, rho_plain, rho_weighted = [], [], [], []
    for seed in range(3):
        data = make_covariate_shift(
            2000, 1000, n_features=2, shift=1.0, target_scale=0.6, random_state=seed
        )
        truth, plain, weighted = _validation_scores(data, weighter)
        errors_plain.append(np.abs(plain - truth).mean())
        errors_weighted.append(np.abs(weighted - truth).mean())
        rho_plain.append(spearmanr(plain, truth).statistic)
        rho_weighted.append(spearmanr(weighted, truth).statistic)
    assert np.mean(errors_weighted) < 0.6 * np.mean(errors_plain)
    assert np.mean(rho_weighted) > np.mean(rho_plain)
