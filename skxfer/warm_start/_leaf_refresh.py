"""Re-estimate the leaf values of fitted trees on target rows, shrunk toward the source values.

For one leaf with target gradient sum ``G`` and hessian sum ``H`` (at the margin of the model
so far), the second-order objective of gradient boosting plus a pull toward the source value
``v_src`` is::

    G v + (H + reg_lambda) v**2 / 2 + tau (v - v_src)**2 / 2

whose minimiser is ``v = (tau * v_src - G) / (H + reg_lambda + tau)``. Boosting libraries store
``learning_rate * v``; in stored units the update is
``w = (tau * w_src - learning_rate * G) / (H + reg_lambda + tau)``. ``tau = 0`` is the native
refresh (a Newton step from zero); ``tau -> inf`` keeps the source leaves. Unlike native XGBoost
refresh, a leaf that few target rows reach keeps most of its source value instead of dropping
to zero.
"""

import numpy as np
from scipy.special import expit, softmax

#: Objectives whose gradients this module computes, by the shape of the margin.
OBJECTIVES = ("logistic", "softmax", "squared")


def gradients(objective, margin, y, sample_weight):
    """Gradient and hessian of the loss at ``margin``, one entry per row (and class).

    Parameters
    ----------
    objective : {"logistic", "softmax", "squared"}
        Binary log-loss on a 1-D margin, multinomial log-loss on a 2-D margin, or squared
        error (halved, as XGBoost and CatBoost define it).
    margin : ndarray of shape (n_rows,) or (n_rows, n_classes)
        Raw model output before the link.
    y : ndarray of shape (n_rows,)
        0/1 labels, class codes ``0..n_classes-1``, or real targets.
    sample_weight : ndarray of shape (n_rows,)
        Row weights.

    Returns
    -------
    grad, hess : ndarray, each the shape of ``margin``
    """
    if objective == "logistic":
        p = expit(margin)
        grad, hess = p - y, np.maximum(p * (1 - p), 1e-16)
    elif objective == "softmax":
        p = softmax(margin, axis=1)
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y.astype(np.intp)] = 1.0
        # XGBoost's multi:softprob hessian carries the factor 2 (an upper bound of the
        # diagonal); using the same keeps tau = 0 equal to its native refresh.
        grad, hess = p - onehot, np.maximum(2 * p * (1 - p), 1e-16)
    elif objective == "squared":
        grad, hess = margin - y, np.ones_like(margin)
    else:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    weight = sample_weight if margin.ndim == 1 else sample_weight[:, None]
    return grad * weight, hess * weight


def refreshed_values(leaf, grad, hess, source_values, *, learning_rate, reg_lambda, tau):
    """New stored leaf values of one tree (or one output of a multi-output tree).

    Parameters
    ----------
    leaf : ndarray of int of shape (n_rows,)
        Index of the leaf each target row falls in, ``0 <= leaf < len(source_values)``.
    grad, hess : ndarray of shape (n_rows,)
        Per-row gradient and hessian at the margin before this tree.
    source_values : ndarray of shape (n_leaves,)
        The tree's stored (learning-rate scaled) source leaf values.
    learning_rate, reg_lambda, tau : float
        Shrinkage the values were stored with, L2 penalty toward 0, and pull toward the
        source value (in hessian units: about how many rows of evidence the source counts as).

    Returns
    -------
    values : ndarray of shape (n_leaves,)
    """
    n_leaves = len(source_values)
    G = np.bincount(leaf, weights=grad, minlength=n_leaves)
    H = np.bincount(leaf, weights=hess, minlength=n_leaves)
    denominator = H + reg_lambda + tau
    values = np.asarray(source_values, dtype=np.float64).copy()
    # A leaf with no target rows and no penalty has an undefined optimum: keep its value.
    defined = denominator > 0
    values[defined] = (tau * values[defined] - learning_rate * G[defined]) / denominator[defined]
    return values
