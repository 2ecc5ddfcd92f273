"""What every boosted transfer estimator does, whatever its library (XGBoost, CatBoost,
LightGBM): the engine's sequence, its sources, and the input that trips up native APIs."""

import os
import sys

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, KFold

from skxfer import pack
from tests.warm_start._libraries import (
    LIBRARIES,
    binary_task,
    estimator,
    native,
    native_margin,
    source_params,
    staged_margin,
    task,
    three_class_task,
)

pd = pytest.importorskip("pandas")

FAST = {"n_jobs": 1, "random_state": 0}


def _proba(margin):
    margin = np.asarray(margin, dtype=np.float64)
    if margin.ndim == 1:
        return np.column_stack([1 - expit(margin), expit(margin)])
    return softmax(margin, axis=1)


# ---------------------------------------------------------------------------------------------
# the source model, kept or changed


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_refresh_with_huge_tau_and_zero_added_trees_keep_the_source(library, kind):
    Xs, ys, Xt, yt, est_kind = task(kind)
    source = native(library, est_kind, Xs, ys, n_trees=20)
    cls = estimator(library, est_kind)
    before = native_margin(library, source, Xt)
    for params in ({"strategy": "refresh", "tau": 1e12}, {"n_estimators": 0}):
        model = cls(FrozenEstimator(source), **params, **FAST).fit(Xt, yt)
        if est_kind == "regressor":
            np.testing.assert_allclose(model.predict(Xt), before, rtol=1e-6, atol=1e-9)
        else:
            np.testing.assert_allclose(
                model.predict_proba(Xt), _proba(before), rtol=1e-5, atol=1e-7
            )
        assert model.n_estimators_ == 0
    # the user's model is read, never written
    np.testing.assert_array_equal(native_margin(library, source, Xt), before)


@pytest.mark.parametrize("library", LIBRARIES)
def test_refresh_lowers_the_target_loss_and_keeps_the_tree_count(library):
    Xs, ys, Xt, yt = binary_task()
    source = native(library, "classifier", Xs, ys, n_trees=30)
    cls = estimator(library, "classifier")
    refreshed = cls(FrozenEstimator(source), strategy="refresh", tau=0.5, **FAST).fit(Xt, yt)
    assert log_loss(yt, refreshed.predict_proba(Xt)) < log_loss(yt, source.predict_proba(Xt)) - 0.02
    assert refreshed.n_source_estimators_ == 30
    for strategy in ("continue", "refresh_continue"):
        grown = cls(FrozenEstimator(source), strategy=strategy, n_estimators=7, **FAST)
        assert grown.fit(Xt, yt).n_estimators_ == 7


@pytest.mark.parametrize("library", LIBRARIES)
def test_refresh_with_integer_weights_equals_repeated_rows(library):
    Xs, ys, Xt, yt = binary_task()
    source = native(library, "classifier", Xs, ys, n_trees=20)
    counts = np.random.RandomState(0).randint(0, 3, size=len(yt))
    est = estimator(library, "classifier")(FrozenEstimator(source), strategy="refresh", **FAST)
    weighted = clone(est).fit(Xt, yt, sample_weight=counts)
    repeated = clone(est).fit(np.repeat(Xt, counts, axis=0), np.repeat(yt, counts))
    np.testing.assert_allclose(
        weighted.predict_proba(Xt), repeated.predict_proba(Xt), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("library", LIBRARIES)
def test_zero_weight_equals_dropping_the_row_and_nan_is_missing(library):
    Xs, ys, Xt, yt = binary_task()
    Xt = Xt.copy()
    Xt[::7, 1] = np.nan
    source = native(library, "classifier", Xs, ys, n_trees=20)
    est = estimator(library, "classifier")(
        FrozenEstimator(source), strategy="refresh_continue", n_estimators=5, **FAST
    )
    w = np.ones(len(yt))
    w[:10] = 0.0
    weighted = clone(est).fit(Xt, yt, sample_weight=w)
    dropped = clone(est).fit(Xt[10:], yt[10:])
    np.testing.assert_allclose(
        weighted.predict_proba(Xt), dropped.predict_proba(Xt), rtol=1e-5, atol=1e-6
    )
    assert np.isfinite(weighted.predict_proba(Xt)).all()


# ---------------------------------------------------------------------------------------------
# the number of added trees


@pytest.mark.parametrize("library", LIBRARIES)
def test_auto_adds_trees_only_when_the_target_needs_them(library):
    Xs, ys, Xt_new, yt_new = binary_task(seed=1, n_source=3000, n_target=300, new_concept=True)
    _, _, Xt_same, yt_same = binary_task(seed=2, n_source=10, n_target=300, new_concept=False)
    source = FrozenEstimator(native(library, "classifier", Xs, ys, n_trees=60))
    cls = estimator(library, "classifier")
    new = cls(source, **FAST).fit(Xt_new, yt_new)
    same = cls(source, **FAST).fit(Xt_same, yt_same)
    # a source that is not perfect gains a little from a few trees on the same concept
    assert same.n_estimators_ <= 10
    assert new.n_estimators_ >= 3 * same.n_estimators_ + 10


@pytest.mark.parametrize("library", LIBRARIES)
def test_auto_refits_recalibration_and_refresh_on_each_fold(library):
    """The number of added trees is the argmin of the mean held-out loss of models whose
    recalibration and refresh were fitted on the fold's training rows only: a base changed
    on every target row has already seen the held-out rows, and asks for too few trees."""
    Xs, ys, Xt, yt = binary_task(seed=0, n_target=120)
    source = FrozenEstimator(native(library, "classifier", Xs, ys, n_trees=50, max_depth=6))
    cls = estimator(library, "classifier")
    folds = list(KFold(3, shuffle=True, random_state=0).split(Xt))
    params = {
        "strategy": "refresh_continue",
        "recalibrate": "affine",
        "tau": 0.0,
        "max_estimators": 60,
        "early_stopping_rounds": 60,  # no early stop: every count is scored
        **FAST,
    }
    chosen = cls(source, cv=folds, **params).fit(Xt, yt).n_estimators_
    curves = []
    for train, test in folds:
        fold = cls(source, n_estimators=60, **params).fit(Xt[train], yt[train])
        margins = [staged_margin(library, fold, Xt[test], 50 + k) for k in range(61)]
        curves.append([log_loss(yt[test], _proba(m), labels=[0, 1]) for m in margins])
    assert chosen == int(np.argmin(np.mean(curves, axis=0)))


@pytest.mark.parametrize("library", LIBRARIES)
def test_auto_with_explicit_folds_and_a_splitter(library):
    Xs, ys, Xt, yt = binary_task()
    source = FrozenEstimator(native(library, "classifier", Xs, ys, n_trees=20))
    cls = estimator(library, "classifier")
    folds = list(KFold(3, shuffle=True, random_state=0).split(Xt))
    by_list = cls(source, cv=folds, **FAST).fit(Xt, yt)
    by_splitter = cls(source, cv=KFold(3, shuffle=True, random_state=0), **FAST).fit(Xt, yt)
    assert by_list.n_estimators_ == by_splitter.n_estimators_


# ---------------------------------------------------------------------------------------------
# sources


@pytest.mark.parametrize("library", LIBRARIES)
def test_source_survives_clone_and_grid_search(library):
    Xs, ys, Xt, yt = binary_task()
    source = native(library, "classifier", Xs, ys, n_trees=20)
    est = estimator(library, "classifier")(FrozenEstimator(source), n_estimators=5, **FAST)
    assert clone(est).source_model.estimator is source
    grid = GridSearchCV(
        est, {"tau": [0.1, 10.0], "strategy": ["refresh", "refresh_continue"]}, cv=3
    ).fit(Xt, yt)
    best = grid.best_estimator_
    assert best.n_source_estimators_ == 20
    assert np.mean(best.predict(Xt) == yt) > 0.8


@pytest.mark.parametrize("library", LIBRARIES)
def test_an_unfrozen_or_unfitted_source_is_refused(library):
    Xs, ys, Xt, yt = binary_task()
    fitted = native(library, "classifier", Xs, ys, n_trees=5)
    cls = estimator(library, "classifier")
    with pytest.raises(TypeError, match="FrozenEstimator"):
        cls(fitted).fit(Xt, yt)
    with pytest.raises(TypeError, match="unfitted"):
        cls(clone(fitted)).fit(Xt, yt)
    with pytest.raises(ValueError, match="unfitted"):
        cls(FrozenEstimator(clone(fitted))).fit(Xt, yt)
    with pytest.raises(TypeError, match="takes source_model as"):
        cls(FrozenEstimator(Ridge().fit(Xt, yt))).fit(Xt, yt)


@pytest.mark.parametrize("library", LIBRARIES)
def test_source_from_a_saved_file(library, tmp_path):
    Xs, ys, Xt, yt = binary_task()
    source = native(library, "classifier", Xs, ys, n_trees=20, learning_rate=0.3)
    path = tmp_path / {"xgboost": "source.json", "catboost": "source.cbm"}.get(
        library, "source.txt"
    )
    if library == "lightgbm":
        source.booster_.save_model(path)
    else:
        source.save_model(str(path))
    cls = estimator(library, "classifier")
    params = {"strategy": "refresh_continue", "n_estimators": 3, **FAST}
    from_path = cls(path, source_learning_rate=0.3, **params).fit(Xt, yt)
    from_str = cls(os.fspath(path), source_learning_rate=0.3, **params).fit(Xt, yt)
    frozen = cls(FrozenEstimator(source), **params).fit(Xt, yt)
    np.testing.assert_allclose(from_path.predict_proba(Xs), frozen.predict_proba(Xs), rtol=1e-6)
    np.testing.assert_allclose(from_str.predict_proba(Xs), frozen.predict_proba(Xs), rtol=1e-6)
    for error in (FileNotFoundError, ValueError):
        with pytest.raises(error, match="no such file"):
            cls(tmp_path / "missing.model").fit(Xt, yt)


@pytest.mark.parametrize("library", LIBRARIES)
def test_source_fitted_on_the_source_rows_of_sample_domain(library):
    Xs, ys, Xt, yt = binary_task(n_source=400)
    labels = np.array(["healthy", "sick"])
    X, y, sample_domain = pack(Xs, labels[ys], Xt, labels[yt])
    params = {"source_params": source_params(library, 20), "n_estimators": 5, **FAST}
    est = estimator(library, "classifier")(**params).fit(X, y, sample_domain=sample_domain)
    assert list(est.classes_) == ["healthy", "sick"]
    assert est.n_source_estimators_ == 20
    assert est.n_estimators_ == 5
    # the target labels change the added trees, not the source model
    flipped = clone(est).fit(X, np.r_[labels[ys], labels[1 - yt]], sample_domain=sample_domain)
    np.testing.assert_array_equal(
        native_margin(library, est.source_model_, Xs),
        native_margin(library, flipped.source_model_, Xs),
    )
    assert not np.allclose(est.predict_proba(Xt), flipped.predict_proba(Xt))
    assert np.mean(est.predict(Xt) == labels[yt]) > 0.7


@pytest.mark.parametrize("library", LIBRARIES)
def test_unlabelled_target_rows_are_ignored(library):
    Xs, ys, Xt, yt = binary_task(n_source=400)
    X, y, sd = pack(Xs, ys, Xt, yt)
    X_more, y_more, sd_more = pack(Xs, ys, np.vstack([Xt, Xt[:30] + 5]), np.r_[yt, [-1] * 30])
    est = estimator(library, "classifier")(
        source_params=source_params(library, 10), strategy="refresh", **FAST
    )
    a = clone(est).fit(X, y, sample_domain=sd).predict_proba(Xt)
    b = clone(est).fit(X_more, y_more, sample_domain=sd_more).predict_proba(Xt)
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_missing_library_names_the_extra_to_install(library, monkeypatch):
    cls = estimator(library, "classifier")
    _, _, Xt, yt = binary_task(n_source=10, n_target=20)
    monkeypatch.setitem(sys.modules, library, None)  # import fails as when not installed
    with pytest.raises(ImportError, match=rf"run `pip install 'skxfer\[{library}\]'`"):
        cls().fit(Xt, yt)


@pytest.mark.parametrize("library", LIBRARIES)
def test_no_labelled_target_row_raises(library):
    Xs, ys, Xt, _ = binary_task(n_source=200)
    X, y, sample_domain = pack(Xs, ys, Xt)
    with pytest.raises(ValueError, match="Label a few target rows"):
        estimator(library, "classifier")().fit(X, y, sample_domain=sample_domain)


@pytest.mark.parametrize(
    "library",
    [pytest.param(lib, marks=pytest.mark.slow) if lib == "lightgbm" else lib for lib in LIBRARIES],
)
def test_no_file_is_written_to_the_working_directory(library, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Xs, ys, Xt, yt = binary_task(n_source=200, n_target=60)
    X, y, sd = pack(Xs, ys, Xt, yt)
    estimator(library, "classifier")(
        strategy="refresh_continue", source_params=source_params(library, 10), max_estimators=20
    ).fit(X, y, sample_domain=sd)
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# classes


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("strategy", ["continue", "refresh", "refresh_continue"])
def test_a_target_missing_source_classes_keeps_every_class(library, strategy):
    Xs, ys, Xt, yt = three_class_task()
    source = FrozenEstimator(native(library, "classifier", Xs, ys, n_trees=10))
    keep = yt != 2
    est = estimator(library, "classifier")(source, strategy=strategy, n_estimators=3, **FAST)
    proba = est.fit(Xt[keep], yt[keep]).predict_proba(Xt)
    assert proba.shape == (len(Xt), 3)
    assert list(est.classes_) == [0, 1, 2]
    assert proba[:, 2].min() > 0


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_new_target_class_and_a_regression_source_are_refused(library):
    Xs, ys, Xt, yt = three_class_task()
    binary = FrozenEstimator(native(library, "classifier", Xs, (ys > 0).astype(int), n_trees=5))
    cls = estimator(library, "classifier")
    with pytest.raises(ValueError, match=r"class\(es\) \[2\]"):
        cls(binary).fit(Xt, yt)
    regressor = FrozenEstimator(native(library, "regressor", Xs, Xs[:, 0], n_trees=5))
    with pytest.raises(ValueError, match="Regressor|regression"):
        cls(regressor).fit(Xt, yt)


@pytest.mark.parametrize("library", LIBRARIES)
def test_binary_source_with_a_one_class_target_stays_binary(library):
    Xs, ys, Xt, yt = binary_task()
    source = FrozenEstimator(native(library, "classifier", Xs, ys, n_trees=10))
    est = estimator(library, "classifier")(source, strategy="refresh_continue", n_estimators=3)
    est.set_params(**FAST).fit(Xt[yt == 0], yt[yt == 0])
    assert est.predict_proba(Xs).shape == (len(Xs), 2)
    assert list(est.classes_) == [0, 1]


# ---------------------------------------------------------------------------------------------
# columns, categories and numbers


@pytest.mark.parametrize("library", LIBRARIES)
def test_dataframe_columns_are_aligned_by_name(library):
    Xs, ys, Xt, yt = binary_task(n_source=400)
    names = ["age", "bp", "chol", "hr"]
    source = native(library, "classifier", pd.DataFrame(Xs, columns=names), ys, n_trees=20)
    frame = pd.DataFrame(Xt, columns=names)
    shuffled = frame[["hr", "age", "chol", "bp"]]
    cls = estimator(library, "classifier")
    est = cls(FrozenEstimator(source), strategy="refresh_continue", n_estimators=5, **FAST)
    ordered = clone(est).fit(frame, yt).predict_proba(frame)
    reordered = clone(est).fit(shuffled, yt)
    np.testing.assert_allclose(ordered, reordered.predict_proba(shuffled), rtol=1e-6)
    assert list(reordered.feature_names_in_) == ["hr", "age", "chol", "bp"]
    with pytest.raises(ValueError, match=r"missing \['chol'\].*\['extra'\]"):
        clone(est).fit(frame.rename(columns={"chol": "extra"}), yt)
    with pytest.raises(ValueError, match="X has 3 features, but the source model"):
        clone(est).fit(Xt[:, :3], yt)


def _city_frames(seed, source_cities, target_cities, n_source=600, n_target=120):
    rng = np.random.RandomState(seed)

    def frame(n, cities, shift):
        city = rng.choice(cities, size=n)
        x = rng.normal(shift, 1.0, size=n)
        y = ((x > 0) ^ (city == "b")).astype(int)
        return pd.DataFrame({"x": x, "city": pd.Series(city).astype("category")}), y

    return (*frame(n_source, source_cities, 0.0), *frame(n_target, target_cities, 0.5))


def _categorical_source(library, X, y):
    extra = {"enable_categorical": True, "max_cat_to_onehot": 1} if library == "xgboost" else {}
    if library == "catboost":
        extra = {"cat_features": ["city"]}
    return native(library, "classifier", X, y, n_trees=20, **extra)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
@pytest.mark.parametrize("strategy", ["continue", "refresh", "refresh_continue"])
def test_target_categories_are_read_as_the_source_reads_them(library, strategy):
    """A target frame converted with astype("category") holds its own categories, whose
    codes differ from the source's ("c" is code 1 here, "b" in the source): they are
    aligned to the source's by value, so the source trees keep reading "c" as "c"."""
    Xs, ys, Xt, yt = _city_frames(0, ["a", "b", "c"], ["a", "c"])
    source = _categorical_source(library, Xs, ys)
    assert list(Xt["city"].cat.categories) == ["a", "c"]
    as_source = Xt.astype({"city": pd.CategoricalDtype(["a", "b", "c"])})
    est = estimator(library, "classifier")(FrozenEstimator(source), strategy=strategy, **FAST)
    fitted = est.set_params(n_estimators=5, tau=1e12).fit(Xt, yt)
    np.testing.assert_allclose(fitted.predict_proba(Xt), fitted.predict_proba(as_source))
    source_rounds = staged_margin(library, fitted, as_source, 20)
    np.testing.assert_allclose(
        source_rounds, native_margin(library, source, as_source), rtol=1e-5, atol=1e-6
    )
    assert fitted.score(Xt, yt) > 0.9


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_category_the_source_never_saw_is_missing_with_a_warning(library):
    Xs, ys, Xt, yt = _city_frames(1, ["a", "b", "c"], ["a", "b", "z"])
    source = _categorical_source(library, Xs, ys)
    est = estimator(library, "classifier")(FrozenEstimator(source), n_estimators=3, **FAST)
    with pytest.warns(UserWarning, match=r"'city'.*not fitted with \(z:"):
        est.fit(Xt, yt)
    unseen = (Xt["city"] == "z").to_numpy()
    as_missing = Xt.astype({"city": pd.CategoricalDtype(["a", "b", "c"])})
    assert as_missing["city"][unseen].isna().all()
    with pytest.warns(UserWarning, match="not fitted with"):
        proba = est.predict_proba(Xt)
    np.testing.assert_allclose(proba, est.predict_proba(as_missing))


@pytest.mark.parametrize("strategy", ["continue", "refresh", "refresh_continue"])
def test_catboost_scores_every_unseen_category_alike(strategy):
    Xs, ys, Xt, yt = _city_frames(2, ["a", "b", "c"], ["a", "b"])
    source = _categorical_source("catboost", Xs.astype({"city": str}), ys)
    est = estimator("catboost", "classifier")(
        FrozenEstimator(source), strategy=strategy, n_estimators=5, **FAST
    ).fit(Xt, yt)
    rows = Xt.iloc[:20].astype({"city": str})
    proba = [est.predict_proba(rows.assign(city=city)) for city in ("zz", "yy", "a")]
    np.testing.assert_allclose(proba[0], proba[1])
    assert not np.allclose(proba[0], proba[2])


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("container", ["array", "frame"])
def test_numbers_beyond_float32_are_refused_with_the_column_named(library, container):
    Xs, ys, Xt, yt = binary_task(n_source=300)
    names = ["age", "bp", "chol", "hr"]
    frame = container == "frame"
    source = native(library, "classifier", pd.DataFrame(Xs, columns=names), ys, n_trees=5)
    est = estimator(library, "classifier")(FrozenEstimator(source), n_estimators=2, **FAST)
    est.fit(pd.DataFrame(Xt, columns=names) if frame else Xt, yt)
    huge = Xt.copy()
    huge[3, 1] = 1e300
    X = pd.DataFrame(huge, columns=names) if frame else huge
    column = "'bp'" if frame else "1"
    message = rf"Column {column} of X holds values .*32-bit floats"
    with pytest.raises(ValueError, match=message):
        clone(est).fit(X, yt)
    with pytest.raises(ValueError, match=message):
        est.predict(X)
    if frame:
        huge[3, 1] = np.inf
        with pytest.raises(ValueError, match="Column 'bp' of X holds infinity"):
            clone(est).fit(pd.DataFrame(huge, columns=names), yt)
