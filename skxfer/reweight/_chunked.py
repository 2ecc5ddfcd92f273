"""Weighters fitted on a dask array, block by block.

The rows stay in their blocks, wherever the blocks live: a weighter takes from them only
what its solver needs in memory (its kernel centres, the bounded subsample its
cross-validation scores) and sums over blocks what grows with the rows (kernel moments,
feature statistics, the loss and gradient of the domain classifier). The weights come back
as a lazy dask array with the row blocks of ``X``; on rows that fit in memory they are those
of the in-memory fit.
"""

import numpy as np
from sklearn.utils.validation import check_random_state

from skxfer._domain import domain_masks, warn_no_transfer
from skxfer.utils._chunks import is_dask_collection, map_rows

#: Weighters whose solver is linear in the rows, so that they fit on blocks.
CHUNKED = (
    "ULSIFWeighter",
    "RULSIFWeighter",
    "KLIEPWeighter",
    "DiscriminativeWeighter",
    "KMMWeighter",
)


def fit_chunked(weighter, X, sample_domain):
    """Fit ``weighter`` on the dask array (or DataFrame) ``X`` without gathering its rows."""
    name = type(weighter).__name__
    if not getattr(weighter, "_fits_blocks", False):
        raise TypeError(
            f"{name} cannot fit on a dask array: its solver needs every row at once. Use one "
            f"of {', '.join(CHUNKED)}, or compute X first (X.compute())."
        )
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(f"{name} expects a 2-D dask array; got {X.ndim} dimension(s).")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    n_rows = X.shape[0]
    weighter.n_features_in_ = int(X.shape[1])
    if sample_domain is None:
        warn_no_transfer(weighter, "there are no target rows and every weight is 1")
        weighter.n_source_, weighter.n_target_ = n_rows, 0
        weighter.ratio_scale_, weighter.ess_ = 1.0, float(n_rows)
        weighter.weights_ = _ones_like_rows(X)
        weighter.sample_weight_ = weighter.weights_
        return weighter
    # One label per row: the domain vector is read on the client (the rows are not).
    domain = np.asarray(
        sample_domain.compute() if is_dask_collection(sample_domain) else sample_domain
    )
    masks = domain_masks(None, domain, n_rows)
    source_rows, target_rows = np.flatnonzero(masks.source), np.flatnonzero(masks.target)
    weighter.n_source_, weighter.n_target_ = len(source_rows), len(target_rows)
    if not len(source_rows) or not len(target_rows):
        raise ValueError(f"{name} needs source and target rows; sample_domain marks only one.")
    weighter._fit_ratio(X[source_rows], X[target_rows], check_random_state(weighter._seed()))
    raw_all = map_rows(_nonnegative_ratio, X, weighter).persist()
    raw = raw_all[source_rows]
    finite, total, largest = _compute(np.isfinite(raw).all(), raw.sum(), raw.max())
    if not finite:
        raise ValueError(
            f"{name} produced non-finite weights; the source and target rows may be too far "
            "apart for this kernel width. Standardise X or set the bandwidth explicitly."
        )
    weighter.ratio_scale_ = _mean_one_scale(raw, float(total), float(largest), weighter.max_weight)
    weights = raw * weighter.ratio_scale_
    if weighter.max_weight is not None:
        weights = np.minimum(weights, weighter.max_weight)
    is_source = _row_flags(masks.source, X.chunks[0])
    sample_weight = np.where(is_source, raw_all * weighter.ratio_scale_, 1.0)
    if weighter.max_weight is not None:
        sample_weight = np.where(
            is_source, np.minimum(sample_weight, weighter.max_weight), sample_weight
        )
    weighter.weights_ = weights.persist()
    weighter.sample_weight_ = sample_weight.persist()
    (square_sum,) = _compute((weighter.weights_**2).sum())
    weighter.ess_ = float(len(source_rows) ** 2 / square_sum)
    return weighter


def compute_weights_chunked(weighter, X):
    """``compute_weights`` of the dask array ``X``: a lazy dask array, one weight a row."""
    if hasattr(X, "to_dask_array"):
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2 or X.shape[1] != weighter.n_features_in_:
        raise ValueError(
            f"X has {X.shape[-1]} features, but {type(weighter).__name__} is expecting "
            f"{weighter.n_features_in_} features as input."
        )
    if weighter.n_target_ == 0:
        return _ones_like_rows(X)
    raw = map_rows(_nonnegative_ratio, X.astype(np.float64), weighter)
    return raw.map_blocks(weighter._scale_and_clip, dtype=np.float64)


def _nonnegative_ratio(block, weighter):
    return np.maximum(np.asarray(weighter._ratio(block), dtype=np.float64).reshape(-1), 0.0)


def _ones_like_rows(X):
    import dask.array as da

    return da.ones(X.shape[0], chunks=(X.chunks[0],))


def _row_flags(flags, chunks):
    import dask.array as da

    return da.from_array(flags, chunks=(chunks,))


def _compute(*values):
    import dask

    return dask.compute(*values)


def _mean_one_scale(raw, total, largest, max_weight):
    """The factor ``c`` with ``mean(min(c * raw, max_weight)) == 1`` over the dask array
    ``raw`` (see ``_base._clipped_mean_one_scale``, which this bisects the same way)."""
    if total <= 0:
        raise ValueError(
            "Every source row got weight 0: no source row resembles the target rows. "
            "Check that source and target share features and scaling (standardise X), or "
            "widen the kernel (bandwidth)."
        )
    scale = len(raw) / total
    if max_weight is None or largest * scale <= max_weight:
        return scale
    (smallest,) = _compute(raw[raw > 0].min())

    def mean_clipped(c):
        (mean,) = _compute(np.minimum(c * raw, max_weight).mean())
        return float(mean)

    lo, hi = scale, max_weight / float(smallest)
    if mean_clipped(hi) < 1:
        return hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if mean_clipped(mid) < 1:
            lo = mid
        else:
            hi = mid
    return hi


def in_memory(X):
    """``X`` as a NumPy array: a dask array (a bounded sample of rows) is computed."""
    return np.asarray(X.compute()) if is_dask_collection(X) else X


def block_sum_or_call(function, X, *args):
    """``function(X, *args)``, or for a dask array its sum over row blocks."""
    if is_dask_collection(X):
        from skxfer.utils._chunks import block_sum

        return block_sum(function, X, *args)
    return function(X, *args)
