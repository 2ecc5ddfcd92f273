"""XGBTransferClassifier / XGBTransferRegressor: each strategy against native XGBoost (what
every library shares is in test_boosted.py)."""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator

from skxfer.warm_start import XGBTransferClassifier, XGBTransferRegressor
from tests.warm_start._libraries import binary_task, three_class_task

xgb = pytest.importorskip("xgboost")
pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def binary_source():
    Xs, ys, Xt, yt = binary_task()
    return xgb.XGBClassifier(n_estimators=40, max_depth=3).fit(Xs, ys), Xt, yt


def _native_refresh(booster, X, y, objective, n_rounds, **extra):
    params = {
        "objective": objective,
        "process_type": "update",
        "updater": "refresh",
        "refresh_leaf": True,
        "min_child_weight": 0,
        "reg_lambda": 1.0,
        **extra,
    }
    return xgb.train(params, xgb.DMatrix(X, label=y), n_rounds, xgb_model=booster.copy())


# ---------------------------------------------------------------------------------------------
# continue


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_continue_equals_native_xgb_model_continuation(kind):
    if kind == "binary":
        Xs, ys, Xt, yt = binary_task()
        source = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), n_estimators=15, random_state=0)
    elif kind == "multiclass":
        Xs, ys, Xt, yt = three_class_task()
        source = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), n_estimators=15, random_state=0)
    else:
        Xs, _, Xt, _ = binary_task()
        ys, yt = Xs[:, 0] ** 2, Xt[:, 0] ** 2 + Xt[:, 1]
        source = xgb.XGBRegressor(n_estimators=30, max_depth=3).fit(Xs, ys)
        est = XGBTransferRegressor(FrozenEstimator(source), n_estimators=15, random_state=0)
    est.fit(Xt, yt)
    params = {
        "objective": source.get_booster().attr("objective")
        or ("binary:logistic" if kind == "binary" else None),
        "learning_rate": 0.1,
        "max_depth": 3,
        "reg_lambda": 1.0,
    }
    params = {key: value for key, value in params.items() if value is not None}
    if kind == "multiclass":
        params.update(objective="multi:softprob", num_class=3)
    if kind == "regression":
        params["objective"] = "reg:squarederror"
    by_hand = xgb.train(params, xgb.DMatrix(Xt, label=yt), 15, xgb_model=source.get_booster())
    expected = by_hand.predict(xgb.DMatrix(Xt))
    if kind == "binary":
        np.testing.assert_allclose(est.predict_proba(Xt)[:, 1], expected, rtol=1e-6)
    elif kind == "multiclass":
        np.testing.assert_allclose(est.predict_proba(Xt), expected, rtol=1e-5, atol=1e-7)
    else:
        np.testing.assert_allclose(est.predict(Xt), expected, rtol=1e-6)
    assert est.n_estimators_ == 15
    assert est.booster_.num_boosted_rounds() == 30 + 15


# ---------------------------------------------------------------------------------------------
# refresh


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_refresh_with_tau_zero_equals_native_refresh(kind):
    if kind == "binary":
        Xs, ys, Xt, yt = binary_task()
        source = xgb.XGBClassifier(n_estimators=25, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
        objective, extra = "binary:logistic", {}
    elif kind == "multiclass":
        Xs, ys, Xt, yt = three_class_task()
        source = xgb.XGBClassifier(n_estimators=25, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
        objective, extra = "multi:softprob", {"num_class": 3}
    else:
        Xs, _, Xt, _ = binary_task()
        ys, yt = Xs[:, 0] ** 2, Xt[:, 0] ** 2 + Xt[:, 1]
        source = xgb.XGBRegressor(n_estimators=25, max_depth=3).fit(Xs, ys)
        est = XGBTransferRegressor(FrozenEstimator(source), strategy="refresh", tau=0.0)
        objective, extra = "reg:squarederror", {}
    est.fit(Xt, yt)
    native = _native_refresh(source.get_booster(), Xt, yt, objective, 25, **extra)
    expected = native.predict(xgb.DMatrix(Xt))
    got = {
        "binary": lambda: est.predict_proba(Xt)[:, 1],
        "multiclass": lambda: est.predict_proba(Xt),
        "regression": lambda: est.predict(Xt),
    }[kind]()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_refresh_shrinks_toward_the_source_value_not_toward_zero():
    """One stump, hand-computed: the leaf no target row reaches keeps tau / (tau + lambda)
    of its value; the other follows the shrunk Newton formula."""
    rng = np.random.RandomState(0)
    Xs = rng.normal(size=(500, 1))
    ys = Xs[:, 0] * 2.0
    source = xgb.XGBRegressor(n_estimators=1, max_depth=1, learning_rate=0.5).fit(Xs, ys)
    Xt = np.abs(rng.normal(size=(20, 1))) + 2.0  # every target row is on the right
    yt = np.full(20, 1.0)
    tau, lam, eta = 3.0, 1.0, 0.5
    est = XGBTransferRegressor(
        FrozenEstimator(source), strategy="refresh", tau=tau, reg_lambda=lam
    ).fit(Xt, yt)
    booster = source.get_booster()
    leaf_source = {
        side: float(booster.predict(xgb.DMatrix(x), output_margin=True)[0])
        for side, x in (("left", [[-10.0]]), ("right", [[10.0]]))
    }
    base = float(booster.predict(xgb.DMatrix([[10.0]]), output_margin=True)[0])
    base_score = base - _leaf_value(booster, 10.0)
    w_right = _leaf_value(booster, 10.0)
    w_left = _leaf_value(booster, -10.0)
    G = np.sum(base_score - yt)  # gradient of the squared error at the margin before the tree
    H = len(yt)
    expected_right = (tau * w_right - eta * G) / (H + lam + tau)
    expected_left = tau * w_left / (lam + tau)
    assert leaf_source["left"] != leaf_source["right"]
    np.testing.assert_allclose(est.predict([[10.0]]), base_score + expected_right, rtol=1e-5)
    np.testing.assert_allclose(est.predict([[-10.0]]), base_score + expected_left, rtol=1e-5)


def _leaf_value(booster, x):
    leaf = int(booster.predict(xgb.DMatrix([[x]]), pred_leaf=True).ravel()[0])
    tree = booster.trees_to_dataframe()
    return float(tree.loc[tree["Node"] == leaf, "Gain"].iloc[0])


# ---------------------------------------------------------------------------------------------
# sources


@pytest.mark.parametrize("suffix", [".json", ".ubj"])
def test_source_from_a_saved_file_and_a_booster(binary_source, tmp_path, suffix):
    source, Xt, yt = binary_source
    path = tmp_path / f"source{suffix}"
    source.save_model(path)
    from_file = XGBTransferClassifier(path, strategy="refresh", source_learning_rate=0.3)
    from_booster = XGBTransferClassifier(source.get_booster(), strategy="refresh")
    np.testing.assert_allclose(
        from_file.fit(Xt, yt).predict_proba(Xt),
        from_booster.fit(Xt, yt).predict_proba(Xt),
        rtol=1e-6,
    )


# ---------------------------------------------------------------------------------------------
# what breaks users of the native API


def test_pandas_categorical_columns():
    rng = np.random.RandomState(0)

    def frame(n, shift):
        city = pd.Categorical(rng.choice(["a", "b", "c"], size=n), categories=["a", "b", "c"])
        x = rng.normal(shift, 1.0, size=n)
        y = ((x > 0) ^ (np.asarray(city) == "c")).astype(int)
        return pd.DataFrame({"x": x, "city": city}), y

    Xs, ys = frame(800, 0.0)
    Xt, yt = frame(120, 0.5)
    source = xgb.XGBClassifier(n_estimators=20, enable_categorical=True, max_cat_to_onehot=1)
    source.fit(Xs, ys)
    for strategy in ("continue", "refresh", "refresh_continue"):
        est = XGBTransferClassifier(FrozenEstimator(source), strategy=strategy, random_state=0)
        assert np.mean(est.fit(Xt, yt).predict(Xt) == yt) > 0.9
    with pytest.raises(ValueError, match="astype\\('category'\\)"):
        XGBTransferClassifier(FrozenEstimator(source)).fit(Xt.astype({"city": object}), yt)
