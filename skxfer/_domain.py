"""The ``sample_domain`` convention: which rows are source, target, and unlabelled.

``X`` stacks source and target rows. A sample-aligned integer array ``sample_domain`` says
where each row comes from (skada's sign convention): ids ``>= 1`` are source domains, ids
``<= -1`` are target domains, and 0 is not allowed. A target row is *unlabelled* when its
label is the mask value: ``NaN`` for float labels, ``-1`` for integer labels, ``None`` or
``NaN`` for object labels. The mask is read on target rows only, so a source class named
``-1`` stays a class.

Without ``sample_domain`` no label is read as a mask, and no mask is learnt silently either
(:func:`check_labels_without_domains`): ``NaN``/``None`` cannot be a label and raise; an
integer ``-1`` beside two or more other labels may be a class or a forgotten mask, is fitted
as a class, and a :class:`~skxfer.utils.MaskedLabelWarning` says so. Scores count labelled
rows only (:func:`scored_rows`).
"""

import warnings
from dataclasses import dataclass
from numbers import Integral

import numpy as np

from skxfer.utils._warnings import MaskedLabelWarning, NoTransferWarning

__all__ = [
    "DomainMasks",
    "check_labels_without_domains",
    "check_sample_domain",
    "domain_masks",
    "is_masked",
    "mask_value",
    "pack",
    "scored_rows",
    "unpack",
    "warn_no_transfer",
]


def pack(X_source, y_source, X_target, y_target=None):
    """Stack source and target rows into ``X, y, sample_domain``.

    Every skxfer estimator takes one ``X`` with a ``sample_domain`` that tells source rows
    from target rows, and one ``y`` whose unlabelled target rows carry the mask value; this
    builds the three from the two separate parts.

    Parameters
    ----------
    X_source : array-like or DataFrame of shape (n_source, ...)
        Source rows. Anything indexable by rows works (arrays, DataFrames, lists of texts).
    y_source : array-like of shape (n_source,) or None
        Source labels. Every source row must be labelled. ``None`` when no labels exist
        (unsupervised use of a weighter); then ``y_target`` must be ``None`` too.
    X_target : array-like or DataFrame of shape (n_target, ...)
        Target rows, with the same columns as ``X_source``. DataFrame columns are aligned
        to the source's order by name.
    y_target : array-like of shape (n_target,), default=None
        Target labels; ``None`` marks every target row unlabelled. Partially labelled
        targets use the mask value (:func:`mask_value`) for the unlabelled rows.

    Returns
    -------
    X : ndarray, DataFrame or list of shape (n_source + n_target, ...)
        Source rows, then target rows.
    y : ndarray of shape (n_source + n_target,) or None
        Labels with target rows masked where unlabelled. Integer labels that contain the
        class ``-1`` are returned as floats with ``NaN`` as the mask, so ``-1`` stays a class.
    sample_domain : ndarray of shape (n_source + n_target,)
        ``1`` for source rows, ``-1`` for target rows.

    See Also
    --------
    unpack : The inverse operation.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> X, y, sample_domain = pack(np.zeros((3, 2)), [0, 1, 0], np.ones((2, 2)))
    >>> y
    array([ 0,  1,  0, -1, -1])
    >>> sample_domain
    array([ 1,  1,  1, -1, -1])
    """
    n_source = _num_rows(X_source, "X_source")
    n_target = _num_rows(X_target, "X_target")
    if n_source == 0:
        raise ValueError("X_source has no rows; pass at least one labelled source row.")
    if n_target == 0:
        raise ValueError("X_target has no rows; pass at least one target row.")
    X_target = _align_target(X_source, X_target)
    X = _stack_rows(X_source, X_target)
    y = _pack_labels(y_source, y_target, n_source, n_target)
    sample_domain = np.concatenate([np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)])
    return X, y, sample_domain


def unpack(X, y=None, sample_domain=None):
    """Split stacked rows back into source and target parts.

    The rows keep their order within each part, so ``pack`` then ``unpack`` gives back the
    parts that were packed (with masked labels where the target was unlabelled).

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, ...)
        Stacked rows.
    y : array-like of shape (n_samples,), default=None
        Labels, with target rows possibly masked.
    sample_domain : array-like of shape (n_samples,)
        Domain of each row (``>= 1`` source, ``<= -1`` target).

    Returns
    -------
    X_source, y_source, X_target, y_target
        The source and target parts; the ``y`` parts are ``None`` when ``y`` is ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack, unpack
    >>> X, y, sd = pack(np.zeros((3, 2)), [0, 1, 0], np.ones((2, 2)), [1, -1])
    >>> Xs, ys, Xt, yt = unpack(X, y, sd)
    >>> Xt.shape, yt
    ((2, 2), array([ 1, -1]))
    """
    if sample_domain is None:
        raise ValueError(
            "unpack needs sample_domain to know which rows are source and which are target; "
            "pass the array returned by skxfer.pack."
        )
    n_samples = _num_rows(X, "X")
    sample_domain = check_sample_domain(sample_domain, n_samples)
    source = sample_domain >= 1
    target = ~source
    y_source = y_target = None
    if y is not None:
        y = _as_label_array(y, "y")
        if len(y) != n_samples:
            raise ValueError(f"y has {len(y)} rows but X has {n_samples}; pass one label per row.")
        y_source, y_target = y[source], y[target]
    return _take_rows(X, source), y_source, _take_rows(X, target), y_target


@dataclass(frozen=True)
class DomainMasks:
    """Boolean row masks derived from ``y`` and ``sample_domain``.

    Attributes
    ----------
    source : ndarray of bool
        Rows from a source domain.
    target : ndarray of bool
        Rows from a target domain.
    labelled : ndarray of bool
        Rows whose label may be used for training: every source row and the target rows
        whose label is not the mask value.
    """

    source: np.ndarray
    target: np.ndarray
    labelled: np.ndarray

    @property
    def labelled_target(self):
        """Target rows that carry a label."""
        return self.target & self.labelled


def domain_masks(y, sample_domain, n_samples, *, require_source=True, require_target=True):
    """Validate ``sample_domain`` and return the source, target and labelled masks.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or None
        Labels; target rows holding the mask value are unlabelled.
    sample_domain : array-like of shape (n_samples,) or None
        Domain of each row. ``None`` means every row is labelled data of one domain: the
        rows are reported as source rows only and no label is read as a mask (``y`` is
        checked by :func:`check_labels_without_domains`).
    n_samples : int
        Number of rows in ``X``.
    require_source, require_target : bool, default=True
        Raise a ValueError when ``sample_domain`` is given and has no row of that kind.

    Returns
    -------
    DomainMasks
    """
    if sample_domain is None:
        if y is not None:
            check_labels_without_domains(y)
        all_rows = np.ones(n_samples, dtype=bool)
        return DomainMasks(all_rows, ~all_rows, all_rows.copy())
    sample_domain = check_sample_domain(sample_domain, n_samples)
    source = sample_domain >= 1
    target = ~source
    if require_source and not source.any():
        raise ValueError(
            "sample_domain marks no source rows (ids >= 1); mark the labelled source rows "
            "with 1 (skxfer.pack does this)."
        )
    if require_target and not target.any():
        raise ValueError(
            "sample_domain marks no target rows (ids <= -1); mark the target rows with -1 "
            "(skxfer.pack does this), or drop sample_domain to fit without transfer."
        )
    if y is None:
        return DomainMasks(source, target, source.copy())
    y = _as_label_array(y, "y")
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} rows but X has {n_samples}; pass one label per row.")
    masked = is_masked(y)
    if np.issubdtype(y.dtype, np.floating) or y.dtype == object:
        # A NaN/None source label cannot be a class; -1 on an integer source row can.
        bad = source & masked
        if bad.any():
            raise ValueError(
                f"y is masked (NaN/None) on {int(bad.sum())} source row(s), e.g. row "
                f"{int(np.flatnonzero(bad)[0])}; every source row needs a label. Drop those rows "
                "or mark them as target rows (sample_domain <= -1)."
            )
    return DomainMasks(source, target, source | (target & ~masked))


def check_labels_without_domains(y):
    """Refuse or flag labels that look like unlabelled rows when no ``sample_domain`` is given.

    Without ``sample_domain`` every row is labelled data and no label is read as a mask; this
    is the one rule that keeps a forgotten ``sample_domain`` from teaching a model the mask:

    - ``NaN`` or ``None`` cannot be a label: a ValueError names ``sample_domain``.
    - An integer ``-1`` beside two or more other labels is fitted as a label, with a
      :class:`~skxfer.utils.MaskedLabelWarning`: it is a class, or the mask of rows whose
      ``sample_domain`` was not passed (as when metadata routing is on and the argument is
      forgotten). Beside one other label it can only be a class (the rows would otherwise
      hold one class), and nothing is said.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels as passed to ``fit``.
    """
    y = _as_label_array(y, "y")
    masked = is_masked(y)
    if not masked.any():
        return
    first = int(np.flatnonzero(masked)[0])
    if y.dtype.kind != "i":
        raise ValueError(
            f"y is NaN/None on {int(masked.sum())} row(s), e.g. row {first}: the mark of an "
            "unlabelled target row, but no sample_domain says which rows are target. Pass "
            "sample_domain to fit (skxfer.pack returns it; with metadata routing on, pass it "
            "to the Pipeline's or search's fit as well), or drop the unlabelled rows."
        )
    if len(np.unique(y[~masked])) >= 2:
        warnings.warn(
            f"y is -1 on {int(masked.sum())} row(s), e.g. row {first}, and no sample_domain was "
            "given, so -1 is fitted as a class. -1 also marks an unlabelled target row "
            "(skxfer.pack): if these rows are unlabelled, pass sample_domain to fit. If -1 "
            "is a class, pass y as floats or strings (NaN or None then marks an unlabelled "
            "row), or silence skxfer.utils.MaskedLabelWarning.",
            MaskedLabelWarning,
            stacklevel=4,
        )


def scored_rows(y, sample_domain=None, classes=None):
    """The rows a score counts: labelled rows, and only target rows when domains are known.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, possibly holding the mask value.
    sample_domain : array-like of shape (n_samples,), default=None
        Domain of each row. When given, the labelled target rows are scored.
    classes : array-like, default=None
        The fitted classifier's classes. Without ``sample_domain`` a label equal to the
        mask value is unlabelled unless it is one of them (a model fitted on a class named
        -1 is scored on it); ``None`` (regressors) reads only NaN/None as unlabelled.

    Returns
    -------
    ndarray of bool of shape (n_samples,)
    """
    y = _as_label_array(y, "y")
    if sample_domain is not None:
        masks = domain_masks(y, sample_domain, len(y), require_source=False, require_target=False)
        rows, what = masks.labelled_target, "labelled target rows (sample_domain <= -1)"
    else:
        masked = is_masked(y)
        if y.dtype.kind in "iu" and (classes is None or np.isin(-1, classes)):
            masked = np.zeros(len(y), dtype=bool)
        rows, what = ~masked, "labelled rows (y holds only the mask value)"
    if not rows.any():
        raise ValueError(
            f"There are no {what} to score; pass rows with true labels (a score counts only "
            "labelled rows)."
        )
    return rows


def warn_no_transfer(estimator, consequence):
    """Say, once per fit, that fitting without ``sample_domain`` transfers nothing.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted.
    consequence : str
        What the fit does instead, e.g. ``"every weight is 1"``.
    """
    warnings.warn(
        f"{type(estimator).__name__}.fit got no sample_domain, so {consequence} and nothing is "
        "transferred. Pass sample_domain (see skxfer.pack) to transfer.",
        NoTransferWarning,
        stacklevel=4,
    )


def check_sample_domain(sample_domain, n_samples):
    """Validate ``sample_domain`` and return it as a 1-D integer array.

    Parameters
    ----------
    sample_domain : array-like of shape (n_samples,)
        Domain ids: ``>= 1`` source, ``<= -1`` target.
    n_samples : int
        Number of rows in ``X``.

    Returns
    -------
    ndarray of int of shape (n_samples,)
    """
    if isinstance(sample_domain, Integral | float | str):
        raise TypeError(
            f"sample_domain must be an array with one domain id per row, got the scalar "
            f"{sample_domain!r}; build it with skxfer.pack."
        )
    arr = np.asarray(sample_domain)
    if arr.ndim != 1:
        raise ValueError(
            f"sample_domain must be 1-D with one id per row; got shape {arr.shape}. "
            "Pass a flat array such as the one skxfer.pack returns."
        )
    if len(arr) != n_samples:
        raise ValueError(
            f"sample_domain has {len(arr)} entries but X has {n_samples} rows; "
            "pass one domain id per row."
        )
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(
            f"sample_domain must hold integer domain ids (>= 1 source, <= -1 target), got "
            f"dtype {arr.dtype}. Convert it, e.g. np.where(is_target, -1, 1)."
        )
    if arr.dtype.kind == "f" and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        raise ValueError(
            "sample_domain must hold whole-number domain ids (>= 1 source, <= -1 target); "
            "it contains NaN, inf or fractional values."
        )
    arr = arr.astype(np.int64)
    if np.any(arr == 0):
        raise ValueError(
            "sample_domain contains 0, which is neither source nor target; use ids >= 1 for "
            "source rows and <= -1 for target rows."
        )
    return arr


def is_masked(y):
    """Return a boolean array: True where a label is the unlabelled mask value.

    NaN for float labels, -1 for integer labels, ``None`` or NaN for object labels; other
    dtypes (strings, booleans) have no mask value.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels, possibly masked.

    Returns
    -------
    masked : ndarray of bool of shape (n_samples,)
        True on the unlabelled rows.

    See Also
    --------
    mask_value : The value that marks an unlabelled row.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f":
        return np.isnan(y)
    if y.dtype.kind in "iu":
        return y == -1
    if y.dtype == object:
        return np.fromiter(
            (v is None or (isinstance(v, float) and v != v) for v in y), bool, len(y)
        )
    return np.zeros(len(y), dtype=bool)


def mask_value(y):
    """Return the value that marks an unlabelled row for labels like ``y``.

    It depends on the dtype of ``y`` only: NaN for floats, -1 for integers, ``None`` for
    anything else (object, strings, booleans).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels whose dtype decides the mask value.

    Returns
    -------
    value : float, int or None
        ``nan``, ``-1`` or ``None``.

    See Also
    --------
    is_masked : Where labels carry the mask value.
    """
    kind = np.asarray(y).dtype.kind
    if kind == "f":
        return np.nan
    if kind in "iu":
        return -1
    return None


def _pack_labels(y_source, y_target, n_source, n_target):
    if y_source is None:
        if y_target is not None:
            raise ValueError("y_target is given but y_source is None; source rows need labels.")
        return None
    y_source = _as_label_array(y_source, "y_source")
    if len(y_source) != n_source:
        raise ValueError(
            f"y_source has {len(y_source)} labels but X_source has {n_source} rows; "
            "pass one label per source row."
        )
    if y_source.dtype.kind == "b":
        y_source = y_source.astype(int)
    if y_source.dtype.kind in "fO" and is_masked(y_source).any():
        raise ValueError(
            "y_source contains NaN/None; every source row needs a label. Drop the unlabelled "
            "source rows, or pass them as target rows."
        )
    if y_target is None:
        y_target = np.full(n_target, mask_value(y_source), dtype=y_source.dtype)
        if y_source.dtype.kind in "iu" and np.any(y_source == -1):
            # -1 is a source class here, so the mask must be NaN to stay unambiguous.
            y_source = y_source.astype(float)
            y_target = np.full(n_target, np.nan)
    else:
        y_target = _as_label_array(y_target, "y_target")
        if y_target.dtype.kind == "b":
            y_target = y_target.astype(int)
        if len(y_target) != n_target:
            raise ValueError(
                f"y_target has {len(y_target)} labels but X_target has {n_target} rows; pass "
                "one label per target row, with the mask value (NaN or -1) for unlabelled rows."
            )
    return np.concatenate([y_source, y_target])


def _as_label_array(y, name):
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one label per row; got shape {y.shape}.")
    return y


def _num_rows(X, name):
    if hasattr(X, "shape") and len(X.shape) > 0:
        return X.shape[0]
    try:
        return len(X)
    except TypeError:
        raise TypeError(
            f"{name} must be an array-like of rows (array, DataFrame or list); "
            f"got {type(X).__name__}."
        ) from None


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _align_target(X_source, X_target):
    if _is_dataframe(X_source) and _is_dataframe(X_target):
        source_cols = list(X_source.columns)
        target_cols = list(X_target.columns)
        if source_cols != target_cols:
            missing = [c for c in source_cols if c not in set(target_cols)]
            extra = [c for c in target_cols if c not in set(source_cols)]
            if missing or extra:
                raise ValueError(
                    f"X_target's columns differ from X_source's: missing {missing}, extra "
                    f"{extra}. Rename or select the target columns to match the source."
                )
            X_target = X_target[source_cols]
        return X_target
    if hasattr(X_source, "shape") and hasattr(X_target, "shape"):
        s_shape, t_shape = tuple(X_source.shape[1:]), tuple(X_target.shape[1:])
        if s_shape != t_shape:
            what = "features" if len(s_shape) == 1 else "row shape"
            raise ValueError(
                f"X_target has {what} {t_shape} but X_source has {s_shape}; the target rows "
                "must have the same columns as the source rows."
            )
    return X_target


def _stack_rows(X_source, X_target):
    if _is_dataframe(X_source) or _is_dataframe(X_target):
        import pandas as pd

        frames = [
            X
            if _is_dataframe(X)
            else pd.DataFrame(np.asarray(X), columns=_columns(X_source, X_target))
            for X in (X_source, X_target)
        ]
        return pd.concat(frames, axis=0, ignore_index=True)
    if hasattr(X_source, "shape") and hasattr(X_target, "shape"):
        import scipy.sparse as sp

        if sp.issparse(X_source) or sp.issparse(X_target):
            return sp.vstack([X_source, X_target], format="csr")
        return np.concatenate([np.asarray(X_source), np.asarray(X_target)], axis=0)
    return list(X_source) + list(X_target)


def _columns(*frames):
    for X in frames:
        if _is_dataframe(X):
            return list(X.columns)
    return None


def _rows(X, mask):
    """``X[mask]`` for an ndarray, as a view when the selected rows are one contiguous block
    (source rows stacked before target rows, as ``pack`` makes them): no copy of a large X."""
    index = np.flatnonzero(mask)
    if len(index) and index[-1] - index[0] + 1 == len(index):
        return X[index[0] : index[-1] + 1]
    return X[index]


def _take_rows(X, mask):
    if _is_dataframe(X):
        return X.iloc[np.flatnonzero(mask)]
    if hasattr(X, "shape"):
        return X[np.flatnonzero(mask)] if hasattr(X, "tocsr") else X[mask]
    return [x for x, keep in zip(X, mask) if keep]
