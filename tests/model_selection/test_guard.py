"""TransferOrTarget: transfer where the target's labels say it helps, target-only where not."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from skxfer import pack
from skxfer.model_selection import TargetKFold, TransferOrTarget
from skxfer.warm_start import PooledTransfer, TransferLogisticRegression, TransferRidge


def _tasks(concept, n_target=40, seed=0):
    """A source whose label is feature 0; a target whose label is feature ``concept``."""
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(300, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(size=(n_target, 3)) + 0.3
    yt = (Xt[:, concept] > 0.3).astype(int)
    return pack(Xs, ys, Xt, yt)


def _guard(**params):
    return TransferOrTarget(PooledTransfer(LogisticRegression()), LogisticRegression(), **params)


@pytest.mark.parametrize("rule", ["stack", "select"])
def test_keeps_a_helpful_source_and_drops_a_misleading_one(rule):
    X, y, sd = _tasks(concept=0)
    helpful = _guard(rule=rule).fit(X, y, sample_domain=sd)
    assert helpful.decision_ == "transfer"
    assert helpful.difference_ > 0
    X, y, sd = _tasks(concept=1)
    misleading = _guard(rule=rule).fit(X, y, sample_domain=sd)
    assert misleading.decision_ == "target"
    assert misleading.difference_ < -2 * misleading.difference_se_
    assert misleading.transfer_ is None
    # the fallback predicts what the target-only model predicts
    target_rows = sd == -1
    alone = LogisticRegression().fit(X[target_rows], y[target_rows])
    np.testing.assert_array_equal(misleading.predict(X[:50]), alone.predict(X[:50]))


def test_target_model_sees_labelled_target_rows_only():
    X, y, sd = _tasks(concept=1, n_target=40)
    y = y.copy()
    y[-10:] = -1  # ten unlabelled target rows
    guard = TransferOrTarget(
        PooledTransfer(LogisticRegression()), DummyClassifier(strategy="prior"), rule="select"
    ).fit(X, y, sample_domain=sd)
    assert guard.decision_ == "target"
    labelled_target = (sd == -1) & (y != -1)
    expected = np.bincount(y[labelled_target], minlength=2) / labelled_target.sum()
    np.testing.assert_allclose(guard.target_.class_prior_, expected)


def test_blend_predicts_the_weighted_mixture():
    # a source that is right about half the target's concept: neither end is best
    rng = np.random.RandomState(1)
    Xs = rng.normal(size=(300, 2))
    ys = (Xs[:, 0] > 0).astype(int)
    Xt = rng.normal(size=(60, 2))
    yt = (Xt[:, 0] + 0.5 * Xt[:, 1] + 0.8 * rng.normal(size=60) > 0).astype(int)
    X, y, sd = pack(Xs, ys, Xt, yt)
    guard = _guard().fit(X, y, sample_domain=sd)
    assert guard.decision_ == "blend"
    assert 0 < guard.weight_ < 1
    expected = guard.weight_ * guard.transfer_.predict_proba(X) + (
        1 - guard.weight_
    ) * guard.target_.predict_proba(X)
    np.testing.assert_allclose(guard.predict_proba(X), expected)
    np.testing.assert_array_equal(guard.predict(X), guard.classes_[expected.argmax(axis=1)])
    # the stacked mixture is scored too, and never worse out of fold than both candidates
    scores = dict(zip(guard.cv_results_["candidate"], guard.cv_results_["mean_test_score"]))
    assert scores["stack"] >= min(scores["transfer"], scores["target"])


def test_select_margin_moves_the_decision():
    X, y, sd = _tasks(concept=1, n_target=12, seed=1)
    lenient = _guard(rule="select", margin=1e6).fit(X, y, sample_domain=sd)
    strict = _guard(rule="select", margin=-1e6).fit(X, y, sample_domain=sd)
    assert lenient.decision_ == "transfer"
    assert strict.decision_ == "target"
    assert lenient.difference_ == pytest.approx(strict.difference_)


def test_regression_blend_weight_is_the_least_squares_weight():
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(200, 2))
    ys = Xs @ [1.0, 0.0] + 0.1 * rng.normal(size=200)
    Xt = rng.normal(size=(50, 2))
    yt = Xt @ [0.5, 0.5] + 0.3 * rng.normal(size=50)
    X, y, sd = pack(Xs, ys, Xt, yt)
    cv = TargetKFold(5)
    guard = TransferOrTarget(PooledTransfer(LinearRegression()), LinearRegression(), cv=cv).fit(
        X, y, sample_domain=sd
    )
    # recompute the out-of-fold predictions and the least-squares weight by hand
    pooled, alone, truth = [], [], []
    for train, test in cv.split(X, y, sample_domain=sd):
        tt = train[sd[train] == -1]
        pooled.append(LinearRegression().fit(X[train], y[train]).predict(X[test]))
        alone.append(LinearRegression().fit(X[tt], y[tt]).predict(X[test]))
        truth.append(y[test])
    p, a, t = map(np.concatenate, (pooled, alone, truth))
    grid = np.linspace(0, 1, 2001)
    losses = [np.mean((w * p + (1 - w) * a - t) ** 2) for w in grid]
    assert guard.weight_ == pytest.approx(grid[int(np.argmin(losses))], abs=1e-3)
    expected = guard.weight_ * guard.transfer_.predict(X) + (
        1 - guard.weight_
    ) * guard.target_.predict(X)
    np.testing.assert_allclose(guard.predict(X), expected)


def test_pipeline_and_transfer_estimators_get_sample_domain():
    X, y, sd = _tasks(concept=0)
    transfer = make_pipeline(StandardScaler(), TransferLogisticRegression(alpha=1.0))
    guard = TransferOrTarget(transfer, make_pipeline(StandardScaler(), LogisticRegression()))
    guard.fit(X, y, sample_domain=sd)
    assert guard.decision_ == "transfer"
    # the transfer step saw the domains: the pipeline fitted with them, not without
    with config_context(enable_metadata_routing=True):
        with_domains = clone(transfer).fit(X, y, sample_domain=sd)
    without = clone(transfer).fit(X, y)
    np.testing.assert_allclose(guard.transfer_[-1].coef_, with_domains[-1].coef_)
    assert not np.allclose(guard.transfer_[-1].coef_, without[-1].coef_)


def test_regressor_pair_and_guard_inside_a_search():
    X, y, sd = _tasks(concept=1)
    y = y.astype(float)
    guard = TransferOrTarget(TransferRidge(), Ridge(), rule="select")
    search = GridSearchCV(guard, {"margin": [0.0, 2.0]}, cv=TargetKFold(3))
    search.fit(X, y, groups=sd, sample_domain=sd)
    assert search.best_estimator_.decision_ in {"transfer", "target"}
    assert np.isfinite(search.best_score_)


def test_target_labels_missing_a_class_give_every_class_a_column():
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(300, 2))
    ys = np.digitize(Xs[:, 0], [-0.5, 0.5])  # three classes
    Xt = rng.normal(size=(30, 2))
    yt = (Xt[:, 0] > 0).astype(int)  # the target's labels hold classes 0 and 1 only
    X, y, sd = pack(Xs, ys, Xt, yt)
    guard = _guard().fit(X, y, sample_domain=sd)
    np.testing.assert_array_equal(guard.classes_, [0, 1, 2])
    proba = guard.predict_proba(X[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_without_sample_domain_it_chooses_between_two_models():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] > 0).astype(int)
    guard = TransferOrTarget(
        LogisticRegression(), DummyClassifier(strategy="prior"), rule="select"
    ).fit(X, y)
    assert guard.decision_ == "transfer"
    assert guard.n_splits_ == 5


def test_xgboost_warm_start_can_be_guarded():
    pytest.importorskip("xgboost")
    from skxfer.warm_start import XGBTransferClassifier

    X, y, sd = _tasks(concept=1)
    transfer = XGBTransferClassifier(source_params={"n_estimators": 20}, n_jobs=1)
    guard = TransferOrTarget(transfer, LogisticRegression(), rule="select").fit(
        X, y, sample_domain=sd
    )
    assert guard.decision_ == "target"


def test_bad_pairs_and_too_few_labels_are_refused():
    X, y, sd = _tasks(concept=0)
    with pytest.raises(ValueError, match="two classifiers or two regressors"):
        TransferOrTarget(PooledTransfer(LogisticRegression()), Ridge()).fit(X, y, sample_domain=sd)
    with pytest.raises(TypeError, match="rule='select'"):
        TransferOrTarget(PooledTransfer(LogisticRegression()), LinearSVC()).fit(
            X, y, sample_domain=sd
        )
    select = TransferOrTarget(PooledTransfer(LogisticRegression()), LinearSVC(), rule="select")
    assert select.fit(X, y, sample_domain=sd).decision_ in {"transfer", "target"}
    y_one = y.copy()
    y_one[(sd == -1)] = -1
    y_one[np.flatnonzero(sd == -1)[0]] = 1
    with pytest.raises(ValueError, match="Label at least two target rows"):
        _guard().fit(X, y_one, sample_domain=sd)
