"""GridSearchCV over transfer settings, with metadata routing on and off."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skxfer.datasets import make_covariate_shift
from skxfer.model_selection import ImportanceWeightedScorer, TargetKFold
from skxfer.reweight import (
    DiscriminativeWeighter,
    ImportanceWeightedClassifier,
    KLIEPWeighter,
    KMMWeighter,
    NearestNeighborsWeighter,
)

STEP = "importanceweightedclassifier"


class RecordingKLIEP(KLIEPWeighter):
    """Remembers how many source and target rows each fit saw."""

    seen = []

    def fit(self, X, y=None, sample_domain=None):
        super().fit(X, y, sample_domain=sample_domain)
        type(self).seen.append((self.n_source_, self.n_target_))
        return self


@pytest.fixture
def data():
    return make_covariate_shift(240, 200, n_features=4, random_state=0)


def _partly_labelled(data, n_labelled=30):
    y = data.y.copy()
    labelled = np.flatnonzero(data.sample_domain < 0)[:n_labelled]
    y[labelled] = data.y_true[labelled]
    return y


def _pipeline(weighter):
    return make_pipeline(
        StandardScaler(), ImportanceWeightedClassifier(LogisticRegression(), weighter)
    )


def _search(cv, scoring=None, grid=None):
    grid = grid or {f"{STEP}__weighter__bandwidth": [0.5, 2.0]}
    return GridSearchCV(_pipeline(RecordingKLIEP(random_state=0)), grid, cv=cv, scoring=scoring)


def _fit(search, X, y, sample_domain, routing):
    RecordingKLIEP.seen = []
    # NoTransferWarning (sample_domain lost on the way) must fail here too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with sklearn.config_context(enable_metadata_routing=routing):
            if routing:
                return search.fit(X, y, sample_domain=sample_domain)
            # routing off: the splitter reads groups, the pipeline step its own parameter
            params = {f"{STEP}__sample_domain": sample_domain}
            if isinstance(search.cv, TargetKFold):
                params["groups"] = sample_domain
            return search.fit(X, y, **params)


@pytest.mark.parametrize("routing", [True, False])
def test_target_kfold_search_sees_source_and_target_rows(data, routing):
    y = _partly_labelled(data)
    search = _fit(_search(TargetKFold(3)), data.X, y, data.sample_domain, routing)
    n_source = int((data.sample_domain > 0).sum())
    n_target = int((data.sample_domain < 0).sum())
    # 2 candidates x 3 folds + refit; every training fold keeps every source row and
    # every unlabelled target row, and leaves out a third of the 30 labelled target rows
    assert len(RecordingKLIEP.seen) == 7
    for fold_source, fold_target in RecordingKLIEP.seen[:-1]:
        assert fold_source == n_source
        assert fold_target == n_target - 10
    assert RecordingKLIEP.seen[-1] == (n_source, n_target)
    weighter = search.best_estimator_[-1].weighter_
    assert weighter.n_target_ == n_target
    assert search.best_params_[f"{STEP}__weighter__bandwidth"] in (0.5, 2.0)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_routing_on_and_off_give_the_same_search(data):
    y = _partly_labelled(data)
    on = _fit(_search(TargetKFold(3)), data.X, y, data.sample_domain, routing=True)
    off = _fit(_search(TargetKFold(3)), data.X, y, data.sample_domain, routing=False)
    np.testing.assert_allclose(
        on.cv_results_["mean_test_score"], off.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize("routing", [True, False])
def test_unlabelled_target_search_with_weighted_scorer(data, routing):
    cv = KFold(3, shuffle=True, random_state=0)
    search = _fit(
        _search(cv, scoring=ImportanceWeightedScorer()), data.X, data.y, data.sample_domain, routing
    )
    n_target = int((data.sample_domain < 0).sum())
    # KFold over the stacked rows: each training fold holds some of the target rows
    for _, fold_target in RecordingKLIEP.seen[:-1]:
        assert 0.5 * n_target < fold_target < 0.8 * n_target
    assert search.best_estimator_[-1].weighter_.n_target_ == n_target
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores > 0.5) & (scores <= 1.0))


def test_weighted_scorer_with_and_without_routing_agree(data):
    """Routing on: the scorer reads the fold's sample_domain; off: the masked labels."""
    cv = KFold(3, shuffle=True, random_state=0)
    results = [
        _fit(
            _search(cv, scoring=ImportanceWeightedScorer()),
            data.X,
            data.y,
            data.sample_domain,
            routing,
        ).cv_results_["mean_test_score"]
        for routing in (True, False)
    ]
    np.testing.assert_allclose(results[0], results[1])


@pytest.mark.slow
def test_search_over_the_weighter_itself(data):
    cv = KFold(3, shuffle=True, random_state=0)
    candidates = [
        KLIEPWeighter(random_state=0),
        KMMWeighter(random_state=0),
        DiscriminativeWeighter(random_state=0),
        NearestNeighborsWeighter(),
    ]
    # one fixed weighter for the scorer, so every candidate is judged on the same weights
    scorer = ImportanceWeightedScorer(weighter=DiscriminativeWeighter(random_state=0))
    search = GridSearchCV(
        _pipeline(KLIEPWeighter()), {f"{STEP}__weighter": candidates}, cv=cv, scoring=scorer
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with sklearn.config_context(enable_metadata_routing=True):
            search.fit(data.X, data.y, sample_domain=data.sample_domain)
    assert len(search.cv_results_["mean_test_score"]) == 4
    best = search.best_estimator_[-1]
    assert type(best.weighter_) is type(search.best_params_[f"{STEP}__weighter"])
    assert best.weighter_.n_target_ == int((data.sample_domain < 0).sum())
    target = data.sample_domain < 0
    assert search.best_estimator_.score(data.X[target], data.y_true[target]) > 0.6
