"""LightGBM source models continued or refreshed on labelled target rows."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin

from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._boosted import (
    BoostedClassifierMethods,
    BoostedRegressorMethods,
    BoostedTransfer,
)
from skxfer.warm_start._boosted_docs import boosted_docstring
from skxfer.warm_start._leaf_refresh import Trees
from skxfer.warm_start._tree_backend import Source, TreeBackend
from skxfer.warm_start._tree_input import SourceFeatures

# LightGBM objective -> (the gradient this package computes, LightGBM's evaluation metric).
_OBJECTIVES = {
    "binary": ("logistic", "binary_logloss"),
    "multiclass": ("softmax", "multi_logloss"),
    "regression": ("squared", "rmse"),
}

# LightGBM's largest number of leaves in a tree.
_MAX_LEAVES = 131072


class LightGBMBackend(TreeBackend):
    """LightGBM for the boosted-tree transfer engine: a ``Booster``, whose leaf values are
    read and written with ``get_leaf_output`` and ``set_leaf_output``."""

    library = "LightGBM"
    module = "lightgbm"
    fitted_attribute = "booster_"
    accepted = (
        "a FrozenEstimator around a fitted lightgbm.LGBMClassifier/LGBMRegressor, a "
        "lightgbm.Booster, or the path of a saved LightGBM model"
    )
    saved_with = "Booster.save_model"

    def is_native(self, model):
        return isinstance(model, self.lib.Booster)

    def load(self, model):
        lgb = self.lib
        classes = None
        if isinstance(model, lgb.LGBMModel):
            if hasattr(model, "classes_"):
                classes = np.asarray(model.classes_)
            model = model.booster_
        if isinstance(model, str):
            try:
                model = lgb.Booster(model_file=model)
            except lgb.basic.LightGBMError as exc:
                raise ValueError(f"LightGBM could not load source_model {model!r}: {exc}") from exc
        elif not isinstance(model, lgb.Booster):
            raise TypeError(
                f"{self.name} takes source_model as {self.accepted}; got {type(model).__name__}."
            )
        return self._describe(model, classes)

    def fit_source(self, X, y, sample_weight, classes, seed):
        est = self.estimator
        params = {"random_state": seed, "verbose": -1, **(est.source_params or {})}
        if est.n_jobs is not None:
            params.setdefault("n_jobs", est.n_jobs)
        if classes is None:
            model = self.lib.LGBMRegressor(**params)
        else:
            model, y = self.lib.LGBMClassifier(**params), y.astype(np.intp)
        model.fit(X, y, sample_weight=sample_weight)
        source = self._describe(model.booster_, classes)
        return source

    def _describe(self, booster, classes):
        # A copy read back from its text: it holds the trees the model predicts with (up to
        # its best iteration), its parameters and categories, and the user's model is never
        # written to.
        booster = self.lib.Booster(model_str=booster.model_to_string())
        params = booster.params
        objective = str(params.get("objective", "")).split(" ")[0]
        objective = {"regression_l2": "regression", "l2": "regression"}.get(objective, objective)
        if objective not in _OBJECTIVES or float(params.get("sigmoid", 1.0)) != 1.0:
            raise ValueError(
                f"{self.name} supports source models with objective in {sorted(_OBJECTIVES)} "
                f"(and sigmoid=1); the source model uses {params.get('objective')!r}."
            )
        gradient = _OBJECTIVES[objective][0]
        n_outputs = booster.num_model_per_iteration()
        classes = self.checked_classes(gradient != "squared", objective, classes, n_outputs)
        names = booster.feature_name()
        categorical = [int(j) for j in _as_list(params.get("categorical_feature"))]
        categories = booster.pandas_categorical or []
        return Source(
            model=booster,
            objective=gradient,
            loss=objective,
            n_outputs=n_outputs,
            classes=classes,
            learning_rate=params.get("learning_rate"),
            n_rounds=booster.current_iteration(),
            features=SourceFeatures(
                names=list(names),
                named=names != [f"Column_{j}" for j in range(len(names))],
                categorical=categorical,
                categories=dict(zip(categorical, categories))
                if len(categories) == len(categorical)
                else {},
            ),
        )

    def prepare(self, X, source):
        if hasattr(X, "iloc") and list(X.columns) != source.features.names:
            X = X.set_axis(source.features.names, axis=1)
        return X

    # --- a model -----------------------------------------------------------------------

    def margin(self, model, X):
        raw = model.predict(X, raw_score=True, num_iteration=-1)
        return np.asarray(raw, dtype=np.float64).reshape(X.shape[0], -1)

    def leaves(self, model, X):
        leaves = model.predict(X, pred_leaf=True, num_iteration=-1)
        return np.asarray(leaves, dtype=np.intp).reshape(X.shape[0], -1)

    def n_trees(self, model):
        return model.num_trees()

    def n_rounds(self, model):
        return model.current_iteration()

    def trees(self, model, first=0):
        per_round = model.num_model_per_iteration()
        # The model's text, from round `first` on, holds every leaf value to the last digit,
        # and is far quicker to write and read than its JSON dump.
        text = model.model_to_string(num_iteration=-1, start_iteration=first // per_round)
        blocks = text.split("end of trees")[0].split("\nTree=")[1:]
        values, starts = [], {}
        for t, block in enumerate(blocks, start=first):
            fields = dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)
            if fields.get("is_linear", "0") != "0":
                raise ValueError(
                    "The source model has linear trees (linear_tree=True), whose leaves hold "
                    "no single value; use strategy='continue', recalibrate=None, source_scale=1 "
                    "and a number as n_estimators."
                )
            leaf_values = np.asarray(fields["leaf_value"].split(), dtype=np.float64)
            # LightGBM folds its starting score (the average it boosts from) into the first
            # tree of each output, whose root keeps it: presented apart, it stays the model's
            # base score, as XGBoost's and CatBoost's do.
            if t < per_round and "internal_value" in fields:
                starts[t] = float(fields["internal_value"].split()[0])
                leaf_values = leaf_values - starts[t]
            values.append(leaf_values[:, None])
        return Trees(
            values=values,
            outputs=[np.asarray([t % per_round]) for t in range(first, first + len(values))],
            rounds=np.arange(0, len(values) + 1, per_round),
            native=starts,
        )

    def with_leaves(self, model, trees, shift):
        copy = self.lib.Booster(model_str=model.model_to_string(num_iteration=-1))
        done = set()
        for t, (values, outputs) in enumerate(zip(trees.values, trees.outputs)):
            k = int(outputs[0])
            add = trees.native.get(t, 0.0) + (shift[k] if k not in done else 0.0)
            done.add(k)
            for leaf, value in enumerate(values[:, 0] + add):
                copy.set_leaf_output(t, leaf, float(value))
        return copy

    def add_trees(self, model, source, rows, n_rounds, seed, held_out=None):
        lgb, est = self.lib, self.estimator
        params = {
            "objective": source.loss,
            "metric": _OBJECTIVES[source.loss][1],
            "learning_rate": est.learning_rate,
            "max_depth": est.max_depth,
            "num_leaves": min(2**est.max_depth, _MAX_LEAVES),
            "lambda_l2": est.reg_lambda,
            # as XGBoost's min_child_weight=1: a leaf needs a hessian of 1, not 20 rows, so
            # that a few dozen target rows can still be split
            "min_data_in_leaf": 1,
            "min_sum_hessian_in_leaf": 1.0,
            "feature_pre_filter": False,
            "seed": seed,
            "verbosity": -1,
        }
        if source.objective == "softmax":
            params["num_class"] = source.n_outputs
        if est.n_jobs is not None:
            params["num_threads"] = est.n_jobs
        params = {**params, **(est.params or {})}
        train = lgb.Dataset(
            rows.X, label=rows.y, weight=rows.weight, params=params, free_raw_data=False
        )
        stopping = {}
        if held_out is not None:
            valid = lgb.Dataset(
                held_out.X, label=held_out.y, weight=held_out.weight, reference=train
            )
            stopping = {
                "valid_sets": [valid],
                "callbacks": [lgb.early_stopping(est.early_stopping_rounds, verbose=False)],
                # a fold's model is read and dropped: no copy through its text
                "keep_training_booster": True,
            }
        return lgb.train(params, train, num_boost_round=n_rounds, init_model=model, **stopping)


def _as_list(value):
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v for v in value.split(",") if v]
    return list(value) if np.ndim(value) else [value]


@boosted_docstring
class LGBMTransferClassifier(
    LabelledScoreMixin, ClassifierMixin, BoostedClassifierMethods, BoostedTransfer
):
    """LightGBM classifier carried from a source model to a few labelled target rows.

    The source is a fitted LightGBM model (``source_model``) or is fitted on the rows that
    ``sample_domain`` marks as source. ``strategy`` says what is done with the labelled
    target rows:

    %(strategies)s

    The classes are the source model's: a target may miss some of them, but a target class
    the source does not know raises an error rather than silently changing the model.

    Parameters
    ----------
    source_model : FrozenEstimator, lightgbm.Booster, str or os.PathLike, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``lightgbm.LGBMClassifier``, a ``Booster`` with objective ``binary`` or
        ``multiclass``, or the path of a model saved with ``Booster.save_model``. It is
        never modified. ``None`` fits an ``LGBMClassifier(**source_params)`` on the source
        rows.
    %(parameters)s
    source_params : dict, default=None
        Parameters of the ``LGBMClassifier`` fitted on the source rows when ``source_model``
        is None (LightGBM's defaults otherwise: 100 trees of 31 leaves, learning rate 0.1).
    params : dict, default=None
        Further native LightGBM parameters of the added trees, e.g.
        ``{"bagging_fraction": 0.8, "bagging_freq": 1}``.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the cross-validation folds and LightGBM's sampling.
    n_jobs : int, default=None
        LightGBM threads (``num_threads``); ``None`` lets LightGBM decide.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The transferred model.
    source_model_ : lightgbm.Booster
        A copy of the source model's booster, with the trees it predicts with.
    classes_ : ndarray of shape (n_classes,)
        The source model's classes (``0..n_classes-1`` for a bare Booster).
    %(attributes)s

    See Also
    --------
    LGBMTransferRegressor : The regression twin.
    XGBTransferClassifier : The same strategies for XGBoost models.
    CatBoostTransferClassifier : The same strategies for CatBoost models.

    Notes
    -----
    %(refresh_notes)s LightGBM keeps that score in the first tree of each class, whose root
    value is then read as the base score.

    The added trees are grown leaf-wise with at most ``2**max_depth`` leaves, and, as
    XGBoost's ``min_child_weight=1``, a leaf needs a hessian sum of 1 rather than LightGBM's
    20 rows (``params`` may set ``min_data_in_leaf`` and ``min_sum_hessian_in_leaf``).

    A pandas categorical column is aligned to the categories the source model was fitted
    with (LightGBM reads them through their codes), so a target frame may hold fewer
    categories than the source's, or others: a category the source never saw is read as a
    missing value, with a warning.

    Examples
    --------
    A source whose base rate the target does not share: the offset of ``recalibrate``
    moves it, without a tree added.

    >>> import numpy as np
    >>> from lightgbm import LGBMClassifier
    >>> from sklearn.frozen import FrozenEstimator
    >>> from skxfer.warm_start import LGBMTransferClassifier
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(500, 3))
    >>> source = LGBMClassifier(n_estimators=30, verbose=-1).fit(X_source, X_source[:, 0] > 0)
    >>> X_target = rng.normal(size=(80, 3))
    >>> y_target = X_target[:, 0] > 0.8
    >>> clf = LGBMTransferClassifier(FrozenEstimator(source), recalibrate="bias", n_estimators=0)
    >>> clf = clf.fit(X_target, y_target)
    >>> clf.classes_
    array([False,  True])
    >>> bool(clf.margin_bias_[0] < -0.5)
    True
    """

    _backend = LightGBMBackend


@boosted_docstring
class LGBMTransferRegressor(
    LabelledScoreMixin, RegressorMixin, BoostedRegressorMethods, BoostedTransfer
):
    """LightGBM regressor carried from a source model to a few labelled target rows.

    The regression twin of :class:`LGBMTransferClassifier`, with the same parameters and
    strategies, for a source model with the ``regression`` (squared error) objective:

    %(strategies)s

    Parameters
    ----------
    source_model : FrozenEstimator, lightgbm.Booster, str or os.PathLike, default=None
        A :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``lightgbm.LGBMRegressor``, a ``Booster`` with objective ``regression``, or the path
        of a saved model. ``None`` fits an ``LGBMRegressor(**source_params)`` on the source
        rows.
    %(parameters)s
    source_params : dict, default=None
        Parameters of the ``LGBMRegressor`` fitted on the source rows when ``source_model``
        is None (LightGBM's defaults otherwise).
    params : dict, default=None
        Further native LightGBM parameters of the added trees.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the cross-validation folds and LightGBM's sampling.
    n_jobs : int, default=None
        LightGBM threads; ``None`` lets LightGBM decide.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The transferred model.
    source_model_ : lightgbm.Booster
        A copy of the source model's booster, with the trees it predicts with.
    %(attributes)s

    See Also
    --------
    LGBMTransferClassifier : The classification twin, with the details of the added trees
        and of categorical columns.
    XGBTransferRegressor : The same strategies for XGBoost models.
    CatBoostTransferRegressor : The same strategies for CatBoost models.

    Notes
    -----
    %(refresh_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.warm_start import LGBMTransferRegressor
    >>> rng = np.random.default_rng(0)
    >>> X_source, X_target = rng.normal(size=(600, 2)), rng.normal(size=(50, 2))
    >>> X, y, sample_domain = pack(
    ...     X_source, 2 * X_source[:, 0], X_target, 2 * X_target[:, 0] + 1.0
    ... )
    >>> reg = LGBMTransferRegressor(recalibrate="bias", tau=0.0, n_estimators=0, n_jobs=1)
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> bool(abs(reg.margin_bias_[0] - 1.0) < 0.2)
    True
    """

    _backend = LightGBMBackend
