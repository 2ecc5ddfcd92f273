"""Scorers that need no target label: entropy, Mix-Val, circular validation."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold

from skxfer import pack
from skxfer.align import CORAL, AlignedClassifier, make_alignment_pipeline
from skxfer.model_selection import (
    CircularValidationScorer,
    MixValScorer,
    PredictionEntropyScorer,
)


def _shifted(seed=0, n=300):
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    Zt = rng.normal(size=(n, 2))
    Xt = Zt * [2.0, 1.0] + [3.0, 0.0]
    return pack(Xs, ys, Xt)


class _Constant(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.unique(y[~np.isnan(y)] if y.dtype.kind == "f" else y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_entropy_prefers_confident_models_and_reads_only_target_rows():
    X, y, sd = _shifted()
    source = sd > 0
    sharp = LogisticRegression(C=100).fit(X[source], y[source])
    blunt = LogisticRegression(C=1e-4).fit(X[source], y[source])
    scorer = PredictionEntropyScorer()
    assert scorer(sharp, X, sample_domain=sd) > scorer(blunt, X, sample_domain=sd)
    # masked labels mark the target rows when sample_domain is absent
    assert scorer(sharp, X, y) == scorer(sharp, X, sample_domain=sd)
    with pytest.raises(ValueError, match="no target row"):
        scorer(sharp, X[source], sample_domain=sd[source])


def test_mix_val_is_deterministic_and_zero_for_a_collapsed_model():
    X, y, sd = _shifted()
    source = sd > 0
    model = LogisticRegression().fit(X[source], y[source])
    scorer = MixValScorer()
    first = scorer(model, X, sample_domain=sd)
    assert first == scorer(model, X, sample_domain=sd)
    assert 0.5 < first <= 1.0
    assert scorer(_Constant().fit(X[source], y[source]), X, sample_domain=sd) == 0.0
    with pytest.raises(ValueError, match="lam"):
        MixValScorer(lam=0.3)(model, X, sample_domain=sd)


def test_circular_validation_refits_the_other_way_round():
    X, y, sd = _shifted()
    model = AlignedClassifier(LogisticRegression(), CORAL()).fit(X, y, sample_domain=sd)
    score = CircularValidationScorer()(model, X, y, sample_domain=sd)
    # by hand: target pseudo-labels as source labels, source rows unlabelled
    target = sd < 0
    y_rev = np.where(target, model.predict(X).astype(float), np.nan)
    reverse = AlignedClassifier(LogisticRegression(), CORAL())
    reverse.fit(X, y_rev, sample_domain=np.where(target, 1, -1))
    assert score == pytest.approx(np.mean(reverse.predict(X[~target]) == y[~target]))
    assert score > 0.9
    constant = _Constant().fit(X[~target], y[~target])
    assert CircularValidationScorer()(constant, X, y, sample_domain=sd) == 0.0


def test_scorers_choose_in_a_grid_search_with_routing():
    rng = np.random.default_rng(0)
    Xs, Zt = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    # the rule tilts with the target's unequal scales: only a full covariance map follows it
    X, y, sd = pack(Xs, (Xs.sum(axis=1) > 0).astype(int), Zt * [4.0, 0.5] + [3.0, -1.0])
    y_true = (Zt.sum(axis=1) > 0).astype(int)
    pipe = make_alignment_pipeline(CORAL(), LogisticRegression())
    grid = {"alignedclassifier__aligner__reg": [0.0, 1.0]}
    scoring = {
        "entropy": PredictionEntropyScorer(),
        "mixval": MixValScorer(),
        "circular": CircularValidationScorer(),
    }
    accuracy = [
        make_alignment_pipeline(CORAL(reg=reg), LogisticRegression())
        .fit(X, y, alignedclassifier__sample_domain=sd)
        .score(X[sd < 0], y_true)
        for reg in (0.0, 1.0)
    ]
    assert accuracy[0] > accuracy[1] + 0.1
    with sklearn.config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            pipe, grid, cv=KFold(3, shuffle=True, random_state=0), scoring=scoring, refit=False
        )
        search.fit(X, y, sample_domain=sd)
    for name in scoring:
        assert np.all(np.isfinite(search.cv_results_[f"mean_test_{name}"]))
    # transferring back exposes the wrong tilt; the entropy is fooled by the wider scale of
    # the isotropic map (confident, and wrong), as its docstring warns
    circular = search.cv_results_["mean_test_circular"]
    assert circular[0] > circular[1] + 0.05
    entropy = search.cv_results_["mean_test_entropy"]
    assert entropy[0] < entropy[1]
