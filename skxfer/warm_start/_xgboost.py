"""XGBoost source models continued or refreshed on labelled target rows."""

import json
import os

import numpy as np
from scipy.special import expit, logsumexp, softmax
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skxfer.utils import import_optional
from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._boosted import (
    BoostedTransfer,
    align_columns,
    check_boosted_X,
    frozen_inner,
    label_codes,
    source_classes,
    target_folds,
)
from skxfer.warm_start._leaf_refresh import gradients, refreshed_values
from skxfer.warm_start._recalibrate import fit_recalibration
from skxfer.warm_start._rows import transfer_rows

# XGBoost objective -> (the gradient this module computes, CV metric).
_OBJECTIVES = {
    "binary:logistic": ("logistic", "logloss"),
    "binary:logitraw": ("logistic", "logloss"),
    "multi:softprob": ("softmax", "mlogloss"),
    "multi:softmax": ("softmax", "mlogloss"),
    "reg:squarederror": ("squared", "rmse"),
}


class _BaseXGBTransfer(BoostedTransfer):
    """Shared fit of the XGBoost transfer classifier and regressor."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit (or load) the source model, then transfer it to the labelled target rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Target rows, or source and target rows stacked (see :func:`skxfer.pack`). NaN
            marks a missing value; pandas categorical columns are passed to XGBoost.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 for integer labels, NaN
            otherwise) and are not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, for the source fit and the target fit alike.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is a
            labelled target row.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        xgb = import_optional("xgboost", purpose=type(self).__name__)
        name = type(self).__name__
        X = check_boosted_X(self, X, reset=True)
        rows = transfer_rows(
            self,
            X,
            y,
            sample_weight,
            sample_domain,
            classifier=self._is_classifier,
            has_source=self.source_model is not None,
        )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if self.source_model is None:
            # Without sample_domain there are no source rows: the plain model on every row.
            fitted_on = rows.source if rows.has_domains else rows.target
            source, classes, eta = self._fit_source(xgb, X, rows, fitted_on, seed)
        else:
            source, classes, eta = self._load_source(xgb)
        self.source_model_ = source
        self.n_source_estimators_ = source.num_boosted_rounds()
        self._objective = _objective_of(source, self._is_classifier, name)
        self._source_eta = eta
        if self._is_classifier:
            self.classes_ = classes
        X = align_columns(X, source.feature_names, source.num_features(), name)
        if self.source_model is None and not rows.has_domains:
            self.booster_, self.n_estimators_ = source, 0
            self.margin_scale_, self.margin_bias_ = 1.0, np.zeros(self._n_outputs())
            return self
        y_target = self._target_codes(rows.y[rows.target])
        w_target = rows.sample_weight[rows.target]
        target = _dmatrix(xgb, _take(X, rows.target), source, label=y_target, weight=w_target)
        booster = source
        self.margin_scale_, self.margin_bias_ = 1.0, np.zeros(self._n_outputs())
        if self.recalibrate is not None or self.source_scale != 1.0:
            booster = self._recalibrate(xgb, booster, target, y_target, w_target)
        if self.strategy in ("refresh", "refresh_continue"):
            booster = self._refresh(xgb, booster, target, y_target, w_target)
        n_added = 0
        if self.strategy in ("continue", "refresh_continue"):
            booster, n_added = self._continue(xgb, booster, target, seed)
        self.booster_ = booster
        self.n_estimators_ = n_added
        return self

    def _load_source(self, xgb):
        """The given source booster, its classes and its learning rate (if known)."""
        name = type(self).__name__
        inner = frozen_inner(self.source_model, "XGBoost", (xgb.XGBModel,), name)
        classes, eta = None, None
        if isinstance(inner, xgb.XGBModel):
            if self._is_classifier and hasattr(inner, "classes_"):
                classes = np.asarray(inner.classes_)
            eta = inner.get_params().get("learning_rate")
            booster = inner.get_booster()
        elif isinstance(inner, xgb.Booster):
            booster = inner
        elif isinstance(inner, (str, os.PathLike)):
            if not os.path.exists(inner):
                raise FileNotFoundError(
                    f"source_model={os.fspath(inner)!r}: no such file. Pass the path of a model "
                    "saved with Booster.save_model or XGBModel.save_model."
                )
            booster = xgb.Booster(model_file=os.fspath(inner))
        else:
            raise TypeError(
                f"{name} takes source_model as a FrozenEstimator around a fitted "
                "xgboost.XGBClassifier/XGBRegressor, an xgboost.Booster, or the path of a saved "
                f"XGBoost model; got {type(inner).__name__}."
            )
        if self._is_classifier and classes is None:
            classes = np.arange(_n_outputs_of(booster))
        # No copy: continuation copies inside xgb.train and refresh builds a new booster, so
        # the user's model is never written to (copying 1,000 deep trees costs more than a
        # 1k-row continuation).
        return booster, classes, eta

    def _fit_source(self, xgb, X, rows, fitted_on, seed):
        params = {
            "n_estimators": 100,
            "max_depth": 6,
            "learning_rate": 0.3,
            "random_state": seed,
            "n_jobs": self.n_jobs,
            **(self.source_params or {}),
        }
        classes = None
        if self._is_classifier:
            classes = source_classes(rows.y, rows.source, rows.target, type(self).__name__)
            if len(classes) == 1:
                raise ValueError(
                    f"y has only one class ({classes[0]}) among the rows the source model is "
                    f"fitted on; {type(self).__name__} needs at least two classes."
                )
            model = xgb.XGBClassifier(**params)
            labels = np.searchsorted(classes, rows.y[fitted_on])
        else:
            model = xgb.XGBRegressor(**params)
            labels = np.asarray(rows.y[fitted_on], dtype=np.float64)
        model.fit(
            _take(X, fitted_on), labels, sample_weight=rows.sample_weight[fitted_on], verbose=False
        )
        return model.get_booster(), classes, model.get_params()["learning_rate"]

    def _target_codes(self, y_target):
        if not self._is_classifier:
            return np.asarray(y_target, dtype=np.float64)
        return label_codes(self.classes_, y_target, type(self).__name__)

    def _tree_params(self, seed):
        gradient, metric = _OBJECTIVES[self._objective]
        params = {
            "objective": self._objective,
            "eval_metric": metric,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "reg_lambda": self.reg_lambda,
            "seed": seed,
            "verbosity": 0,
        }
        if gradient == "softmax":
            params["num_class"] = len(self.classes_)
        if self.n_jobs is not None:
            params["nthread"] = self.n_jobs
        return {**params, **(self.params or {})}

    def _continue(self, xgb, booster, target, seed):
        params = self._tree_params(seed)
        n_added = self.n_estimators
        if n_added == "auto":
            n_added = self._choose_n_added(xgb, booster, target, params, seed)
        if n_added == 0:
            return booster, 0
        return xgb.train(params, target, num_boost_round=n_added, xgb_model=booster), n_added

    def _choose_n_added(self, xgb, booster, target, params, seed):
        """Number of added trees with the lowest mean CV loss on the target rows.

        Continuation adds trees to the source's margin, so each fold trains from scratch with
        that margin as its ``base_margin``: the same model as ``xgb_model=`` continuation.
        """
        n_rows = target.num_row()
        folds = target_folds(self.cv, target.get_label(), self._is_classifier, seed)
        if folds is None:
            return 0
        margin = booster.predict(target, output_margin=True)
        with_margin = target.slice(np.arange(n_rows))
        with_margin.set_base_margin(margin.ravel())
        history = xgb.cv(
            params,
            with_margin,
            num_boost_round=self.max_estimators,
            folds=folds,
            early_stopping_rounds=self.early_stopping_rounds,
            as_pandas=False,
        )
        metric = params["eval_metric"]
        curve = np.asarray(history[f"test-{metric}-mean"])
        # Zero added trees: the source margin alone, scored with the same metric.
        y, w = target.get_label(), target.get_weight()
        start = _metric(metric, margin, y, w if len(w) else np.ones(n_rows))
        best = int(np.argmin(curve))
        return 0 if start <= curve[best] else best + 1

    def _n_outputs(self):
        if _OBJECTIVES[self._objective][0] == "softmax":
            return len(self.classes_)
        return 1

    def _recalibrate(self, xgb, booster, target, y_target, w_target):
        """The source booster with its margin replaced by ``scale * margin + bias``: the
        scale is ``source_scale`` times the one fitted on the target rows (see
        ``_recalibrate.fit_recalibration``), the bias fitted there (0 without recalibrate)."""
        what = (
            f"recalibrate={self.recalibrate!r}"
            if self.recalibrate is not None
            else f"source_scale={self.source_scale!r}"
        )
        model, trees, group, _ = _tree_model(booster, what)
        n_rows, n_outputs = len(y_target), self._n_outputs()
        if set(group.tolist()) != set(range(n_outputs)):
            raise ValueError(
                f"{what} needs at least one source tree per output; the source model has none "
                "for some output. Use recalibrate=None and source_scale=1."
            )
        gradient, _ = _OBJECTIVES[self._objective]
        margin = booster.predict(target, output_margin=True).reshape(n_rows, n_outputs)
        scale, bias = 1.0, np.zeros(n_outputs)
        if self.recalibrate is not None:
            scale, bias = fit_recalibration(
                gradient,
                self.source_scale * (margin if n_outputs > 1 else margin[:, 0]),
                y_target,
                w_target,
                kind=self.recalibrate,
                tau=self.tau,
            )
        scale *= self.source_scale
        # The margin is base_score plus the trees' leaves: scaling every leaf scales the trees'
        # part, and the first tree of each output takes the rest of the change.
        leaves = booster.predict(target, pred_leaf=True).astype(np.intp)
        leaves = leaves.reshape(n_rows, len(trees))[0]
        base = margin[0].astype(np.float64)
        for t, tree in enumerate(trees):
            base[group[t]] -= float(tree["split_conditions"][leaves[t]])
        shift = (scale - 1.0) * base + bias
        first = {int(np.flatnonzero(group == k)[0]): k for k in range(n_outputs)}
        for t, tree in enumerate(trees):
            values = scale * np.asarray(tree["split_conditions"], dtype=np.float64)
            if t in first:
                values = values + shift[first[t]]
            _set_leaves(tree, values)
        self.margin_scale_, self.margin_bias_ = scale, bias
        return self._from_json(xgb, model)

    def _refresh(self, xgb, booster, target, y_target, w_target):
        """Re-estimate every leaf on the target rows, shrunk toward its source value."""
        model, trees, group, indptr = _tree_model(booster, f"strategy={self.strategy!r}")
        gradient, _ = _OBJECTIVES[self._objective]
        leaves = booster.predict(target, pred_leaf=True).astype(np.intp)
        leaves = leaves.reshape(len(y_target), len(trees))
        values = [np.asarray(t["split_conditions"], dtype=np.float64) for t in trees]
        n_outputs = self._n_outputs()
        margin = booster.predict(target, output_margin=True).reshape(len(y_target), n_outputs)
        for t in range(len(trees)):
            margin[:, group[t]] -= values[t][leaves[:, t]]
        eta = self._source_learning_rate(booster)
        for start, stop in zip(indptr[:-1], indptr[1:]):
            grad, hess = gradients(
                gradient, margin if n_outputs > 1 else margin[:, 0], y_target, w_target
            )
            grad, hess = grad.reshape(margin.shape), hess.reshape(margin.shape)
            for t in range(start, stop):
                k = group[t]
                is_leaf = np.asarray(trees[t]["left_children"]) == -1
                new = refreshed_values(
                    leaves[:, t],
                    grad[:, k],
                    hess[:, k],
                    values[t],
                    learning_rate=eta,
                    reg_lambda=self.reg_lambda,
                    tau=self.tau,
                )
                values[t] = np.where(is_leaf, new, values[t])
                margin[:, k] += values[t][leaves[:, t]]
        for tree, new in zip(trees, values):
            _set_leaves(tree, new)
        return self._from_json(xgb, model)

    def _from_json(self, xgb, model):
        text = json.dumps(model, separators=(",", ":"))
        booster = xgb.Booster(model_file=bytearray(text.encode()))
        booster.set_param({"nthread": self.n_jobs} if self.n_jobs is not None else {})
        return booster

    def _source_learning_rate(self, booster):
        if self.source_learning_rate is not None:
            return self.source_learning_rate
        eta = getattr(self, "_source_eta", None)
        if eta is None:
            config = json.loads(booster.save_config())
            eta = float(config["learner"]["gradient_booster"]["tree_train_param"]["eta"])
        return float(eta)

    def _margin(self, X):
        xgb = import_optional("xgboost", purpose=type(self).__name__)
        check_is_fitted(self)
        X = check_boosted_X(self, X, reset=False)
        X = align_columns(
            X, self.booster_.feature_names, self.booster_.num_features(), type(self).__name__
        )
        margin = self.booster_.predict(_dmatrix(xgb, X, self.booster_), output_margin=True)
        return margin

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class XGBTransferClassifier(LabelledScoreMixin, ClassifierMixin, _BaseXGBTransfer):
    """XGBoost classifier carried from a source model to a few labelled target rows.

    The source is a fitted XGBoost model (``source_model``) or is fitted on the rows that
    ``sample_domain`` marks as source. ``strategy`` says what is done with the labelled
    target rows:

    - ``"continue"``: append trees fitted on the target rows to the source trees (XGBoost's
      ``xgb_model=`` continuation), as many as ``n_estimators``, or chosen by cross-validation
      on the target rows when ``"auto"`` (possibly none);
    - ``"refresh"``: keep the source trees' structure and re-estimate each leaf on the target
      rows, shrunk toward its source value with strength ``tau`` (see Notes);
    - ``"refresh_continue"``: refresh, then continue.

    The classes are the source model's: a target may miss some of them, but a target class
    the source does not know raises an error rather than silently changing the model.

    Parameters
    ----------
    source_model : FrozenEstimator, xgboost.Booster, str or os.PathLike, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``xgboost.XGBClassifier``, a binary or multiclass ``Booster``, or the path of a saved
        model. ``None`` fits an ``XGBClassifier(**source_params)`` on the source rows.
    strategy : {"continue", "refresh", "refresh_continue"}, default="continue"
        How the target rows change the source model.
    recalibrate : {"bias", "affine"} or None, default=None
        First correct the source's margin on the labelled target rows: ``"bias"`` adds one
        fitted offset per output (a change of base rate, i.e. prior shift), ``"affine"`` also
        multiplies the margin by one fitted scale (over- or under-confidence). Both are pulled
        toward no change by ``tau``: the fit minimises the target loss plus
        ``tau / 2 * ((scale - 1)**2 + ||bias||**2)``. The chosen strategy then starts from the
        corrected model. Two or three numbers are learnt where refresh learns hundreds, so it
        is the change that a dozen labelled target rows can support.
    source_scale : float, default=1.0
        Multiply the source's margin by this before anything else: ``1`` keeps the source
        model, values below 1 soften its confidence, and ``0`` discards it, so that
        ``source_scale=0, recalibrate="bias", strategy="continue"`` is plain boosting on the
        target rows from their base rate. With it in a grid, a grid search can refuse the
        source when it hurts (negative transfer) instead of only choosing how to change it.
    n_estimators : int or "auto", default="auto"
        Boosting rounds added by ``"continue"``. ``"auto"`` picks the count (0 to
        ``max_estimators``) with the lowest mean ``cv``-fold log-loss on the target rows.
    max_estimators : int, default=500
        Largest number of rounds ``"auto"`` considers.
    early_stopping_rounds : int, default=20
        ``"auto"`` stops after this many added rounds without a better CV loss.
    cv : int, cross-validation generator or iterable, default=3
        Folds of the cross-validation of ``"auto"``, over the labelled target rows: a number
        of shuffled folds (stratified when every class has that many rows), a splitter, or
        ``(train, test)`` index pairs into the labelled target rows.
    learning_rate : float, default=0.1
        Shrinkage of the added trees.
    max_depth : int, default=3
        Depth of the added trees.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values of the added trees and of refreshed leaves.
    tau : float, default=1.0
        Pull of each refreshed leaf toward its source value, in hessian units (roughly how
        many target rows of evidence a source leaf is worth). ``0`` is XGBoost's native
        refresh without its ``min_child_weight`` pruning; large values keep the source leaves.
        Also the pull of ``recalibrate`` toward the uncorrected margin.
    source_learning_rate : float, default=None
        Learning rate the source trees were fitted with; refresh scales its Newton step by
        it. ``None`` reads it from the source model (a model loaded from a file does not
        store it, and XGBoost's default 0.3 is used).
    source_params : dict, default=None
        Parameters of the ``XGBClassifier`` fitted on the source rows when ``source_model``
        is None (defaults: 100 trees of depth 6, learning rate 0.3).
    params : dict, default=None
        Further native XGBoost parameters of the added trees, e.g. ``{"subsample": 0.8}``.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the CV folds and XGBoost's sampling.
    n_jobs : int, default=None
        XGBoost threads (``nthread``); ``None`` lets XGBoost decide.

    Attributes
    ----------
    booster_ : xgboost.Booster
        The transferred model.
    source_model_ : xgboost.Booster
        The source model's booster (read, never changed).
    n_estimators_ : int
        Rounds added by ``"continue"`` (chosen by CV when ``n_estimators="auto"``).
    n_source_estimators_ : int
        Rounds of the source model.
    margin_scale_ : float
        Scale fitted by ``recalibrate="affine"`` (1.0 otherwise).
    margin_bias_ : ndarray of shape (n_outputs,)
        Offsets fitted by ``recalibrate`` (zeros without it): one for a binary or regression
        model, one per class otherwise.
    classes_ : ndarray of shape (n_classes,)
        The source model's classes (``0..n_classes-1`` for a bare Booster).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` got a DataFrame; DataFrames are aligned to the source
        model's feature names by name.

    See Also
    --------
    XGBTransferRegressor : The regression twin.
    CatBoostTransferClassifier : The same strategies for CatBoost models.
    PooledTransfer : The baseline of fitting on source and target rows together.

    Notes
    -----
    Refresh processes the source rounds in order. For each leaf reached by target rows with
    gradient sum ``G`` and hessian sum ``H`` (at the margin of the rounds before it) the new
    stored value is ``(tau * w_src - eta * G) / (H + reg_lambda + tau)``, the minimiser of
    the boosting objective plus ``tau / 2 * (v - v_src)**2``. XGBoost's own refresh
    (``process_type="update"``) is ``tau = 0`` and also zeroes every leaf whose target
    hessian is below ``min_child_weight``; with a few hundred target rows that discards most
    of the source model.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import XGBTransferClassifier
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(500, 4))
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> X_target = rng.normal(0.5, 1.0, size=(60, 4))
    >>> y_target = (X_target[:, 0] + X_target[:, 1] > 0.5).astype(int)
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> clf = XGBTransferClassifier(
    ...     strategy="refresh_continue", source_params={"n_estimators": 30}, random_state=0
    ... )
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> clf.predict_proba(X_target[:2]).shape
    (2, 2)
    """

    _is_classifier = True

    def decision_function(self, X):
        """Raw margin of the transferred model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        margin : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Log-odds of ``classes_[1]`` for two classes; one column per class otherwise.
        """
        margin = self._margin(X)
        return margin.reshape(len(margin), -1) if len(self.classes_) > 2 else margin.ravel()

    def predict_proba(self, X):
        """Class probabilities of the transferred model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        margin = self.decision_function(X)
        if margin.ndim == 1:
            p = expit(margin)
            return np.column_stack([1 - p, p])
        return softmax(margin, axis=1)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class XGBTransferRegressor(LabelledScoreMixin, RegressorMixin, _BaseXGBTransfer):
    """XGBoost regressor carried from a source model to a few labelled target rows.

    The regression twin of :class:`XGBTransferClassifier`, with the same parameters and
    strategies, for a source model with the squared-error objective.

    Parameters
    ----------
    source_model : FrozenEstimator, xgboost.Booster, str or os.PathLike, default=None
        A :class:`~sklearn.frozen.FrozenEstimator` around a fitted ``xgboost.XGBRegressor``,
        a ``Booster`` with objective ``reg:squarederror``, or the path of a saved model.
        ``None`` fits an ``XGBRegressor(**source_params)`` on the source rows.
    strategy : {"continue", "refresh", "refresh_continue"}, default="continue"
        How the target rows change the source model.
    recalibrate : {"bias", "affine"} or None, default=None
        First fit an offset (``"bias"``), or an offset and a scale (``"affine"``), of the
        source's prediction on the target rows, pulled toward no change by ``tau`` (see
        :class:`XGBTransferClassifier`); the strategy then starts from the corrected model.
    source_scale : float, default=1.0
        Multiply the source's prediction by this first; ``0`` discards the source, and with
        ``recalibrate="bias"`` the model then starts from the target rows' mean (see the
        classifier's ``source_scale``).
    n_estimators : int or "auto", default="auto"
        Boosting rounds added by ``"continue"``; ``"auto"`` picks the count with the lowest
        mean ``cv``-fold RMSE on the target rows (possibly 0).
    max_estimators : int, default=500
        Largest number of rounds ``"auto"`` considers.
    early_stopping_rounds : int, default=20
        ``"auto"`` stops after this many added rounds without a better CV loss.
    cv : int, cross-validation generator or iterable, default=3
        Folds of the cross-validation of ``"auto"`` over the labelled target rows (see
        :class:`XGBTransferClassifier`).
    learning_rate : float, default=0.1
        Shrinkage of the added trees.
    max_depth : int, default=3
        Depth of the added trees.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values of the added trees and of refreshed leaves.
    tau : float, default=1.0
        Pull of each refreshed leaf toward its source value, and of ``recalibrate`` toward
        the uncorrected margin (see :class:`XGBTransferClassifier`).
    source_learning_rate : float, default=None
        Learning rate the source trees were fitted with; ``None`` reads it from the model.
    source_params : dict, default=None
        Parameters of the ``XGBRegressor`` fitted on the source rows when ``source_model``
        is None (defaults: 100 trees of depth 6, learning rate 0.3).
    params : dict, default=None
        Further native XGBoost parameters of the added trees.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the CV folds and XGBoost's sampling.
    n_jobs : int, default=None
        XGBoost threads; ``None`` lets XGBoost decide.

    Attributes
    ----------
    booster_ : xgboost.Booster
        The transferred model.
    source_model_ : xgboost.Booster
        The source model's booster (read, never changed).
    n_estimators_ : int
        Rounds added by ``"continue"``.
    n_source_estimators_ : int
        Rounds of the source model.
    margin_scale_ : float
        Scale fitted by ``recalibrate="affine"`` (1.0 otherwise).
    margin_bias_ : ndarray of shape (n_outputs,)
        Offsets fitted by ``recalibrate`` (zeros without it): one for a binary or regression
        model, one per class otherwise.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``fit`` got a DataFrame.

    See Also
    --------
    XGBTransferClassifier : The classification twin, with the details of each strategy.
    CatBoostTransferRegressor : The same strategies for CatBoost models.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import XGBTransferRegressor
    >>> rng = np.random.RandomState(0)
    >>> X_source = rng.normal(size=(500, 3))
    >>> X_target = rng.normal(size=(40, 3))
    >>> X, y, sample_domain = pack(X_source, X_source[:, 0], X_target, X_target[:, 0] + 1.0)
    >>> reg = XGBTransferRegressor(
    ...     strategy="refresh", tau=0.5, source_params={"n_estimators": 30}, n_jobs=1
    ... )
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> float(np.mean(reg.predict(X_target) - X_target[:, 0])) > 0.3
    True
    """

    _is_classifier = False

    def predict(self, X):
        """Predicted target values.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._margin(X).ravel()


def _objective_of(booster, classifier, name):
    config = json.loads(booster.save_config())
    objective = config["learner"]["objective"]["name"]
    if objective not in _OBJECTIVES:
        raise ValueError(
            f"{name} supports source models with objective in {sorted(_OBJECTIVES)}; the "
            f"source model uses {objective!r}."
        )
    is_classification = _OBJECTIVES[objective][0] != "squared"
    if is_classification != classifier:
        kind, other = (
            ("classifier", "XGBTransferRegressor")
            if classifier
            else (
                "regressor",
                "XGBTransferClassifier",
            )
        )
        raise ValueError(
            f"{name} is a {kind}, but the source model's objective is {objective!r}; use "
            f"{other} for this source model."
        )
    return objective


def _tree_model(booster, what):
    """The booster's JSON model, its trees, each tree's output and the rounds' tree ranges."""
    model = json.loads(booster.save_raw("json"))
    trees_model = model["learner"]["gradient_booster"].get("model", {})
    if "trees" not in trees_model:
        raise ValueError(
            f"{what} needs a tree booster (gbtree); the source model uses "
            f"{model['learner']['gradient_booster'].get('name')!r}. Use strategy='continue'."
        )
    trees = trees_model["trees"]
    if any(int(t["tree_param"].get("size_leaf_vector", "1")) > 1 for t in trees):
        raise ValueError(
            f"{what} does not support multi-output trees (multi_strategy='multi_output_tree'); "
            "use strategy='continue'."
        )
    group = np.asarray(trees_model["tree_info"], dtype=np.intp)
    indptr = np.asarray(trees_model["iteration_indptr"], dtype=np.intp)
    return model, trees, group, indptr


def _set_leaves(tree, values):
    """Store ``values`` (one per node) as the leaf values of a JSON tree; splits keep theirs."""
    is_leaf = np.asarray(tree["left_children"]) == -1
    for node in np.flatnonzero(is_leaf):
        tree["split_conditions"][node] = float(values[node])
        tree["base_weights"][node] = float(values[node])


def _n_outputs_of(booster):
    config = json.loads(booster.save_config())
    n_class = int(config["learner"]["learner_model_param"]["num_class"])
    return max(n_class, 2)


def _dmatrix(xgb, X, booster, label=None, weight=None):
    if hasattr(X, "iloc"):
        return xgb.DMatrix(X, label=label, weight=weight, enable_categorical=True)
    return xgb.DMatrix(
        X, label=label, weight=weight, missing=np.nan, feature_names=booster.feature_names
    )


def _take(X, mask):
    return X.iloc[np.flatnonzero(mask)] if hasattr(X, "iloc") else X[mask]


def _metric(metric, margin, y, w):
    """The CV metric of ``xgb.cv`` for the source margin alone (zero added trees)."""
    margin = np.asarray(margin, dtype=np.float64)
    if metric == "rmse":
        return float(np.sqrt(np.average((margin.ravel() - y) ** 2, weights=w)))
    if metric == "logloss":
        margin = margin.ravel()
        return float(np.average(np.logaddexp(0.0, margin) - y * margin, weights=w))
    margin = margin.reshape(len(y), -1)
    picked = margin[np.arange(len(y)), y.astype(np.intp)]
    return float(np.average(logsumexp(margin, axis=1) - picked, weights=w))
