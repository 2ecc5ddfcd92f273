"""Featurize a dask collection: lazily, partition by partition, on the workers.

The fitted featurizer enters the task graph once, as a key of its own that every partition's
task depends on: dask sends it to each worker once (not with every task), and the worker keeps
that one copy, so its network is loaded once per worker and reused by every partition the
worker featurizes. The copy writes the activations it computes to the featurizer's
``cache_dir``, or to the folder that featurizers sent to other processes share (see
:mod:`skxfer.featurize._cache`), so featurizing the same rows again, on any worker of the
machine, reads them.
"""

import copy

import numpy as np

from skxfer.featurize._cache import shared_folder
from skxfer.utils import import_optional


def is_dask_collection(X):
    """Whether ``X`` is a dask collection (asked by protocol: dask is not imported)."""
    return hasattr(type(X), "__dask_graph__") and not isinstance(X, type)


def transform_collection(featurizer, X):
    """The features of the dask array or dataframe ``X``, as a lazy collection of the same
    kind with the partitions of ``X``."""
    name = type(featurizer).__name__
    dask = import_optional("dask", purpose=f"{name}.transform on a dask collection")
    shipped = copy.copy(featurizer)
    shipped.__dict__.pop("_loaded_encoder", None)
    if shipped.cache and shipped.cache_dir is None:
        shipped._shared_cache_dir = shared_folder()
    # one key for the featurizer: sent to each worker once, kept there between partitions
    handle = dask.delayed(shipped, pure=False)
    n_out = featurizer._n_features_out
    if hasattr(X, "map_blocks") and hasattr(X, "chunks"):  # a dask array
        if X.ndim > 1:
            X = X.rechunk(dict.fromkeys(range(1, X.ndim), -1))
        kwargs = {"new_axis": 1} if X.ndim == 1 else {"drop_axis": list(range(2, X.ndim))}
        return X.map_blocks(
            _transform_block,
            handle,
            chunks=(X.chunks[0], (n_out,)),
            dtype=np.float32,
            meta=np.empty((0, n_out), dtype=np.float32),
            **kwargs,
        )
    if hasattr(X, "map_partitions"):  # a dask dataframe or series
        pandas = import_optional("pandas", purpose=f"{name}.transform on a dask dataframe")
        if getattr(X, "ndim", 1) == 2:
            if len(X.columns) != 1:
                raise ValueError(
                    f"{name}.transform got a dask DataFrame with {len(X.columns)} columns "
                    f"{list(X.columns)[:5]}; pass the one column of texts or image paths, "
                    "e.g. df['text']."
                )
            X = X[X.columns[0]]
        columns = featurizer.get_feature_names_out()
        meta = pandas.DataFrame({c: np.empty(0, dtype=np.float32) for c in columns})
        return X.map_partitions(_transform_partition, handle, columns, meta=meta)
    raise TypeError(
        f"{name}.transform takes a dask Array, DataFrame or Series; got {type(X).__name__}. "
        "Compute it into memory first, or convert it (e.g. dask.array.from_delayed)."
    )


def _transform_block(block, featurizer):
    if len(block) == 0:
        return np.empty((0, featurizer._n_features_out), dtype=np.float32)
    return featurizer._transform_part(block)


def _transform_partition(part, featurizer, columns):
    import pandas as pd

    if len(part) == 0:
        features = np.empty((0, len(columns)), dtype=np.float32)
    else:
        features = featurizer._transform_part(part)
    return pd.DataFrame(features, index=part.index, columns=columns)
