"""The default domain classifier of DiscriminativeWeighter, fitted on dask arrays.

Every quantity the in-memory fit reads from all rows is a sum over rows: the feature means
and variances, and the penalised logistic loss with its gradient. Each block of rows adds its
part; L-BFGS (as ``LogisticRegression(solver="lbfgs")`` runs it: same objective, start,
tolerances) steps on the totals. The form and penalty are chosen on the same few thousand
rows the in-memory fit scores, computed alone. The fitted pipeline is the in-memory one's:
its ``predict_proba`` runs on any block.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skxfer.reweight._discriminative import (
    _choose_form_and_penalty,
    _evenly_spaced,
    _nonzero,
    _Standardized,
)
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
    coef, intercept, n_iter = _logistic_on_blocks(features, C)
    model = LogisticRegression(C=C, max_iter=1000)
    model.coef_, model.intercept_ = coef[None, :], np.array([intercept])
    model.classes_, model.n_iter_ = np.array([0, 1]), np.array([n_iter], dtype=np.int32)
    model.n_features_in_ = standardized.n_output_features_
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


def _logistic_on_blocks(features, C, tol=1e-4, max_iter=1000):
    """``LogisticRegression(C)``'s coefficients and intercept on source (class 0) and target
    (class 1) features: the mean log-loss plus ``||coef||^2 / (2 C n)``, minimised by L-BFGS
    with scikit-learn's options, the loss and gradient summed over blocks."""
    n_rows = sum(len(F) for F in features)
    width = features[0].shape[1]
    l2 = 1.0 / (C * n_rows)

    def objective(theta):
        loss, grad = 0.0, np.zeros(width + 1)
        for label, F in enumerate(features):
            part_loss, part_grad = block_sum(_loss_gradient, F, theta, float(label))
            loss, grad = loss + part_loss, grad + part_grad
        loss, grad = loss / n_rows, grad / n_rows
        coef = theta[:width]
        loss += 0.5 * l2 * coef @ coef
        grad[:width] += l2 * coef
        return loss, grad

    result = minimize(
        objective,
        np.zeros(width + 1),
        method="L-BFGS-B",
        jac=True,
        options={
            "maxiter": max_iter,
            "maxls": 50,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
        },
    )
    return result.x[:width], float(result.x[width]), int(result.nit)


def _loss_gradient(F, theta, label):
    """Summed log-loss of a block of rows of one class, and its gradient in ``theta``."""
    z = F @ theta[:-1] + theta[-1]
    loss = np.sum(np.logaddexp(0.0, z)) - label * np.sum(z)
    residual = expit(z) - label
    grad = np.empty(len(theta))
    grad[:-1] = residual @ F
    grad[-1] = residual.sum()
    return np.array(loss), grad
