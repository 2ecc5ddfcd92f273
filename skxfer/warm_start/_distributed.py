"""Boosted transfer on target rows held as a dask collection.

The source model is read on the client (a ``Booster``, or the dict that ``xgboost.dask.train``
returns); the target rows stay on the workers. ``strategy="continue"`` adds trees with the
library's own distributed training (``xgboost.dask.train`` with ``xgb_model=``), so the
result is what ``xgboost.train(..., xgb_model=)`` gives on the same rows. ``"refresh"``
re-estimates the leaves round by round: each worker sums the gradients and hessians of its
rows per leaf, the client adds up these sums (a few numbers per leaf) and sends the new leaf
values back, and each worker moves its rows' margins on.
"""

from dataclasses import replace

import numpy as np

from skxfer.utils._chunks import aligned_blocks, is_dask_collection
from skxfer.warm_start._leaf_refresh import gradients, refreshed_from_sums
from skxfer.warm_start._rows import check_target_classes, label_codes


def fit_distributed(estimator, backend, given, X, y, sample_weight, sample_domain):
    """Fit ``estimator`` (a boosted transfer estimator) on the dask collection ``X``."""
    name = type(estimator).__name__
    if not backend.distributed:
        raise TypeError(
            f"{name} cannot fit on a dask collection: {backend.library} has no distributed "
            "training that continues a model on these machines. Compute the target rows "
            "first (X.compute()), or use XGBTransferClassifier/XGBTransferRegressor."
        )
    if given is None:
        raise ValueError(
            f"{name} fits on a dask collection only from a trained source model: pass "
            "source_model (e.g. the booster that xgboost.dask.train returned)."
        )
    if sample_domain is not None:
        raise ValueError(
            f"{name} takes every row of a dask collection as a labelled target row; pass "
            "sample_domain=None (the source is source_model)."
        )
    if estimator.recalibrate is not None or estimator.source_scale != 1.0:
        raise ValueError(
            f"{name} on a dask collection supports recalibrate=None and source_scale=1 only; "
            "recalibrate on a computed sample of the target rows instead."
        )
    if estimator.n_estimators == "auto" and estimator.strategy != "refresh":
        raise ValueError(
            f"{name} on a dask collection needs n_estimators as an integer: choosing it by "
            "cross-validation would pass over the rows once per fold and round. Choose it on "
            "a computed sample of the target rows (n_estimators='auto' there, then read "
            "n_estimators_)."
        )
    distributed = backend.lib_distributed()
    client = distributed.get_client()
    source = backend.load(given)
    X = backend.dask_rows(X, source)
    estimator.n_features_in_ = int(X.shape[1])
    if hasattr(X, "columns"):
        estimator.feature_names_in_ = np.asarray(X.columns, dtype=object)
    labels = y.values if hasattr(y, "values") and hasattr(y, "npartitions") else y
    if estimator._is_classifier:
        present = np.unique(np.asarray(_unique(labels)))
        check_target_classes(name, present, source.classes)
        classes = source.classes
        labels = labels.map_blocks(lambda b: label_codes(classes, b).astype(np.float64))
    estimator.source_model_ = source.model
    estimator.n_source_estimators_ = source.n_rounds
    if estimator._is_classifier:
        estimator.classes_ = source.classes
    estimator._source = replace(source, model=None)
    model = source.model
    if estimator.strategy in ("refresh", "refresh_continue"):
        model = _refresh(estimator, backend, client, source, X, labels, sample_weight)
    n_added = 0
    if estimator.strategy != "refresh" and estimator.n_estimators:
        model = backend.dask_add_trees(
            client, model, source, X, labels, sample_weight, estimator.n_estimators
        )
        n_added = backend.n_rounds(model) - source.n_rounds
    setattr(estimator, backend.fitted_attribute, model)
    estimator.n_estimators_ = n_added
    estimator.margin_scale_, estimator.margin_bias_ = 1.0, np.zeros(source.n_outputs)
    return estimator


def _unique(labels):
    import dask.array as da

    if hasattr(labels, "chunks"):
        return da.unique(labels).compute()
    return labels.unique().compute()


def _refresh(estimator, backend, client, source, X, labels, sample_weight):
    """The source model with every leaf re-estimated on the rows of ``X`` (see
    ``_leaf_refresh.refresh_trees``), the rows never leaving their workers."""
    learning_rate = estimator.source_learning_rate or source.learning_rate
    if learning_rate is None:
        raise ValueError(
            "source_model does not record its learning rate, which refresh needs; pass "
            "source_learning_rate."
        )
    model = source.model
    trees = backend.trees(model)
    blocks = aligned_blocks(X, labels, sample_weight)
    model_future = client.scatter(model, broadcast=True)
    n_outputs = source.n_outputs
    states = [
        client.submit(
            _start_block,
            backend.block_reader(),
            model_future,
            client.compute(x),
            client.compute(y),
            None if w is None else client.compute(w),
            trees.values,
            trees.outputs,
            n_outputs,
            pure=False,
        )
        for x, y, w in zip(*blocks)
    ]
    values = [np.array(v, dtype=np.float64) for v in trees.values]
    shrinkage = {
        "learning_rate": float(learning_rate),
        "reg_lambda": estimator.reg_lambda,
        "tau": estimator.tau,
    }
    sizes = [len(v) for v in values]
    for start, stop in zip(trees.rounds[:-1], trees.rounds[1:]):
        span = (int(start), int(stop))
        sums = client.gather(
            [
                client.submit(_round_sums, state, span, trees.outputs, sizes, source.objective)
                for state in states
            ]
        )
        new = {}
        for t in range(*span):
            G = sum(part[t][0] for part in sums)
            H = sum(part[t][1] for part in sums)
            for j in range(values[t].shape[1]):
                values[t][:, j] = refreshed_from_sums(
                    G[:, j], H[:, j], values[t][:, j], **shrinkage
                )
            new[t] = values[t]
        states = [
            client.submit(_advance_block, state, new, trees.outputs, pure=False) for state in states
        ]
    client.cancel(states)
    return backend.with_leaves(model, replace(trees, values=values), np.zeros(n_outputs))


class _Block:
    """One block of target rows on its worker: leaves, labels, weights and the margin of the
    model so far."""

    def __init__(self, leaves, margin, y, weight):
        self.leaves, self.margin, self.y, self.weight = leaves, margin, y, weight


def _start_block(reader, model, X, y, weight, values, outputs, n_outputs):
    """A block's leaves, and its margin before every tree (the model's base score)."""
    leaves = reader.leaves(model, X)
    margin = reader.margin(model, X).reshape(len(leaves), n_outputs)
    for t in range(len(values)):
        margin[:, outputs[t]] -= np.asarray(values[t])[leaves[:, t]]
    weight = np.ones(len(leaves)) if weight is None else np.asarray(weight, dtype=np.float64)
    return _Block(leaves, margin, np.asarray(y, dtype=np.float64), weight)


def _round_sums(block, span, outputs, sizes, objective):
    """Per tree of the round, the gradient and hessian sums of the block's rows per leaf."""
    margin = block.margin
    squeezed = margin[:, 0] if margin.shape[1] == 1 else margin
    grad, hess = gradients(objective, squeezed, block.y, block.weight)
    grad, hess = grad.reshape(margin.shape), hess.reshape(margin.shape)
    out = {}
    for t in range(*span):
        leaf = block.leaves[:, t]
        G = np.column_stack(
            [np.bincount(leaf, weights=grad[:, k], minlength=sizes[t]) for k in outputs[t]]
        )
        H = np.column_stack(
            [np.bincount(leaf, weights=hess[:, k], minlength=sizes[t]) for k in outputs[t]]
        )
        out[t] = (G, H)
    return out


def _advance_block(block, new_values, outputs):
    """The block with the refreshed trees of one round added to its margin."""
    margin = block.margin.copy()
    for t, values in new_values.items():
        margin[:, outputs[t]] += values[block.leaves[:, t]]
    return _Block(block.leaves, margin, block.y, block.weight)


def is_dask_rows(X):
    """Whether ``fit`` or a prediction is given a dask collection."""
    return is_dask_collection(X)
