"""Input checks shared by the boosted-tree transfer estimators."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from skxfer.warm_start._rows import check_target_classes

# pandas dtypes of text columns, which XGBoost cannot split on.
_TEXT_DTYPES = {"object", "string", "str"}


def check_boosted_X(estimator, X, *, reset):
    """Validate ``X`` for a tree library that reads NaN as missing.

    A DataFrame is kept as it is (its categorical columns go to the library untouched); its
    column names are recorded or checked like any scikit-learn estimator's. Anything else
    becomes a float array that may hold NaN but not infinity.
    """
    if hasattr(X, "iloc") and hasattr(X, "dtypes"):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                f"required by {type(estimator).__name__}."
            )
        bad = [str(c) for c, kind in X.dtypes.items() if str(kind) in _TEXT_DTYPES]
        if bad:
            raise ValueError(
                f"Columns {bad} hold Python objects (strings); XGBoost needs numbers or pandas "
                "categoricals. Convert them with X[cols] = X[cols].astype('category')."
            )
        return X
    return validate_data(
        estimator, X, reset=reset, ensure_all_finite="allow-nan", dtype=[np.float64, np.float32]
    )


def align_columns(X, source_names, n_source_features, name):
    """Order the columns of a DataFrame ``X`` as the source model's features.

    Arrays (and DataFrames, when the source model has no feature names) are taken in position
    order; their width is checked against the source model.
    """
    if source_names is None or not hasattr(X, "iloc"):
        if X.shape[1] != n_source_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but the source model of {name} has "
                f"{n_source_features}. Pass the source model's features, in its order (or a "
                "DataFrame with its column names)."
            )
        return X
    columns = [str(c) for c in X.columns]
    missing = [c for c in source_names if c not in columns]
    extra = [c for c in columns if c not in source_names]
    if missing or extra:
        raise ValueError(
            f"The columns of X do not match the source model's features: missing {missing}, "
            f"not in the source model {extra}. {name} aligns DataFrame columns by name; "
            "rename or drop columns so that X has exactly the source model's features."
        )
    return X.loc[:, [X.columns[columns.index(c)] for c in source_names]]


def frozen_inner(source_model, library, model_types, name):
    """The model inside a FrozenEstimator, or the given object itself.

    An unfrozen fitted scikit-learn estimator is refused: ``clone`` (and so every grid
    search) would replace it with an unfitted copy.
    """
    if isinstance(source_model, FrozenEstimator):
        return source_model.estimator
    if isinstance(source_model, (BaseEstimator, *model_types)) and hasattr(
        source_model, "get_params"
    ):
        raise TypeError(
            f"source_model is a bare {type(source_model).__name__}; wrap it as "
            f"FrozenEstimator(model) (from sklearn.frozen import FrozenEstimator) so that clone "
            f"and grid searches keep its fit, or pass the native {library} model."
        )
    return source_model


def source_classes(y, source, target, name):
    """Classes of a source model fitted here: those of the source rows (or, without source
    rows, of the target rows); a target class outside them raises."""
    fitted_on = source if source.any() else target
    classes = np.unique(y[fitted_on])
    check_target_classes(name, y[target], classes)
    return classes


def label_codes(classes, labels, name):
    """Position of each label in ``classes``, after checking that every label is one."""
    check_target_classes(name, labels, classes)
    return np.searchsorted(classes, labels).astype(np.float64)


def target_folds(cv, labels, classifier, seed):
    """``(train, test)`` index pairs over the labelled target rows, or None when fewer than
    two rows leave nothing to cross-validate.

    An integer gives shuffled folds, stratified when every class has a row in each fold (a
    rare class would otherwise make StratifiedKFold warn or fail on a few hundred rows).
    """
    n_rows = len(labels)
    if isinstance(cv, Integral):
        n_splits = min(cv, n_rows)
        if n_splits < 2:
            return None
        _, counts = np.unique(labels, return_counts=True)
        if classifier and len(counts) > 1 and counts.min() >= n_splits:
            splitter = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
        else:
            splitter = KFold(n_splits, shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, labels, classifier=classifier)
    return list(splitter.split(np.zeros((n_rows, 1)), labels))


class BoostedTransfer(BaseEstimator):
    """Parameters shared by the XGBoost and CatBoost transfer estimators: the same names and
    meanings in both libraries, so a grid over one carries to the other."""

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "source_model": [None, str, os.PathLike, object],
        "strategy": [StrOptions({"continue", "refresh", "refresh_continue"})],
        "recalibrate": [StrOptions({"bias", "affine"}), None],
        "source_scale": [Interval(Real, 0, None, closed="left")],
        "n_estimators": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_estimators": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "tau": [Interval(Real, 0, None, closed="left")],
        "source_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "source_params": [dict, None],
        "params": [dict, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        source_model=None,
        *,
        strategy="continue",
        recalibrate=None,
        source_scale=1.0,
        n_estimators="auto",
        max_estimators=500,
        early_stopping_rounds=20,
        cv=3,
        learning_rate=0.1,
        max_depth=3,
        reg_lambda=1.0,
        tau=1.0,
        source_learning_rate=None,
        source_params=None,
        params=None,
        random_state=None,
        n_jobs=None,
    ):
        self.source_model = source_model
        self.strategy = strategy
        self.recalibrate = recalibrate
        self.source_scale = source_scale
        self.n_estimators = n_estimators
        self.max_estimators = max_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.cv = cv
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.reg_lambda = reg_lambda
        self.tau = tau
        self.source_learning_rate = source_learning_rate
        self.source_params = source_params
        self.params = params
        self.random_state = random_state
        self.n_jobs = n_jobs
