import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import AdaBoostClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import InvalidParameterError

from skxfer import pack
from skxfer.datasets import make_covariate_shift
from skxfer.reweight import TrAdaBoostClassifier
from skxfer.utils import NoTransferWarning


def _mixed_source(seed, n_source=600, n_target=20, n_test=2000, misleading=0.4):
    """A related source: most rows follow the target's concept, some follow another one.

    Returns the training rows (source + ``n_target`` labelled target rows), a target test
    set, and a mask of the source rows whose label contradicts the target's concept.
    """
    rng = np.random.default_rng(seed)
    X_source = rng.normal(size=(n_source, 5))
    X_target = rng.normal(size=(n_target + n_test, 5)) + 0.3

    def concept(X):
        return (X[:, 0] + X[:, 1] > 0.3).astype(int)

    def other(X):
        return (X[:, 0] - X[:, 1] > 0).astype(int)

    follows_other = rng.random(n_source) < misleading
    y_source = np.where(follows_other, other(X_source), concept(X_source))
    y_target = concept(X_target)
    X, y, sd = pack(X_source, y_source, X_target[:n_target], y_target[:n_target])
    misleading_rows = np.r_[y_source != concept(X_source), np.zeros(n_target, bool)]
    return X, y, sd, X_target[n_target:], y_target[n_target:], misleading_rows


def _contradicting_source(seed, n_target=30):
    """make_covariate_shift with a concept drift: source labels flipped where x0 > 0.5."""
    data = make_covariate_shift(500, n_target + 2000, n_features=4, random_state=seed)
    y = data.y_true.copy()
    source = data.sample_domain > 0
    flipped = source & (data.X[:, 0] > 0.5)
    y[flipped] = 1 - y[flipped]
    target = np.flatnonzero(~source)
    train = np.r_[np.flatnonzero(source), target[:n_target]]
    test = target[n_target:]
    return data.X[train], y[train], data.sample_domain[train], data.X[test], y[test], flipped[train]


def _target_only(X, y, sd):
    target = sd < 0
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[target], y[target])


def test_beats_target_only_and_pooled_on_related_source():
    gains, over_pooled = [], []
    for seed in range(6):
        X, y, sd, X_test, y_test, _ = _mixed_source(seed)
        clf = TrAdaBoostClassifier(random_state=0).fit(X, y, sample_domain=sd)
        acc = clf.score(X_test, y_test)
        pooled = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
        gains.append(acc - _target_only(X, y, sd).score(X_test, y_test))
        over_pooled.append(acc - pooled.score(X_test, y_test))
    # measured: +0.075 over target-only and +0.03 over pooling, on average over these seeds
    assert np.mean(gains) > 0.04
    assert np.mean(over_pooled) > 0.0


def test_misleading_source_rows_lose_weight():
    ratios = []
    for seed in range(6):
        X, y, sd, _, _, misleading = _mixed_source(seed)
        clf = TrAdaBoostClassifier(random_state=0).fit(X, y, sample_domain=sd)
        w = clf.sample_weight_
        ratios.append(w[misleading].mean() / w[(sd > 0) & ~misleading].mean())
    assert np.mean(ratios) < 0.8
    np.testing.assert_allclose(clf.sample_weight_.sum(), 1.0)


def test_recovers_when_the_source_contradicts_the_target():
    accs, pooled_accs, ratios = [], [], []
    for seed in range(4):
        X, y, sd, X_test, y_test, flipped = _contradicting_source(seed)
        clf = TrAdaBoostClassifier(random_state=0).fit(X, y, sample_domain=sd)
        accs.append(clf.score(X_test, y_test))
        pooled = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
        pooled_accs.append(pooled.score(X_test, y_test))
        w = clf.sample_weight_
        ratios.append(w[flipped].mean() / w[(sd > 0) & ~flipped].mean())
    # the pooled tree follows the flipped source (about 0.54); boosting moves to the target
    assert np.mean(accs) > np.mean(pooled_accs) + 0.15
    assert np.mean(ratios) < 0.6


def test_original_updates_without_dynamic_correction():
    X, y, sd, X_test, y_test, flipped = _contradicting_source(0)
    clf = TrAdaBoostClassifier(dynamic=False, random_state=0).fit(X, y, sample_domain=sd)
    dyn = TrAdaBoostClassifier(random_state=0).fit(X, y, sample_domain=sd)
    assert not np.allclose(clf.sample_weight_, dyn.sample_weight_)
    # without the correction the target ends with more of the weight
    assert clf.sample_weight_[sd < 0].sum() > dyn.sample_weight_[sd < 0].sum()


def test_last_half_of_the_rounds_vote():
    X, y, sd, _, _, _ = _contradicting_source(1)
    clf = TrAdaBoostClassifier(n_estimators=20, random_state=0).fit(X, y, sample_domain=sd)
    n = len(clf.estimators_)
    assert n > 2
    start = int(np.ceil(n / 2)) - 1
    assert np.all(clf.estimator_weights_[:start] == 0)
    assert np.any(clf.estimator_weights_[start:] > 0)
    assert len(clf.estimator_errors_) == n


def test_without_sample_domain_is_adaboost_samme():
    X, y = make_classification(300, n_features=6, n_informative=4, n_classes=3, random_state=0)
    with pytest.warns(NoTransferWarning, match="sample_domain"):
        ours = TrAdaBoostClassifier(n_estimators=20, random_state=0).fit(X, y)
    ref = AdaBoostClassifier(
        DecisionTreeClassifier(max_depth=3), n_estimators=20, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-12)
    np.testing.assert_allclose(ours.estimator_weights_, ref.estimator_weights_)


def test_zero_sample_weight_is_the_same_as_dropping_rows():
    X, y, sd, X_test, _, _ = _mixed_source(0, n_source=200)
    sw = np.ones(len(y))
    dropped = np.r_[np.arange(0, 200, 7), len(y) - 3]  # some source rows and a target row
    sw[dropped] = 0
    keep = sw > 0
    est = LogisticRegression()
    a = TrAdaBoostClassifier(est, n_estimators=10).fit(X, y, sample_weight=sw, sample_domain=sd)
    b = TrAdaBoostClassifier(est, n_estimators=10).fit(X[keep], y[keep], sample_domain=sd[keep])
    np.testing.assert_allclose(a.predict_proba(X_test), b.predict_proba(X_test), rtol=1e-6)
    assert np.all(a.sample_weight_[dropped] == 0)


def test_integer_sample_weight_on_target_rows_is_the_same_as_repeating_them():
    # Dai's source factor depends on the number of source rows, so repeating source rows is
    # not a reweighting; on the target side a weight of k is k copies of the row.
    X, y, sd, X_test, _, _ = _mixed_source(1, n_source=200)
    sw = np.where(sd < 0, 1 + np.arange(len(y)) % 3, 1)
    rep = np.repeat(np.arange(len(y)), sw)
    est = LogisticRegression()
    a = TrAdaBoostClassifier(est, n_estimators=10).fit(X, y, sample_weight=sw, sample_domain=sd)
    b = TrAdaBoostClassifier(est, n_estimators=10).fit(X[rep], y[rep], sample_domain=sd[rep])
    np.testing.assert_allclose(a.predict_proba(X_test), b.predict_proba(X_test), rtol=1e-5)
    c = TrAdaBoostClassifier(est, n_estimators=10).fit(X, y, sample_domain=sd)
    assert not np.allclose(a.predict_proba(X_test), c.predict_proba(X_test))


def test_needs_labelled_target_rows():
    X, y, sd, _, _, _ = _mixed_source(0, n_source=100)
    y = y.copy()
    y[sd < 0] = -1
    with pytest.raises(ValueError, match="labelled target rows"):
        TrAdaBoostClassifier().fit(X, y, sample_domain=sd)
    sw = np.where(sd < 0, 0.0, 1.0)
    _, y_ok, _, _, _, _ = _mixed_source(0, n_source=100)
    with pytest.raises(ValueError, match="sample_weight is 0 on every labelled target row"):
        TrAdaBoostClassifier().fit(X, y_ok, sample_weight=sw, sample_domain=sd)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_estimators": 0}, InvalidParameterError, "n_estimators"),
        ({"learning_rate": 0.0}, InvalidParameterError, "learning_rate"),
        ({"dynamic": "yes"}, InvalidParameterError, "dynamic"),
        ({"estimator": "tree"}, InvalidParameterError, "estimator"),
        ({"estimator": KNeighborsClassifier()}, TypeError, "estimator=KNeighborsClassifier"),
    ],
)
def test_bad_params_give_clear_errors(params, error, match):
    X, y, sd, _, _, _ = _mixed_source(0, n_source=100)
    with pytest.raises(error, match=match):
        TrAdaBoostClassifier(**params).fit(X, y, sample_domain=sd)


def test_bad_sample_weight_and_labels():
    X, y, sd, _, _, _ = _mixed_source(0, n_source=100)
    with pytest.raises(ValueError, match="Negative values.*sample_weight"):
        TrAdaBoostClassifier().fit(X, y, sample_weight=-np.ones(len(y)), sample_domain=sd)
    with pytest.raises(ValueError, match="only one class"):
        TrAdaBoostClassifier().fit(X, np.zeros(len(y), int), sample_domain=sd)
    with pytest.raises(ValueError, match="Unknown label type"):
        TrAdaBoostClassifier().fit(X, np.linspace(0, 1, len(y)), sample_domain=sd)
    with pytest.raises(TypeError, match="strings"):
        TrAdaBoostClassifier().fit(X.astype(str).astype(object), y, sample_domain=sd)


def test_perfect_fit_stops_early_and_predicts_alone():
    X, y, sd, X_test, y_test, _ = _mixed_source(0, misleading=0.0)
    clf = TrAdaBoostClassifier(DecisionTreeClassifier(max_depth=8), random_state=0)
    clf.fit(X, y, sample_domain=sd)
    assert clf.estimator_errors_[-1] == 0
    assert len(clf.estimators_) < clf.n_estimators
    assert np.count_nonzero(clf.estimator_weights_) == 1
    np.testing.assert_array_equal(clf.predict(X_test), clf.estimators_[-1].predict(X_test))


def test_deterministic_under_random_state_and_does_not_mutate_inputs():
    X, y, sd, X_test, _, _ = _mixed_source(2, n_source=300)
    sw = np.linspace(0.5, 1.5, len(y))
    copies = X.copy(), y.copy(), sd.copy(), sw.copy()
    est = DecisionTreeClassifier(max_depth=3, max_features=2)
    fits = [
        TrAdaBoostClassifier(est, random_state=seed).fit(X, y, sample_weight=sw, sample_domain=sd)
        for seed in (7, 7, 8)
    ]
    np.testing.assert_array_equal(fits[0].predict_proba(X_test), fits[1].predict_proba(X_test))
    assert not np.array_equal(fits[0].sample_weight_, fits[2].sample_weight_)
    for before, after in zip(copies, (X, y, sd, sw)):
        np.testing.assert_array_equal(before, after)
    assert not hasattr(est, "tree_")  # the estimator parameter was cloned, never fitted


def test_multiclass_string_labels_and_probabilities():
    X, y = make_classification(
        400, n_features=6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    names = np.array(["ant", "bee", "cat"])[y]
    sd = np.r_[np.ones(350, int), -np.ones(50, int)]
    labels = names.astype(object)
    labels[375:] = None  # half of the target rows unlabelled
    clf = TrAdaBoostClassifier(n_estimators=15, random_state=0).fit(X, labels, sample_domain=sd)
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    proba = clf.predict_proba(X)
    assert proba.shape == (400, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.decision_function(X).shape == (400, 3)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    assert np.mean(clf.predict(X) == names) > 0.8
    assert clf.sample_weight_[375:].sum() == 0  # unlabelled target rows are not used


def test_binary_decision_and_a_source_class_named_minus_one():
    X, y, sd, X_test, y_test, _ = _mixed_source(3, n_source=300)
    y_pm = np.where(y == 1, 1, -1)
    # pack turns integer labels that use -1 as a class into floats with NaN as the mask
    X2, y2, sd2 = pack(X[sd > 0], y_pm[sd > 0], X[sd < 0], y_pm[sd < 0])
    clf = TrAdaBoostClassifier(random_state=0).fit(X2, y2, sample_domain=sd2)
    np.testing.assert_array_equal(clf.classes_, [-1.0, 1.0])
    decision = clf.decision_function(X_test)
    assert decision.shape == (len(X_test),)
    np.testing.assert_array_equal(clf.predict(X_test), np.where(decision > 0, 1.0, -1.0))
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X_test))


def test_sparse_input_gives_the_dense_result():
    X, y, sd, X_test, _, _ = _mixed_source(4, n_source=200)
    X[np.abs(X) < 0.5] = 0.0
    dense = TrAdaBoostClassifier(n_estimators=10, random_state=0).fit(X, y, sample_domain=sd)
    sparse = TrAdaBoostClassifier(n_estimators=10, random_state=0)
    sparse.fit(sp.csr_matrix(X), y, sample_domain=sd)
    np.testing.assert_allclose(sparse.predict_proba(X_test), dense.predict_proba(X_test))


def test_constant_features_and_clone():
    X, y, sd, X_test, _, _ = _mixed_source(5, n_source=200)
    X = np.c_[X, np.full(len(X), 3.0)]
    clf = TrAdaBoostClassifier(n_estimators=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(X, y, sample_domain=sd)
    assert np.all(np.isfinite(clf.predict_proba(np.c_[X_test, np.zeros(len(X_test))])))
    assert clone(clf).get_params() == clf.get_params()
