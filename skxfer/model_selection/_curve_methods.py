"""The methods :func:`~skxfer.model_selection.transfer_curve` compares by default.

Two baselines that never see a target label (the logistic regression or ridge and the
XGBoost model fitted on the source alone), one that never sees a source row (the same linear
model on the target labels alone), four transfer methods (pooling, reweighting, a linear
model pulled toward the source, and an XGBoost warm start) and the linear transfer model
guarded against negative transfer by the target-only one. Every setting a method chooses
is chosen by cross-validation on the training labels of the target only.

A method is a :class:`CurveMethod`: a function ``fit(X, y, sample_domain, train,
random_state)`` that returns a fitted model. ``X, y, sample_domain`` are the source rows and
the rows of one target domain, the labels of every target row outside ``train`` masked;
``train`` indexes the target rows whose labels the method may learn from.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss, make_scorer
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

from skxfer.model_selection._split import TargetKFold

#: The default methods that transfer nothing: a report compares the others against them.
BASELINES = ("target only", "source only", "source only (xgb)")
#: Folds of every choice a default method makes on the training labels.
FOLDS = 3


@dataclass(frozen=True)
class CurveMethod:
    """How one method of a curve is fitted.

    ``fit(X, y, sample_domain, train, random_state)`` returns the fitted model; ``frozen``
    says that it returns the same model whatever rows it is given (a model fitted on the
    source alone), so the model is scored once per seed rather than once per size.
    """

    fit: Callable
    frozen: bool = False

    @classmethod
    def scored_only(cls, model):
        """The method that scores the fitted ``model`` as it is, never refitting it."""
        return cls(partial(_the_model, model), frozen=True)


def default_methods(X_source, y_source, *, classification, fast):
    """``({name: CurveMethod}, notes)``: the default set, its source models fitted once.

    ``fast`` makes the grids smaller and the source XGBoost model shorter. Without xgboost
    the two XGBoost methods are left out and a note says so.
    """
    with warnings.catch_warnings(), config_context(enable_metadata_routing=False):
        # few rows, many fits: convergence and small-fold warnings say nothing actionable here
        warnings.simplefilter("ignore")
        sources = _fit_sources(X_source, y_source, classification, fast)
    fits = _DefaultFits(classification, fast, sources)
    linear = "transfer logistic" if classification else "transfer ridge"
    methods = {
        "target only": CurveMethod(partial(_quiet, fits.target_only)),
        "source only": CurveMethod.scored_only(sources["source only"]),
        "source only (xgb)": None,
        "pooled": CurveMethod(partial(_quiet, fits.pooled)),
        "reweighted": CurveMethod(partial(_quiet, fits.reweighted)),
        linear: CurveMethod(partial(_quiet, fits.transfer_linear)),
        "xgb warm start": None,
        "guarded": CurveMethod(partial(_quiet, fits.guarded)),
    }
    notes = []
    if "source only (xgb)" in sources:
        methods["source only (xgb)"] = CurveMethod.scored_only(sources["source only (xgb)"])
        methods["xgb warm start"] = CurveMethod(partial(_quiet, fits.xgb_warm_start))
    else:
        notes.append("XGBoost rows skipped: xgboost is not installed (pip install 'skxfer[demo]').")
    return {name: method for name, method in methods.items() if method is not None}, notes


def _quiet(fit, *args):
    """Fit a default method as the command line always has: warnings off (they concern few
    rows and many fits) and metadata routing off (``sample_domain`` reaches each splitter as
    ``groups``), whatever the caller's configuration."""
    with warnings.catch_warnings(), config_context(enable_metadata_routing=False):
        warnings.simplefilter("ignore")
        return fit(*args)


def _the_model(model, *args):
    return model


def _fit_sources(Xs, ys, classification, fast):
    """The models fitted on the source rows alone: once per curve."""
    sources = {}
    linear = LogisticRegression(max_iter=2000) if classification else Ridge()
    sources["source only"] = linear.fit(Xs, ys)
    try:
        import xgboost as xgb
    except ImportError:
        return sources
    cls = xgb.XGBClassifier if classification else xgb.XGBRegressor
    trees = cls(
        n_estimators=50 if fast else 100,
        max_depth=3,
        learning_rate=0.1,
        n_jobs=1,
        random_state=0,
    )
    sources["source only (xgb)"] = trees.fit(Xs, ys)
    return sources


class _DefaultFits:
    """The fitting of each default method that learns from target labels."""

    def __init__(self, classification, fast, sources):
        self.classification = classification
        self.fast = fast
        self.sources = sources
        classes = sources["source only"].classes_ if classification else None
        self.scoring = _scoring(classification, classes)

    def target_only(self, X, y, sample_domain, train, seed):
        return _TargetOnly(self.classification, self.scoring, seed).fit(X[train], y[train])

    def guarded(self, X, y, sample_domain, train, seed):
        from skxfer.model_selection._guard import TransferOrTarget

        guard = TransferOrTarget(
            self._transfer_linear_estimator(recalibrate=None),
            _TargetOnly(self.classification, self.scoring, seed),
        )
        return guard.fit(X, y, sample_domain=sample_domain)

    def pooled(self, X, y, sample_domain, train, seed):
        from skxfer.warm_start import PooledTransfer

        grid = {"target_weight": [1.0, 10.0, "balanced"]}
        return self._search(PooledTransfer(self._linear()), grid, X, y, sample_domain, seed)

    def reweighted(self, X, y, sample_domain, train, seed):
        from skxfer.reweight import (
            DiscriminativeWeighter,
            ImportanceWeightedClassifier,
            ImportanceWeightedRegressor,
        )

        meta = ImportanceWeightedClassifier if self.classification else ImportanceWeightedRegressor
        model = meta(self._linear(), DiscriminativeWeighter(random_state=seed))
        return self._search(model, {"target_weight": [1.0, 10.0]}, X, y, sample_domain, seed)

    def transfer_linear(self, X, y, sample_domain, train, seed):
        if not self.classification:
            return self._transfer_linear_estimator().fit(X, y, sample_domain=sample_domain)
        # With and without a first fitted offset ("bias": a shifted base rate is the
        # commonest change between domains); each picks alpha by its own 3-fold CV on the
        # target labels (the same folds), and the lower CV log-loss wins.
        fits = [
            self._transfer_linear_estimator(recalibrate).fit(X, y, sample_domain=sample_domain)
            for recalibrate in (None, "bias")
        ]
        return min(fits, key=lambda model: np.min(model.cv_loss_))

    def _transfer_linear_estimator(self, recalibrate=None):
        from skxfer.warm_start import TransferLogisticRegression, TransferRidge

        source = FrozenEstimator(self.sources["source only"])
        if not self.classification:
            return TransferRidge(source, alpha="auto")
        return TransferLogisticRegression(
            source,
            alpha="auto",
            alphas=np.logspace(-2, 3, 6 if self.fast else 11),
            cv=FOLDS,
            recalibrate=recalibrate,
            tol=1e-6,
        )

    def xgb_warm_start(self, X, y, sample_domain, train, seed):
        from skxfer.warm_start import XGBTransferClassifier, XGBTransferRegressor

        cls = XGBTransferClassifier if self.classification else XGBTransferRegressor
        model = cls(
            FrozenEstimator(self.sources["source only (xgb)"]),
            strategy="refresh",
            random_state=seed,
            n_jobs=1,
        )
        # the source's leaves re-estimated (pulled toward their source values by tau), or
        # only its margin shifted by one fitted offset
        grid = [
            {"strategy": ["refresh"], "tau": [100.0, 10.0] if self.fast else [100.0, 10.0, 1.0]},
            {"strategy": ["continue"], "recalibrate": ["bias"], "n_estimators": [0]},
        ]
        return self._search(model, grid, X, y, sample_domain, seed)

    def _linear(self):
        return LogisticRegression(max_iter=2000) if self.classification else Ridge()

    def _search(self, estimator, grid, X, y, sample_domain, seed):
        cv = TargetKFold(FOLDS, shuffle=True, random_state=seed)
        search = GridSearchCV(estimator, grid, cv=cv, scoring=self.scoring)
        try:
            return search.fit(X, y, groups=sample_domain, sample_domain=sample_domain)
        except ValueError:
            # every candidate failed on some fold (a fold with one class): the first setting
            first = grid[0] if isinstance(grid, list) else grid
            return (
                clone(estimator)
                .set_params(**{k: v[0] for k, v in first.items()})
                .fit(X, y, sample_domain=sample_domain)
            )


class _TargetOnly(BaseEstimator):
    """The linear model of the target labels alone: its regularisation chosen by 3-fold CV
    on the rows it is fitted on (stratified when every class has three rows), the first
    setting when every fold fails, the prior of a single class when there is one."""

    def __init__(self, classification=True, scoring=None, random_state=0):
        self.classification = classification
        self.scoring = scoring
        self.random_state = random_state

    def fit(self, X, y):
        if self.classification:
            self.classes_ = np.unique(y)
            if len(self.classes_) < 2:
                self.model_ = DummyClassifier(strategy="prior").fit(X, y)
                return self
            grid = {"C": [0.01, 0.1, 1.0, 10.0]}
            model = LogisticRegression(max_iter=2000)
            _, counts = np.unique(y, return_counts=True)
            splitter = StratifiedKFold if counts.min() >= FOLDS else KFold
        else:
            if len(y) < FOLDS:
                self.model_ = DummyRegressor().fit(X, y)
                return self
            grid = {"alpha": [0.1, 1.0, 10.0, 100.0]}
            model = Ridge()
            splitter = KFold
        cv = splitter(FOLDS, shuffle=True, random_state=self.random_state)
        search = GridSearchCV(model, grid, cv=cv, scoring=self.scoring)
        try:
            self.model_ = search.fit(X, y).best_estimator_
        except ValueError:
            self.model_ = model.fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier" if self.classification else "regressor"
        return tags


def _scoring(classification, classes):
    if not classification:
        return "neg_mean_squared_error"
    # log-loss rather than accuracy: on a handful of labels accuracy ties most settings; the
    # labels are given because a fold of a few rows often holds one class only
    return make_scorer(
        log_loss, greater_is_better=False, response_method="predict_proba", labels=classes
    )
