"""XGBTransferClassifier / XGBTransferRegressor: each strategy against native XGBoost."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV

from skxfer import pack
from skxfer.warm_start import XGBTransferClassifier, XGBTransferRegressor

xgb = pytest.importorskip("xgboost")
pd = pytest.importorskip("pandas")


def _binary(seed=0, n_source=1500, n_target=150, new_concept=True):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(n_source, 4))
    ys = (Xs[:, 0] + 0.5 * Xs[:, 1] > 0).astype(int)
    Xt = rng.normal(0.3, 1.0, size=(n_target, 4))
    shift = 1.2 * Xt[:, 2] if new_concept else 0.0
    yt = (Xt[:, 0] + 0.5 * Xt[:, 1] + shift > 0).astype(int)
    return Xs, ys, Xt, yt


def _three_class(seed=0):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(1200, 4))
    Xt = rng.normal(size=(150, 4))
    ys = np.digitize(Xs[:, 0], [-0.5, 0.5])
    yt = np.digitize(Xt[:, 0] + 0.5 * Xt[:, 3], [-0.5, 0.5])
    return Xs, ys, Xt, yt


@pytest.fixture(scope="module")
def binary_source():
    Xs, ys, Xt, yt = _binary()
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
        Xs, ys, Xt, yt = _binary()
        source = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), n_estimators=15, random_state=0)
    elif kind == "multiclass":
        Xs, ys, Xt, yt = _three_class()
        source = xgb.XGBClassifier(n_estimators=30, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), n_estimators=15, random_state=0)
    else:
        Xs, _, Xt, _ = _binary()
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


def test_zero_added_trees_keep_the_source_model_and_its_base_score(binary_source):
    source, Xt, yt = binary_source
    est = XGBTransferClassifier(FrozenEstimator(source), n_estimators=0).fit(Xt, yt)
    np.testing.assert_allclose(est.predict_proba(Xt), source.predict_proba(Xt), rtol=1e-6)


def test_auto_adds_trees_only_when_the_target_needs_them():
    Xs, ys, Xt_new, yt_new = _binary(seed=1, n_source=4000, n_target=300, new_concept=True)
    _, _, Xt_same, yt_same = _binary(seed=2, n_source=10, n_target=300, new_concept=False)
    source = FrozenEstimator(xgb.XGBClassifier(n_estimators=60, max_depth=3).fit(Xs, ys))
    new = XGBTransferClassifier(source, random_state=0).fit(Xt_new, yt_new)
    same = XGBTransferClassifier(source, random_state=0).fit(Xt_same, yt_same)
    assert new.n_estimators_ >= 10
    assert same.n_estimators_ <= 5
    assert new.n_estimators_ > same.n_estimators_


def test_auto_with_explicit_folds_and_a_splitter(binary_source):
    from sklearn.model_selection import KFold

    source, Xt, yt = binary_source
    folds = list(KFold(3, shuffle=True, random_state=0).split(Xt))
    by_list = XGBTransferClassifier(FrozenEstimator(source), cv=folds).fit(Xt, yt)
    by_splitter = XGBTransferClassifier(
        FrozenEstimator(source), cv=KFold(3, shuffle=True, random_state=0)
    ).fit(Xt, yt)
    assert by_list.n_estimators_ == by_splitter.n_estimators_


# ---------------------------------------------------------------------------------------------
# refresh


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_refresh_with_tau_zero_equals_native_refresh(kind):
    if kind == "binary":
        Xs, ys, Xt, yt = _binary()
        source = xgb.XGBClassifier(n_estimators=25, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
        objective, extra = "binary:logistic", {}
    elif kind == "multiclass":
        Xs, ys, Xt, yt = _three_class()
        source = xgb.XGBClassifier(n_estimators=25, max_depth=3).fit(Xs, ys)
        est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.0)
        objective, extra = "multi:softprob", {"num_class": 3}
    else:
        Xs, _, Xt, _ = _binary()
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


def test_refresh_with_huge_tau_keeps_the_source(binary_source):
    source, Xt, yt = binary_source
    est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=1e12)
    est.fit(Xt, yt)
    np.testing.assert_allclose(est.predict_proba(Xt), source.predict_proba(Xt), rtol=1e-6)


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


def test_refresh_lowers_the_target_loss_and_never_touches_the_source(binary_source):
    from sklearn.metrics import log_loss

    source, Xt, yt = binary_source
    before = source.predict_proba(Xt)
    est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=0.5)
    est.fit(Xt, yt)
    assert log_loss(yt, est.predict_proba(Xt)) < log_loss(yt, before) - 0.02
    for strategy in ("continue", "refresh_continue"):
        est.set_params(strategy=strategy, n_estimators=10).fit(Xt, yt)
        assert est.booster_.num_boosted_rounds() == 50
    np.testing.assert_array_equal(source.predict_proba(Xt), before)
    assert source.get_booster().num_boosted_rounds() == 40


def test_refresh_with_integer_weights_equals_repeated_rows(binary_source):
    source, Xt, yt = binary_source
    counts = np.random.RandomState(0).randint(0, 3, size=len(yt))
    est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", tau=1.0)
    weighted = clone(est).fit(Xt, yt, sample_weight=counts)
    repeated = clone(est).fit(np.repeat(Xt, counts, axis=0), np.repeat(yt, counts))
    np.testing.assert_allclose(
        weighted.predict_proba(Xt), repeated.predict_proba(Xt), rtol=1e-5, atol=1e-6
    )


# ---------------------------------------------------------------------------------------------
# sources


def test_source_survives_clone_and_grid_search(binary_source):
    source, Xt, yt = binary_source
    est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh", random_state=0)
    grid = GridSearchCV(
        est, {"tau": [0.1, 10.0], "strategy": ["refresh", "refresh_continue"]}, cv=3
    )
    grid.fit(Xt, yt)
    best = grid.best_estimator_
    assert best.n_source_estimators_ == 40
    assert np.mean(best.predict(Xt) == yt) > 0.8


def test_unfrozen_source_is_refused(binary_source):
    source, Xt, yt = binary_source
    with pytest.raises(TypeError, match="FrozenEstimator"):
        XGBTransferClassifier(source).fit(Xt, yt)


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
    with pytest.raises(FileNotFoundError, match="no such file"):
        XGBTransferClassifier(tmp_path / "missing.json").fit(Xt, yt)


def test_source_fitted_on_the_source_rows_of_sample_domain():
    Xs, ys, Xt, yt = _binary()
    labels = np.array(["healthy", "sick"])
    X, y, sample_domain = pack(Xs, labels[ys], Xt, labels[yt])
    est = XGBTransferClassifier(
        source_params={"n_estimators": 20}, n_estimators=5, random_state=0
    ).fit(X, y, sample_domain=sample_domain)
    assert list(est.classes_) == ["healthy", "sick"]
    assert est.n_source_estimators_ == 20
    assert est.n_estimators_ == 5
    own = xgb.XGBClassifier(n_estimators=20, max_depth=6, learning_rate=0.3).fit(Xs, ys)
    source_only = clone(est).set_params(n_estimators=0).fit(X, y, sample_domain=sample_domain)
    np.testing.assert_allclose(
        source_only.predict_proba(Xt), own.predict_proba(Xt), rtol=1e-5, atol=1e-6
    )


def test_unlabelled_target_rows_are_ignored():
    Xs, ys, Xt, yt = _binary()
    X, y, sd = pack(Xs, ys, Xt, yt)
    X_more, y_more, sd_more = pack(Xs, ys, np.vstack([Xt, Xt[:30] + 5]), np.r_[yt, [-1] * 30])
    est = XGBTransferClassifier(
        source_params={"n_estimators": 10}, strategy="refresh", random_state=0
    )
    a = clone(est).fit(X, y, sample_domain=sd).predict_proba(Xt)
    b = clone(est).fit(X_more, y_more, sample_domain=sd_more).predict_proba(Xt)
    np.testing.assert_allclose(a, b, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# what breaks users of the native API


def test_dataframe_columns_are_aligned_by_name():
    Xs, ys, Xt, yt = _binary()
    names = ["age", "bp", "chol", "hr"]
    source = xgb.XGBClassifier(n_estimators=20).fit(pd.DataFrame(Xs, columns=names), ys)
    frame = pd.DataFrame(Xt, columns=names)
    shuffled = frame[["hr", "age", "chol", "bp"]]
    est = XGBTransferClassifier(FrozenEstimator(source), strategy="refresh_continue")
    est.set_params(n_estimators=5, random_state=0)
    ordered = clone(est).fit(frame, yt).predict_proba(frame)
    reordered = clone(est).fit(shuffled, yt).predict_proba(shuffled)
    np.testing.assert_allclose(ordered, reordered, rtol=1e-6)
    with pytest.raises(ValueError, match=r"missing \['chol'\]"):
        clone(est).fit(frame.drop(columns="chol"), yt)


def test_array_of_the_wrong_width_is_refused(binary_source):
    source, Xt, yt = binary_source
    with pytest.raises(ValueError, match="X has 3 features, but the source model"):
        XGBTransferClassifier(FrozenEstimator(source)).fit(Xt[:, :3], yt)


def test_new_target_class_raises_and_missing_class_keeps_every_column():
    Xs, ys, Xt, yt = _three_class()
    source = FrozenEstimator(xgb.XGBClassifier(n_estimators=10).fit(Xs, ys))
    keep = yt != 2
    est = XGBTransferClassifier(source, strategy="refresh_continue", n_estimators=3)
    proba = est.fit(Xt[keep], yt[keep]).predict_proba(Xt)
    assert proba.shape == (len(Xt), 3)
    assert list(est.classes_) == [0, 1, 2]
    binary = FrozenEstimator(xgb.XGBClassifier(n_estimators=10).fit(Xs, (ys > 0).astype(int)))
    with pytest.raises(ValueError, match=r"class\(es\) \[2\]"):
        XGBTransferClassifier(binary).fit(Xt, yt)


def test_a_regression_source_is_refused_by_the_classifier(binary_source):
    _, Xt, yt = binary_source
    regressor = xgb.XGBRegressor(n_estimators=5).fit(Xt, yt.astype(float))
    with pytest.raises(ValueError, match="use XGBTransferRegressor"):
        XGBTransferClassifier(FrozenEstimator(regressor)).fit(Xt, yt)


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


def test_no_labelled_target_row_raises():
    Xs, ys, Xt, _ = _binary()
    X, y, sample_domain = pack(Xs, ys, Xt)
    with pytest.raises(ValueError, match="Label a few target rows"):
        XGBTransferClassifier().fit(X, y, sample_domain=sample_domain)
