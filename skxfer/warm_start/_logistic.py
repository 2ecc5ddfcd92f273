"""Logistic regression pulled toward a source model's weights (a MAP adaptation prior)."""

import warnings
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit, log_softmax, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.utils._threads import single_threaded_blas
from skxfer.warm_start._linear_source import (
    _alpha_folds,
    _alpha_grid,
    _check_coef_shape,
    _classes_for_coef,
    _encode,
    _pick_alpha,
    _two_or_more_classes,
    check_source_features,
    check_source_model,
    linear_docstring,
    to_raw,
    to_scaled,
    weighted_scale,
)
from skxfer.warm_start._recalibrate import fit_recalibration
from skxfer.warm_start._rows import check_target_classes, transfer_rows


@linear_docstring
class TransferLogisticRegression(LabelledScoreMixin, ClassifierMixin, BaseEstimator):
    """Logistic regression whose weights are pulled toward a source model's weights.

    Minimises, over the weights ``W`` and intercepts ``b`` of a (binary or multinomial)
    logistic model on the labelled target rows,

    .. math::

        \\sum_i s_i \\, \\mathrm{logloss}(y_i, W z_i + b)
        + \\alpha \\lVert W - W_{source} \\rVert^2
        + \\mathrm{shrinkage} \\lVert W \\rVert^2
        \\; [+ \\alpha \\lVert b - b_{source} \\rVert^2 \\text{ if pull\\_intercept}]

    where ``s_i`` is the ``sample_weight`` and ``z_i`` the row standardised with the
    *source's* scale (below). This is the MAP adaptation of Chelba and Acero: a Gaussian
    prior centred on the source weights. ``alpha=0`` is the target-only maximum-likelihood
    fit; ``alpha=inf`` keeps the source weights (and, unless ``pull_intercept``, refits only
    the intercept on the target). The objective is solved exactly with scipy's L-BFGS.

    **Standardisation.** The penalty is applied to weights on standardised features
    ``z = (x - mean) / scale``, so that ``alpha`` means the same for every feature:

    - a source ``Pipeline(StandardScaler(), LogisticRegression())``: the pipeline's scaler
      (``mean_`` and ``scale_``; a scaler with ``with_mean=False`` or ``with_std=False``
      contributes 0 or 1), so the prior is exactly the source's fitted weights;
    - ``source_model=None``: the weighted mean and standard deviation of the source rows,
      on which the source model is then fitted;
    - a source in raw feature units (a plain ``LogisticRegression`` or a coefficient array):
      the weighted mean and standard deviation of the source rows when ``sample_domain``
      marks some, else of the labelled target rows. The source weights are converted to
      these units exactly (the source's predictions do not change).

    Constant features get scale 1. With ``fit_intercept=False`` features are only scaled,
    not centred, and the model (like the source's prior) has no intercept.
    ``coef_`` and ``intercept_`` are reported in raw feature units, as in
    :class:`~sklearn.linear_model.LogisticRegression`.

    **Classes.** The source model's classes are the classes of this model. A labelled target
    row of a class the source lacks raises a ValueError; a target missing some classes works
    and the model keeps predicting all of them (with ``pull_intercept=False`` nothing keeps
    the intercept of a class absent from the target, and its probability is fitted toward 0).

    Parameters
    ----------
    source_model : FrozenEstimator, array-like, tuple or None, default=None
        The source model:

        - a :class:`~sklearn.frozen.FrozenEstimator` around a fitted linear classifier
          (``LogisticRegression``), or around a fitted Pipeline of one ``StandardScaler``
          followed by one; an unfrozen fitted estimator is refused (``clone`` would drop
          its fit);
        - the source weights: an array of shape (n_features,) or (1, n_features) for two
          classes, (n_classes, n_features) for multinomial with ``n_classes >= 3``, or a
          tuple ``(coef, intercept)``; the intercept is 0 when not given. The class labels
          are then the sorted labels found in ``y`` (their number must match);
        - None: a plain L2 logistic regression (strength ``source_alpha``) is fitted on the
          rows ``sample_domain`` marks as source. Without ``sample_domain`` the prior is
          centred on 0 and this is an ordinary L2 logistic regression on all rows (with a
          :class:`~skxfer.utils.NoTransferWarning`).

        %(source_rows)s
    alpha : float or "auto", default=1.0
        Strength of the pull toward the source weights (``>= 0``, ``inf`` allowed).
        ``"auto"`` picks it from ``alphas`` by cross-validated log-loss on the labelled
        target rows.
    shrinkage : float, default=0.0
        Strength of a second L2 penalty, toward 0. With both, the prior is centred on the
        shrunk source ``alpha / (alpha + shrinkage) * W_source`` with strength
        ``alpha + shrinkage``: between the source and an ordinary L2 target fit. It helps
        when the source model is overconfident on the target (measured on Amazon reviews,
        where a plain pull toward the source weights lost to the target-only fit at every
        number of target labels). Ignored with ``alpha=inf``.
    %(alphas)s
    cv : int or cross-validation generator, default=5
        Folds of the labelled target rows for ``alpha="auto"``. An int ``k`` gives a
        shuffled (seed 0) stratified k-fold when every class has ``k`` target rows, a
        shuffled k-fold otherwise; ``k`` is lowered to the number of target rows.
    fit_intercept : bool, default=True
        Fit an intercept (an intercept per class for multinomial).
    pull_intercept : bool, default=True
        Also pull the intercept toward the source intercept with the same ``alpha``, so that
        a large ``alpha`` gives the source model itself. ``False`` lets the target set its
        own base rate freely; measured on the heart-disease hospitals, an unpulled intercept
        fitted on 7-10 target rows swung by 1-1.5 logits and made every ``alpha`` worse than
        the source model.
    recalibrate : {"bias", "affine"} or None, default=None
        First correct the source's scores on the labelled target rows, as the boosted
        estimators do: ``"bias"`` fits one offset per output (a change of base rate),
        ``"affine"`` also one scale shared by all outputs (over- or under-confidence). The
        prior is then centred on the corrected source ``scale * W_source`` with intercept
        ``scale * b_source + bias``. The correction is pulled toward no change with the
        same strength as the weights: it minimises the target log-loss plus
        ``alpha * ((scale - 1)**2 + ||bias||**2)``, so ``alpha=inf`` still gives the source
        model. Needs ``fit_intercept=True``.
    source_alpha : float, default=1.0
        L2 strength of the source model fitted when ``source_model=None``
        (``source_alpha * ||W||^2`` on standardised features).
    max_iter : int, default=1000
        Maximum L-BFGS iterations per fit.
    tol : float, default=1e-10
        L-BFGS stops when the largest gradient entry of the objective divided by the total
        ``sample_weight`` is below ``tol``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The source model's class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights in raw feature units; one row for two classes.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts in raw feature units.
    %(alpha_attributes)s
    source_intercept_ : ndarray of the shape of ``intercept_``
        The source intercepts in raw feature units.
    margin_scale_ : float
        Scale fitted by ``recalibrate="affine"`` (1.0 otherwise).
    margin_bias_ : ndarray of shape (n_outputs,)
        Offsets of the scores fitted by ``recalibrate`` (zeros without it): one for two
        classes, one per class otherwise.
    scaler_mean_ : ndarray of shape (n_features,)
        The centre of the standardisation the penalty is applied in.
    scaler_scale_ : ndarray of shape (n_features,)
        The scale of the standardisation the penalty is applied in.
    %(alphas_attribute)s
    cv_loss_ : ndarray of shape (n_alphas,)
        Mean cross-validated log-loss per alpha of ``alphas_`` (only with ``alpha="auto"``).
    n_iter_ : int
        L-BFGS iterations of the final fit.
    %(input_attributes)s

    See Also
    --------
    TransferRidge : The same prior for least squares, in closed form.
    PooledTransfer : The baseline: fit one model on source and target rows together.
    sklearn.linear_model.LogisticRegression : The model without a source (a prior at 0).

    References
    ----------
    .. [1] C. Chelba and A. Acero. "Adaptation of maximum entropy capitalizer: Little data
       can help a lot". Computer Speech & Language 20(4), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.warm_start import TransferLogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(500, 3))
    >>> y_source = (X_source @ [2.0, -1.0, 0.5] > 0).astype(int)
    >>> source = FrozenEstimator(LogisticRegression().fit(X_source, y_source))
    >>> X_target = rng.normal(size=(30, 3))
    >>> y_target = (X_target @ [2.0, -1.0, 1.0] > 0.3).astype(int)
    >>> clf = TransferLogisticRegression(source, alpha="auto").fit(X_target, y_target)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    array([1, 0])
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "source_model": "no_validation",
        "alpha": [Interval(Real, 0, None, closed="both"), StrOptions({"auto"})],
        "shrinkage": [Interval(Real, 0, None, closed="left")],
        "alphas": ["array-like", None],
        "cv": ["cv_object"],
        "fit_intercept": ["boolean"],
        "pull_intercept": ["boolean"],
        "recalibrate": [StrOptions({"bias", "affine"}), None],
        "source_alpha": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        source_model=None,
        *,
        alpha=1.0,
        shrinkage=0.0,
        alphas=None,
        cv=5,
        fit_intercept=True,
        pull_intercept=True,
        recalibrate=None,
        source_alpha=1.0,
        max_iter=1000,
        tol=1e-10,
    ):
        self.source_model = source_model
        self.alpha = alpha
        self.shrinkage = shrinkage
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.pull_intercept = pull_intercept
        self.recalibrate = recalibrate
        self.source_alpha = source_alpha
        self.max_iter = max_iter
        self.tol = tol

    @linear_docstring
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the weights on the labelled target rows, pulled toward the source weights.

        Parameters
        ----------
        %(fit_X)s
        y : array-like of shape (n_samples,)
            Class labels; unlabelled target rows hold the mask value (-1 for integer labels,
            NaN or None otherwise) and are not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in the log-loss (of the source fit too, when
            ``source_model=None``).
        %(fit_sample_domain)s

        Returns
        -------
        self : object
            The fitted classifier.
        """
        X = validate_data(self, X, reset=True, dtype=np.float64)
        source = check_source_model(self.source_model, classifier=True)
        name = type(self).__name__
        if source is not None:
            check_source_features(
                name, source, X.shape[1], getattr(self, "feature_names_in_", None)
            )
        rows = transfer_rows(
            self, X, y, sample_weight, sample_domain, classifier=True, has_source=source is not None
        )
        y, sw = rows.y, rows.sample_weight
        if source is None:
            fit_rows = rows.source if rows.has_domains else rows.target
            classes = _two_or_more_classes(name, y[fit_rows])
        elif source.classes is None:
            labelled = rows.source | rows.target
            classes = _classes_for_coef(name, source, y[labelled])
        else:
            classes = source.classes
        check_target_classes(name, y[rows.target], classes)
        n_out = 1 if len(classes) == 2 else len(classes)
        if self.recalibrate is not None and not self.fit_intercept:
            raise ValueError(
                f"recalibrate={self.recalibrate!r} fits an offset of the source's scores, which "
                "a model without intercept cannot hold; pass fit_intercept=True or "
                "recalibrate=None."
            )

        # the standardisation the penalty lives in
        if source is not None and source.mean is not None:
            mean, scale = source.mean, source.scale
        else:
            scale_rows = rows.source if rows.source.any() else rows.target
            mean, scale = weighted_scale(X[scale_rows], sw[scale_rows])
        if not self.fit_intercept:
            mean = np.zeros_like(mean)
        Z = (X - mean) / scale

        if source is None and rows.has_domains:
            src = rows.source
            W0, b0, _ = _solve(
                Z[src],
                _encode(classes, y[src]),
                sw[src],
                np.zeros((n_out, X.shape[1])),
                np.zeros(n_out),
                self.source_alpha,
                fit_intercept=self.fit_intercept,
                pull_intercept=False,
                max_iter=self.max_iter,
                tol=self.tol,
            )
        elif source is None:
            W0, b0 = np.zeros((n_out, X.shape[1])), np.zeros(n_out)
        else:
            coef, intercept = _check_coef_shape(name, source, n_out, "n_classes")
            if source.mean is not None:
                coef, intercept = to_raw(coef, intercept, source.mean, source.scale)
            W0, b0 = to_scaled(coef, intercept, mean, scale)
        if not self.fit_intercept:
            b0 = np.zeros(n_out)

        tgt = rows.target
        Zt, yt, swt = Z[tgt], _encode(classes, y[tgt]), sw[tgt]
        if self.alpha == "auto":
            self.alphas_ = _alpha_grid(self.alphas)
            self.cv_loss_ = self._cv_losses(Zt, yt, swt, W0, b0, self.alphas_)
            self.alpha_ = float(_pick_alpha(self.alphas_, self.cv_loss_))
        else:
            self.alpha_ = float(self.alpha)
        Wc, bc, self.margin_scale_, self.margin_bias_ = self._centre(
            Zt, yt, swt, W0, b0, self.alpha_
        )
        W, b, self.n_iter_ = _solve(
            Zt, yt, swt, Wc, bc, self.alpha_, **self._solver_options(), init=(Wc, bc)
        )

        self.classes_ = classes
        self.scaler_mean_, self.scaler_scale_ = mean, scale
        self.coef_, self.intercept_ = to_raw(W, b, mean, scale)
        self.source_coef_, self.source_intercept_ = to_raw(W0, b0, mean, scale)
        return self

    def decision_function(self, X):
        """Linear scores ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the log-odds of ``classes_[1]``; otherwise one column per class.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scores = X @ self.coef_.T + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict the class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from ``classes_``.
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return self.classes_.take(index)

    def predict_proba(self, X):
        """Class probabilities (sigmoid for two classes, softmax otherwise).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        return np.exp(self.predict_log_proba(X))

    def predict_log_proba(self, X):
        """Logarithm of the class probabilities, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def _solver_options(self):
        return {
            "fit_intercept": self.fit_intercept,
            "pull_intercept": self.pull_intercept,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "shrinkage": self.shrinkage,
        }

    def _centre(self, Z, y, sw, W0, b0, alpha):
        """The prior's centre: the source weights, recalibrated on ``(Z, y)`` when asked,
        with the scale and offsets of that correction."""
        n_out = len(b0)
        if self.recalibrate is None or np.isinf(alpha):
            return W0, b0, 1.0, np.zeros(n_out)
        margin = Z @ W0.T + b0
        scale, bias = fit_recalibration(
            "logistic" if n_out == 1 else "softmax",
            margin[:, 0] if n_out == 1 else margin,
            y,
            sw,
            kind=self.recalibrate,
            tau=2.0 * alpha,
        )
        return scale * W0, scale * b0 + bias, scale, bias

    def _cv_losses(self, Z, y, sw, W0, b0, alphas):
        """Mean log-loss on held-out target rows for every alpha (largest alpha first, so
        each fit warm-starts from the previous, more constrained one)."""
        splits = _alpha_folds(self.cv, y, classifier=True)
        total = np.zeros(len(alphas))
        order = np.argsort(alphas)[::-1]
        with warnings.catch_warnings():
            # fits on a fold of a few rows with a tiny alpha need not converge to be ranked
            warnings.simplefilter("ignore", ConvergenceWarning)
            for train, test in splits:
                init = (W0, b0)
                for k in order:
                    Wc, bc, _, _ = self._centre(Z[train], y[train], sw[train], W0, b0, alphas[k])
                    W, b, _ = _solve(
                        Z[train],
                        y[train],
                        sw[train],
                        Wc,
                        bc,
                        alphas[k],
                        **self._solver_options(),
                        init=init,
                    )
                    init = (W, b)
                    total[k] += np.sum(sw[test] * _row_losses(Z[test] @ W.T + b, y[test]))
        return total / np.sum(sw[np.concatenate([test for _, test in splits])])


def _row_losses(scores, y):
    """Log-loss of each row for encoded labels ``y``; one score column means two classes."""
    if scores.shape[1] == 1:
        z = scores[:, 0]
        return np.logaddexp(0.0, z) - y * z
    return logsumexp(scores, axis=1) - scores[np.arange(len(y)), y]


def objective(params, Z, y, sw, W0, b0, alpha, shape, fit_b, pull_intercept, shrinkage=0.0):
    """Penalised log-loss and its gradient, divided by the total weight.

    ``params`` holds the weights (unless ``alpha`` is inf, where they stay at ``W0``) then
    the intercepts (when ``fit_b``). With ``fit_b`` False the intercepts stay at ``b0``.
    """
    n_out, n_features = shape
    free_w = np.isfinite(alpha)
    W = params[: n_out * n_features].reshape(shape) if free_w else W0
    b = params[-n_out:] if fit_b else b0
    scores = Z @ W.T + b
    total = sw.sum()
    loss = np.sum(sw * _row_losses(scores, y))
    if n_out == 1:
        residual = (expit(scores[:, 0]) - y)[:, None]
    else:
        residual = np.exp(scores - logsumexp(scores, axis=1, keepdims=True))
        residual[np.arange(len(y)), y] -= 1.0
    residual *= sw[:, None]
    grads = []
    if free_w:
        loss += alpha * np.sum((W - W0) ** 2) + shrinkage * np.sum(W**2)
        grads.append((residual.T @ Z + 2.0 * alpha * (W - W0) + 2.0 * shrinkage * W).ravel())
    if fit_b:
        grad_b = residual.sum(axis=0)
        if pull_intercept and free_w:
            loss += alpha * np.sum((b - b0) ** 2)
            grad_b = grad_b + 2.0 * alpha * (b - b0)
        grads.append(grad_b)
    return loss / total, np.concatenate(grads) / total


def _solve(
    Z,
    y,
    sw,
    W0,
    b0,
    alpha,
    *,
    fit_intercept,
    pull_intercept,
    max_iter,
    tol,
    init=None,
    shrinkage=0.0,
):
    """Minimise :func:`objective` with L-BFGS; returns ``(W, b, n_iter)``."""
    shape = W0.shape
    free_w = np.isfinite(alpha)
    # with alpha=inf a pulled intercept stays at the source's too
    fit_b = fit_intercept and not (pull_intercept and not free_w)
    W_init, b_init = (W0, b0) if init is None else init
    if not fit_intercept:
        b0 = np.zeros_like(b0)
    params = []
    if free_w:
        params.append(np.asarray(W_init, dtype=np.float64).ravel())
    if fit_b:
        params.append(np.asarray(b_init, dtype=np.float64))
    if not params:
        return W0.copy(), b0.copy(), 0
    args = (Z, y, sw, W0, b0, alpha, shape, fit_b, pull_intercept, shrinkage)
    # L-BFGS's own updates are short vector operations: BLAS threads only add spin-waits,
    # which made a fit on a busy machine 50x slower in our measurements.
    with single_threaded_blas():
        result = minimize(
            objective,
            np.concatenate(params),
            args=args,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": tol, "ftol": 64 * np.finfo(np.float64).eps},
        )
    if result.status == 1:
        warnings.warn(
            f"L-BFGS did not converge in max_iter={max_iter} iterations; increase max_iter "
            "or alpha.",
            ConvergenceWarning,
            stacklevel=3,
        )
    x = result.x
    W = x[: W0.size].reshape(shape) if free_w else W0.copy()
    b = x[-len(b0) :] if fit_b else b0.copy()
    return W, b, int(result.nit)
