"""The boosting libraries behind the boosted transfer estimators, for tests that check the
same behaviour on each: how to fit a native model, and how to read its margin."""

import numpy as np
import pytest

from skxfer.warm_start import (
    CatBoostTransferClassifier,
    CatBoostTransferRegressor,
    LGBMTransferClassifier,
    LGBMTransferRegressor,
    XGBTransferClassifier,
    XGBTransferRegressor,
)

LIBRARIES = ["xgboost", "catboost", "lightgbm"]

_ESTIMATORS = {
    "xgboost": (XGBTransferClassifier, XGBTransferRegressor),
    "catboost": (CatBoostTransferClassifier, CatBoostTransferRegressor),
    "lightgbm": (LGBMTransferClassifier, LGBMTransferRegressor),
}


def estimator(library, kind):
    """The transfer estimator of ``library`` for ``kind`` ("classifier" or "regressor")."""
    pytest.importorskip(library)
    return _ESTIMATORS[library][kind == "regressor"]


def source_params(library, n_trees):
    """``source_params`` for a source model of ``n_trees`` rounds fitted by the estimator."""
    return {"iterations": n_trees} if library == "catboost" else {"n_estimators": n_trees}


def native(library, kind, X, y, *, n_trees=30, max_depth=3, learning_rate=None, **params):
    """A fitted scikit-learn style model of ``library`` (one thread, seeded, quiet)."""
    module = pytest.importorskip(library)
    rate = {} if learning_rate is None else {"learning_rate": learning_rate}
    if library == "xgboost":
        cls = module.XGBRegressor if kind == "regressor" else module.XGBClassifier
        model = cls(n_estimators=n_trees, max_depth=max_depth, n_jobs=1, **rate, **params)
    elif library == "catboost":
        cls = module.CatBoostRegressor if kind == "regressor" else module.CatBoostClassifier
        quiet = {"verbose": False, "allow_writing_files": False, "thread_count": 1}
        model = cls(iterations=n_trees, depth=max_depth, random_seed=0, **quiet, **rate, **params)
    else:
        cls = module.LGBMRegressor if kind == "regressor" else module.LGBMClassifier
        model = cls(
            n_estimators=n_trees,
            num_leaves=2**max_depth,
            min_child_samples=5,
            n_jobs=1,
            random_state=0,
            verbose=-1,
            **rate,
            **params,
        )
    return model.fit(X, y)


def native_margin(library, model, X):
    """The raw margin of a fitted native model (scikit-learn style or a Booster)."""
    module = pytest.importorskip(library)
    if library == "xgboost":
        booster = model.get_booster() if hasattr(model, "get_booster") else model
        return booster.predict(module.DMatrix(X, enable_categorical=True), output_margin=True)
    if library == "catboost":
        return model.predict(X, prediction_type="RawFormulaVal")
    booster = getattr(model, "booster_", model)
    return booster.predict(X, raw_score=True, num_iteration=-1)


def staged_margin(library, fitted, X, n_rounds):
    """The margin of a fitted transfer estimator's model after its first ``n_rounds``."""
    module = pytest.importorskip(library)
    if library == "xgboost":
        dmatrix = module.DMatrix(X, enable_categorical=True)
        return fitted.booster_.predict(dmatrix, output_margin=True, iteration_range=(0, n_rounds))
    if library == "catboost":
        return fitted.model_.predict(X, prediction_type="RawFormulaVal", ntree_end=n_rounds)
    return fitted.booster_.predict(X, raw_score=True, num_iteration=n_rounds)


def transferred_model(library, fitted):
    """The transferred model of a fitted estimator, in the form ``source_model`` takes."""
    from sklearn.frozen import FrozenEstimator

    if library == "catboost":
        return FrozenEstimator(fitted.model_)
    return fitted.booster_


def binary_task(seed=0, n_source=1500, n_target=150, new_concept=True, n_features=4):
    """Source labels from x0 + x1/2 > 0; the target's also depend on x2 (a new concept)."""
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(n_source, n_features))
    ys = (Xs[:, 0] + 0.5 * Xs[:, 1] > 0).astype(int)
    Xt = rng.normal(0.3, 1.0, size=(n_target, n_features))
    shift = 1.2 * Xt[:, 2] if new_concept else 0.0
    yt = (Xt[:, 0] + 0.5 * Xt[:, 1] + shift > 0).astype(int)
    return Xs, ys, Xt, yt


def three_class_task(seed=0):
    rng = np.random.RandomState(seed)
    Xs = rng.normal(size=(1200, 4))
    Xt = rng.normal(size=(150, 4))
    ys = np.digitize(Xs[:, 0], [-0.5, 0.5])
    yt = np.digitize(Xt[:, 0] + 0.5 * Xt[:, 3], [-0.5, 0.5])
    return Xs, ys, Xt, yt


def regression_task(seed=0):
    Xs, _, Xt, _ = binary_task(seed)
    return Xs, Xs[:, 0] ** 2, Xt, Xt[:, 0] ** 2 + Xt[:, 1]


def task(kind, seed=0):
    """``(Xs, ys, Xt, yt, estimator kind)`` of a "binary", "multiclass" or "regression" task."""
    if kind == "binary":
        return (*binary_task(seed), "classifier")
    if kind == "multiclass":
        return (*three_class_task(seed), "classifier")
    return (*regression_task(seed), "regressor")
