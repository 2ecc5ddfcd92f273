"""XGBoost source models continued or refreshed on labelled target rows."""

import json

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state

from skxfer.utils import import_optional
from skxfer.utils._scoring import LabelledScoreMixin
from skxfer.warm_start._boosted import (
    BoostedClassifierMethods,
    BoostedRegressorMethods,
    BoostedTransfer,
)
from skxfer.warm_start._boosted_docs import boosted_docstring
from skxfer.warm_start._leaf_refresh import Trees
from skxfer.warm_start._tree_backend import Source, TreeBackend
from skxfer.warm_start._tree_input import SourceFeatures, is_frame

# XGBoost objective -> (the gradient this package computes, XGBoost's evaluation metric).
_OBJECTIVES = {
    "binary:logistic": ("logistic", "logloss"),
    "binary:logitraw": ("logistic", "logloss"),
    "multi:softprob": ("softmax", "mlogloss"),
    "multi:softmax": ("softmax", "mlogloss"),
    "reg:squarederror": ("squared", "rmse"),
}


class XGBoostBackend(TreeBackend):
    """XGBoost for the boosted-tree transfer engine: a ``Booster``, whose leaf values are
    read and written through its JSON model."""

    library = "XGBoost"
    module = "xgboost"
    fitted_attribute = "booster_"
    accepted = (
        "a FrozenEstimator around a fitted xgboost.XGBClassifier/XGBRegressor, an "
        "xgboost.Booster, or the path of a saved XGBoost model"
    )
    saved_with = "Booster.save_model or XGBModel.save_model"

    distributed = True

    def is_native(self, model):
        return isinstance(model, self.lib.Booster)

    def load(self, model):
        xgb = self.lib
        classes, eta = None, None
        if isinstance(model, dict) and isinstance(model.get("booster"), xgb.Booster):
            model = model["booster"]  # what xgboost.dask.train returns
        if isinstance(model, xgb.XGBModel):
            if hasattr(model, "classes_"):
                classes = np.asarray(model.classes_)
            eta = model.get_params().get("learning_rate")
            booster = model.get_booster()
        elif isinstance(model, xgb.Booster):
            booster = model
        elif isinstance(model, str):
            try:
                booster = xgb.Booster(model_file=model)
            except xgb.core.XGBoostError as exc:
                raise ValueError(f"XGBoost could not load source_model {model!r}: {exc}") from exc
        else:
            raise TypeError(
                f"{self.name} takes source_model as {self.accepted}; got {type(model).__name__}."
            )
        # No copy: continuation copies inside xgb.train and a change of leaves builds a new
        # booster, so the user's model is never written to.
        return self._describe(booster, classes, eta)

    def fit_source(self, X, y, sample_weight, classes, seed):
        est = self.estimator
        params = {
            "n_estimators": 100,
            "max_depth": 6,
            "learning_rate": 0.3,
            "enable_categorical": True,
            "random_state": seed,
            "n_jobs": est.n_jobs,
            **(est.source_params or {}),
        }
        if classes is None:
            model = self.lib.XGBRegressor(**params)
        else:
            model, y = self.lib.XGBClassifier(**params), y.astype(np.intp)
        model.fit(X, y, sample_weight=sample_weight, verbose=False)
        return self._describe(model.get_booster(), classes, model.get_params()["learning_rate"])

    def _describe(self, booster, classes, eta):
        config = json.loads(booster.save_config())
        learner = config["learner"]
        objective = learner["objective"]["name"]
        if objective not in _OBJECTIVES:
            raise ValueError(
                f"{self.name} supports source models with objective in {sorted(_OBJECTIVES)}; "
                f"the source model uses {objective!r}."
            )
        gradient = _OBJECTIVES[objective][0]
        n_class = int(learner["learner_model_param"]["num_class"])
        classes = self.checked_classes(gradient != "squared", objective, classes, n_class)
        if eta is None:
            eta = learner["gradient_booster"].get("tree_train_param", {}).get("eta")
        names = booster.feature_names
        types = booster.feature_types or []
        categorical = [j for j, kind in enumerate(types) if kind == "c"]
        return Source(
            model=booster,
            objective=gradient,
            loss=objective,
            n_outputs=n_class if gradient == "softmax" else 1,
            classes=classes,
            learning_rate=None if eta is None else float(eta),
            n_rounds=booster.num_boosted_rounds(),
            features=SourceFeatures(
                names=list(names) if names else [str(j) for j in range(booster.num_features())],
                named=names is not None,
                categorical=categorical,
                categories=_categories(booster) if categorical else {},
            ),
        )

    def _dmatrix(self, X, model, label=None, weight=None):
        if is_frame(X):
            return self.lib.DMatrix(X, label=label, weight=weight, enable_categorical=True)
        return self.lib.DMatrix(
            X, label=label, weight=weight, missing=np.nan, feature_names=model.feature_names
        )

    def margin(self, model, X):
        margin = model.predict(self._dmatrix(X, model), output_margin=True)
        return np.asarray(margin, dtype=np.float64).reshape(X.shape[0], -1)

    def leaves(self, model, X):
        leaves = model.predict(self._dmatrix(X, model), pred_leaf=True)
        return np.asarray(leaves, dtype=np.intp).reshape(X.shape[0], -1)

    def n_trees(self, model):
        config = json.loads(model.save_config())
        return int(config["learner"]["gradient_booster"]["gbtree_model_param"]["num_trees"])

    def n_rounds(self, model):
        return model.num_boosted_rounds()

    def trees(self, model, first=0):
        if first:  # a slice of the rounds from there on: far less JSON to read
            model = model[first * model.num_boosted_rounds() // self.n_trees(model) :]
        parsed = json.loads(model.save_raw("json"))
        booster = parsed["learner"]["gradient_booster"]
        if "trees" not in booster.get("model", {}):
            raise ValueError(
                "strategy='refresh', recalibrate and source_scale need a tree booster "
                f"(gbtree); the source model uses {booster.get('name')!r}. Use "
                "strategy='continue', recalibrate=None and source_scale=1."
            )
        trees = booster["model"]["trees"]
        if any(int(t["tree_param"].get("size_leaf_vector", "1")) > 1 for t in trees):
            raise ValueError(
                "strategy='refresh', recalibrate and source_scale do not support multi-output "
                "trees (multi_strategy='multi_output_tree'); use strategy='continue'."
            )
        group = np.asarray(booster["model"]["tree_info"], dtype=np.intp)
        return Trees(
            values=[np.asarray(t["split_conditions"], dtype=np.float64)[:, None] for t in trees],
            outputs=[group[t : t + 1] for t in range(len(trees))],
            rounds=np.asarray(booster["model"]["iteration_indptr"], dtype=np.intp),
            native=parsed,
        )

    def with_leaves(self, model, trees, shift):
        parsed = trees.native
        stored = parsed["learner"]["gradient_booster"]["model"]["trees"]
        shifted = set()
        for tree, values, outputs in zip(stored, trees.values, trees.outputs):
            k = int(outputs[0])
            values = values[:, 0] + (shift[k] if k not in shifted else 0.0)
            shifted.add(k)
            # Leaves hold their value in split_conditions (and base_weights); splits keep theirs.
            for node in np.flatnonzero(np.asarray(tree["left_children"]) == -1):
                tree["split_conditions"][node] = float(values[node])
                tree["base_weights"][node] = float(values[node])
        text = json.dumps(parsed, separators=(",", ":"))
        booster = self.lib.Booster(model_file=bytearray(text.encode()))
        if self.estimator.n_jobs is not None:
            booster.set_param({"nthread": self.estimator.n_jobs})
        return booster

    def _params(self, source, seed):
        est = self.estimator
        gradient, metric = _OBJECTIVES[source.loss]
        params = {
            "objective": source.loss,
            "eval_metric": metric,
            "learning_rate": est.learning_rate,
            "max_depth": est.max_depth,
            "reg_lambda": est.reg_lambda,
            "seed": seed,
            "verbosity": 0,
        }
        if gradient == "softmax":
            params["num_class"] = source.n_outputs
        if est.n_jobs is not None:
            params["nthread"] = est.n_jobs
        return {**params, **(est.params or {})}

    def add_trees(self, model, source, rows, n_rounds, seed, held_out=None):
        est = self.estimator
        params = self._params(source, seed)
        train = self._dmatrix(rows.X, model, label=rows.y, weight=rows.weight)
        stopping = {}
        if held_out is not None:
            held = self._dmatrix(held_out.X, model, label=held_out.y, weight=held_out.weight)
            stopping = {
                "evals": [(held, "held_out")],
                "early_stopping_rounds": est.early_stopping_rounds,
                "verbose_eval": False,
            }
        return self.lib.train(
            params,
            train,
            num_boost_round=n_rounds,
            xgb_model=model,
            **stopping,
        )

    # --- a target held as a dask collection ------------------------------------------

    def lib_distributed(self):
        import_optional("xgboost.dask", purpose=self.name)
        return import_optional("distributed", purpose=self.name)

    def dask_rows(self, X, source):
        """The dask rows in the source model's feature order (columns of a DataFrame picked
        by name; an array must have the model's number of columns)."""
        features = source.features
        if hasattr(X, "columns"):
            if features.named:
                missing = [name for name in features.names if name not in X.columns]
                if missing:
                    raise ValueError(
                        f"X lacks the source model's feature(s) {missing[:5]}; pass a dask "
                        "DataFrame with the columns the source model was trained on."
                    )
                return X[features.names]
            return X
        if X.ndim != 2 or X.shape[1] != len(features.names):
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.ndim} columns; the source model "
                f"has {len(features.names)} features."
            )
        return X

    def block_reader(self):
        return BoosterRows()

    def dask_add_trees(self, client, model, source, X, y, weight, n_rounds):
        """``model`` continued by ``n_rounds`` rounds with ``xgboost.dask.train`` on the
        dask rows ``X``, as ``add_trees`` does in memory (no early stopping)."""
        import xgboost.dask as dxgb

        params = self._params(source, seed_of(self.estimator))
        names = None if hasattr(X, "columns") else model.feature_names
        train = dxgb.DaskDMatrix(
            client,
            X,
            label=y,
            weight=weight,
            missing=np.nan,
            feature_names=names,
            enable_categorical=True,
        )
        output = dxgb.train(client, params, train, num_boost_round=n_rounds, xgb_model=model)
        return output["booster"]

    def dask_margin(self, model, X):
        import xgboost.dask as dxgb

        distributed = self.lib_distributed()
        margin = dxgb.predict(distributed.get_client(), model, X, output_margin=True)
        if hasattr(margin, "to_dask_array"):
            margin = margin.to_dask_array(lengths=True)
        return margin if margin.ndim == 2 else margin[:, None]


class BoosterRows:
    """Margins and leaves of a ``Booster`` on a block of rows, on a worker (picklable: it
    holds no module)."""

    def _dmatrix(self, X, model):
        import xgboost

        if is_frame(X):
            return xgboost.DMatrix(X, enable_categorical=True)
        return xgboost.DMatrix(X, missing=np.nan, feature_names=model.feature_names)

    def margin(self, model, X):
        margin = model.predict(self._dmatrix(X, model), output_margin=True)
        return np.asarray(margin, dtype=np.float64).reshape(X.shape[0], -1)

    def leaves(self, model, X):
        leaves = model.predict(self._dmatrix(X, model), pred_leaf=True)
        return np.asarray(leaves, dtype=np.intp).reshape(X.shape[0], -1)


def seed_of(estimator):
    """The seed of the added trees, drawn from ``random_state`` as ``fit`` draws it."""
    return check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)


def _categories(booster):
    """The categories of each categorical feature, as XGBoost (3.1 and later) records them
    in the model: position -> values in the order of their codes."""
    parsed = json.loads(booster.save_raw("json"))
    cats = parsed["learner"]["gradient_booster"].get("model", {}).get("cats") or {}
    out = {}
    for j, encoding in enumerate(cats.get("enc", [])):
        offsets = encoding.get("offsets")
        if offsets:  # strings, as utf-8 bytes back to back
            raw = bytes(encoding["values"])
            out[j] = [raw[a:b].decode() for a, b in zip(offsets[:-1], offsets[1:])]
        elif encoding.get("values"):
            out[j] = list(encoding["values"])
    return out


@boosted_docstring
class XGBTransferClassifier(
    LabelledScoreMixin, ClassifierMixin, BoostedClassifierMethods, BoostedTransfer
):
    """XGBoost classifier carried from a source model to a few labelled target rows.

    The source is a fitted XGBoost model (``source_model``) or is fitted on the rows that
    ``sample_domain`` marks as source. ``strategy`` says what is done with the labelled
    target rows:

    %(strategies)s

    The classes are the source model's: a target may miss some of them, but a target class
    the source does not know raises an error rather than silently changing the model.

    Parameters
    ----------
    source_model : FrozenEstimator, xgboost.Booster, dict, str or os.PathLike, default=None
        The source: a :class:`~sklearn.frozen.FrozenEstimator` around a fitted
        ``xgboost.XGBClassifier``, a binary or multiclass ``Booster`` (or the dict that
        ``xgboost.dask.train`` returns), or the path of a saved model. It is never modified.
        ``None`` fits an ``XGBClassifier(**source_params)`` on the source rows.
    %(parameters)s
        A model loaded from a file does not store it, and XGBoost's default 0.3 is used.
    source_params : dict, default=None
        Parameters of the ``XGBClassifier`` fitted on the source rows when ``source_model``
        is None (defaults: 100 trees of depth 6, learning rate 0.3).
    params : dict, default=None
        Further native XGBoost parameters of the added trees, e.g. ``{"subsample": 0.8}``.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the cross-validation folds and XGBoost's sampling.
    n_jobs : int, default=None
        XGBoost threads (``nthread``); ``None`` lets XGBoost decide.

    Attributes
    ----------
    booster_ : xgboost.Booster
        The transferred model.
    source_model_ : xgboost.Booster
        The source model's booster (read, never changed).
    classes_ : ndarray of shape (n_classes,)
        The source model's classes (``0..n_classes-1`` for a bare Booster).
    %(attributes)s

    See Also
    --------
    XGBTransferRegressor : The regression twin.
    CatBoostTransferClassifier : The same strategies for CatBoost models.
    LGBMTransferClassifier : The same strategies for LightGBM models.
    PooledTransfer : The baseline of fitting on source and target rows together.

    Notes
    -----
    %(refresh_notes)s XGBoost's own refresh (``process_type="update"``) is ``tau = 0`` and
    also zeroes every leaf whose target hessian is below ``min_child_weight``; with a few
    hundred target rows that discards most of the source model.

    A target held as a dask array or DataFrame (with ``y`` and ``sample_weight`` partitioned
    alike) is fitted on the dask cluster of the current ``distributed`` client, from a given
    ``source_model``, every row a labelled target row: ``"continue"`` runs
    ``xgboost.dask.train(..., xgb_model=source)``, the same trees as ``xgboost.train`` on
    those rows on one machine (exactly so when the workers' quantile sketches are exact, as
    on up to a few thousand rows; on more the distributed sketch may place a split
    differently); ``"refresh"`` sums each worker's gradients per leaf, one round trip per
    boosting round, and gives the in-memory refresh. ``n_estimators`` must then be an
    integer, ``recalibrate=None`` and ``source_scale=1``; ``predict_proba`` and ``predict``
    of a dask collection return lazy dask arrays.

    A pandas categorical column is aligned to the categories the source model records
    (XGBoost 3.1 and later), so a target frame may hold fewer categories than the source's,
    or others: a category the source never saw is read as a missing value, with a warning.

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

    _backend = XGBoostBackend


@boosted_docstring
class XGBTransferRegressor(
    LabelledScoreMixin, RegressorMixin, BoostedRegressorMethods, BoostedTransfer
):
    """XGBoost regressor carried from a source model to a few labelled target rows.

    The regression twin of :class:`XGBTransferClassifier`, with the same parameters and
    strategies, for a source model with the squared-error objective:

    %(strategies)s

    Parameters
    ----------
    source_model : FrozenEstimator, xgboost.Booster, dict, str or os.PathLike, default=None
        A :class:`~sklearn.frozen.FrozenEstimator` around a fitted ``xgboost.XGBRegressor``,
        a ``Booster`` with objective ``reg:squarederror`` (or the dict that
        ``xgboost.dask.train`` returns), or the path of a saved model.
        ``None`` fits an ``XGBRegressor(**source_params)`` on the source rows.
    %(parameters)s
        A model loaded from a file does not store it, and XGBoost's default 0.3 is used.
    source_params : dict, default=None
        Parameters of the ``XGBRegressor`` fitted on the source rows when ``source_model``
        is None (defaults: 100 trees of depth 6, learning rate 0.3).
    params : dict, default=None
        Further native XGBoost parameters of the added trees.
    random_state : int, RandomState instance or None, default=None
        Seeds the source fit, the cross-validation folds and XGBoost's sampling.
    n_jobs : int, default=None
        XGBoost threads; ``None`` lets XGBoost decide.

    Attributes
    ----------
    booster_ : xgboost.Booster
        The transferred model.
    source_model_ : xgboost.Booster
        The source model's booster (read, never changed).
    %(attributes)s

    See Also
    --------
    XGBTransferClassifier : The classification twin, with the details of each strategy.
    CatBoostTransferRegressor : The same strategies for CatBoost models.
    LGBMTransferRegressor : The same strategies for LightGBM models.

    Notes
    -----
    %(refresh_notes)s

    A target held as a dask collection is fitted through ``xgboost.dask``, as for
    :class:`XGBTransferClassifier`.

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

    _backend = XGBoostBackend
