"""CatBoost warm start: continuation, leaf refresh, and what trips up users of the native API."""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import log_loss, mean_squared_error

from skxfer import pack
from skxfer.warm_start import CatBoostTransferClassifier, CatBoostTransferRegressor

catboost = pytest.importorskip("catboost")

QUIET = {"verbose": False, "allow_writing_files": False, "thread_count": 1}


def _seed(random_state):
    # the CatBoost seed the estimators derive from random_state (as the XGBoost twins do)
    return np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)


def _source_and_target(n_source=400, n_target=120, shift=0.0, n_classes=2, seed=0):
    """Source rows labelled by x0 + x1 > 0; target rows labelled by x0 + x1 > shift."""
    rng = np.random.default_rng(seed)
    Xs = rng.normal(size=(n_source, 3))
    Xt = rng.normal(size=(n_target, 3))

    def label(X, offset):
        score = X[:, 0] + X[:, 1] - offset
        if n_classes == 2:
            return (score > 0).astype(int)
        return np.digitize(score, [-0.7, 0.7])

    return Xs, label(Xs, 0.0), Xt, label(Xt, shift)


def _native_classifier(X, y, **params):
    return catboost.CatBoostClassifier(
        iterations=30, depth=3, random_seed=0, **QUIET, **params
    ).fit(X, y)


def _native_regressor(X, y, **params):
    return catboost.CatBoostRegressor(iterations=30, depth=3, random_seed=0, **QUIET, **params).fit(
        X, y
    )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_continue_equals_native_init_model_continuation(kind):
    Xs, ys, Xt, yt = _source_and_target(shift=0.8)
    if kind == "classifier":
        source, Est, Native = _native_classifier(Xs, ys), CatBoostTransferClassifier, "Classifier"
    else:
        ys, yt = Xs[:, 0] + Xs[:, 1], Xt[:, 0] + Xt[:, 1] + 0.8
        source, Est, Native = _native_regressor(Xs, ys), CatBoostTransferRegressor, "Regressor"
    est = Est(
        FrozenEstimator(source),
        n_estimators=12,
        learning_rate=0.2,
        max_depth=2,
        reg_lambda=2.0,
        random_state=0,
        n_jobs=1,
    ).fit(Xt, yt)
    by_hand = getattr(catboost, f"CatBoost{Native}")(
        iterations=12, learning_rate=0.2, depth=2, l2_leaf_reg=2.0, random_seed=_seed(0), **QUIET
    ).fit(Xt, yt, init_model=source)
    assert est.n_estimators_ == 12
    assert est.n_source_estimators_ == 30
    assert est.model_.tree_count_ == 42
    if kind == "classifier":
        np.testing.assert_allclose(est.predict_proba(Xs), by_hand.predict_proba(Xs), atol=1e-12)
        np.testing.assert_allclose(
            est.decision_function(Xs), by_hand.predict(Xs, prediction_type="RawFormulaVal")
        )
    else:
        np.testing.assert_allclose(est.predict(Xs), by_hand.predict(Xs), atol=1e-12)
    # the user's model is untouched and the source's bias is kept
    assert source.tree_count_ == 30
    assert est.model_.get_scale_and_bias() == source.get_scale_and_bias()


@pytest.mark.parametrize("n_classes", [2, 3])
def test_refresh_with_tau_zero_lowers_the_target_training_loss(n_classes):
    Xs, ys, Xt, yt = _source_and_target(shift=1.0, n_classes=n_classes)
    source = _native_classifier(Xs, ys)
    before = log_loss(yt, source.predict_proba(Xt), labels=source.classes_)
    clf = CatBoostTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
    after = log_loss(yt, clf.fit(Xt, yt).predict_proba(Xt), labels=clf.classes_)
    assert after < 0.9 * before
    # the tree structure is the source's: same number of trees and of leaves per tree
    np.testing.assert_array_equal(clf.model_.get_tree_leaf_counts(), source.get_tree_leaf_counts())


def test_refreshed_leaf_values_match_a_computation_by_hand():
    rng = np.random.default_rng(1)
    Xs = rng.normal(size=(200, 2))
    source = catboost.CatBoostRegressor(
        iterations=2, depth=1, learning_rate=0.4, random_seed=0, **QUIET
    ).fit(Xs, 2 * Xs[:, 0])
    Xt = rng.normal(size=(40, 2))
    yt = 2 * Xt[:, 0] + 1.5
    w = rng.uniform(0.5, 2.0, size=40)
    tau, reg_lambda = 3.0, 0.5
    reg = CatBoostTransferRegressor(
        FrozenEstimator(source), strategy="refresh", tau=tau, reg_lambda=reg_lambda
    ).fit(Xt, yt, sample_weight=w)

    # squared error: gradient margin - y, hessian 1, weighted; two leaves per tree
    leaves = source.calc_leaf_indexes(Xt)
    source_values = source.get_leaf_values().reshape(2, 2)
    _, bias = source.get_scale_and_bias()
    margin = np.full(40, bias)
    expected = []
    for tree in range(2):
        new = np.empty(2)
        for leaf in range(2):
            rows = leaves[:, tree] == leaf
            G = np.sum(w[rows] * (margin[rows] - yt[rows]))
            H = np.sum(w[rows])
            new[leaf] = (tau * source_values[tree, leaf] - 0.4 * G) / (H + reg_lambda + tau)
        margin = margin + new[leaves[:, tree]]
        expected.append(new)
    np.testing.assert_allclose(reg.model_.get_leaf_values(), np.ravel(expected), rtol=1e-6)
    np.testing.assert_allclose(reg.predict(Xt), margin, rtol=1e-6)
    # the user's model keeps its leaves
    np.testing.assert_array_equal(source.get_leaf_values().reshape(2, 2), source_values)


def test_native_catboost_source_and_a_bare_estimator_is_refused():
    Xs, ys, Xt, yt = _source_and_target(shift=0.8)
    native = catboost.CatBoost(
        {"iterations": 20, "loss_function": "RMSE", "random_seed": 0, **QUIET}
    ).fit(Xs, Xs[:, 0])
    reg = CatBoostTransferRegressor(native, strategy="refresh", tau=0.0).fit(Xt, Xt[:, 0] + 2)
    assert reg.source_model_ is native
    assert np.mean(reg.predict(Xt) - Xt[:, 0]) > 1.0
    assert np.mean(native.predict(Xt) - Xt[:, 0]) < 0.5
    with pytest.raises(TypeError, match="FrozenEstimator"):
        CatBoostTransferClassifier(_native_classifier(Xs, ys)).fit(Xt, yt)
    with pytest.raises(ValueError, match="'RMSE'; use CatBoostTransferRegressor"):
        CatBoostTransferClassifier(native).fit(Xt, yt)


def test_categorical_pandas_column_is_passed_to_catboost():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)

    def frame(n, shift):
        X = pd.DataFrame(
            {"x": rng.normal(size=n), "city": rng.choice(["oslo", "rome", "lima"], size=n)}
        )
        y = (X["x"] + 2.0 * (X["city"] == "rome") - shift > 0.5).astype(int).to_numpy()
        return X, y

    Xs, ys = frame(400, 0.0)
    Xt, yt = frame(150, 1.5)
    source = catboost.CatBoostClassifier(
        iterations=30, depth=3, cat_features=["city"], random_seed=0, **QUIET
    ).fit(Xs, ys)
    target = Xt.astype({"city": "category"})
    clf = CatBoostTransferClassifier(FrozenEstimator(source), n_estimators=30, random_state=0)
    clf.fit(target, yt)
    assert log_loss(yt, clf.predict_proba(target)) < log_loss(yt, source.predict_proba(Xt))
    refreshed = CatBoostTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
    assert refreshed.fit(target, yt).score(target, yt) > source.score(Xt, yt)
    # a source fitted here finds the categorical column itself
    X, y, sd = pack(Xs, ys, Xt, yt)
    own = CatBoostTransferClassifier(source_params={"iterations": 20}, n_estimators=3)
    own.fit(X, y, sample_domain=sd)
    assert own.source_model_.get_cat_feature_indices() == [1]


def test_auto_adds_no_tree_without_shift_and_some_with_a_shift():
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(500, 2))
    Xt = rng.normal(size=(200, 2))
    source = catboost.CatBoostRegressor(iterations=100, depth=4, random_seed=0, **QUIET).fit(
        Xs, np.sin(2 * Xs[:, 0]) + Xs[:, 1]
    )
    # the target follows the source model exactly, plus noise: an added tree can only fit noise
    same = source.predict(Xt) + rng.normal(scale=0.5, size=200)
    shifted = same + 1.0 * (Xt[:, 0] > 0)
    params = {"max_estimators": 100, "learning_rate": 0.5, "max_depth": 4, "random_state": 0}
    reg = CatBoostTransferRegressor(FrozenEstimator(source), n_jobs=1, **params)
    assert reg.fit(Xt, same).n_estimators_ == 0
    np.testing.assert_allclose(reg.predict(Xs), source.predict(Xs))
    reg.fit(Xt, shifted)
    assert reg.n_estimators_ > 0
    truth = source.predict(Xt) + 1.0 * (Xt[:, 0] > 0)
    assert mean_squared_error(truth, reg.predict(Xt)) < 0.5 * mean_squared_error(
        truth, source.predict(Xt)
    )


def test_refresh_of_an_unsupported_loss_names_it():
    Xs, _, Xt, _ = _source_and_target()
    source = _native_regressor(Xs, Xs[:, 0], loss_function="Quantile:alpha=0.3")
    with pytest.raises(ValueError, match="Quantile:alpha=0.3"):
        CatBoostTransferRegressor(FrozenEstimator(source), strategy="refresh").fit(Xt, Xt[:, 0])
    # continuation keeps the source's loss
    reg = CatBoostTransferRegressor(FrozenEstimator(source), n_estimators=3).fit(Xt, Xt[:, 0])
    assert reg.model_.get_all_params()["loss_function"] == "Quantile:alpha=0.3"
    # "auto" scores the held-out rows with CatBoost's own metric of that loss: the target is
    # the source's own prediction plus 2, which only added trees can follow
    auto = CatBoostTransferRegressor(FrozenEstimator(source), max_estimators=40, n_jobs=1)
    auto.set_params(learning_rate=0.3, random_state=0).fit(Xt, source.predict(Xt) + 2.0)
    assert auto.n_estimators_ > 5


def test_params_that_the_constructor_controls_are_refused():
    Xs, ys, Xt, yt = _source_and_target()
    source = FrozenEstimator(_native_classifier(Xs, ys))
    with pytest.raises(ValueError, match="'depth'.*max_depth"):
        CatBoostTransferClassifier(source, params={"depth": 4}).fit(Xt, yt)


@pytest.mark.parametrize("loss", ["Logloss", "CrossEntropy", "RMSE", "MultiClass"])
def test_stage_losses_match_catboost_eval_metric(loss):
    from catboost.utils import eval_metric

    from skxfer.warm_start._leaf_refresh import stage_losses

    rng = np.random.RandomState(0)
    n = 40
    weight = rng.uniform(0.1, 2.0, n)
    labels = {
        "Logloss": rng.randint(0, 2, n).astype(float),
        "CrossEntropy": rng.uniform(0, 1, n),
        "RMSE": rng.normal(size=n),
        "MultiClass": rng.randint(0, 3, n).astype(float),
    }[loss]
    margins = rng.normal(size=(5, n, 3) if loss == "MultiClass" else (5, n, 1))
    expected = [
        eval_metric(labels, m if loss == "MultiClass" else m[:, 0], loss, weight=weight)[0]
        for m in margins
    ]
    objective = {"Logloss": "logistic", "CrossEntropy": "logistic", "RMSE": "squared"}
    got = stage_losses(objective.get(loss, "softmax"), labels, margins, weight)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
