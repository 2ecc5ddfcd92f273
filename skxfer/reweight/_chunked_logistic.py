"""The default domain classifier of DiscriminativeWeighter, fitted on dask arrays.

Every quantity the in-memory fit reads from all rows is a sum over rows: the feature means
and variances, and the penalised logistic loss with its gradient. Each block of rows adds its
part; L-BFGS steps on the totals as the in-memory fit does (see ``_logistic``). The form
and penalty are chosen on the same few thousand rows the in-memory fit scores, computed
alone. The fitted pipeline is the in-memory one's: its ``predict_proba`` runs on any block.
"""

import numpy as np
from sklearn.pipeline import make_pipeline

from skxfer.reweight._discriminative import (
    _choose_form_and_penalty,
    _evenly_spaced,
    _nonzero,
    _Standardized,
)
from skxfer.reweight._logistic import fit_logistic, loss_gradient
from skxfer.utils._chunks import block_sum, take_rows


def fit_default_on_blocks(X_source, X_target):
    """The default classifier (a Pipeline) fitted on the dask arrays, and its cv scores."""
    n_source, n_target = len(X_source), len(X_target)
    picked = [_evenly_spaced(np.arange(n)) for n in (n_source, n_target)]
    sample = np.vstack([take_rows(X_source, picked[0]), take_rows(X_target, picked[1])])
    labels = np.repeat([0, 1], [len(picked[0]), len(picked[1])])
    form, C, scores = _choose_form_and_penalty(sample, labels)
    domains = (X_source, X_target)
    standardized = _standardization(form, domains, n_source + n_target)
    features = [
        X.map_blocks(
            standardized.transform,
            chunks=(X.chunks[0], (standardized.n_output_features_,)),
            dtype=np.float32,
        ).persist()
        for X in domains
    ]
    width = standardized.n_output_features_
    model = fit_logistic(
        _summed_on_blocks(features), n_source + n_target, width, C, dtype=np.float32
    )
    return make_pipeline(standardized, model), scores


def _standardization(form, domains, n_rows):
    """A fitted :class:`_Standardized` whose statistics were summed over the blocks."""
    total = sum(block_sum(_column_sums, X) for X in domains)
    mean = total / max(n_rows, 1)
    squares = sum(block_sum(_centred_squares, X, mean) for X in domains)
    standardized = _Standardized(form=form)
    standardized.n_features_in_ = domains[0].shape[1]
    standardized.mean_ = mean
    standardized.scale_ = _nonzero(np.sqrt(squares / max(n_rows, 1)))
    d = standardized.n_features_in_
    width = d + len(_added(standardized))
    standardized.n_output_features_ = width
    if width == d:
        standardized.added_mean_ = np.zeros(0)
        standardized.added_scale_ = np.ones(0)
        return standardized
    added_total = sum(block_sum(_added_sums, X, standardized) for X in domains)
    standardized.added_mean_ = added_total / max(n_rows, 1)
    added_squares = sum(block_sum(_added_squares, X, standardized) for X in domains)
    standardized.added_scale_ = _nonzero(np.sqrt(added_squares / max(n_rows, 1)))
    return standardized


def _added(standardized):
    from skxfer.reweight._discriminative import _added_columns

    return _added_columns(standardized.form, standardized.n_features_in_)[0]


def _column_sums(X):
    return np.asarray(X, dtype=np.float64).sum(axis=0)


def _centred_squares(X, mean):
    z = np.asarray(X, dtype=np.float64) - mean
    return np.einsum("ij,ij->j", z, z)


def _added_sums(X, standardized):
    out = standardized._standardize(np.asarray(X, dtype=np.float64))
    return out[:, standardized.n_features_in_ :].sum(axis=0, dtype=np.float64)


def _added_squares(X, standardized):
    out = standardized._standardize(np.asarray(X, dtype=np.float64))
    added = out[:, standardized.n_features_in_ :]
    added -= standardized.added_mean_
    return np.einsum("ij,ij->j", added, added, dtype=np.float64)


def _summed_on_blocks(features):
    """The summed log-loss and gradient of source (class 0) and target (class 1) features
    held as dask arrays, block by block."""

    def summed(theta):
        loss, grad = 0.0, np.zeros(len(theta))
        for label, F in enumerate(features):
            part_loss, part_grad = block_sum(_block_loss_gradient, F, theta, float(label))
            loss, grad = loss + part_loss, grad + part_grad
        return loss, grad

    return summed


def _block_loss_gradient(F, theta, label):
    loss, grad = loss_gradient(F, theta, label)
    return np.array(loss), grad
