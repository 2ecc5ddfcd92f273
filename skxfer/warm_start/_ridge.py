"""Ridge regression pulled toward a source model's weights, in closed form."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._linear_source import (
    _alpha_folds,
    _alpha_grid,
    _pick_alpha,
    check_source_features,
    check_source_model,
    linear_docstring,
    to_raw,
)
from skxfer.warm_start._rows import transfer_rows


@linear_docstring
class TransferRidge(LabelledScoreMixin, RegressorMixin, BaseEstimator):
    """Least squares whose weights are pulled toward a source model's weights.

    Minimises, on the labelled target rows,

    .. math::

        \\sum_i s_i \\lVert y_i - W x_i - b \\rVert^2 + \\alpha \\lVert W - W_{source} \\rVert^2

    with ``s_i`` the ``sample_weight`` (the MAP adaptation prior of Chelba and Acero, for
    squared loss), plus ``alpha * ||b - b_source||^2`` when ``pull_intercept`` (the
    default) or an unpenalised intercept ``b`` otherwise. Writing ``W = W_source + D``,
    the offset ``D`` is a ridge fit of the residual ``y - X W_source.T`` on the weighted,
    centred rows: ``(Xc^T S Xc + alpha I) D.T = Xc^T S rc``, solved through one SVD of
    ``S^(1/2) Xc`` so that every alpha of a grid costs a matrix product. ``alpha=0`` is
    weighted least squares on the target (the minimum-norm offset when it is not unique);
    ``alpha=inf`` keeps the source model (with ``pull_intercept=False``, the source weights
    with an intercept refitted on the target). A pulled intercept is fitted as one more
    weight, on a column of ones, with no centring.

    The penalty acts on weights in raw feature units, as in
    :class:`~sklearn.linear_model.Ridge` (``TransferRidge`` with a zero source *is*
    ``Ridge``); a source ``Pipeline(StandardScaler(), Ridge())`` is converted to raw units
    exactly. Standardise the features beforehand when their units differ widely.

    ``alpha="auto"`` picks alpha from ``alphas`` by the exact weighted leave-one-out error
    on the labelled target rows (``cv=None``, in closed form from the same SVD), or by
    k-fold cross-validation on them.

    Parameters
    ----------
    source_model : FrozenEstimator, array-like, tuple or None, default=None
        The source model:

        - a :class:`~sklearn.frozen.FrozenEstimator` around a fitted linear regressor
          (``Ridge``, ``LinearRegression``, ...), or around a fitted Pipeline of one
          ``StandardScaler`` followed by one; an unfrozen fitted estimator is refused
          (``clone`` would drop its fit);
        - the source weights: an array of shape (n_features,) or (n_targets, n_features),
          or a tuple ``(coef, intercept)``; the intercept is 0 when not given;
        - None: a :class:`~sklearn.linear_model.Ridge` of strength ``source_alpha`` is
          fitted on the rows ``sample_domain`` marks as source. Without ``sample_domain``
          the prior is centred on 0 and this is ordinary ridge regression on all rows (with
          a :class:`~skxfer.utils.NoTransferWarning`).

        %(source_rows)s
    alpha : float or "auto", default=1.0
        Strength of the pull toward the source weights (``>= 0``, ``inf`` allowed).
        ``"auto"`` picks it from ``alphas`` by cross-validation on the target rows.
    %(alphas)s
    cv : int, cross-validation generator or None, default=None
        For ``alpha="auto"``: ``None`` is the efficient leave-one-out; an int ``k`` a
        shuffled (seed 0) k-fold of the labelled target rows.
    fit_intercept : bool, default=True
        Fit an intercept. ``False`` also drops the source's intercept.
    pull_intercept : bool, default=True
        Pull the intercept toward the source's with the same ``alpha``, so that a large
        ``alpha`` gives the source model itself. ``False`` leaves it unpenalised: measured
        on wine red -> white with 10 labelled target rows, an intercept refitted on those
        rows alone cost 0.08 of R^2 against the source model.
    source_alpha : float, default=1.0
        Strength of the Ridge fitted on the source rows when ``source_model=None``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights; 1-D when ``y`` is 1-D.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept; a float when ``y`` is 1-D.
    %(alpha_attributes)s
    source_intercept_ : float or ndarray of shape (n_targets,)
        The source intercept in raw feature units.
    %(alphas_attribute)s
    cv_loss_ : ndarray of shape (n_alphas,)
        Weighted mean squared leave-one-out (or k-fold) error per alpha of ``alphas_``,
        averaged over targets (only with ``alpha="auto"``).
    %(input_attributes)s

    See Also
    --------
    TransferLogisticRegression : The same prior for classification.
    PooledTransfer : The baseline: fit one model on source and target rows together.
    sklearn.linear_model.Ridge : The model without a source (a prior at 0).

    References
    ----------
    .. [1] C. Chelba and A. Acero. "Adaptation of maximum entropy capitalizer: Little data
       can help a lot". Computer Speech & Language 20(4), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import TransferRidge
    >>> rng = np.random.default_rng(0)
    >>> X_source, X_target = rng.normal(size=(200, 3)), rng.normal(size=(15, 3))
    >>> y_source = X_source @ [1.0, 2.0, 3.0] + rng.normal(scale=0.1, size=200)
    >>> y_target = X_target @ [1.0, 2.0, 3.5] + 1.0
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> reg = TransferRidge(alpha="auto").fit(X, y, sample_domain=sample_domain)
    >>> reg.coef_.round(1)
    array([1. , 2. , 3.5])
    >>> round(float(reg.intercept_), 1)
    1.0
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "source_model": "no_validation",
        "alpha": [Interval(Real, 0, None, closed="both"), StrOptions({"auto"})],
        "alphas": ["array-like", None],
        "cv": ["cv_object"],
        "fit_intercept": ["boolean"],
        "pull_intercept": ["boolean"],
        "source_alpha": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        source_model=None,
        *,
        alpha=1.0,
        alphas=None,
        cv=None,
        fit_intercept=True,
        pull_intercept=True,
        source_alpha=1.0,
    ):
        self.source_model = source_model
        self.alpha = alpha
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.pull_intercept = pull_intercept
        self.source_alpha = source_alpha

    @linear_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the weights on the labelled target rows, pulled toward the source weights.

        Parameters
        ----------
        %(fit_X)s
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; an unlabelled target row holds NaN (in every column).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the squared loss (of the source fit too, when
            ``source_model=None``).
        %(fit_sample_domain)s

        Returns
        -------
        self : object
            The fitted regressor.
        """
        X = validate_data(self, X, reset=True, dtype=np.float64)
        name = type(self).__name__
        source = check_source_model(self.source_model, classifier=False)
        if source is not None:
            check_source_features(
                name, source, X.shape[1], getattr(self, "feature_names_in_", None)
            )
        Y, one_d, label_proxy = _check_y(name, y, X.shape[0])
        rows = transfer_rows(
            self,
            X,
            label_proxy,
            sample_weight,
            sample_domain,
            classifier=False,
            has_source=source is not None,
        )
        sw = rows.sample_weight
        n_targets = Y.shape[1]
        if not np.all(np.isfinite(Y[rows.source | rows.target])):
            raise ValueError(
                f"y holds NaN or infinity on some outputs of a labelled row; {name} needs "
                "every output of a source row and of a labelled target row to be finite "
                "(an unlabelled target row is NaN in every output)."
            )

        if source is None and rows.has_domains:
            src = rows.source
            W0, b0 = _fit_offset(
                X[src],
                Y[src],
                sw[src],
                np.zeros((n_targets, X.shape[1])),
                self.source_alpha,
                fit_intercept=self.fit_intercept,
            )
        elif source is None:
            W0, b0 = np.zeros((n_targets, X.shape[1])), np.zeros(n_targets)
        else:
            if source.coef.shape[0] != n_targets:
                raise ValueError(
                    f"source_model has coefficients of shape {source.shape} for "
                    f"{source.coef.shape[0]} target(s), but y has {n_targets} column(s) "
                    f"(shape {np.shape(y)}); {name} needs one row of weights per target."
                )
            W0, b0 = source.coef, source.intercept
            if source.mean is not None:
                W0, b0 = to_raw(W0, b0, source.mean, source.scale)
        if not self.fit_intercept:
            b0 = np.zeros(n_targets)

        tgt = rows.target
        Xt, Yt, swt = X[tgt], Y[tgt], sw[tgt]
        pulled = self.fit_intercept and self.pull_intercept
        # A pulled intercept is the weight of a column of ones, penalised like the others.
        Xf, Wf = (_with_ones(Xt), np.column_stack([W0, b0])) if pulled else (Xt, W0)
        free_b = self.fit_intercept and not pulled
        if self.alpha == "auto":
            self.alphas_ = _alpha_grid(self.alphas)
            self.cv_loss_ = self._cv_losses(Xf, Yt, swt, Wf, free_b)
            self.alpha_ = float(_pick_alpha(self.alphas_, self.cv_loss_))
        else:
            self.alpha_ = float(self.alpha)
        W, b = _fit_offset(Xf, Yt, swt, Wf, self.alpha_, fit_intercept=free_b)
        if pulled:
            W, b = W[:, :-1], W[:, -1]

        if one_d:
            self.coef_, self.intercept_ = W[0], float(b[0])
            self.source_coef_, self.source_intercept_ = W0[0], float(b0[0])
        else:
            self.coef_, self.intercept_ = W, b
            self.source_coef_, self.source_intercept_ = W0, b0
        return self

    def predict(self, X):
        """Predict ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions, 1-D when ``y`` was 1-D.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _cv_losses(self, X, Y, sw, W0, fit_intercept):
        alphas = self.alphas_
        if self.cv is None:
            if len(Y) < 2:
                raise ValueError(
                    f"alpha='auto' needs at least 2 labelled target rows to cross-validate; "
                    f"there are {len(Y)}. Label more target rows or pass a number as alpha."
                )
            path = _OffsetPath(X, Y, sw, W0, fit_intercept=fit_intercept)
            return np.array([path.loo_error(a) for a in alphas])
        total = np.zeros(len(alphas))
        splits = _alpha_folds(self.cv, Y[:, 0], classifier=False)
        for train, test in splits:
            path = _OffsetPath(X[train], Y[train], sw[train], W0, fit_intercept=fit_intercept)
            for k, a in enumerate(alphas):
                W, b = path.coef(a)
                err = np.mean((Y[test] - X[test] @ W.T - b) ** 2, axis=1)
                total[k] += np.sum(sw[test] * err)
        return total / np.sum(sw[np.concatenate([test for _, test in splits])])


class _OffsetPath:
    """The offset ``D`` from the source weights for any alpha, from one SVD.

    With ``A = S^(1/2) Xc = U diag(sigma) V^T`` and ``R = S^(1/2) rc``, the offset is
    ``V diag(sigma / (sigma^2 + alpha)) U^T R``: singular directions with sigma = 0 get no
    offset, which is the minimum-norm solution at ``alpha=0``.
    """

    def __init__(self, X, Y, sw, W0, *, fit_intercept):
        self.total = sw.sum()
        self.sw = sw
        self.W0 = W0
        self.fit_intercept = fit_intercept
        residual = Y - X @ W0.T
        if fit_intercept:
            self.x_mean = sw @ X / self.total
            self.r_mean = sw @ residual / self.total
        else:
            self.x_mean = np.zeros(X.shape[1])
            self.r_mean = np.zeros(Y.shape[1])
        root = np.sqrt(sw)[:, None]
        A = root * (X - self.x_mean)
        self.R = root * (residual - self.r_mean)
        self.root = root
        U, sigma, Vt = np.linalg.svd(A, full_matrices=False)
        keep = sigma > sigma.max(initial=0.0) * max(A.shape) * np.finfo(np.float64).eps
        self.U, self.sigma, self.Vt = U[:, keep], sigma[keep], Vt[keep]
        self.UtR = self.U.T @ self.R

    def _shrink(self, alpha):
        if np.isinf(alpha):
            return np.zeros_like(self.sigma)
        s2 = self.sigma**2
        return s2 / (s2 + alpha)

    def coef(self, alpha):
        """``(W, b)`` for this alpha."""
        if np.isinf(alpha):
            D = np.zeros_like(self.W0)
        else:
            D = (self.Vt.T @ (self.UtR / (self.sigma**2 + alpha)[:, None] * self.sigma[:, None])).T
        W = self.W0 + D
        b = self.r_mean - self.x_mean @ D.T
        return W, b

    def loo_error(self, alpha):
        """Weighted mean squared leave-one-out error, averaged over targets.

        Leaving row i out is giving it weight 0; for a penalised weighted least squares fit
        its held-out residual is then exactly ``e_i / (1 - h_ii)``, with ``h_ii`` the
        leverage ``s_i / sum(s) + sum_k U_ik^2 f_k`` (the first term from the intercept).
        """
        f = self._shrink(alpha)
        fitted = self.U @ (f[:, None] * self.UtR)
        residual = (self.R - fitted) / self.root
        leverage = (self.U**2) @ f
        if self.fit_intercept:
            leverage = leverage + self.sw / self.total
        denom = 1.0 - leverage
        if np.any(denom <= 1e-10):
            return np.inf  # a row that fits itself exactly: its held-out error is undefined
        loo = residual / denom[:, None]
        return float(np.sum(self.sw * np.mean(loo**2, axis=1)) / self.total)


def _with_ones(X):
    return np.column_stack([X, np.ones(len(X))])


def _fit_offset(X, Y, sw, W0, alpha, *, fit_intercept):
    return _OffsetPath(X, Y, sw, W0, fit_intercept=fit_intercept).coef(alpha)


def _check_y(name, y, n_samples):
    """``y`` as a 2-D float array, whether it was 1-D, and a 1-D copy for row bookkeeping
    (NaN where a row is unlabelled in every output)."""
    if y is None:
        raise ValueError(
            f"{name} requires y to be passed, but the target y is None. Pass the targets of "
            "the labelled rows, NaN on unlabelled target rows."
        )
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} needs numeric targets, got dtype {y.dtype}; for class labels use "
                "TransferLogisticRegression."
            ) from None
    y = y.astype(np.float64)
    if y.ndim == 1:
        Y, one_d = y.reshape(-1, 1), True
    elif y.ndim == 2 and y.shape[1] >= 1:
        Y, one_d = y, False
    else:
        raise ValueError(f"y must be 1-D or 2-D; got shape {y.shape}.")
    if len(Y) != n_samples:
        raise ValueError(f"y has {len(Y)} rows but X has {n_samples}; pass one target per row.")
    if one_d:
        return Y, True, y
    unlabelled = np.all(np.isnan(Y), axis=1)
    proxy = np.where(unlabelled, np.nan, 0.0)
    return Y, False, proxy
