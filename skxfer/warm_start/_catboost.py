"""CatBoost warm start: continue a source model, or refresh its leaves, on labelled target rows."""

import os
import tempfile
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy.special import logsumexp
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array, check_is_fitted, check_random_state, validate_data

from skxfer.utils import import_optional
from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._boosted import BoostedTransfer, target_folds
from skxfer.warm_start._leaf_refresh import gradients, refreshed_values
from skxfer.warm_start._recalibrate import fit_recalibration
from skxfer.warm_start._rows import check_target_classes, transfer_rows

# Source losses whose leaves refresh can re-estimate, and the gradients it uses for them.
_REFRESH_OBJECTIVES = {
    "RMSE": "squared",
    "Logloss": "logistic",
    "CrossEntropy": "logistic",
    "MultiClass": "softmax",
}

# CatBoost parameters that the constructor sets (or that must follow the source model).
_RESERVED = {
    "iterations": "n_estimators",
    "n_estimators": "n_estimators",
    "num_boost_round": "n_estimators",
    "num_trees": "n_estimators",
    "learning_rate": "learning_rate",
    "eta": "learning_rate",
    "depth": "max_depth",
    "max_depth": "max_depth",
    "l2_leaf_reg": "reg_lambda",
    "reg_lambda": "reg_lambda",
    "random_seed": "random_state",
    "random_state": "random_state",
    "thread_count": "n_jobs",
    "loss_function": "source_model (continuation keeps the source's loss)",
    "objective": "source_model (continuation keeps the source's loss)",
    "class_names": "source_model (continuation keeps the source's classes)",
    "cat_features": "source_model (continuation keeps the source's categorical features)",
}


class _CatBoostTransfer(BoostedTransfer):
    """Shared fit of the CatBoost transfer classifier and regressor."""

    # CatBoost's symmetric trees allow a depth of at most 16.
    _parameter_constraints: dict = {
        **BoostedTransfer._parameter_constraints,
        "max_depth": [Interval(Integral, 1, 16, closed="both")],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit or load the source model, then transfer it to the labelled target rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Source and target rows, stacked (see :func:`skxfer.pack`), or only target rows
            when ``source_model`` is given. NaN means missing. DataFrame columns are matched
            to the source model's features by name; its categorical features come from
            columns of strings or pandas categories.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 for integer labels, NaN
            or None otherwise) and are not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for the source fit, the refresh and the added trees. A row with
            weight 0 is the same as a row left out.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is
            target data.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        catboost = import_optional("catboost", purpose=type(self).__name__)
        _check_extra_params(self.params)
        source = self._given_source(catboost)
        X = self._check_X(X, reset=True)
        rows = transfer_rows(
            self,
            X,
            y,
            sample_weight,
            sample_domain,
            classifier=self._is_classifier,
            has_source=source is not None,
        )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if source is None:
            # Without sample_domain there are no source rows: the plain model on every row.
            fitted_on = rows.source if rows.has_domains else rows.target
            self._layout = _own_layout(X, self.source_params)
            source = self._fit_source(catboost, X, rows, fitted_on, seed)
        else:
            self._layout = _source_layout(X, source, type(self).__name__)
        info = self._describe_source(source)
        self.source_model_ = source
        self.n_source_estimators_ = int(source.tree_count_)
        if self._is_classifier:
            self.classes_ = info.classes
            check_target_classes(type(self).__name__, rows.y[rows.target], info.classes)
        if self.source_model is None and not rows.has_domains:
            self.model_ = source
            self.n_estimators_ = 0
            self.margin_scale_, self.margin_bias_ = 1.0, np.zeros(info.dim)
            return self
        target = _Target(
            data=_take(self._catboost_data(X), rows.target),
            y=rows.y[rows.target],
            weight=rows.sample_weight[rows.target],
        )
        model = self._transfer(catboost, source, info, target, seed)
        self.model_, self.n_estimators_ = model
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # --- the source model -------------------------------------------------------------

    def _given_source(self, catboost):
        """The native source model named by ``source_model``, or None to fit one."""
        source = self.source_model
        if source is None:
            return None
        name = type(self).__name__
        if isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            if not os.path.isfile(path):
                raise ValueError(
                    f"source_model {path!r} is not a file; pass the path of a model saved with "
                    "CatBoost's save_model (.cbm)."
                )
            try:
                return self._native_class(catboost)().load_model(path)
            except catboost.CatBoostError as exc:
                raise ValueError(f"CatBoost could not load source_model {path!r}: {exc}") from exc
        if isinstance(source, FrozenEstimator):
            inner = source.estimator
            if not isinstance(inner, catboost.CatBoost):
                raise TypeError(
                    f"source_model is a FrozenEstimator around a {type(inner).__name__}; "
                    f"{name} needs a fitted CatBoost model inside it."
                )
        elif isinstance(source, catboost.CatBoost):
            if type(source) is not catboost.CatBoost:
                raise TypeError(
                    f"source_model is a bare {type(source).__name__}; wrap it as "
                    "FrozenEstimator(model) (from sklearn.frozen import FrozenEstimator): clone, "
                    "and so every grid search, replaces an unwrapped estimator by an unfitted "
                    "copy."
                )
            inner = source
        else:
            raise TypeError(
                f"source_model must be a FrozenEstimator around a fitted CatBoost model, a "
                f"fitted catboost.CatBoost, or the path of a saved model; got "
                f"{type(source).__name__}."
            )
        if not inner.is_fitted():
            raise ValueError(
                f"source_model holds an unfitted {type(inner).__name__}; fit it first (a "
                "FrozenEstimator keeps the fit through clone)."
            )
        return inner

    def _fit_source(self, catboost, X, rows, fitted_on, seed):
        name = type(self).__name__
        if fitted_on.sum() < 2:
            raise ValueError(
                f"{name} fits its source model on {int(fitted_on.sum())} row; it needs at least "
                "2 (n_samples = 1 leaves nothing to split)."
            )
        y = rows.y[fitted_on]
        params = {
            "iterations": 200,
            "random_seed": seed,
            "verbose": False,
            "allow_writing_files": False,
            "thread_count": _threads(self.n_jobs),
        }
        params.update({k: v for k, v in (self.source_params or {}).items() if k != "cat_features"})
        if self._is_classifier:
            classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(
                    f"{name} needs at least two classes to fit its source model; the rows it "
                    f"fits on hold one class: {classes.tolist()}."
                )
            params.setdefault("class_names", classes.tolist())
        data = _take(self._catboost_data(X), fitted_on)
        pool = self._pool(catboost, data, y, rows.sample_weight[fitted_on])
        model = self._native_class(catboost)(**params)
        _run_catboost(catboost, "fit the source model", model.fit, pool)
        return model

    def _describe_source(self, source):
        name = type(self).__name__
        params = source.get_all_params()
        loss = params.get("loss_function")
        if loss is None:
            raise ValueError(f"source_model does not record its loss function; {name} needs it.")
        classes = source.classes_
        classes = np.asarray([] if classes is None else classes)
        dim = _LeafTable(source).dim
        if self._is_classifier and len(classes) < 2:
            raise ValueError(
                f"source_model is a regression model (loss {loss}); use "
                "CatBoostTransferRegressor, or pass a classifier."
            )
        if not self._is_classifier and (len(classes) or dim != 1):
            raise ValueError(
                f"source_model (loss {loss}) is not a single-output regression model; "
                f"{name} needs one (use CatBoostTransferClassifier for classifiers)."
            )
        learning_rate = self.source_learning_rate or params.get("learning_rate")
        return _SourceInfo(loss, loss.split(":")[0], classes, dim, learning_rate)

    # --- the transfer -----------------------------------------------------------------

    def _transfer(self, catboost, source, info, target, seed):
        refresh = self.strategy in ("refresh", "refresh_continue")
        objective = None  # only refresh and a fitted recalibration need the loss's gradients
        if refresh or self.recalibrate is not None:
            objective = _refresh_objective(info, type(self).__name__, self._changes_leaves())

        def base_model(rows):
            """The source as corrected on the target rows ``rows``, before any added tree."""
            part = target.subset(rows)
            model, calibration = source, (1.0, np.zeros(info.dim))
            if self.recalibrate is not None or self.source_scale != 1.0:
                model, calibration = self._recalibrate(catboost, model, info, objective, part)
            if refresh:
                model = self._refresh(catboost, model, info, objective, part)
            return model, calibration

        model, (self.margin_scale_, self.margin_bias_) = base_model(slice(None))
        if model is source:
            model = _solid_copy(model, self._native_class(catboost))
        if self.strategy == "refresh":
            return model, 0
        n_added = self.n_estimators
        if n_added == "auto":
            n_added = self._choose_n_added(catboost, base_model, info, target, seed)
        if n_added == 0:
            return model, 0
        booster = self._booster(catboost, info, n_added, seed)
        pool = self._fit_pool(catboost, target, info)
        _run_catboost(catboost, "continue the source model", booster.fit, pool, init_model=model)
        return booster, n_added

    def _changes_leaves(self):
        if self.strategy in ("refresh", "refresh_continue"):
            return f"strategy={self.strategy!r}"
        return f"recalibrate={self.recalibrate!r}"

    def _recalibrate(self, catboost, source, info, objective, target):
        """A copy of ``source`` whose margin is ``scale * margin + bias``, and that
        ``(scale, bias)``: the scale is ``source_scale`` times the one fitted on ``target``
        (see ``_recalibrate.fit_recalibration``), the bias fitted there (0 without
        recalibrate)."""
        model = _solid_copy(source, self._native_class(catboost))
        scale, bias = 1.0, np.zeros(info.dim)
        if self.recalibrate is not None:
            pool = self._pool(catboost, target.data)
            margin = model.predict(pool, prediction_type="RawFormulaVal")
            labels = self._codes(target.y, info) if self._is_classifier else target.y
            scale, bias = fit_recalibration(
                objective,
                self.source_scale * np.asarray(margin, dtype=np.float64),
                np.asarray(labels, dtype=np.float64),
                target.weight,
                kind=self.recalibrate,
                tau=self.tau,
            )
        scale *= self.source_scale
        # CatBoost's margin is its scale times the leaves plus its bias.
        old_scale, old_bias = model.get_scale_and_bias()
        new_bias = scale * np.atleast_1d(np.asarray(old_bias, dtype=np.float64)) + bias
        model.set_scale_and_bias(
            scale * float(old_scale), float(new_bias[0]) if info.dim == 1 else new_bias.tolist()
        )
        return _solid_copy(model, self._native_class(catboost)), (scale, bias)

    def _refresh(self, catboost, source, info, objective, target):
        """A copy of ``source`` whose leaf values are re-estimated on ``target``, tree by tree."""
        if info.learning_rate is None:
            raise ValueError(
                "source_model does not record its learning rate, which refresh needs; pass "
                "source_learning_rate."
            )
        model = _solid_copy(source, self._native_class(catboost))
        table = _LeafTable(model)
        leaves = model.calc_leaf_indexes(self._pool(catboost, target.data))
        labels = self._codes(target.y, info) if self._is_classifier else target.y
        labels = np.asarray(labels, dtype=np.float64)
        margin = table.start_margin(len(labels))
        values = table.values.copy()
        for tree in range(table.n_trees):
            grad, hess = gradients(objective, margin, labels, target.weight)
            leaf = leaves[:, tree].astype(np.intp)
            src = table.block(tree)
            new = np.empty_like(src)
            for k in range(table.dim):
                g = grad if grad.ndim == 1 else grad[:, k]
                h = hess if hess.ndim == 1 else hess[:, k]
                new[:, k] = refreshed_values(
                    leaf,
                    g,
                    h,
                    src[:, k],
                    learning_rate=info.learning_rate,
                    reg_lambda=self.reg_lambda,
                    tau=self.tau,
                )
            step = new[leaf]
            margin = margin + (step[:, 0] if margin.ndim == 1 else step)
            values[table.offsets[tree] : table.offsets[tree + 1]] = (new / table.scale).ravel()
        model.set_leaf_values(values)
        # A loaded model keeps predicting with the leaf values it was loaded with; a reload
        # makes it use the new ones.
        return _solid_copy(model, self._native_class(catboost))

    def _choose_n_added(self, catboost, base_model, info, target, seed):
        """Number of added trees with the lowest mean validation loss over ``cv`` folds of
        the target rows (0 when the base model alone is best)."""
        folds = target_folds(self.cv, target.y, self._is_classifier, seed)
        if folds is None:
            return 0
        curves = []
        for train, test in folds:
            base, _ = base_model(train)
            booster = self._booster(catboost, info, self.max_estimators, seed)
            held_out = target.subset(test)
            _run_catboost(
                catboost,
                "continue the source model on a cross-validation fold",
                booster.fit,
                self._fit_pool(catboost, target.subset(train), info),
                init_model=base,
                eval_set=self._fit_pool(catboost, held_out, info, ghosts=False),
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=False,
            )
            curves.append(self._loss_curve(catboost, booster, base.tree_count_, held_out, info))
        length = max(len(c) for c in curves)
        # A fold that stopped early keeps its last loss for the counts it did not reach.
        padded = [np.r_[c, np.full(length - len(c), c[-1])] for c in curves]
        return int(np.argmin(np.mean(padded, axis=0)))

    def _loss_curve(self, catboost, model, start, held_out, info):
        """The loss of ``model`` on ``held_out`` after each of its trees from ``start`` on
        (the first entry: the first ``start`` trees alone)."""
        from catboost.utils import eval_metric

        table = _LeafTable(model)
        leaves = model.calc_leaf_indexes(self._pool(catboost, held_out.data)).astype(np.intp)
        labels = self._codes(held_out.y, info) if self._is_classifier else held_out.y
        labels = np.asarray(labels, dtype=np.float64)
        margin = table.start_margin(len(labels))
        for tree in range(start):
            margin = margin + table.step(tree, leaves[:, tree], margin.ndim)
        steps = [
            table.step(tree, leaves[:, tree], margin.ndim) for tree in range(start, table.n_trees)
        ]
        margins = np.cumsum([margin, *steps], axis=0)  # after 0, 1, ... added trees
        weight = np.asarray(held_out.weight, dtype=np.float64)
        curve = _stage_losses(info.loss, labels, margins, weight)
        if curve is None:  # a loss numpy does not know here: CatBoost's own, stage by stage
            curve = [eval_metric(labels, m, info.loss, weight=weight)[0] for m in margins]
        return np.asarray(curve)

    def _booster(self, catboost, info, n_trees, seed):
        params = {
            "iterations": n_trees,
            "learning_rate": self.learning_rate,
            "depth": self.max_depth,
            "l2_leaf_reg": self.reg_lambda,
            "loss_function": info.loss,
            "random_seed": seed,
            "thread_count": _threads(self.n_jobs),
            "verbose": False,
            "allow_writing_files": False,
        }
        if self._is_classifier and info.loss_name != "CrossEntropy":
            params["class_names"] = info.classes.tolist()
        params.update(self.params or {})
        return self._native_class(catboost)(**params)

    def _fit_pool(self, catboost, target, info, ghosts=True):
        """A training pool of target rows, in the label form CatBoost expects for ``info``.

        CatBoost refuses to train on a single label value even when continuing a model, so
        a row of weight 0 is added for each missing class (or a second value of a constant
        regression target): it moves no gradient.
        """
        data, y, weight = target.data, target.y, target.weight
        if self._is_classifier and info.loss_name == "CrossEntropy":
            y = self._codes(y, info).astype(np.float64)
            missing = np.setdiff1d([0.0, 1.0], y)
        elif self._is_classifier:
            missing = np.asarray([c for c in info.classes if c not in set(y.tolist())])
        else:
            y = np.asarray(y, dtype=np.float64)
            missing = np.asarray([y[0] + 1.0]) if np.all(y == y[0]) else np.asarray([])
        if ghosts and len(missing):
            data = _concat(data, _take(data, np.zeros(len(missing), dtype=np.intp)))
            y = np.concatenate([y, missing.astype(y.dtype)])
            weight = np.r_[weight, np.zeros(len(missing))]
        return self._pool(catboost, data, y, weight)

    # --- data ---------------------------------------------------------------------------

    def _check_X(self, X, *, reset):
        """Validate ``X`` without turning a DataFrame's categorical columns into numbers."""
        if hasattr(X, "iloc") and hasattr(X, "dtypes"):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] == 0:
                raise ValueError(
                    f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                    f"required by {type(self).__name__}."
                )
            return X
        return validate_data(self, X, reset=reset, dtype=None, ensure_all_finite=False)

    def _catboost_data(self, X):
        """``X`` with the source model's features in its order: a float array, or a
        DataFrame whose categorical columns are kept as they are."""
        layout = self._layout
        frame = hasattr(X, "iloc")
        if not layout.cat:
            X = X.iloc[:, layout.columns] if frame else X[:, layout.columns]
            return check_array(X, dtype=np.float64, ensure_all_finite="allow-nan", input_name="X")
        import pandas as pd

        columns = {}
        for j, name in enumerate(layout.names):
            col = X.iloc[:, layout.columns[j]] if frame else X[:, layout.columns[j]]
            if j in layout.cat:
                values = np.asarray(col, dtype=object)
                if pd.isna(values).any():
                    raise ValueError(
                        f"Categorical feature {name!r} holds missing values; CatBoost needs a "
                        "category on every row. Fill them, e.g. X[col].fillna('missing')."
                    )
                columns[name] = values
            else:
                columns[name] = check_array(
                    np.asarray(col).reshape(-1, 1),
                    dtype=np.float64,
                    ensure_all_finite="allow-nan",
                    input_name="X",
                ).ravel()
        return pd.DataFrame(columns)

    def _pool(self, catboost, data, label=None, weight=None):
        return catboost.Pool(
            data,
            label=label,
            weight=weight,
            cat_features=self._layout.cat or None,
            feature_names=list(self._layout.names),
        )

    def _predict_pool(self, X):
        check_is_fitted(self)
        catboost = import_optional("catboost", purpose=type(self).__name__)
        X = self._check_X(X, reset=False)
        return self._pool(catboost, self._catboost_data(X))

    def _codes(self, labels, info):
        """Position of each label in the source's classes."""
        order = np.argsort(info.classes)
        return order[np.searchsorted(info.classes, labels, sorter=order)]


class CatBoostTransferClassifier(LabelledScoreMixin, ClassifierMixin, _CatBoostTransfer):
    """Warm start of a CatBoost classifier on a few labelled target rows.

    The source model is a fitted CatBoost classifier (``source_model``) or is fitted here on
    the rows ``sample_domain`` marks as source. ``strategy`` says what happens on the labelled
    target rows:

    - ``"continue"`` appends trees fitted on them to the source model (CatBoost's
      ``init_model=`` continuation): the source's trees, bias and classes stay, the new trees
      fit what the source gets wrong on the target. ``n_estimators="auto"`` picks the number
      of added trees (possibly 0) by ``cv``-fold cross-validation on the target rows.
    - ``"refresh"`` keeps every source tree's splits and re-estimates its leaf values on the
      target rows, tree by tree, each leaf shrunk toward its source value:
      ``w = (tau * w_src - lr * G) / (H + reg_lambda + tau)`` with the target gradient ``G``
      and hessian ``H`` of the leaf at the margin of the trees before it and the source's
      learning rate ``lr``. ``tau = 0`` is a plain Newton refit of the leaves, a large ``tau``
      keeps the source. Needs a ``Logloss``, ``CrossEntropy`` or ``MultiClass`` source.
    - ``"refresh_continue"``: refresh, then continue.

    A target that lacks some source classes is fine (the model still predicts all of them);
    a target class the source does not know raises, and a binary source stays binary.

    Parameters
    ----------
    source_model : FrozenEstimator, catboost.CatBoost, str or path-like, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``CatBoostClassifier`` (it survives ``clone`` and grid searches), a fitted native
        ``catboost.CatBoost`` (``clone`` cannot copy it: freeze it for grid searches), or the
        path of a model saved with ``save_model``. It is never modified. ``None`` fits it on
        the source rows with ``source_params``.
    strategy : {"continue", "refresh", "refresh_continue"}, default="continue"
        What to do on the labelled target rows (see above).
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
        Trees added by continuation. ``"auto"`` takes the count (0 to ``max_estimators``)
        with the lowest mean ``cv``-fold log-loss on the target rows.
    max_estimators : int, default=500
        Most trees ``"auto"`` may add.
    early_stopping_rounds : int, default=20
        A fold of ``"auto"`` stops after this many added trees without a lower validation
        loss.
    cv : int, cross-validation generator or iterable, default=3
        Folds of the labelled target rows for ``"auto"`` (shuffled, stratified when every
        class has a row in each fold).
    learning_rate : float, default=0.1
        Learning rate of the added trees.
    max_depth : int, default=3
        Depth of the added (symmetric) trees.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values: CatBoost's ``l2_leaf_reg`` for the added trees, and the
        ``reg_lambda`` of refresh.
    tau : float, default=1.0
        Pull of each refreshed leaf toward its source value, and of ``recalibrate`` toward
        the uncorrected margin, in hessian units (about how many target rows of evidence the
        source counts as).
    source_learning_rate : float, default=None
        Learning rate the source's leaf values were stored with, for refresh; ``None`` reads
        it from the source model.
    source_params : dict, default=None
        CatBoost parameters of the source model fitted when ``source_model`` is None (default
        200 iterations; ``cat_features`` names the categorical columns, by default those of
        strings or pandas categories).
    params : dict, default=None
        Other CatBoost parameters of the added trees (e.g. ``{"bootstrap_type": "No"}``).
        Those set by the constructor or by the source model are refused.
    random_state : int, RandomState instance or None, default=None
        Seeds CatBoost and the cross-validation folds.
    n_jobs : int, default=None
        CatBoost threads; ``None`` uses every core.

    Attributes
    ----------
    model_ : catboost.CatBoostClassifier
        The final model: the source trees (refreshed or not), then the added trees.
    source_model_ : catboost.CatBoost
        The native source model, as given or as fitted on the source rows.
    n_estimators_ : int
        Trees added on the target rows.
    n_source_estimators_ : int
        Trees of the source model.
    margin_scale_ : float
        Scale fitted by ``recalibrate="affine"`` (1.0 otherwise).
    margin_bias_ : ndarray of shape (n_outputs,)
        Offsets fitted by ``recalibrate`` (zeros without it): one for a binary or regression
        model, one per class otherwise.
    classes_ : ndarray of shape (n_classes,)
        The source model's classes.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    CatBoostTransferRegressor : The regression counterpart.
    XGBTransferClassifier : The same transfer for XGBoost models, with the same parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import CatBoostTransferClassifier
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(300, 2))
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> X_target = rng.normal(size=(60, 2))
    >>> y_target = (X_target[:, 0] > 1).astype(int)
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> clf = CatBoostTransferClassifier(source_params={"iterations": 50}, random_state=0)
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> clf.predict([[0.5, 0.0], [2.0, 0.0]])
    array([0, 1])
    >>> clf.n_estimators_ > 0
    True
    """

    _is_classifier = True

    @staticmethod
    def _native_class(catboost):
        return catboost.CatBoostClassifier

    def decision_function(self, X):
        """Raw margin of the final model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the log-odds of ``classes_[1]``; otherwise one column per class.
        """
        pool = self._predict_pool(X)
        raw = np.asarray(self.model_.predict(pool, "RawFormulaVal"))
        if raw.ndim == 2 and raw.shape[1] == 2:
            return raw[:, 1] - raw[:, 0]
        return raw

    def predict_proba(self, X):
        """Class probabilities of the final model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; each row sums to 1.
        """
        pool = self._predict_pool(X)
        return np.asarray(self.model_.predict_proba(pool))

    def predict(self, X):
        """The most probable class of each row.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, among ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_.take(np.argmax(proba, axis=1))


class CatBoostTransferRegressor(LabelledScoreMixin, RegressorMixin, _CatBoostTransfer):
    """Warm start of a CatBoost regressor on a few labelled target rows.

    The source model is a fitted CatBoost regressor (``source_model``) or is fitted here on
    the rows ``sample_domain`` marks as source. ``strategy`` says what happens on the labelled
    target rows:

    - ``"continue"`` appends trees fitted on them to the source model (CatBoost's
      ``init_model=`` continuation), keeping the source's trees and bias. ``n_estimators=
      "auto"`` picks the number of added trees (possibly 0) by ``cv``-fold cross-validation
      on the target rows, scored with the source's loss.
    - ``"refresh"`` keeps every source tree's splits and re-estimates its leaf values on the
      target rows, tree by tree, each leaf shrunk toward its source value:
      ``w = (tau * w_src - lr * G) / (H + reg_lambda + tau)`` with the target gradient ``G``
      and hessian ``H`` of the leaf at the margin of the trees before it and the source's
      learning rate ``lr``. Needs an ``RMSE`` source.
    - ``"refresh_continue"``: refresh, then continue.

    Parameters
    ----------
    source_model : FrozenEstimator, catboost.CatBoost, str or path-like, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``CatBoostRegressor`` (it survives ``clone`` and grid searches), a fitted native
        ``catboost.CatBoost`` (``clone`` cannot copy it: freeze it for grid searches), or the
        path of a model saved with ``save_model``. It is never modified. ``None`` fits it on
        the source rows with ``source_params``.
    strategy : {"continue", "refresh", "refresh_continue"}, default="continue"
        What to do on the labelled target rows (see above).
    recalibrate : {"bias", "affine"} or None, default=None
        First fit an offset (``"bias"``), or an offset and a scale (``"affine"``), of the
        source's prediction on the target rows, pulled toward no change by ``tau`` (see
        :class:`CatBoostTransferClassifier`); the strategy then starts from the corrected model.
    source_scale : float, default=1.0
        Multiply the source's prediction by this first; ``0`` discards the source, and with
        ``recalibrate="bias"`` the model then starts from the target rows' mean (see the
        classifier's ``source_scale``).
    n_estimators : int or "auto", default="auto"
        Trees added by continuation. ``"auto"`` takes the count (0 to ``max_estimators``)
        with the lowest mean ``cv``-fold loss (RMSE for an RMSE source) on the target rows.
    max_estimators : int, default=500
        Most trees ``"auto"`` may add.
    early_stopping_rounds : int, default=20
        A fold of ``"auto"`` stops after this many added trees without a lower validation
        loss.
    cv : int, cross-validation generator or iterable, default=3
        Folds of the labelled target rows for ``"auto"`` (shuffled).
    learning_rate : float, default=0.1
        Learning rate of the added trees.
    max_depth : int, default=3
        Depth of the added (symmetric) trees.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values: CatBoost's ``l2_leaf_reg`` for the added trees, and the
        ``reg_lambda`` of refresh.
    tau : float, default=1.0
        Pull of each refreshed leaf toward its source value, and of ``recalibrate`` toward
        the uncorrected margin, in hessian units (about how many target rows of evidence the
        source counts as).
    source_learning_rate : float, default=None
        Learning rate the source's leaf values were stored with, for refresh; ``None`` reads
        it from the source model.
    source_params : dict, default=None
        CatBoost parameters of the source model fitted when ``source_model`` is None (default
        200 iterations; ``cat_features`` names the categorical columns, by default those of
        strings or pandas categories).
    params : dict, default=None
        Other CatBoost parameters of the added trees (e.g. ``{"bootstrap_type": "No"}``).
        Those set by the constructor or by the source model are refused.
    random_state : int, RandomState instance or None, default=None
        Seeds CatBoost and the cross-validation folds.
    n_jobs : int, default=None
        CatBoost threads; ``None`` uses every core.

    Attributes
    ----------
    model_ : catboost.CatBoostRegressor
        The final model: the source trees (refreshed or not), then the added trees.
    source_model_ : catboost.CatBoost
        The native source model, as given or as fitted on the source rows.
    n_estimators_ : int
        Trees added on the target rows.
    n_source_estimators_ : int
        Trees of the source model.
    margin_scale_ : float
        Scale fitted by ``recalibrate="affine"`` (1.0 otherwise).
    margin_bias_ : ndarray of shape (n_outputs,)
        Offsets fitted by ``recalibrate`` (zeros without it): one for a binary or regression
        model, one per class otherwise.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    CatBoostTransferClassifier : The classification counterpart.
    XGBTransferRegressor : The same transfer for XGBoost models, with the same parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import CatBoostTransferRegressor
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(300, 2))
    >>> X_target = rng.normal(size=(60, 2))
    >>> X, y, sample_domain = pack(X_source, X_source[:, 0], X_target, X_target[:, 0] + 1.0)
    >>> reg = CatBoostTransferRegressor(strategy="refresh", tau=0.0, random_state=0)
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> bool(np.mean(reg.predict(X_target) - X_target[:, 0]) > 0.5)
    True
    """

    _is_classifier = False

    @staticmethod
    def _native_class(catboost):
        return catboost.CatBoostRegressor

    def predict(self, X):
        """Predict the target of each row with the final model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predictions (on the scale of ``y``; exponentiated for Poisson or Tweedie sources).
        """
        pool = self._predict_pool(X)
        return np.asarray(self.model_.predict(pool), dtype=np.float64)


@dataclass
class _SourceInfo:
    loss: str  # the full loss, e.g. "Quantile:alpha=0.3"
    loss_name: str  # without its parameters
    classes: np.ndarray
    dim: int
    learning_rate: float | None


@dataclass
class _Layout:
    """Where the source model's features are in the user's ``X``."""

    names: list  # the source's feature names, in its order
    columns: np.ndarray  # column of ``X`` holding each of them
    cat: list  # positions (in the source's order) of its categorical features


@dataclass
class _Target:
    """Labelled target rows, in CatBoost's input form."""

    data: object
    y: np.ndarray
    weight: np.ndarray

    def subset(self, rows):
        index = np.arange(len(self.y))[rows]
        return _Target(_take(self.data, index), self.y[index], self.weight[index])


def _stage_losses(loss, labels, margins, weight):
    """Weighted loss after each stage, ``margins`` of shape (n_stages, n_rows[, n_classes]),
    as CatBoost's ``eval_metric`` computes it for the losses it has; None for the others."""
    total = weight.sum()
    if loss in ("Logloss", "CrossEntropy"):
        rows = np.logaddexp(0.0, margins) - labels * margins
        return rows @ weight / total
    if loss == "RMSE":
        return np.sqrt(((margins - labels) ** 2) @ weight / total)
    if loss == "MultiClass":
        codes = labels.astype(np.intp)
        picked = np.take_along_axis(margins, codes[None, :, None], axis=2)[..., 0]
        rows = logsumexp(margins, axis=2) - picked
        return rows @ weight / total
    return None


class _LeafTable:
    """Leaf values of a CatBoost model, tree by tree, in margin units."""

    def __init__(self, model):
        counts = np.asarray(model.get_tree_leaf_counts(), dtype=np.intp)
        self.values = np.asarray(model.get_leaf_values(), dtype=np.float64)
        self.n_trees = len(counts)
        self.dim = len(self.values) // max(int(counts.sum()), 1)
        self.counts = counts
        # Leaf j of tree t holds its `dim` outputs at offsets[t] + j * dim + k.
        self.offsets = np.r_[0, np.cumsum(counts * self.dim)]
        scale, bias = model.get_scale_and_bias()
        self.scale = float(scale)
        self.bias = np.atleast_1d(np.asarray(bias, dtype=np.float64))

    def block(self, tree):
        """Stored values of ``tree`` times the model's scale: shape (n_leaves, dim)."""
        start, stop = self.offsets[tree], self.offsets[tree + 1]
        return self.values[start:stop].reshape(self.counts[tree], self.dim) * self.scale

    def start_margin(self, n_rows):
        if self.dim == 1:
            return np.full(n_rows, self.bias[0])
        return np.tile(np.resize(self.bias, self.dim), (n_rows, 1))

    def step(self, tree, leaf, ndim):
        out = self.block(tree)[leaf]
        return out[:, 0] if ndim == 1 else out


def _own_layout(X, source_params):
    """Features of a source model fitted here: the columns of ``X``, in its order."""
    if hasattr(X, "iloc"):
        names = [str(c) for c in X.columns]
        given = (source_params or {}).get("cat_features")
        if given is None:
            cat = [
                j
                for j, kind in enumerate(X.dtypes)
                if str(kind) in {"object", "category", "string", "str"}
            ]
        else:
            cat = sorted(names.index(str(c)) if not isinstance(c, Integral) else c for c in given)
    else:
        names = [str(j) for j in range(X.shape[1])]
        cat = []
    return _Layout(names, np.arange(len(names)), cat)


def _source_layout(X, source, name):
    """Match the columns of ``X`` to the features of a given source model."""
    names = [str(c) for c in source.feature_names_]
    cat = sorted(int(j) for j in source.get_cat_feature_indices())
    positional = names == [str(j) for j in range(len(names))]
    if hasattr(X, "iloc"):
        columns = [str(c) for c in X.columns]
        if sorted(columns) == sorted(names) and len(set(columns)) == len(columns):
            return _Layout(names, np.asarray([columns.index(c) for c in names]), cat)
        if not positional:
            missing = [c for c in names if c not in columns]
            extra = [c for c in columns if c not in names]
            raise ValueError(
                f"The columns of X do not match the source model's features: missing "
                f"{missing}, not in the source model {extra}. {name} aligns DataFrame columns "
                "by name; rename or drop columns so that X has exactly the source's features."
            )
    if X.shape[1] != len(names):
        raise ValueError(
            f"X has {X.shape[1]} features, but the source model of {name} has {len(names)}. "
            "Pass the source model's features, in its order (or a DataFrame with its names)."
        )
    return _Layout(names, np.arange(len(names)), cat)


def _refresh_objective(info, name, what):
    objective = _REFRESH_OBJECTIVES.get(info.loss_name)
    if objective is None:
        raise ValueError(
            f"{name} can change the leaves or the margin of models trained with RMSE, Logloss, "
            f"CrossEntropy or MultiClass ({what}); the source model uses {info.loss!r}. Use "
            "strategy='continue' and recalibrate=None."
        )
    return objective


def _check_extra_params(params):
    for key in params or {}:
        if key in _RESERVED:
            raise ValueError(
                f"params sets {key!r}, which is controlled by {_RESERVED[key]}; set it there."
            )


def _solid_copy(model, cls):
    """A modifiable copy of a CatBoost model as ``cls``.

    CatBoost's copies and unpickled models share read-only tree storage, which
    ``set_leaf_values`` refuses; a model loaded from its saved file owns its trees.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.cbm")
        model.save_model(path)
        return cls().load_model(path)


def _run_catboost(catboost, what, method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except catboost.CatBoostError as exc:
        raise ValueError(f"CatBoost could not {what} on these rows: {exc}") from exc


def _threads(n_jobs):
    return -1 if n_jobs is None else int(n_jobs)


def _take(data, rows):
    if hasattr(data, "iloc"):
        index = np.arange(len(data))[rows]
        return data.iloc[index].reset_index(drop=True)
    return data[rows]


def _concat(data, more):
    if hasattr(data, "iloc"):
        import pandas as pd

        return pd.concat([data, more], ignore_index=True)
    return np.concatenate([data, more])
