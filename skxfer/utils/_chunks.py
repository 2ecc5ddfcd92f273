"""Rows held as a dask collection: recognised without importing dask, split into blocks.

The estimators that fit on dask collections never gather the rows on one process: they
compute what each block contributes (sums, leaf statistics, a subsample of rows) and add up
the small results. These helpers are that common ground; dask is imported only once the rows
are known to be a dask collection.
"""

import sys

import numpy as np


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (array, DataFrame or Series).

    Never imports dask: an object can only be a dask collection once dask is imported.
    """
    if "dask" not in sys.modules:
        return False
    from dask.base import is_dask_collection as _is_dask

    return _is_dask(X)


def row_blocks(X):
    """The delayed blocks of rows of a dask array (whole rows per block) or DataFrame."""
    if hasattr(X, "to_delayed") and hasattr(X, "chunks"):  # a dask array
        if X.ndim == 2 and len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        return list(X.to_delayed().ravel())
    return list(X.to_delayed())


def aligned_blocks(X, *others):
    """Delayed blocks of ``X`` and of each 1-D array in ``others`` (None stays None), with
    the same rows in each block.

    A dask array in ``others`` is rechunked to the row blocks of ``X`` (when ``X`` is an
    array); a NumPy array is split there. A DataFrame's partitions are paired with the
    partitions of the others, which must have as many.
    """
    import dask

    blocks = row_blocks(X)
    lengths = _row_lengths(X)
    out = [blocks]
    for other in others:
        if other is None:
            out.append([None] * len(blocks))
            continue
        if not is_dask_collection(other):
            other = np.asarray(other)
            if lengths is None:
                raise ValueError(
                    "y and sample_weight must be dask collections partitioned like X when X "
                    "is a dask DataFrame."
                )
            bounds = np.cumsum([0, *lengths])
            out.append([dask.delayed(other[a:b]) for a, b in zip(bounds[:-1], bounds[1:])])
            continue
        if hasattr(other, "chunks") and lengths is not None:
            other = other.rechunk((tuple(lengths),))
        parts = row_blocks(other)
        if len(parts) != len(blocks):
            raise ValueError(
                f"y and sample_weight must have as many partitions as X ({len(blocks)}); one "
                f"has {len(parts)}. Repartition them alike."
            )
        out.append(parts)
    return out


def _row_lengths(X):
    if hasattr(X, "chunks"):
        lengths = X.chunks[0]
        if any(np.isnan(length) for length in lengths):
            raise ValueError(
                "The dask array's row blocks have unknown sizes; call X.compute_chunk_sizes() "
                "first."
            )
        return [int(length) for length in lengths]
    return None


def block_sum(function, X, *args):
    """``function(block, *args)`` summed over the row blocks of dask array ``X``: a tuple of
    arrays (or one array), added up as the blocks finish, never holding the rows together."""
    import dask

    parts = [dask.delayed(function)(block, *args) for block in row_blocks(X)]
    while len(parts) > 1:  # a tree of sums: the results meet two by two
        parts = [
            dask.delayed(_add)(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    (total,) = dask.compute(parts[0])
    return total


def _add(a, b):
    if isinstance(a, tuple):
        return tuple(x + y for x, y in zip(a, b))
    return a + b


def take_rows(X, rows):
    """Rows ``rows`` (integer positions, any order) of ``X`` as a NumPy array; for a dask
    array only those rows are computed."""
    if not is_dask_collection(X):
        return X[rows]
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    picked = np.asarray(X[rows[order]].compute())
    out = np.empty_like(picked)
    out[order] = picked
    return out


def map_rows(function, X, *args, dtype=np.float64):
    """``function(block, *args)``, one value per row, as a lazy 1-D dask array with the row
    blocks of dask array ``X``."""
    if X.ndim == 2 and len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X.map_blocks(function, *args, drop_axis=1, dtype=dtype)
