"""Two-stage TrAdaBoost.R2: pick the source's share of weight by cross-validation on the target."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.model_selection import KFold, check_cv
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from skxfer.reweight._boosting import (
    adjusted_errors,
    boost_r2,
    boosting_docstring,
    check_base_estimator,
    default_regressor,
    fit_seeded,
    validate_boosting_input,
    weighted_median_predict,
)
from skxfer.utils._meta import BaseSparseTagsMixin
from skxfer.utils._scoring import LabelledScoreMixin


@boosting_docstring
class TwoStageTrAdaBoostRegressor(
    BaseSparseTagsMixin, LabelledScoreMixin, RegressorMixin, BaseEstimator
):
    """Two-stage TrAdaBoost.R2: shift weight from source to target, keep the best step.

    Stage 1 walks through ``n_steps`` weightings of the rows. At step ``k`` (0-based) the
    target rows hold the share ``s_k = s_0 + k / (n_steps - 1) * (1 - s_0)`` of the total
    weight, from their initial share ``s_0`` (``n_target / n_rows`` with uniform weights) to
    1 (the source dropped). Between steps the base estimator is fitted with the current
    weights and the source rows are multiplied by ``beta_k ** e_i``, where ``e_i`` is the
    row's adjusted error and ``beta_k`` is found by bisection so that the target reaches
    ``s_{k+1}``: the source rows the model fits worst lose their weight first.

    Each step's weighting is scored by k-fold cross-validation on the labelled target rows
    (``cv``): every fold trains stage 2 on all the source rows and the other target rows and
    measures the weighted mean squared error on the held-out target rows. Stage 2 is
    AdaBoost.R2 with the source weights frozen (AdaBoost.R2'): the round's error is measured
    on all the rows as in AdaBoost.R2, the source rows keep their weights and the target
    keeps its share, while boosting moves weight among the target rows (the paper leaves
    the target's total open; keeping it keeps the share that stage 1 chose). The final model
    is stage 2 fitted on all the rows with the weighting of the step that cross-validates
    best.

    Without ``sample_domain`` every row is target data and this is plain AdaBoost.R2 (with a
    :class:`~skxfer.utils.NoTransferWarning`).

    Parameters
    ----------
    estimator : object, default=None
        Base regressor; its ``fit`` must accept ``sample_weight``. It is cloned for every
        fit, never modified, and fitted with the weights rescaled to sum to the total
        ``sample_weight`` (the number of rows by default).
        ``None`` means ``DecisionTreeRegressor(max_depth=3)``.
    n_estimators : int, default=50
        Boosting rounds of stage 2 (AdaBoost.R2'), fewer when it stops early.
    n_steps : int, default=10
        Number of weightings tried in stage 1, from the initial weights to the target alone.
        The fit costs about ``n_steps * (n_folds + 1) * n_estimators`` base fits.
    cv : int, cross-validation generator or iterable, default=5
        How the labelled target rows are split to score each step. An int is the number of
        shuffled folds (at most the number of labelled target rows). A splitter or an
        iterable of ``(train, test)`` index pairs is applied to the labelled target rows
        only; the source rows are in every training fold.
    learning_rate : float, default=1.0
        Shrinks the stage-2 updates, as in AdaBoost.R2.
    loss : {"linear", "square", "exponential"}, default="linear"
        How a row's error relative to the round's largest error becomes ``e_i``: ``r``,
        ``r ** 2`` or ``1 - exp(-r)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the folds and the ``random_state`` of every base estimator.

    Attributes
    ----------
    estimators_ : list of estimators
        The base estimators of the final stage-2 model.
    estimator_weights_ : ndarray of shape (n_rounds,)
        Their weights in the weighted median, ``learning_rate * log(1 / beta_t)``.
    estimator_errors_ : ndarray of shape (n_rounds,)
        Their adjusted errors ``eps_t``.
    cv_errors_ : ndarray of shape (n_steps,)
        Cross-validated mean squared error on the target rows of every step; NaN when
        fitted without ``sample_domain``.
    best_step_ : int
        The step whose weighting the final model uses.
    target_shares_ : ndarray of shape (n_steps,)
        The share of the total weight held by the target rows at every step.
    sample_weight_ : ndarray of shape (n_samples,)
        The weights of the best step for every row given to ``fit``, summing to 1; 0 for
        unlabelled target rows and rows with ``sample_weight`` 0.
    %(input_attributes)s

    See Also
    --------
    TrAdaBoostRegressor : One-stage TrAdaBoost.R2; faster, usually less accurate.
    TrAdaBoostClassifier : TrAdaBoost for classification.

    References
    ----------
    .. [1] D. Pardoe and P. Stone. "Boosting for regression transfer". ICML 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.reweight import TwoStageTrAdaBoostRegressor
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.uniform(-2, 2, size=(300, 1))
    >>> y_source = np.sin(X_source[:, 0])
    >>> X_target = rng.uniform(-2, 2, size=(20, 1))
    >>> y_target = np.sin(X_target[:, 0]) + 0.3
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> reg = TwoStageTrAdaBoostRegressor(n_estimators=10, n_steps=5, random_state=0)
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> reg.predict([[0.0], [1.5]]).round(1)  # the target's truth: 0.3 and 1.3
    array([0.4, 1.3])
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"linear", "square", "exponential"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=50,
        n_steps=10,
        cv=5,
        learning_rate=1.0,
        loss="linear",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.n_steps = n_steps
        self.cv = cv
        self.learning_rate = learning_rate
        self.loss = loss
        self.random_state = random_state

    @boosting_docstring
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Choose the source's share of weight by cross-validation, then boost.

        Parameters
        ----------
        %(fit_X)s
        %(fit_y_regression)s
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies the initial (uniform) weights and weighs the cross-validation error.
            A row with weight 0 is the same as a row left out.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows; at least two target rows
            must be labelled for the cross-validation. Without it every row is target data
            and this is plain AdaBoost.R2.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        data = validate_boosting_input(self, X, y, sample_weight, sample_domain, classifier=False)
        template = check_base_estimator(self.estimator, default_regressor())
        rng = check_random_state(self.random_state)
        if data.source.any():
            steps, shares, cv_errors = self._stage_one(template, data, rng)
            best = int(np.argmin(cv_errors))
        else:
            steps, shares, cv_errors, best = [data.weights], np.ones(1), np.full(1, np.nan), 0
        result = self._stage_two(template, data, steps[best], rng)
        self.estimators_ = result.estimators
        self.estimator_weights_ = result.vote_weights
        self.estimator_errors_ = result.errors
        self.cv_errors_ = np.asarray(cv_errors, dtype=np.float64)
        self.best_step_ = best
        self.target_shares_ = np.asarray(shares, dtype=np.float64)
        self.sample_weight_ = np.zeros(len(data.keep))
        self.sample_weight_[data.keep] = steps[best] / steps[best].sum()
        return self

    def predict(self, X):
        """Weighted median of the stage-2 rounds of the best step.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32]
        )
        return weighted_median_predict(self.estimators_, self.estimator_weights_, X)

    def _default_base(self):
        return default_regressor()

    def _stage_one(self, template, data, rng):
        folds = self._target_folds(data, rng)
        w = data.weights.copy()
        target, source = data.target, data.source
        start_share = w[target].sum() / w.sum()
        steps, shares, cv_errors = [], [], []
        for step in range(self.n_steps):
            steps.append(w.copy())
            shares.append(w[target].sum() / w.sum())
            cv_errors.append(self._cv_error(template, data, w, folds, rng))
            if step == self.n_steps - 1:
                break
            share = start_share + (step + 1) / (self.n_steps - 1) * (1.0 - start_share)
            model = fit_seeded(template, data.X, data.y, w * data.total_weight / w.sum(), rng)
            errors = adjusted_errors(model.predict(data.X), data.y, self.loss)
            w = _shift_to_target(w, errors, source, share)
        return steps, shares, cv_errors

    def _target_folds(self, data, rng):
        target_rows = np.flatnonzero(data.target)
        if len(target_rows) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 labelled target rows to "
                f"cross-validate its steps (cv), got {len(target_rows)}. Label more target "
                "rows, or use TrAdaBoostRegressor, which needs only one."
            )
        if isinstance(self.cv, Integral):
            n_splits = min(self.cv, len(target_rows))
            splitter = KFold(
                n_splits, shuffle=True, random_state=rng.randint(np.iinfo(np.int32).max)
            )
        else:
            splitter = check_cv(self.cv)
        X_target = data.X[target_rows]
        return [
            (target_rows[train], target_rows[test])
            for train, test in splitter.split(X_target, data.y[target_rows])
        ]

    def _cv_error(self, template, data, w, folds, rng):
        source_rows = np.flatnonzero(data.source)
        squared, weight = 0.0, 0.0
        for train_target, test in folds:
            train = np.concatenate([source_rows, train_target])
            sub = _Subset(data, train, w[train])
            model = self._stage_two(template, sub, sub.weights, rng)
            pred = weighted_median_predict(model.estimators, model.vote_weights, data.X[test])
            squared += np.sum(data.weights[test] * (pred - data.y[test]) ** 2)
            weight += data.weights[test].sum()
        return squared / weight

    def _stage_two(self, template, data, weights, rng):
        return boost_r2(
            template,
            data.X,
            data.y,
            weights,
            data.source,
            total_weight=data.total_weight,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            loss=self.loss,
            random_state=rng,
            mode="frozen_source",
        )


class _Subset:
    """The rows of a cross-validation training fold, shaped like ``BoostingData``."""

    def __init__(self, data, rows, weights):
        self.X, self.y, self.source = data.X[rows], data.y[rows], data.source[rows]
        self.weights = weights
        self.total_weight = float(data.weights[rows].sum())


def _shift_to_target(w, errors, source, share):
    """Lower the source rows by ``beta ** errors`` so that the target holds ``share``.

    ``beta`` in (0, 1] is found by bisection on ``log(beta)``; rows with zero error cannot
    be lowered that way, so the source is rescaled uniformly at the end to hit ``share``
    exactly (a no-op when the bisection converged).
    """
    target_total = w[~source].sum()
    if share >= 1.0:
        out = w.copy()
        out[source] = 0.0
        return out
    wanted = target_total * (1.0 - share) / share
    ws, es = w[source], errors[source]
    if ws.sum() <= wanted:
        out = w.copy()
        out[source] *= wanted / ws.sum()
        return out
    lo, hi = 0.0, 1.0  # bounds on z = -log(beta)
    while np.sum(ws * np.exp(-hi * es)) > wanted and hi < 1e6:
        lo, hi = hi, hi * 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if np.sum(ws * np.exp(-mid * es)) > wanted:
            lo = mid
        else:
            hi = mid
    lowered = ws * np.exp(-hi * es)
    out = w.copy()
    out[source] = lowered * (wanted / lowered.sum()) if lowered.sum() > 0 else 0.0
    return out
