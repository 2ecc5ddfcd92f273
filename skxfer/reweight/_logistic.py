"""The default domain classifier's logistic regression, fitted on row blocks.

``LogisticRegression(solver="lbfgs")`` minimises the mean log-loss plus
``||coef||^2 / (2 C n)`` with L-BFGS. Its loss and gradient are sums over rows, so they can be
added up block by block: on the available threads for rows in memory (each block read once per
evaluation, while it is in cache), or over the blocks of a dask array. The steps are
scikit-learn's (same objective, start at zero, tolerances), and the result is a fitted
``LogisticRegression`` whose ``predict_proba`` is scikit-learn's.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from skxfer.utils._threads import map_row_blocks

# Rows per block in memory: about 8 MiB of features, and at least 1,024 rows. Smaller blocks
# make the threads queue for the GIL between their many small numpy calls (1 MiB blocks ran
# slower on two threads than on one).
_BLOCK_BYTES = 2**23
_MIN_BLOCK_ROWS = 1024
_MIN_BLOCKS = 8


def fit_logistic_on_rows(features, n_class0, C, tol=1e-4, max_iter=1000):
    """``LogisticRegression(C, max_iter)`` fitted on ``features`` (an in-memory 2-D array)
    whose first ``n_class0`` rows are class 0 and the others class 1.

    The loss and gradient of each evaluation are summed over blocks of rows on
    :func:`~skxfer.utils._threads.available_threads` threads, in block order: the fit does not
    depend on the thread count.
    """
    parts = [features[:n_class0], features[n_class0:]]
    row_bytes = max(1, features.shape[1] * features.itemsize)
    # at least _MIN_BLOCKS blocks a class when there are enough rows; the blocks do not
    # depend on the thread count, nor then does the fit
    step = min(_BLOCK_BYTES // row_bytes, -(-max(map(len, parts)) // _MIN_BLOCKS))
    step = max(_MIN_BLOCK_ROWS, step)

    def summed(theta):
        out = []
        for label, part in enumerate(parts):
            out += map_row_blocks(
                lambda rows, _, part=part, label=label: loss_gradient(
                    part[rows], theta, float(label)
                ),
                len(part),
                step,
            )
        return sum(loss for loss, _ in out), np.sum([grad for _, grad in out], axis=0)

    return fit_logistic(
        summed, len(features), features.shape[1], C, tol, max_iter, dtype=features.dtype
    )


def fit_logistic(summed_loss_gradient, n_rows, width, C, tol=1e-4, max_iter=1000, dtype=np.float64):
    """A fitted ``LogisticRegression(C, max_iter)`` on classes 0 and 1 from the summed
    log-loss and gradient of its rows: ``summed_loss_gradient(theta)`` returns them for the
    coefficients ``theta[:-1]`` and intercept ``theta[-1]``. The coefficients are stored in
    ``dtype``, the rows' precision, as scikit-learn stores them (so ``predict_proba`` makes
    no float64 copy of single-precision rows)."""
    l2 = 1.0 / (C * n_rows)

    def objective(theta):
        loss, grad = summed_loss_gradient(theta)
        loss, grad = float(loss) / n_rows, np.asarray(grad, dtype=np.float64) / n_rows
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
    model = LogisticRegression(C=C, max_iter=max_iter)
    model.coef_ = result.x[None, :width].astype(dtype)
    model.intercept_ = result.x[width:].astype(dtype)
    model.classes_, model.n_iter_ = np.array([0, 1]), np.array([result.nit], dtype=np.int32)
    model.n_features_in_ = width
    return model


def loss_gradient(F, theta, label):
    """Summed log-loss of rows ``F`` of one class (``label`` 0.0 or 1.0), and its gradient in
    ``theta`` (coefficients, then the intercept). The products run in ``F``'s precision
    (``theta`` is cast to it); the sums in float64."""
    z = (F @ theta[:-1].astype(F.dtype, copy=False)).astype(np.float64) + float(theta[-1])
    loss = np.sum(np.logaddexp(0.0, z)) - label * np.sum(z)
    residual = expit(z) - label
    grad = np.empty(len(theta))
    grad[:-1] = residual.astype(F.dtype) @ F
    grad[-1] = residual.sum()
    return float(loss), grad
