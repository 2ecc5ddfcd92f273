"""What ``source_model`` names: one reading for every warm-start estimator.

A source model is a constructor parameter, so it must survive ``clone``: a
:class:`~sklearn.frozen.FrozenEstimator` around a fitted estimator, a native model (an
``xgboost.Booster``, a ``catboost.CatBoost``, a ``lightgbm.Booster``, coefficients), or the path
of a saved model. A fitted scikit-learn estimator passed bare is refused, because ``clone``
(and so every grid search) would silently replace it by an unfitted copy.
"""

import os

from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted


class SourceFileNotFoundError(FileNotFoundError, ValueError):
    """``source_model`` is a path with no file behind it.

    A ValueError too, as every other bad ``source_model`` value is.
    """


def resolve_source(source_model, *, accepted, is_native=None, saved_with=None):
    """The fitted model that ``source_model`` names, or None to fit one on the source rows.

    Parameters
    ----------
    source_model : object
        The estimator's ``source_model`` parameter.
    accepted : str
        What the estimator takes, e.g. "a FrozenEstimator around a fitted XGBClassifier, an
        xgboost.Booster or the path of a saved model" (for error messages).
    is_native : callable, default=None
        Whether an object is a native model of the library, taken as it is even when it has
        ``fit`` and ``get_params`` (``catboost.CatBoost``).
    saved_with : str, default=None
        How a model file is written, e.g. "Booster.save_model"; None when paths are not
        accepted (they are then returned as they are, for the caller to refuse).

    Returns
    -------
    source : None, str or object
        None; the path of an existing file as a str (when ``saved_with`` is given); the
        fitted estimator inside a FrozenEstimator; or ``source_model`` itself.
    """
    if source_model is None:
        return None
    if isinstance(source_model, FrozenEstimator):
        inner = source_model.estimator
        if not is_fitted(inner):
            raise ValueError(
                f"source_model is a FrozenEstimator around an unfitted {type(inner).__name__}; "
                "fit it on the source data first, then freeze it."
            )
        return inner
    if saved_with is not None and isinstance(source_model, str | os.PathLike):
        path = os.fspath(source_model)
        if not os.path.isfile(path):
            raise SourceFileNotFoundError(
                f"source_model={path!r}: no such file. Pass the path of a model saved with "
                f"{saved_with}."
            )
        return path
    native = is_native is not None and is_native(source_model)
    if not native and hasattr(source_model, "fit") and hasattr(source_model, "get_params"):
        name = type(source_model).__name__
        if is_fitted(source_model):
            raise TypeError(
                f"source_model is a fitted {name} that is not frozen; wrap it as "
                "source_model=FrozenEstimator(model) (from sklearn.frozen import "
                "FrozenEstimator): clone, and so every grid search, would otherwise replace it "
                "by an unfitted copy."
            )
        raise TypeError(
            f"source_model is an unfitted {name}. Pass {accepted}, or None to fit the source "
            "model on the source rows."
        )
    return source_model


def is_fitted(estimator):
    """Whether ``estimator`` is fitted, as scikit-learn, CatBoost or the estimator says."""
    if hasattr(estimator, "__sklearn_is_fitted__"):
        return bool(estimator.__sklearn_is_fitted__())
    if callable(getattr(estimator, "is_fitted", None)):
        return bool(estimator.is_fitted())
    try:
        check_is_fitted(estimator)
    except (NotFittedError, TypeError):  # TypeError: not an estimator sklearn can inspect
        return False
    return True
