"""AveragedSearchCV: the one-SE band of a grid search, averaged, plus anchors."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.svm import LinearSVC

from skxfer import pack
from skxfer.model_selection import AveragedSearchCV, TargetKFold
from skxfer.warm_start import TransferLogisticRegression, TransferRidge


def _binary(n=80, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def _stacked(seed=0):
    """A source whose labels follow the opposite rule to the target's: a misleading source."""
    rng = np.random.RandomState(seed)
    Xs, Xt = rng.normal(size=(300, 3)), rng.normal(size=(40, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    yt = (Xt[:, 0] + 0.3 * rng.normal(size=40) < 0).astype(int)
    return pack(Xs, ys, Xt, yt), Xt, yt


def test_band_is_every_candidate_within_n_se_of_the_best():
    X, y = _binary()
    grid = {"C": [1e-3, 1e-2, 0.1, 1.0, 10.0]}
    search = AveragedSearchCV(LogisticRegression(), grid, scoring="neg_log_loss", cv=4).fit(X, y)
    res = search.cv_results_
    mean = res["mean_test_score"]
    best = int(np.argmax(mean))
    se = res["std_test_score"][best] / np.sqrt(4)
    expected = {i for i in range(len(mean)) if mean[i] >= mean[best] - se}
    assert set(search.band_) == expected
    assert search.band_[0] == best == search.best_index_
    assert search.best_params_ == res["params"][best]
    assert [p["C"] for p in search.member_params_] == [res["params"][i]["C"] for i in search.band_]
    assert np.allclose(search.weights_, 1 / len(expected))


def test_predict_proba_is_the_members_average():
    X, y = _binary()
    grid = {"C": [1e-2, 0.1, 1.0]}
    search = AveragedSearchCV(LogisticRegression(), grid, scoring="neg_log_loss", n_se=1e6)
    search.fit(X, y)
    assert len(search.estimators_) == 3  # a wide band holds every candidate
    by_hand = np.mean(
        [LogisticRegression(C=p["C"]).fit(X, y).predict_proba(X) for p in search.member_params_],
        axis=0,
    )
    np.testing.assert_allclose(search.predict_proba(X), by_hand, rtol=1e-10)
    np.testing.assert_array_equal(search.predict(X), search.classes_[by_hand.argmax(axis=1)])
    np.testing.assert_allclose(search.predict_log_proba(X), np.log(by_hand))


def test_average_log_loss_is_at_most_the_members_mean():
    (X, y, domain), Xt, yt = _stacked()
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        {"alpha": [100.0, 1.0, 0.01]},
        scoring="neg_log_loss",
        n_se=1e6,
        anchor={"alpha": 0.0, "shrinkage": 1.0},
    ).fit(X, y, sample_domain=domain)
    members = [log_loss(yt, est.predict_proba(Xt)) for est in search.estimators_]
    assert len(members) == 4
    assert log_loss(yt, search.predict_proba(Xt)) <= np.mean(members) + 1e-12


def test_n_se_zero_keeps_the_best_and_the_anchor_joins_it():
    (X, y, domain), _, _ = _stacked()
    grid = {"alpha": [100.0, 10.0, 1.0]}
    est = TransferLogisticRegression()
    alone = AveragedSearchCV(est, grid, scoring="neg_log_loss", n_se=0).fit(
        X, y, sample_domain=domain
    )
    assert len(alone.band_) == 1
    assert len(alone.estimators_) == 1
    anchored = AveragedSearchCV(
        est, grid, scoring="neg_log_loss", n_se=0, anchor={"alpha": 0.0}
    ).fit(X, y, sample_domain=domain)
    assert anchored.member_params_ == [alone.best_params_, {"alpha": 0.0}]
    assert anchored.estimators_[1].alpha == 0.0
    # an anchor already in the band is not counted twice
    again = AveragedSearchCV(
        est, grid, scoring="neg_log_loss", n_se=0, anchor=[alone.best_params_]
    ).fit(X, y, sample_domain=domain)
    assert len(again.estimators_) == 1


def test_sample_domain_defaults_to_target_folds():
    (X, y, domain), _, _ = _stacked()
    grid = {"alpha": [10.0, 0.1]}
    est = TransferLogisticRegression()
    search = AveragedSearchCV(est, grid, scoring="neg_log_loss", cv=3).fit(
        X, y, sample_domain=domain
    )
    ref = GridSearchCV(est, grid, scoring="neg_log_loss", cv=TargetKFold(3), refit=False)
    ref.fit(X, y, groups=domain, sample_domain=domain)
    assert search.n_splits_ == 3
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"]
    )


def test_regressor_predicts_the_members_mean():
    rng = np.random.RandomState(1)
    Xs, Xt = rng.normal(size=(200, 3)), rng.normal(size=(30, 3))
    ys, yt = Xs @ [1.0, 2.0, 0.0], Xt @ [1.0, 1.5, 0.5] + 0.1 * rng.normal(size=30)
    X, y, domain = pack(Xs, ys, Xt, yt)
    search = AveragedSearchCV(TransferRidge(), {"alpha": [100.0, 1.0, 0.01]}, n_se=1e6, cv=3).fit(
        X, y, sample_domain=domain
    )
    by_hand = np.mean([est.predict(Xt) for est in search.estimators_], axis=0)
    np.testing.assert_allclose(search.predict(Xt), by_hand)
    assert search.score(Xt, yt) > 0.5


def test_pandas_input_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _binary()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    search = AveragedSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}).fit(frame, y)
    assert list(search.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="feature names"):
        search.predict(frame[["d", "c", "b", "a"]])


def test_clear_errors():
    X, y = _binary()
    with pytest.raises(ValueError, match=r"anchor sets \['tau'\]"):
        AveragedSearchCV(LogisticRegression(), {"C": [1.0]}, anchor={"tau": 1.0}).fit(X, y)
    with pytest.raises(TypeError, match="anchor must be a dict"):
        AveragedSearchCV(LogisticRegression(), {"C": [1.0]}, anchor=[0.1]).fit(X, y)
    with pytest.raises(TypeError, match="no predict_proba"):
        AveragedSearchCV(LinearSVC(), {"C": [1.0]}).fit(X, y)
    with pytest.raises(TypeError, match="does not take it"):
        AveragedSearchCV(Ridge(), {"alpha": [1.0]}).fit(X, y, sample_domain=np.ones(len(y)))
    with pytest.raises(ValueError, match="n_se"):
        AveragedSearchCV(LogisticRegression(), {"C": [1.0]}, n_se=-1).fit(X, y)


def test_log_loss_scores_folds_that_hold_one_class():
    rng = np.random.RandomState(0)
    Xs, Xt = rng.normal(size=(200, 3)), rng.normal(size=(12, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    yt = np.ones(12, dtype=int)
    yt[0] = 0  # one negative: two of the three folds score positives only
    X, y, domain = pack(Xs, ys, Xt, yt)
    grid = {"alpha": [10.0, 1.0, 0.1]}
    cv = TargetKFold(3)
    search = AveragedSearchCV(TransferLogisticRegression(), grid, scoring="neg_log_loss", cv=cv)
    search.fit(X, y, sample_domain=domain)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plain scorer fails on those folds, with warnings
        plain = GridSearchCV(TransferLogisticRegression(), grid, scoring="neg_log_loss", cv=cv)
        plain.fit(X, y, groups=domain, sample_domain=domain)
    assert not np.isfinite(plain.cv_results_["mean_test_score"]).any()


def _one_negative(n_target=12, seed=0):
    """Target rows holding a single negative, under a source that separates the classes."""
    rng = np.random.RandomState(seed)
    Xs, Xt = rng.normal(size=(200, 3)), rng.normal(size=(n_target, 3))
    ys = (Xs[:, 0] > 0).astype(int)
    yt = np.ones(n_target, dtype=int)
    yt[0] = 0
    return pack(Xs, ys, Xt, yt), Xt


def test_anchor_weight_auto_gives_anchors_half_when_a_class_has_fewer_rows_than_folds():
    (X, y, domain), Xt = _one_negative()
    grid = {"alpha": [100.0, 10.0, 1.0]}
    anchor = {"alpha": 0.0, "shrinkage": 10.0}
    search = AveragedSearchCV(
        TransferLogisticRegression(), grid, scoring="neg_log_loss", cv=3, n_se=1e6, anchor=anchor
    ).fit(X, y, sample_domain=domain)
    # the source's 200 rows hold both classes in plenty: only the target rows count
    assert len(search.estimators_) == 4
    np.testing.assert_allclose(search.weights_, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    by_hand = sum(w * e.predict_proba(Xt) for w, e in zip(search.weights_, search.estimators_))
    np.testing.assert_allclose(search.predict_proba(Xt), by_hand)
    # with three or more rows of each class the weights are equal again
    (X2, y2, d2), _ = _one_negative(n_target=30)
    y2[-30:-20] = 0
    equal = clone_fit(search, X2, y2, d2)
    np.testing.assert_allclose(equal.weights_, 1 / 4)


def clone_fit(search, X, y, domain, **params):
    return clone(search).set_params(**params).fit(X, y, sample_domain=domain)


def test_anchor_weight_float_is_the_anchors_share():
    (X, y, domain), _, _ = _stacked()
    grid = {"alpha": [100.0, 10.0, 1.0]}
    anchors = [{"alpha": 0.0, "shrinkage": 1.0}, {"alpha": 0.0, "shrinkage": 10.0}]
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        grid,
        scoring="neg_log_loss",
        n_se=1e6,
        anchor=anchors,
        anchor_weight=0.2,
    ).fit(X, y, sample_domain=domain)
    np.testing.assert_allclose(search.weights_, [0.8 / 3] * 3 + [0.1, 0.1])
    # an anchor inside the band still counts as an anchor
    inside = clone_fit(search, X, y, domain, anchor=[{"alpha": 100.0}], anchor_weight=0.5)
    assert len(inside.member_params_) == 3
    expected = [0.5 if m == {"alpha": 100.0} else 0.25 for m in inside.member_params_]
    np.testing.assert_allclose(inside.weights_, expected)
    # a regressor's "auto" weights are equal
    rng = np.random.RandomState(1)
    Xs, Xt = rng.normal(size=(100, 3)), rng.normal(size=(12, 3))
    Xr, yr, dr = pack(Xs, Xs @ [1.0, 2.0, 0.0], Xt, Xt @ [1.0, 1.5, 0.5])
    reg = AveragedSearchCV(
        TransferRidge(), {"alpha": [10.0, 1.0]}, n_se=1e6, cv=3, anchor={"alpha": 1e3}
    ).fit(Xr, yr, sample_domain=dr)
    np.testing.assert_allclose(reg.weights_, 1 / 3)
    with pytest.raises(ValueError, match="anchor_weight"):
        clone_fit(search, X, y, domain, anchor_weight=1.5)


def _discards():
    """Target-only settings of TransferLogisticRegression, most regularised first."""
    return [{"alpha": 0.0, "shrinkage": s} for s in (100.0, 10.0, 1.0, 0.1)]


def test_anchor_n_se_keeps_the_first_anchor_within_n_se_of_the_best_anchor():
    (X, y, domain), _, _ = _stacked()
    anchors = _discards()
    grid = [{"alpha": [100.0, 10.0]}, {"alpha": [0.0], "shrinkage": [100.0, 10.0, 1.0, 0.1]}]
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        grid,
        scoring="neg_log_loss",
        cv=3,
        anchor=anchors,
        anchor_n_se=1.0,
    ).fit(X, y, sample_domain=domain)
    res = search.cv_results_
    index = [res["params"].index(a) for a in anchors]
    mean = res["mean_test_score"][index]
    best = int(np.argmax(mean))
    se = res["std_test_score"][index[best]] / np.sqrt(3)
    expected = anchors[int(np.flatnonzero(mean >= mean[best] - se)[0])]
    assert search.anchor_params_ == [expected]
    assert expected in search.member_params_
    others = [a for a in anchors if a != expected]
    in_band = [res["params"][i] for i in search.band_]
    assert all(a not in search.member_params_ or a in in_band for a in others)
    # the 40 target rows follow a clear rule, so the weakest pull toward zero scores best
    # and the most regularised anchor is not the one kept when the band is narrow
    assert best != 0
    narrow = clone_fit(search, X, y, domain, anchor_n_se=0.0)
    assert narrow.anchor_params_ == [anchors[best]]
    wide = clone_fit(search, X, y, domain, anchor_n_se=1e6)
    assert wide.anchor_params_ == [anchors[0]]
    every = clone_fit(search, X, y, domain, anchor_n_se=None)
    assert every.anchor_params_ == anchors
    assert all(a in every.member_params_ for a in anchors)


def test_anchor_n_se_takes_the_first_anchor_when_a_class_has_fewer_rows_than_folds():
    (X, y, domain), _ = _one_negative()
    anchors = _discards()
    grid = [{"alpha": [10.0, 1.0]}, {"alpha": [0.0], "shrinkage": [100.0, 10.0, 1.0, 0.1]}]
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        grid,
        scoring="neg_log_loss",
        cv=3,
        n_se=0,
        anchor=anchors,
        anchor_n_se=0.0,
    ).fit(X, y, sample_domain=domain)
    assert search.anchor_params_ == [anchors[0]]
    # the anchor takes half, the best candidate the other half (unless they are one)
    weights = dict(zip(map(str, search.member_params_), search.weights_))
    assert weights[str(anchors[0])] == pytest.approx(0.5 if len(weights) == 2 else 1.0)


def test_anchor_n_se_needs_anchors_the_grid_scores():
    (X, y, domain), _, _ = _stacked()
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        {"alpha": [10.0, 1.0]},
        anchor=[{"alpha": 0.0, "shrinkage": 1.0}],
        anchor_n_se=1.0,
    )
    with pytest.raises(ValueError, match="not a setting of param_grid"):
        search.fit(X, y, sample_domain=domain)
    with pytest.raises(ValueError, match="anchor_n_se"):
        clone_fit(search, X, y, domain, anchor_n_se=-1.0)


def test_anchor_weight_auto_counts_a_class_the_target_rows_lack():
    (X, y, domain), _ = _one_negative(n_target=30)
    y[-30:] = 1  # the labelled target rows hold no negative; the source rows hold many
    search = AveragedSearchCV(
        TransferLogisticRegression(),
        {"alpha": [100.0, 10.0, 1.0]},
        scoring="neg_log_loss",
        cv=3,
        n_se=1e6,
        anchor={"alpha": 0.0, "shrinkage": 10.0},
    ).fit(X, y, sample_domain=domain)
    np.testing.assert_allclose(search.weights_, [1 / 6, 1 / 6, 1 / 6, 1 / 2])
