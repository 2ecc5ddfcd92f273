"""Reading a linear source model, and the pieces both linear transfer models share."""

from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skxfer.utils._docstrings import fill_doc
from skxfer.warm_start._rows import target_folds
from skxfer.warm_start._source import resolve_source

# Docstring text TransferLogisticRegression and TransferRidge share, filled into both.
linear_docstring = fill_doc(
    {
        "source_rows": "When a source model is given, the source rows are not fitted on.",
        "alphas": """\
alphas : array-like of shape (n_alphas,), default=None
    The grid searched when ``alpha="auto"``. ``None`` means
    ``np.logspace(-3, 3, 13)`` plus ``inf`` (the source weights alone).""",
        "alpha_attributes": """\
alpha_ : float
    The ``alpha`` used for the final fit (the chosen one for ``alpha="auto"``).
source_coef_ : ndarray of the shape of ``coef_``
    The source weights in raw feature units (zeros without a source).""",
        "alphas_attribute": """\
alphas_ : ndarray of shape (n_alphas,)
    The grid searched (only with ``alpha="auto"``).""",
        "fit_X": """\
X : array-like of shape (n_samples, n_features)
    Target rows, or source and target rows stacked (see :func:`skxfer.pack`).""",
        "fit_sample_domain": """\
sample_domain : array-like of shape (n_samples,), default=None
    ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is a
    labelled target row.""",
    }
)


@dataclass
class LinearSource:
    """A source model's linear part, as read from ``source_model``.

    ``coef`` (2-D) and ``intercept`` (1-D) are in the units of the source's own scaler
    (``mean``, ``scale``) when it has one (``mean`` is then not None), else in raw units.
    ``classes`` is None for a coefficient array.
    """

    coef: np.ndarray
    intercept: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None
    classes: np.ndarray | None
    feature_names: np.ndarray | None
    shape: tuple  # of the coefficients as given, for error messages


def check_source_model(source_model, *, classifier):
    """Read ``source_model`` into a :class:`LinearSource`, or return None when it is None."""
    kind = "classifier" if classifier else "regressor"
    source_model = resolve_source(
        source_model, accepted=f"a FrozenEstimator around a fitted linear {kind}, its coefficients"
    )
    if source_model is None:
        return None
    if hasattr(source_model, "fit"):  # the estimator inside a FrozenEstimator
        return _read_frozen(source_model, classifier=classifier)
    if isinstance(source_model, tuple) and len(source_model) == 2 and np.ndim(source_model[0]):
        coef, intercept = source_model
    else:
        coef, intercept = source_model, None
    try:
        # copies: the fitted attributes must not share memory with the user's arrays
        coef = np.array(coef, dtype=np.float64)
        intercept = None if intercept is None else np.array(intercept, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"source_model must be a FrozenEstimator around a fitted linear {kind}, a "
            f"coefficient array, a tuple (coef, intercept) or None; got "
            f"{type(source_model).__name__} that is none of these."
        ) from None
    if coef.ndim not in (1, 2) or coef.size == 0:
        raise ValueError(
            f"source_model coefficients must have shape (n_features,) or (n_outputs, "
            f"n_features); got shape {coef.shape}."
        )
    coef2 = coef.reshape(1, -1) if coef.ndim == 1 else coef
    if intercept is None:
        intercept = np.zeros(coef2.shape[0])
    intercept = np.atleast_1d(intercept)
    if intercept.shape != (coef2.shape[0],):
        raise ValueError(
            f"source_model intercept has shape {intercept.shape} but the coefficients have "
            f"shape {coef.shape}; pass one intercept per row of coefficients."
        )
    if not (np.all(np.isfinite(coef2)) and np.all(np.isfinite(intercept))):
        raise ValueError("source_model coefficients or intercept contain NaN or infinity.")
    return LinearSource(coef2, intercept, None, None, None, None, coef.shape)


def weighted_scale(X, sample_weight):
    """Weighted mean and standard deviation of the columns; constant columns get scale 1."""
    mean = np.average(X, axis=0, weights=sample_weight)
    std = np.sqrt(np.average((X - mean) ** 2, axis=0, weights=sample_weight))
    std[std <= 10 * np.finfo(np.float64).eps * np.abs(mean)] = 1.0
    return mean, std


def to_scaled(coef, intercept, mean, scale):
    """Raw-unit weights to weights on ``(x - mean) / scale`` (same predictions)."""
    return coef * scale, intercept + coef @ mean


def to_raw(coef, intercept, mean, scale):
    """Weights on ``(x - mean) / scale`` to raw-unit weights (same predictions)."""
    raw = coef / scale
    return raw, intercept - raw @ mean


def _read_frozen(model, *, classifier):
    kind = "classifier" if classifier else "regressor"
    mean = scale = None
    final = model
    if isinstance(model, Pipeline):
        steps = [step for _, step in model.steps if step not in (None, "passthrough")]
        final, before = steps[-1], steps[:-1]
        if len(before) > 1 or any(type(step) is not StandardScaler for step in before):
            raise ValueError(
                f"source_model is a Pipeline with the steps "
                f"{[type(s).__name__ for s in steps]}; only a StandardScaler may come before "
                f"the final linear {kind}, because the source's weights must act on the raw "
                "features (up to that scaling). Fit the preprocessing outside, or pass the "
                "source's coefficients."
            )
        if before:
            mean, scale = _scaler_units(before[0])
    if (classifier and not is_classifier(final)) or (not classifier and is_classifier(final)):
        raise ValueError(
            f"source_model ends in {type(final).__name__}, which is not a {kind}; pass a "
            f"fitted linear {kind} "
            + ("(LogisticRegression)." if classifier else "(Ridge, LinearRegression, ...).")
        )
    if not (hasattr(final, "coef_") and hasattr(final, "intercept_")):
        raise ValueError(
            f"source_model ends in {type(final).__name__}, which has no coef_ and intercept_; "
            f"pass a fitted linear {kind} "
            + ("(LogisticRegression)." if classifier else "(Ridge, LinearRegression, ...).")
        )
    coef = final.coef_
    coef = np.array(coef.toarray() if hasattr(coef, "toarray") else coef, dtype=np.float64)
    coef2 = coef.reshape(1, -1) if coef.ndim == 1 else coef
    intercept = np.broadcast_to(
        np.asarray(final.intercept_, dtype=np.float64), (coef2.shape[0],)
    ).copy()
    source = LinearSource(
        coef2,
        intercept,
        mean,
        scale,
        np.asarray(final.classes_) if classifier else None,
        getattr(model, "feature_names_in_", None),
        coef.shape,
    )
    _check_linear(model, source, classifier=classifier)
    return source


def _scaler_units(scaler):
    n = scaler.n_features_in_
    mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler.with_std else np.ones(n)
    return np.array(mean, dtype=np.float64), np.array(scale, dtype=np.float64)


def _check_linear(model, source, *, classifier):
    """The weights read must reproduce the model's own output on a few probe rows: this
    catches models whose ``coef_`` is not the whole story (a link function, ...)."""
    n_features = source.coef.shape[1]
    probe = np.random.default_rng(0).normal(size=(3, n_features))
    if source.mean is not None:
        probe = probe * source.scale + source.mean
    if source.feature_names is not None:
        import pandas as pd

        probe_in = pd.DataFrame(probe, columns=source.feature_names)
    else:
        probe_in = probe
    method = "decision_function" if classifier else "predict"
    try:
        theirs = np.asarray(getattr(model, method)(probe_in), dtype=np.float64)
    except (AttributeError, ValueError, TypeError):
        theirs = None
    mean = np.zeros(n_features) if source.mean is None else source.mean
    scale = np.ones(n_features) if source.scale is None else source.scale
    raw, intercept = to_raw(source.coef, source.intercept, mean, scale)
    ours = probe @ raw.T + intercept
    size = np.abs(probe) @ np.abs(raw.T) + np.abs(intercept) + 1e-12
    if theirs is None or theirs.size != ours.size:
        ok = False
    else:
        ok = np.all(np.abs(theirs.reshape(ours.shape) - ours) <= 1e-6 * size)
    if not ok:
        raise ValueError(
            f"source_model's {method} is not X @ coef_.T + intercept_ for "
            f"{type(model).__name__}, so its weights cannot serve as the prior; pass a linear "
            + ("classifier (LogisticRegression)." if classifier else "regressor (Ridge, ...).")
        )


def check_source_features(name, source, n_features, feature_names):
    """The source's width and column names must match the rows being fitted."""
    if source.coef.shape[1] != n_features:
        raise ValueError(
            f"source_model has coefficients of shape {source.shape} (n_features="
            f"{source.coef.shape[1]}) but X has {n_features} features; {name} needs the "
            "source's features in the same order."
        )
    if (
        source.feature_names is not None
        and feature_names is not None
        and list(source.feature_names) != list(feature_names)
    ):
        raise ValueError(
            f"X's columns {list(feature_names)} differ from the columns source_model was "
            f"fitted on {list(source.feature_names)}; select and order them the same way."
        )


def _check_coef_shape(name, source, n_out, what):
    coef, intercept = source.coef, source.intercept
    if coef.shape[0] != n_out:
        expected = "(n_features,) or (1, n_features)" if n_out == 1 else f"({n_out}, n_features)"
        raise ValueError(
            f"source_model has coefficients of shape {source.shape}, but {name} needs "
            f"{expected} here ({what} = {n_out if n_out > 1 else 2})."
        )
    return coef, intercept


def _encode(classes, labels):
    """Index of each label in ``classes`` (which need not be sorted)."""
    sorter = np.argsort(classes)
    return sorter[np.searchsorted(classes, labels, sorter=sorter)]


def _two_or_more_classes(name, labels):
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(
            f"{name} needs at least two classes to fit the source model, but the rows it is "
            f"fitted on hold only one class: {classes.tolist()}."
        )
    return classes


def _classes_for_coef(name, source, labels):
    classes = np.unique(labels)
    n_rows = source.coef.shape[0]
    expected = 2 if n_rows == 1 else n_rows
    if n_rows == 2:
        raise ValueError(
            f"source_model coefficients have shape {source.shape}; a two-class model has one "
            "row of weights, (n_features,) or (1, n_features), as LogisticRegression.coef_."
        )
    if len(classes) != expected:
        raise ValueError(
            f"source_model coefficients of shape {source.shape} describe {expected} classes, "
            f"but the labelled rows hold {len(classes)}: {classes.tolist()}. A coefficient "
            "array names no classes, so they are read from y; pass a FrozenEstimator around "
            "the fitted source model when the target lacks some classes."
        )
    return classes


def _alpha_grid(alphas):
    if alphas is None:
        return np.append(np.logspace(-3, 3, 13), np.inf)
    grid = np.asarray(alphas, dtype=np.float64).ravel()
    if grid.size == 0 or np.any(np.isnan(grid)) or np.any(grid < 0):
        raise ValueError(
            f"alphas must be a non-empty list of alphas >= 0 (inf allowed); got {alphas!r}."
        )
    return grid


def _pick_alpha(alphas, losses):
    """The alpha with the lowest loss; ties go to the larger alpha (closer to the source)."""
    best = None
    for k in np.argsort(alphas)[::-1]:
        if best is None or losses[k] < losses[best]:
            best = k
    return alphas[best]


def _alpha_folds(cv, y, *, classifier):
    """The folds of ``alpha="auto"``: :func:`~skxfer.warm_start._rows.target_folds`, seeded
    with 0 (these estimators take no random_state), and at least two of them."""
    folds = target_folds(cv, y, classifier=classifier, seed=0)
    if folds is None:
        raise ValueError(
            f"alpha='auto' cross-validates on the labelled target rows, but there are "
            f"{len(y)}; label at least 2 target rows or pass a number as alpha."
        )
    return folds
