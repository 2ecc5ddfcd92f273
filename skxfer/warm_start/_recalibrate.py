"""Correct a source model's margin on target rows: ``scale * margin + bias``.

A source model is often right about which rows score higher but wrong about the level: the
target has another base rate (prior shift), or the source is over- or under-confident there.
Two or ``n_classes + 1`` numbers fix that from a few labelled target rows, where re-estimating
hundreds of leaves cannot. The correction minimises the target loss plus a pull toward the
uncorrected model::

    sum_i w_i loss(y_i, scale * m_i + bias) + tau / 2 * ((scale - 1)**2 + ||bias||**2)

with one ``bias`` per output (class) and one ``scale`` shared by all outputs (temperature
scaling); ``kind="bias"`` keeps ``scale = 1``. The pull ``tau`` is in the same hessian units as
the leaf refresh's: roughly how many target rows of evidence the uncorrected model counts as.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp, softmax

#: The margin corrections a transfer estimator can fit.
KINDS = ("bias", "affine")

# A pull this small keeps the fit finite on separable rows (all labels one class) when tau = 0.
_MIN_PULL = 1e-6


def fit_recalibration(objective, margin, y, sample_weight, *, kind, tau):
    """The ``(scale, bias)`` that best correct ``margin`` on labelled target rows.

    Parameters
    ----------
    objective : {"logistic", "softmax", "squared"}
        Binary log-loss on a 1-D margin, multinomial log-loss on a 2-D margin, or halved
        squared error.
    margin : ndarray of shape (n_rows,) or (n_rows, n_classes)
        The source model's raw output on the target rows.
    y : ndarray of shape (n_rows,)
        0/1 labels, class codes ``0..n_classes-1``, or real targets.
    sample_weight : ndarray of shape (n_rows,)
        Row weights.
    kind : {"bias", "affine"}
        Fit the bias alone, or the bias and a shared scale.
    tau : float
        Pull toward ``scale = 1, bias = 0``.

    Returns
    -------
    scale : float
    bias : ndarray of shape (n_outputs,)
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    w = np.asarray(sample_weight, dtype=np.float64)
    m = margin.reshape(len(y), -1)
    n_outputs = m.shape[1]
    pull = max(float(tau), _MIN_PULL)
    with_scale = kind == "affine"
    if objective == "softmax":
        onehot = np.zeros_like(m)
        onehot[np.arange(len(y)), y.astype(np.intp)] = 1.0

    def loss_and_gradient(theta):
        scale = theta[-1] if with_scale else 1.0
        bias = theta[:n_outputs]
        f = scale * m + bias
        if objective == "logistic":
            f = f[:, 0]
            loss = np.logaddexp(0.0, f) - y * f
            residual = (expit(f) - y)[:, None]
        elif objective == "softmax":
            loss = logsumexp(f, axis=1) - np.sum(onehot * f, axis=1)
            residual = softmax(f, axis=1) - onehot
        elif objective == "squared":
            f = f[:, 0]
            loss = 0.5 * (f - y) ** 2
            residual = (f - y)[:, None]
        else:
            raise ValueError(f"objective must be logistic, softmax or squared, got {objective!r}")
        weighted = residual * w[:, None]
        value = float(w @ loss) + pull / 2 * float(bias @ bias)
        grad = [weighted.sum(axis=0) + pull * bias]
        if with_scale:
            value += pull / 2 * (scale - 1.0) ** 2
            grad.append([float(np.sum(weighted * m)) + pull * (scale - 1.0)])
        return value, np.concatenate(grad)

    start = np.r_[np.zeros(n_outputs), [1.0] if with_scale else []]
    result = minimize(loss_and_gradient, start, jac=True, method="L-BFGS-B")
    theta = result.x
    return (float(theta[-1]) if with_scale else 1.0), theta[:n_outputs].copy()
