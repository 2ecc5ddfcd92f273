"""Relative unconstrained least-squares importance fitting (RuLSIF), and its shared solver."""

from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from skxfer.reweight._base import BaseWeighter
from skxfer.reweight._chunked import block_sum_or_call
from skxfer.reweight._kernel import (
    bandwidth_grid,
    gaussian_kernel,
    positive_grid,
    squared_distances,
    wide_scratch,
)
from skxfer.utils._chunks import is_dask_collection, map_rows, take_rows
from skxfer.utils._threads import map_row_blocks, single_threaded_blas

# Rows per domain used to choose the bandwidth and penalty: the criterion is a mean over
# rows, so a few thousand pin it down, and this keeps the search cost flat in n.
_CV_MAX_ROWS = 5000
_N_FOLDS = 5
# Rows per domain of the final fit of the coefficients.
_FIT_MAX_ROWS = 20000
# Rows per block when evaluating kernels, so memory stays O(block * n_centers) at any n.
_BLOCK_ROWS = 32768
_AUTO_BANDWIDTH_FACTORS = 2.0 ** np.arange(-4.0, 1.5, 0.5)
# Kanamori et al.'s grid for lambda. Below 1e-3 the least-squares CV criterion, noisy with a
# few hundred rows in high dimension, picked lambda = 1e-5 on Office-Caltech10 and collapsed
# the weights onto a few rows (ESS 0.1%-10%, accuracy 0.10 against 0.28-0.54).
_AUTO_REGS = 10.0 ** np.arange(-3.0, 2.0)


class RULSIFWeighter(BaseWeighter):
    """Relative density-ratio weights by least squares on a Gaussian basis (RuLSIF).

    RuLSIF estimates the *relative* density ratio

    .. math:: r_\\alpha(x) = \\frac{p_t(x)}{\\alpha\\, p_t(x) + (1 - \\alpha)\\, p_s(x)},

    which is bounded by ``1 / alpha`` and therefore far easier to estimate than the plain
    ratio when the target has regions the source barely covers. It orders rows exactly as
    ``p_t / p_s`` does, so it gives the same ranking of source rows with much lower variance;
    ``alpha=0`` is uLSIF (:class:`ULSIFWeighter`).

    The model is ``r(x) = sum_l coef_l * exp(-||x - c_l||^2 / (2 * bandwidth^2))`` with
    centres ``c_l`` drawn from the target rows. The coefficients minimise the squared error
    to the true relative ratio, which has the closed form ``coef = (H + reg * I)^-1 h``
    (clipped at 0). The kernel width and ``reg`` are chosen by the same squared-error
    criterion on held-out rows (5-fold cross-validation over the grids, on at most 5000 rows
    of each domain; a held-out centre is left out of the model). The final fit uses every
    row, in blocks, so the cost is linear in the number of rows.

    Standardise ``X`` first (e.g. :class:`~sklearn.preprocessing.StandardScaler`): one
    kernel width serves every feature.

    Parameters
    ----------
    n_centers : int, default=100
        Number of kernel centres, drawn at random from the target rows (all of them when
        there are fewer). Cost grows with its square.
    bandwidth : "auto", float or array-like of float, default="auto"
        Width of the Gaussian kernel. ``"auto"``: cross-validate over a log grid from 1/16
        to 2 times the median distance between rows. A list: cross-validate over it. A float:
        use it.
    reg : "auto", float or array-like of float, default="auto"
        Ridge penalty ``lambda`` on the coefficients. ``"auto"``: cross-validate over
        ``1e-3, 1e-2, ..., 10``. A list: cross-validate over it. A float: use it.
    alpha : float in [0, 1), default=0.1
        Share of the target density in the denominator of the relative ratio. ``0`` gives the
        plain ratio (uLSIF); larger values bound the weights by ``1 / alpha``.
    max_weight : float > 1 or None, default=None
        Upper bound on a weight after rescaling to mean 1; ``None`` leaves them unbounded.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of centres, of the rows used for cross-validation, and of the folds.

    Attributes
    ----------
    weights_ : ndarray of shape (n_source,)
        Weights of the source rows, mean 1: the *relative* ratio ``r_alpha`` rescaled, not
        ``p_t / p_s`` (the two agree when ``alpha=0``).
    sample_weight_ : ndarray of shape (n_samples,)
        ``weights_`` on the source rows and 1 on the target rows, aligned with ``X``.
    ess_ : float
        Effective sample size of ``weights_``.
    ratio_scale_ : float
        Factor mapping the fitted relative ratio to ``weights_``.
    centers_ : ndarray of shape (n_centers_, n_features)
        Kernel centres (target rows).
    coef_ : ndarray of shape (n_centers_,)
        Nonnegative coefficients of the kernels.
    bandwidth_ : float
        Kernel width used.
    reg_ : float
        Ridge penalty used.
    bandwidth_grid_ : ndarray of shape (n_bandwidths,)
        Candidate widths.
    reg_grid_ : ndarray of shape (n_regs,)
        Candidate penalties.
    cv_scores_ : ndarray of shape (n_bandwidths, n_regs) or None
        Held-out squared-error criterion ``0.5 * E[r^2] - E_t[r]`` (lower is better; the
        expectation in the first term is over ``alpha`` target + ``1 - alpha`` source
        rows) of each candidate; ``None`` when there was a single candidate.
    n_source_, n_target_ : int
        Source and target rows seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    ULSIFWeighter : The plain ratio (``alpha=0``), with its own parameters.
    KLIEPWeighter : The same Gaussian model fitted by maximum likelihood.
    KMMWeighter : Weights that match kernel means, without a ratio model.

    Notes
    -----
    The ranking of the source rows is that of :class:`ULSIFWeighter` (Spearman within 0.02
    of it on every family of ``benchmarks/reweight_quality.py ratio``), with the same
    limits: at least 0.9 on :func:`~skxfer.datasets.make_covariate_shift` at every d and on
    mean or variance shifts at d = 2, down to 0.49 and 0.30 at d = 20, and anti-correlated
    weights for a bimodal target at d >= 5 (see :class:`ULSIFWeighter`).

    References
    ----------
    .. [1] M. Yamada, T. Suzuki, T. Kanamori, H. Hachiya and M. Sugiyama, "Relative
       density-ratio estimation for robust distribution comparison", NeurIPS 2011.
    .. [2] T. Kanamori, S. Hido and M. Sugiyama, "A least-squares approach to direct
       importance estimation", JMLR 10, 2009.

    Examples
    --------
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import RULSIFWeighter
    >>> data = make_covariate_shift(300, 200, n_features=3, random_state=0)
    >>> weighter = RULSIFWeighter(random_state=0).fit(data.X, sample_domain=data.sample_domain)
    >>> weighter.weights_.shape
    (300,)
    >>> round(float(weighter.weights_.mean()), 6)
    1.0
    >>> weighter.coef_.shape
    (100,)
    """

    _fits_blocks = True

    _parameter_constraints: dict = {
        **BaseWeighter._parameter_constraints,
        "n_centers": [Interval(Integral, 1, None, closed="left")],
        "bandwidth": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
            "array-like",
        ],
        "reg": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither"), "array-like"],
        "alpha": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        n_centers=100,
        bandwidth="auto",
        reg="auto",
        alpha=0.1,
        max_weight=None,
        random_state=None,
    ):
        super().__init__(max_weight=max_weight)
        self.n_centers = n_centers
        self.bandwidth = bandwidth
        self.reg = reg
        self.alpha = alpha
        self.random_state = random_state

    def _fit_ratio(self, X_source, X_target, random_state):
        solution = fit_least_squares_ratio(
            X_source,
            X_target,
            alpha=self.alpha,
            n_centers=self.n_centers,
            bandwidth=self.bandwidth,
            reg=self.reg,
            random_state=random_state,
        )
        store_solution(self, solution)
        return self._ratio(X_source)

    def _ratio(self, X):
        return kernel_ratio(X, self.centers_, self.bandwidth_, self.coef_)


class LeastSquaresRatio(NamedTuple):
    """A fitted Gaussian-basis (relative) ratio model and how it was chosen."""

    centers: np.ndarray
    coef: np.ndarray
    bandwidth: float
    reg: float
    bandwidth_grid: np.ndarray
    reg_grid: np.ndarray
    cv_scores: np.ndarray | None


def fit_least_squares_ratio(X_source, X_target, *, alpha, n_centers, bandwidth, reg, random_state):
    """Fit the (relative) least-squares ratio model; ``alpha=0`` is uLSIF.

    Returns
    -------
    LeastSquaresRatio
    """
    with single_threaded_blas():
        return _fit_least_squares_ratio(
            X_source,
            X_target,
            alpha=alpha,
            n_centers=n_centers,
            bandwidth=bandwidth,
            reg=reg,
            random_state=random_state,
        )


def _fit_least_squares_ratio(X_source, X_target, *, alpha, n_centers, bandwidth, reg, random_state):
    center_idx = _center_indices(len(X_target), n_centers, random_state)
    centers = take_rows(X_target, center_idx)
    bandwidths = bandwidth_grid(
        bandwidth, _AUTO_BANDWIDTH_FACTORS, X_source, X_target, random_state
    )
    regs = _AUTO_REGS.copy() if isinstance(reg, str) else positive_grid(reg, "reg")
    cv_scores = None
    best_bandwidth, best_reg = bandwidths[0], regs[0]
    if len(bandwidths) * len(regs) > 1:
        cv_scores = _cv_scores(
            X_source, X_target, center_idx, bandwidths, regs, alpha, random_state
        )
        i, j = np.unravel_index(np.argmin(cv_scores), cv_scores.shape)
        best_bandwidth, best_reg = bandwidths[i], regs[j]
    # The final fit estimates n_centers^2 moments: 20k rows per domain pin them down, and
    # more only cost time (the ratio is still evaluated on every source row).
    # The subsampled rows are read block by block, never copied out together; a dask array's
    # blocks each add their sums.
    moments, counts = [], []
    for X in (X_source, X_target):
        rows = _subsample_index(len(X), _FIT_MAX_ROWS, random_state)
        counts.append(len(X) if rows is None else len(rows))
        if is_dask_collection(X):
            X, rows = (X if rows is None else X[rows]), None
        moments.append(block_sum_or_call(_kernel_moments, X, centers, best_bandwidth, rows))
    (G_source, _), (G_target, h) = moments
    n_source, n_target = counts
    H = alpha * G_target / n_target + (1 - alpha) * G_source / n_source
    coef = _ridge_solutions(H, h / n_target, np.array([best_reg]))[:, 0]
    return LeastSquaresRatio(
        centers=centers,
        coef=coef,
        bandwidth=float(best_bandwidth),
        reg=float(best_reg),
        bandwidth_grid=bandwidths,
        reg_grid=regs,
        cv_scores=cv_scores,
    )


def store_solution(weighter, solution):
    """Set the fitted attributes that a least-squares ratio weighter exposes."""
    weighter.centers_ = solution.centers
    weighter.coef_ = solution.coef
    weighter.bandwidth_ = solution.bandwidth
    weighter.reg_ = solution.reg
    weighter.bandwidth_grid_ = solution.bandwidth_grid
    weighter.reg_grid_ = solution.reg_grid
    weighter.cv_scores_ = solution.cv_scores


def kernel_ratio(X, centers, bandwidth, coef):
    """``sum_l coef_l * k(x, c_l)`` for every row of ``X``, in blocks of rows (a lazy dask
    array, block by block, for a dask array)."""
    if is_dask_collection(X):
        return map_rows(kernel_ratio, X, centers, bandwidth, coef)
    out = np.empty(len(X))
    step = _block_rows(X.shape[1])

    def fill(rows, scratch):
        out[rows] = gaussian_kernel(X[rows], centers, bandwidth, scratch) @ coef

    map_row_blocks(fill, len(X), step, lambda: wide_scratch(min(step, len(X)), X.shape[1]))
    return out


def _block_rows(n_features):
    """Rows per block: ``_BLOCK_ROWS``, fewer for wide rows so that a block's float64 copy
    stays near 32 MB (and in cache-friendly pieces)."""
    return max(256, min(_BLOCK_ROWS, 2**22 // max(1, n_features)))


def _subsample_index(n, max_rows, random_state):
    """Sorted positions of ``max_rows`` of ``n`` rows drawn at random (the draw of
    ``subsample_rows``), or None to keep every row."""
    if max_rows is None or n <= max_rows:
        return None
    return np.sort(random_state.choice(n, max_rows, replace=False))


def _center_indices(n_target, n_centers, random_state):
    if n_target <= n_centers:
        return np.arange(n_target)
    return np.sort(random_state.choice(n_target, n_centers, replace=False))


def _kernel_moments(X, centers, bandwidth, rows=None):
    """``Phi' Phi`` and the column sums of ``Phi = k(X[rows], centers)`` (every row of ``X``
    when ``rows`` is None), in blocks of rows."""
    n = len(X) if rows is None else len(rows)
    step = _block_rows(X.shape[1])

    def moments(part, scratch):
        block = X[part] if rows is None else X[rows[part]]
        Phi = gaussian_kernel(block, centers, bandwidth, scratch)
        return Phi.T @ Phi, Phi.sum(axis=0)

    G = np.zeros((len(centers), len(centers)))
    s = np.zeros(len(centers))
    # summed in block order: the same total whatever the number of threads
    for G_block, s_block in map_row_blocks(
        moments, n, step, lambda: wide_scratch(min(step, n), X.shape[1])
    ):
        G += G_block
        s += s_block
    return G, s


def _ridge_solutions(H, h, regs):
    """``max((H + reg I)^-1 h, 0)`` for every ``reg``, as the columns of one array."""
    eigval, eigvec = np.linalg.eigh(H)
    # H is a Gram matrix: negative eigenvalues are rounding error.
    eigval = np.maximum(eigval, 0.0)
    coef = eigvec @ ((eigvec.T @ h)[:, None] / (eigval[:, None] + regs[None, :]))
    return np.maximum(coef, 0.0)


def _cv_scores(X_source, X_target, center_idx, bandwidths, regs, alpha, random_state):
    """Mean held-out criterion ``0.5 * E[r^2] - E_t[r]`` of every (bandwidth, reg) pair."""
    n_folds = min(_N_FOLDS, len(X_source), len(X_target))
    if n_folds < 2:
        raise ValueError(
            f"Choosing bandwidth and reg by cross-validation needs at least 2 source and 2 "
            f"target rows; got {len(X_source)} source and {len(X_target)} target rows. Pass a "
            "single float for both bandwidth and reg."
        )
    source_rows = _cv_rows(len(X_source), random_state)
    target_rows = _cv_rows(len(X_target), random_state)
    source_folds = np.array_split(np.arange(len(source_rows)), n_folds)
    target_folds = np.array_split(np.arange(len(target_rows)), n_folds)
    # A centre is a target row; while its row is held out, the model must not use it, or the
    # held-out criterion rewards kernels that only fit their own centre.
    fold_of_target = np.full(len(X_target), -1)
    for f, fold in enumerate(target_folds):
        fold_of_target[target_rows[fold]] = f
    center_fold = fold_of_target[center_idx]
    centers = take_rows(X_target, center_idx)
    sq_source = squared_distances(take_rows(X_source, source_rows), centers)
    sq_target = squared_distances(take_rows(X_target, target_rows), centers)
    n_source_fold = np.array([len(f) for f in source_folds])
    n_target_fold = np.array([len(f) for f in target_folds])
    scores = np.zeros((len(bandwidths), len(regs)))
    for i, bandwidth in enumerate(bandwidths):
        Phi_source = np.exp(sq_source * (-0.5 / bandwidth**2))
        Phi_target = np.exp(sq_target * (-0.5 / bandwidth**2))
        # Per-fold sums; the training part of a fold is the total minus the fold.
        G_source = np.array([Phi_source[f].T @ Phi_source[f] for f in source_folds])
        G_target = np.array([Phi_target[f].T @ Phi_target[f] for f in target_folds])
        h_target = np.array([Phi_target[f].sum(axis=0) for f in target_folds])
        G_source_all, G_target_all = G_source.sum(axis=0), G_target.sum(axis=0)
        h_target_all = h_target.sum(axis=0)
        for f in range(n_folds):
            keep = center_fold != f
            sub = np.ix_(keep, keep)
            n_s_train = len(source_rows) - n_source_fold[f]
            n_t_train = len(target_rows) - n_target_fold[f]
            H_train = (
                alpha * (G_target_all - G_target[f])[sub] / n_t_train
                + (1 - alpha) * (G_source_all - G_source[f])[sub] / n_s_train
            )
            h_train = (h_target_all - h_target[f])[keep] / n_t_train
            H_test = (
                alpha * G_target[f][sub] / n_target_fold[f]
                + (1 - alpha) * G_source[f][sub] / n_source_fold[f]
            )
            h_test = h_target[f][keep] / n_target_fold[f]
            coef = _ridge_solutions(H_train, h_train, regs)
            scores[i] += 0.5 * np.sum(coef * (H_test @ coef), axis=0) - h_test @ coef
    return scores / n_folds


def _cv_rows(n, random_state):
    if n <= _CV_MAX_ROWS:
        return random_state.permutation(n)
    return random_state.choice(n, _CV_MAX_ROWS, replace=False)
