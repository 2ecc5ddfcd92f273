"""CatBoost warm start: continue a source model, or refresh its leaves, on labelled target rows."""

import os
import tempfile
from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array

from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._boosted import (
    BoostedClassifierMethods,
    BoostedRegressorMethods,
    BoostedTransfer,
)
from skxfer.warm_start._boosted_docs import boosted_docstring
from skxfer.warm_start._leaf_refresh import Trees
from skxfer.warm_start._tree_backend import Source, TreeBackend
from skxfer.warm_start._tree_input import SourceFeatures, check_float32_range, is_frame

# Source losses whose leaves and margin this package can change, and their gradients.
_OBJECTIVES = {
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

# CatBoost's symmetric trees allow a depth of at most 16.
_CONSTRAINTS = {
    **BoostedTransfer._parameter_constraints,
    "max_depth": [Interval(Integral, 1, 16, closed="both")],
}


class CatBoostBackend(TreeBackend):
    """CatBoost for the boosted-tree transfer engine: a ``CatBoostClassifier`` or
    ``CatBoostRegressor``, whose rows are DataFrames with the source's feature names."""

    library = "CatBoost"
    module = "catboost"
    fitted_attribute = "model_"
    accepted = (
        "a FrozenEstimator around a fitted CatBoost model, a fitted catboost.CatBoost, or the "
        "path of a saved CatBoost model"
    )
    saved_with = "CatBoost's save_model (.cbm)"
    text_categories = True
    objectives = "RMSE, Logloss, CrossEntropy or MultiClass"

    @property
    def _native_class(self):
        if self.estimator._is_classifier:
            return self.lib.CatBoostClassifier
        return self.lib.CatBoostRegressor

    def check_params(self):
        for key in self.estimator.params or {}:
            if key in _RESERVED:
                raise ValueError(
                    f"params sets {key!r}, which is controlled by {_RESERVED[key]}; set it there."
                )

    def is_native(self, model):
        # a bare CatBoostClassifier/Regressor is an estimator clone would unfit
        return type(model) is self.lib.CatBoost

    def load(self, model):
        if isinstance(model, str):
            model = self._run("load source_model", self._native_class().load_model, model)
        elif not isinstance(model, self.lib.CatBoost):
            raise TypeError(
                f"{self.name} takes source_model as {self.accepted}; got {type(model).__name__}."
            )
        names = [str(c) for c in model.feature_names_]
        features = SourceFeatures(
            names=names,
            named=names != [str(j) for j in range(len(names))],
            categorical=sorted(int(j) for j in model.get_cat_feature_indices()),
        )
        return self._describe(model, features)

    def fit_source(self, X, y, sample_weight, classes, seed):
        est = self.estimator
        if len(y) < 2:
            raise ValueError(
                f"{self.name} fits its source model on {len(y)} row; it needs at least 2 "
                "(n_samples = 1 leaves nothing to split)."
            )
        params = {
            "iterations": 200,
            "random_seed": seed,
            "verbose": False,
            "allow_writing_files": False,
            "thread_count": _threads(est.n_jobs),
        }
        given = dict(est.source_params or {})
        cat_features = given.pop("cat_features", None)
        params.update(given)
        if classes is not None:
            params.setdefault("class_names", classes.tolist())
            y = classes[y.astype(np.intp)]
        features = _own_features(X, cat_features)
        pool = self._pool(self._frame(X, features), y, sample_weight)
        model = self._native_class(**params)
        self._run("fit the source model", model.fit, pool)
        return self._describe(model, features)

    def _describe(self, model, features):
        params = model.get_all_params()
        loss = params.get("loss_function")
        if loss is None:
            raise ValueError(
                f"source_model does not record its loss function; {self.name} needs it."
            )
        classes = np.asarray([] if model.classes_ is None else model.classes_)
        counts = np.asarray(model.get_tree_leaf_counts())
        n_outputs = len(model.get_leaf_values()) // max(int(counts.sum()), 1)
        classes = self.checked_classes(len(classes) >= 2, loss, classes, n_outputs)
        if classes is None and n_outputs != 1:
            raise ValueError(
                f"source_model (loss {loss}) has {n_outputs} outputs; {self.name} needs a "
                "single-output regression model."
            )
        return Source(
            model=model,
            objective=_OBJECTIVES.get(loss.split(":")[0]),
            loss=loss,
            n_outputs=n_outputs,
            classes=classes,
            learning_rate=params.get("learning_rate"),
            n_rounds=int(model.tree_count_),
            features=features,
        )

    def working_copy(self, model):
        # as the estimator's own class, and never the user's object
        return _solid_copy(model, self._native_class)

    def prepare(self, X, source):
        return self._frame(X, source.features)

    def _frame(self, X, features):
        """``X`` (columns in the source's order) as a DataFrame with the source's feature
        names: its categorical features as Python objects, the others as floats."""
        import pandas as pd

        frame = is_frame(X)
        columns = {}
        for j, name in enumerate(features.names):
            column = X.iloc[:, j] if frame else X[:, j]
            label = X.columns[j] if frame else j
            if j in features.categorical:
                values = np.asarray(column, dtype=object)
                if pd.isna(values).any():
                    raise ValueError(
                        f"Categorical feature {name!r} holds missing values; CatBoost needs a "
                        "category on every row. Fill them, e.g. X[col].fillna('missing')."
                    )
            else:
                values = check_array(
                    np.asarray(column).reshape(-1, 1),
                    dtype=np.float64,
                    ensure_all_finite="allow-nan",
                    input_name="X",
                ).ravel()
                check_float32_range(values, label, self.library)
            columns[name] = values
        return pd.DataFrame(columns)

    def _pool(self, X, label=None, weight=None):
        cat = [j for j, kind in enumerate(X.dtypes) if kind == np.dtype(object)]
        return self.lib.Pool(X, label=label, weight=weight, cat_features=cat or None)

    def _run(self, what, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except self.lib.CatBoostError as exc:
            raise ValueError(f"CatBoost could not {what}: {exc}") from exc

    # --- a model -----------------------------------------------------------------------

    def margin(self, model, X):
        raw = model.predict(self._pool(X), prediction_type="RawFormulaVal")
        return np.asarray(raw, dtype=np.float64).reshape(X.shape[0], -1)

    def leaves(self, model, X):
        return np.asarray(model.calc_leaf_indexes(self._pool(X)), dtype=np.intp)

    def n_trees(self, model):
        return int(model.tree_count_)

    def n_rounds(self, model):
        return int(model.tree_count_)

    def trees(self, model, first=0):
        counts = np.asarray(model.get_tree_leaf_counts(), dtype=np.intp)
        stored = np.asarray(model.get_leaf_values(), dtype=np.float64)
        n_outputs = len(stored) // max(int(counts.sum()), 1)
        scale, _ = model.get_scale_and_bias()
        # Leaf j of tree t holds its outputs at offsets[t] + j * n_outputs + k; the margin
        # is the model's scale times the stored values, plus its bias.
        offsets = np.r_[0, np.cumsum(counts * n_outputs)]
        values = [
            stored[offsets[t] : offsets[t + 1]].reshape(counts[t], n_outputs) * float(scale)
            for t in range(first, len(counts))
        ]
        outputs = [np.arange(n_outputs)] * len(values)
        return Trees(values, outputs, np.arange(len(values) + 1))

    def with_leaves(self, model, trees, shift):
        copy = _solid_copy(model, self._native_class)
        scale, bias = copy.get_scale_and_bias()
        copy.set_leaf_values(np.concatenate([v.ravel() for v in trees.values]) / float(scale))
        if np.any(shift):
            _set_bias(copy, scale, np.atleast_1d(np.asarray(bias, dtype=np.float64)) + shift)
        # A loaded model keeps predicting with the leaf values it was loaded with; a reload
        # makes it use the new ones.
        return _solid_copy(copy, self._native_class)

    def scaled(self, model, scale, shift, X):
        # CatBoost's margin is its own scale times the leaves plus its bias: set both.
        copy = _solid_copy(model, self._native_class)
        old_scale, old_bias = copy.get_scale_and_bias()
        bias = scale * np.atleast_1d(np.asarray(old_bias, dtype=np.float64)) + shift
        _set_bias(copy, scale * float(old_scale), bias)
        return _solid_copy(copy, self._native_class)

    def add_trees(self, model, source, rows, n_rounds, seed, held_out=None):
        est = self.estimator
        params = {
            "iterations": n_rounds,
            "learning_rate": est.learning_rate,
            "depth": est.max_depth,
            "l2_leaf_reg": est.reg_lambda,
            "loss_function": source.loss,
            "random_seed": seed,
            "thread_count": _threads(est.n_jobs),
            "verbose": False,
            "allow_writing_files": False,
        }
        if est._is_classifier and source.loss != "CrossEntropy":
            params["class_names"] = source.classes.tolist()
        booster = self._native_class(**{**params, **(est.params or {})})
        stopping = {}
        if held_out is not None:
            stopping = {
                "eval_set": self._fit_pool(held_out, source, ghosts=False),
                "early_stopping_rounds": est.early_stopping_rounds,
                "use_best_model": False,
            }
        pool = self._fit_pool(rows, source)
        self._run(
            "continue the source model on these rows",
            booster.fit,
            pool,
            init_model=model,
            **stopping,
        )
        return booster

    def _fit_pool(self, rows, source, ghosts=True):
        """A training pool of target rows, with the labels CatBoost expects for ``source``.

        CatBoost refuses to train on a single label value even when continuing a model, so
        a row of weight 0 is added for each missing class (or a second value of a constant
        regression target): it moves no gradient.
        """
        X, y, weight = rows.X, rows.y, rows.weight
        if source.loss == "CrossEntropy":
            missing = np.setdiff1d([0.0, 1.0], y)
        elif source.classes is not None:
            y = source.classes[y.astype(np.intp)]
            missing = np.setdiff1d(source.classes, y)
        else:
            missing = np.asarray([y[0] + 1.0]) if np.all(y == y[0]) else np.asarray([])
        if ghosts and len(missing):
            import pandas as pd

            X = pd.concat([X, X.iloc[np.zeros(len(missing), dtype=np.intp)]], ignore_index=True)
            y = np.concatenate([y, missing.astype(y.dtype)])
            weight = np.r_[weight, np.zeros(len(missing))]
        return self._pool(X, y, weight)

    def stage_losses(self, source, y, margins, weight):
        if source.objective is not None:
            return super().stage_losses(source, y, margins, weight)
        # a loss numpy does not know here: CatBoost's own, stage by stage
        from catboost.utils import eval_metric

        return np.asarray(
            [
                eval_metric(
                    y, np.squeeze(m, 1) if m.shape[1] == 1 else m, source.loss, weight=weight
                )[0]
                for m in margins
            ]
        )

    # --- predictions -------------------------------------------------------------------

    def proba(self, model, X):
        return np.asarray(model.predict_proba(self._pool(X)))

    def predict(self, model, X):
        return model.predict(self._pool(X))


def _own_features(X, cat_features):
    """Features of a source model fitted here: the columns of ``X``, in its order, those of
    strings or pandas categories categorical (or those ``cat_features`` names)."""
    if not is_frame(X):
        return SourceFeatures([str(j) for j in range(X.shape[1])], named=False)
    names = [str(c) for c in X.columns]
    if cat_features is None:
        text = {"object", "category", "string", "str"}
        cat = [j for j, kind in enumerate(X.dtypes) if str(kind) in text]
    else:
        cat = sorted(c if isinstance(c, Integral) else names.index(str(c)) for c in cat_features)
    return SourceFeatures(names, named=True, categorical=cat)


def _set_bias(model, scale, bias):
    model.set_scale_and_bias(float(scale), float(bias[0]) if len(bias) == 1 else bias.tolist())


def _solid_copy(model, cls):
    """A modifiable copy of a CatBoost model as ``cls``.

    CatBoost's copies and unpickled models share read-only tree storage, which
    ``set_leaf_values`` refuses; a model loaded from its saved file owns its trees.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.cbm")
        model.save_model(path)
        return cls().load_model(path)


def _threads(n_jobs):
    return -1 if n_jobs is None else int(n_jobs)


@boosted_docstring
class CatBoostTransferClassifier(
    LabelledScoreMixin, ClassifierMixin, BoostedClassifierMethods, BoostedTransfer
):
    """Warm start of a CatBoost classifier on a few labelled target rows.

    The source model is a fitted CatBoost classifier (``source_model``) or is fitted here on
    the rows ``sample_domain`` marks as source. ``strategy`` says what happens on the labelled
    target rows:

    %(strategies)s

    Refresh and ``recalibrate`` need a ``Logloss``, ``CrossEntropy`` or ``MultiClass``
    source; ``"continue"`` keeps any loss. A target that lacks some source classes is fine
    (the model still predicts all of them); a target class the source does not know raises,
    and a binary source stays binary.

    Parameters
    ----------
    source_model : FrozenEstimator, catboost.CatBoost, str or path-like, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``CatBoostClassifier`` (it survives ``clone`` and grid searches), a fitted native
        ``catboost.CatBoost`` (``clone`` cannot copy it: freeze it for grid searches), or the
        path of a model saved with ``save_model``. It is never modified. ``None`` fits it on
        the source rows with ``source_params``.
    %(parameters)s
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
    classes_ : ndarray of shape (n_classes,)
        The source model's classes.
    %(attributes)s

    See Also
    --------
    CatBoostTransferRegressor : The regression counterpart.
    XGBTransferClassifier : The same transfer for XGBoost models, with the same parameters.
    LGBMTransferClassifier : The same transfer for LightGBM models.

    Notes
    -----
    %(refresh_notes)s ``max_depth`` is the depth of CatBoost's symmetric trees (at most 16),
    and ``reg_lambda`` its ``l2_leaf_reg``.

    Categorical features (columns of strings or pandas categories, by their values) go to
    CatBoost as they are. A category the source model was not fitted with is scored as
    CatBoost scores any category it has no statistics for, the same way by every strategy:
    from its counters' prior, which is the same for every unseen category.

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

    _parameter_constraints = _CONSTRAINTS
    _backend = CatBoostBackend


@boosted_docstring
class CatBoostTransferRegressor(
    LabelledScoreMixin, RegressorMixin, BoostedRegressorMethods, BoostedTransfer
):
    """Warm start of a CatBoost regressor on a few labelled target rows.

    The regression counterpart of :class:`CatBoostTransferClassifier`, with the same
    parameters and strategies:

    %(strategies)s

    Refresh and ``recalibrate`` need an ``RMSE`` source; ``"continue"`` keeps any loss.

    Parameters
    ----------
    source_model : FrozenEstimator, catboost.CatBoost, str or path-like, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``CatBoostRegressor``, a fitted native ``catboost.CatBoost``, or the path of a model
        saved with ``save_model``. It is never modified. ``None`` fits it on the source rows
        with ``source_params``.
    %(parameters)s
    source_params : dict, default=None
        CatBoost parameters of the source model fitted when ``source_model`` is None (see
        :class:`CatBoostTransferClassifier`).
    params : dict, default=None
        Other CatBoost parameters of the added trees. Those set by the constructor or by the
        source model are refused.
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
    %(attributes)s

    See Also
    --------
    CatBoostTransferClassifier : The classification counterpart, with the notes on
        categorical features.
    XGBTransferRegressor : The same transfer for XGBoost models, with the same parameters.
    LGBMTransferRegressor : The same transfer for LightGBM models.

    Notes
    -----
    %(refresh_notes)s

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

    _parameter_constraints = _CONSTRAINTS
    _backend = CatBoostBackend
