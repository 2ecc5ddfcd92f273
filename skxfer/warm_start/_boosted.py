"""One engine for the boosted-tree transfer estimators, whatever the library.

:class:`BoostedTransfer` owns the sequence: check the input, resolve (or fit) the source
model, scale or recalibrate its margin, refresh its leaves, choose the number of added trees by
cross-validation on the labelled target rows, and continue. Every step fitted on target rows
(recalibration, refresh) is refitted on the training rows of each fold, so that the choice of
the number of added trees never sees the rows it is scored on. What differs between
libraries is a :class:`~skxfer.warm_start._tree_backend.TreeBackend`'s.
"""

import os
from dataclasses import replace
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skxfer.utils._chunks import is_dask_collection
from skxfer.warm_start._distributed import fit_distributed
from skxfer.warm_start._leaf_refresh import refresh_trees
from skxfer.warm_start._recalibrate import fit_recalibration
from skxfer.warm_start._rows import (
    check_target_classes,
    label_codes,
    source_classes,
    target_folds,
    transfer_rows,
)
from skxfer.warm_start._source import resolve_source
from skxfer.warm_start._tree_backend import TargetRows, TreeBackend
from skxfer.warm_start._tree_input import (
    align_categories,
    align_columns,
    check_tree_X,
    take_rows,
)


class BoostedTransfer(BaseEstimator):
    """Parameters and fit shared by the XGBoost, CatBoost and LightGBM transfer estimators:
    the same names and meanings in every library, so a grid over one carries to the others.

    A subclass names its :class:`TreeBackend` in ``_backend``.
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "source_model": [None, str, os.PathLike, object],
        "strategy": [StrOptions({"continue", "refresh", "refresh_continue"})],
        "recalibrate": [StrOptions({"bias", "affine"}), None],
        "source_scale": [Interval(Real, 0, None, closed="left")],
        "n_estimators": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_estimators": [Interval(Integral, 1, None, closed="left")],
        "early_stopping_rounds": [Interval(Integral, 1, None, closed="left")],
        "cv": ["cv_object"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "tau": [Interval(Real, 0, None, closed="left")],
        "source_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "source_params": [dict, None],
        "params": [dict, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    _backend = TreeBackend
    _is_classifier = False

    def __init__(
        self,
        source_model=None,
        *,
        strategy="continue",
        recalibrate=None,
        source_scale=1.0,
        n_estimators="auto",
        max_estimators=500,
        early_stopping_rounds=20,
        cv=3,
        learning_rate=0.1,
        max_depth=3,
        reg_lambda=1.0,
        tau=1.0,
        source_learning_rate=None,
        source_params=None,
        params=None,
        random_state=None,
        n_jobs=None,
    ):
        self.source_model = source_model
        self.strategy = strategy
        self.recalibrate = recalibrate
        self.source_scale = source_scale
        self.n_estimators = n_estimators
        self.max_estimators = max_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.cv = cv
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.reg_lambda = reg_lambda
        self.tau = tau
        self.source_learning_rate = source_learning_rate
        self.source_params = source_params
        self.params = params
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit (or load) the source model, then transfer it to the labelled target rows.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Target rows, or source and target rows stacked (see :func:`skxfer.pack`). NaN
            marks a missing value. DataFrame columns are matched to the source model's
            features by name; pandas categorical columns are categorical features.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 for integer labels, NaN
            otherwise) and are not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, for the source fit and the target fit alike. A row of weight 0 is
            the same as a row left out.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is a
            labelled target row.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        backend = self._backend(self)
        backend.check_params()
        given = resolve_source(
            self.source_model,
            accepted=backend.accepted,
            is_native=backend.is_native,
            saved_with=backend.saved_with,
        )
        if is_dask_collection(X):
            return fit_distributed(self, backend, given, X, y, sample_weight, sample_domain)
        X = check_tree_X(
            self, X, reset=True, library=backend.library, text_ok=backend.text_categories
        )
        rows = transfer_rows(
            self,
            X,
            y,
            sample_weight,
            sample_domain,
            classifier=self._is_classifier,
            has_source=given is not None,
        )
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        if given is None:
            # Without sample_domain there are no source rows: the plain model on every row.
            fitted_on = rows.source if rows.has_domains else rows.target
            if self._is_classifier:
                classes = source_classes(self._name, rows.y, fitted_on, rows.target)
                labels = label_codes(classes, rows.y[fitted_on]).astype(np.float64)
            else:
                classes, labels = None, np.asarray(rows.y[fitted_on], dtype=np.float64)
            source = backend.fit_source(
                take_rows(X, fitted_on), labels, rows.sample_weight[fitted_on], classes, seed
            )
        else:
            source = backend.load(given)
        self.source_model_ = source.model
        self.n_source_estimators_ = source.n_rounds
        if self._is_classifier:
            self.classes_ = source.classes
            check_target_classes(self._name, rows.y[rows.target], source.classes)
        self._source = replace(source, model=None)  # what predictions need to know
        X = self._rows_for(backend, X)
        calibration = (1.0, np.zeros(source.n_outputs))
        if given is None and not rows.has_domains:
            model, n_added = source.model, 0
        else:
            y_target = rows.y[rows.target]
            if self._is_classifier:
                y_target = label_codes(source.classes, y_target)
            target = TargetRows(
                take_rows(X, rows.target),
                np.asarray(y_target, dtype=np.float64),
                rows.sample_weight[rows.target],
            )
            model, calibration, n_added = self._transfer(backend, source, target, seed)
        setattr(self, backend.fitted_attribute, model)
        self.n_estimators_ = n_added
        self.margin_scale_, self.margin_bias_ = calibration
        return self

    def _transfer(self, backend, source, target, seed):
        """The transferred model, its ``(margin_scale, margin_bias)`` and the added rounds."""
        refresh = self.strategy in ("refresh", "refresh_continue")
        rescale = self.recalibrate is not None or self.source_scale != 1.0
        fitted_on_rows = refresh or self.recalibrate is not None
        if fitted_on_rows and source.objective is None:
            what = f"strategy={self.strategy!r}" if refresh else f"recalibrate={self.recalibrate!r}"
            raise ValueError(
                f"{self._name} can refresh the leaves or recalibrate the margin of models "
                f"trained with {backend.objectives} ({what}); the source model uses "
                f"{source.loss!r}. Use strategy='continue' and recalibrate=None."
            )
        start = backend.working_copy(source.model)

        def base_model(part):
            """The source as changed on the target rows ``part``, before any added tree."""
            model, calibration = start, (1.0, np.zeros(source.n_outputs))
            if rescale:
                model, calibration = self._recalibrated(backend, model, source, part)
            if refresh:
                model = self._refreshed(backend, model, source, part)
            return model, calibration

        model, calibration = base_model(target)
        if self.strategy == "refresh":
            return model, calibration, 0
        n_added = self.n_estimators
        if n_added == "auto":
            fold_base = base_model if fitted_on_rows else lambda part: (model, calibration)
            n_added = self._choose_n_added(backend, fold_base, source, target, seed)
        if n_added:
            before = backend.n_rounds(model)
            model = backend.add_trees(model, source, target, n_added, seed)
            n_added = backend.n_rounds(model) - before  # fewer when no leaf could be split
        return model, calibration, n_added

    def _recalibrated(self, backend, model, source, part):
        """``model`` with its margin replaced by ``scale * margin + bias``, and that
        ``(scale, bias)``: the scale is ``source_scale`` times the one fitted on ``part`` (see
        ``_recalibrate.fit_recalibration``), the bias fitted there (0 without recalibrate)."""
        scale, bias = 1.0, np.zeros(source.n_outputs)
        if self.recalibrate is not None:
            margin = backend.margin(model, part.X)
            scale, bias = fit_recalibration(
                source.objective,
                self.source_scale * (margin[:, 0] if margin.shape[1] == 1 else margin),
                part.y,
                part.weight,
                kind=self.recalibrate,
                tau=self.tau,
            )
        scale *= self.source_scale
        return backend.scaled(model, scale, bias, part.X), (scale, bias)

    def _refreshed(self, backend, model, source, part):
        """``model`` with every leaf re-estimated on ``part``, shrunk toward its value."""
        learning_rate = self.source_learning_rate or source.learning_rate
        if learning_rate is None:
            raise ValueError(
                "source_model does not record its learning rate, which refresh needs; pass "
                "source_learning_rate."
            )
        trees = backend.trees(model)
        leaves = backend.leaves(model, part.X)
        margin = backend.margin(model, part.X)
        refreshed = refresh_trees(
            trees,
            leaves,
            margin - trees.total(leaves, margin.shape[1]),
            source.objective,
            part.y,
            part.weight,
            learning_rate=float(learning_rate),
            reg_lambda=self.reg_lambda,
            tau=self.tau,
        )
        return backend.with_leaves(model, refreshed, np.zeros(margin.shape[1]))

    def _choose_n_added(self, backend, base_model, source, target, seed):
        """Number of added rounds with the lowest mean held-out loss over ``cv`` folds of the
        target rows (0 when the base model alone is best), each fold's base model changed on
        its training rows only.

        As ``xgboost.cv`` does, the search stops when the *mean* loss has not improved for
        ``early_stopping_rounds`` rounds. Each fold first grows until its own loss stops
        improving (the library's early stopping); the folds that stopped first are grown
        further only while the mean needs their rounds.
        """
        folds = target_folds(self.cv, target.y, classifier=self._is_classifier, seed=seed)
        if folds is None:
            return 0
        runs = []
        for train, test in folds:
            base, _ = base_model(target.take(train))
            run = _FoldRun(backend, source, base, target.take(train), target.take(test))
            run.grow(self.max_estimators, seed, stop_early=True)
            runs.append(run)
        while True:
            length = min(len(run.losses) for run in runs)  # rounds 0 .. length - 1
            mean = np.mean([run.losses[:length] for run in runs], axis=0)
            best = _early_stopped(mean, self.early_stopping_rounds)
            if best is not None:
                return best
            if length > self.max_estimators:
                return int(np.argmin(mean))
            more = min(self.early_stopping_rounds, self.max_estimators + 1 - length)
            for run in runs:
                if len(run.losses) == length:
                    run.grow(more, seed, stop_early=False)

    # --- rows and predictions -------------------------------------------------------------

    def _rows_for(self, backend, X):
        """Checked rows, aligned to the source model's features, in the library's form."""
        features = self._source.features
        X = align_columns(X, features, self._name)
        X = align_categories(X, features, backend.library)
        return backend.prepare(X, self._source)

    def _predict_rows(self, X):
        check_is_fitted(self)
        backend = self._backend(self)
        X = check_tree_X(
            self, X, reset=False, library=backend.library, text_ok=backend.text_categories
        )
        return backend, getattr(self, backend.fitted_attribute), self._rows_for(backend, X)

    def _margin(self, X):
        if is_dask_collection(X):
            return self._dask_margin(X)
        backend, model, X = self._predict_rows(X)
        return backend.margin(model, X)

    def _dask_margin(self, X):
        """The margin of the dask rows ``X``, a lazy dask array of shape (n_rows,
        n_outputs) computed on the workers."""
        check_is_fitted(self)
        backend = self._backend(self)
        if not backend.distributed:
            raise TypeError(
                f"{self._name} cannot predict a dask collection with {backend.library}; "
                "compute the rows first, or use dask_ml.wrappers.ParallelPostFit."
            )
        model = getattr(self, backend.fitted_attribute)
        source = replace(self._source, model=model)
        return backend.dask_margin(model, backend.dask_rows(X, source))

    @property
    def _name(self):
        return type(self).__name__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


class BoostedClassifierMethods:
    """``decision_function``, ``predict_proba`` and ``predict`` of a boosted transfer
    classifier."""

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
        if margin.shape[1] == 2 and len(self.classes_) == 2:  # a two-class softmax model
            return margin[:, 1] - margin[:, 0]
        return margin[:, 0] if margin.shape[1] == 1 else margin

    def predict_proba(self, X):
        """Class probabilities of the transferred model.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to 1.
        """
        if is_dask_collection(X):
            margin = self._dask_margin(X)
            n_classes = len(self.classes_)
            return margin.map_blocks(
                _proba_of_margin, chunks=(margin.chunks[0], (n_classes,)), dtype=np.float64
            )
        backend, model, X = self._predict_rows(X)
        return backend.proba(model, X)

    def predict(self, X):
        """Most probable class.

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
        if is_dask_collection(proba):
            return proba.map_blocks(
                lambda block: self.classes_.take(np.argmax(block, axis=1)),
                drop_axis=1,
                dtype=self.classes_.dtype,
            )
        return self.classes_.take(np.argmax(proba, axis=1))


class BoostedRegressorMethods:
    """``predict`` of a boosted transfer regressor."""

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
            The transferred model's prediction of each row.
        """
        if is_dask_collection(X):
            return self._margin(X)[:, 0]
        backend, model, X = self._predict_rows(X)
        return np.asarray(backend.predict(model, X), dtype=np.float64)


class _FoldRun:
    """One cross-validation fold of ``n_estimators="auto"``: the model grown on its training
    rows, and its held-out loss after 0, 1, 2, ... added rounds."""

    def __init__(self, backend, source, base, train, held_out):
        self.backend, self.source = backend, source
        self.model, self.train, self.held_out = base, train, held_out
        self.margin = backend.margin(base, held_out.X)
        self.losses = backend.stage_losses(source, held_out.y, self.margin[None], held_out.weight)
        self.finished = False

    def grow(self, n_rounds, seed, *, stop_early):
        if self.finished:  # the library added no tree: more rounds leave the model as it is
            self.losses = np.r_[self.losses, np.full(n_rounds, self.losses[-1])]
            return
        backend, held_out = self.backend, self.held_out
        first = backend.n_trees(self.model)
        self.model = backend.add_trees(
            self.model,
            self.source,
            self.train,
            n_rounds,
            seed,
            held_out=held_out if stop_early else None,
        )
        leaves = backend.leaves(self.model, held_out.X)[:, first:]
        margins = backend.trees(self.model, first).staged(leaves, self.margin)
        losses = backend.stage_losses(self.source, held_out.y, margins[1:], held_out.weight)
        self.losses = np.r_[self.losses, losses]
        self.margin = margins[-1]
        # LightGBM stops adding trees when no leaf can be split any more
        self.finished = not stop_early and len(losses) < n_rounds


def _proba_of_margin(margin):
    """Class probabilities of a block of margins (one column: binary log-odds)."""
    if margin.shape[1] == 1:
        p = expit(margin[:, 0])
        return np.column_stack([1 - p, p])
    return softmax(margin, axis=1)


def _early_stopped(losses, patience):
    """The index of the lowest loss once ``patience`` later ones have not beaten it, or None
    while the curve is too short to tell."""
    best = 0
    for index, loss in enumerate(losses):
        if loss < losses[best]:
            best = index
        elif index - best >= patience:
            return best
    return None
