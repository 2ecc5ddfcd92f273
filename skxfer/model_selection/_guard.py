"""A guard against negative transfer: the transfer model, or the target-only one, by CV."""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.metrics import accuracy_score, check_scoring, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

from skxfer._domain import domain_masks
from skxfer.model_selection._search import (
    consumes_sample_domain,
    domain_cv,
    fit_on_rows,
    fit_with_domains,
    split_groups,
)
from skxfer.utils._scoring import labelled_part
from skxfer.utils._validation import check_fitted_rows

#: Probabilities are clipped to this before a log-loss (a model sure of the wrong class).
_EPS = 1e-15


class TransferOrTarget(MetaEstimatorMixin, BaseEstimator):
    """Keep a transfer model only where the target's own labels say it does not hurt.

    Transfer can hurt: a source that differs from the target in the wrong way makes a model
    worse than one trained on the target labels alone (negative transfer). This guard fits
    both, the ``transfer`` estimator on the source and target rows and the ``target``
    estimator on the labelled target rows only, and lets out-of-fold predictions on the
    labelled target rows decide:

    - ``rule="stack"`` (default): the prediction is ``w * transfer + (1 - w) * target``
      (class probabilities for a classifier), with the weight ``w`` in [0, 1] that minimises
      the out-of-fold log-loss (classifier) or squared error (regressor) of that mixture on
      the labelled target rows. One weight fitted on every labelled target row is a small
      model: with few labels it stays near whichever candidate is clearly better, and a
      blend of two calibrated models is never worse in log-loss than the worse of the two.
    - ``rule="select"``: one of the two. The transfer model is kept unless the target-only
      model's out-of-fold score beats it by more than ``margin`` standard errors of their
      paired difference; ``margin=0`` keeps the better mean, a negative margin asks the
      transfer model to win by ``-margin`` standard errors.

    In each fold the ``transfer`` estimator is fitted on every row of the training part (its
    ``fit`` gets ``sample_domain``; an estimator that does not take it is fitted on the
    labelled source and target rows pooled) and the ``target`` estimator on the fold's
    labelled target rows (a classifier whose rows hold one class predicts that class's
    prior). Without ``sample_domain`` every row is a target row and the guard is a plain
    choice between two estimators.

    Parameters
    ----------
    transfer : estimator object
        The model that uses the source: any skxfer transfer estimator (warm start,
        reweighting, :class:`~skxfer.warm_start.PooledTransfer`), a search around one, or a
        Pipeline (``sample_domain`` is routed to the steps that request it).
    target : estimator object
        The model of the target labels alone, e.g. a ``LogisticRegression`` or a
        ``GridSearchCV`` around one; a Pipeline over a ``PretrainedFeaturizer`` works too.
    rule : {"stack", "select"}, default="stack"
        How the out-of-fold predictions decide; see above.
    margin : float, default=1.0
        With ``rule="select"``: how many standard errors the target-only model must win by
        before the guard falls back to it. Ignored by ``"stack"``.
    scoring : str, callable or None, default=None
        The score ``rule="select"`` compares (higher is better), as for ``GridSearchCV``.
        ``None`` compares the out-of-fold log-loss (classifiers with ``predict_proba``),
        the error rate (other classifiers) or the squared error (regressors) row by row,
        with the standard error of the paired difference over the labelled target rows; a
        given scorer is computed per fold, with the standard error over folds. The stacking
        weight always minimises the log-loss or squared error.
    cv : int, cross-validation generator or iterable, default=None
        The folds. With ``sample_domain``, ``None`` and an integer k mean
        ``TargetKFold(5)`` and ``TargetKFold(k)`` over shuffled labelled target rows (seed
        0, so that a refit gives the same decision), with fewer folds when fewer rows are
        labelled; every fold keeps every source row in training. Without ``sample_domain``
        they mean (stratified) k-fold as in scikit-learn.
    n_jobs : int or None, default=None
        Folds fitted in parallel.

    Attributes
    ----------
    decision_ : {"transfer", "target", "blend"}
        What the guard predicts with.
    weight_ : float
        The transfer model's weight in the prediction (1 for ``"transfer"``, 0 for
        ``"target"``).
    difference_ : float
        Mean out-of-fold score of the transfer model minus that of the target-only model
        (positive: transfer helps), in the units of ``scoring`` (``None``: minus the
        per-row loss).
    difference_se_ : float
        Standard error of ``difference_`` (over paired rows or folds).
    cv_results_ : dict of ndarrays
        ``"candidate"`` (``"transfer"``, ``"target"``, ``"stack"``),
        ``"split<k>_test_score"``, ``"mean_test_score"`` and ``"std_test_score"``: the
        score of each candidate on each fold (``scoring``, or minus the mean loss). The
        ``"stack"`` row scores the mixture at the final weight.
    n_splits_ : int
        Number of folds.
    transfer_ : estimator object or None
        The transfer model fitted on every row (None when its weight is 0).
    target_ : estimator object or None
        The target-only model fitted on the labelled target rows (None when its weight is 0).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    AveragedSearchCV : Hedges among the settings of one transfer model, with the
        source-discarding setting as anchor.
    transfer_curve : Measures when transfer helps as target labels grow.

    Notes
    -----
    The guard spends the target labels twice: once to fit and once, out of fold, to judge.
    With ten labels its folds hold two rows each, so its choice is noisy; that is why the
    default blends rather than switches. On the project's quality benchmarks
    (``benchmarks/guard_quality.py``: warm start on 7 tasks, reweighting on 4, pretrained text
    and image features against TF-IDF and pixels, a source network's features on 4 UCR
    series tasks; 10, 30 and 100 target labels) the stacked guard's mean was at least the
    better of its two parts minus 0.005 in 17 of 21 (method, size) cells and it lost to the
    target-only model by more than two standard errors on no task at 100 labels. It fell
    short where a few labels cannot rank the two models: by 0.005-0.010 at 10-30 labels, and
    by 0.07 on ten-class digits with one label per class, where the log-loss-optimal blend is
    not the most accurate one. ``rule="select"`` met the goal less often.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer import pack
    >>> from skxfer.model_selection import TransferOrTarget
    >>> from skxfer.warm_start import PooledTransfer
    >>> rng = np.random.RandomState(0)
    >>> Xs = rng.normal(size=(200, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = rng.normal(size=(30, 2)); yt = (Xt[:, 1] > 0).astype(int)  # another concept
    >>> X, y, sample_domain = pack(Xs, ys, Xt, yt)
    >>> guard = TransferOrTarget(PooledTransfer(LogisticRegression()), LogisticRegression())
    >>> guard = guard.fit(X, y, sample_domain=sample_domain)
    >>> guard.decision_
    'target'
    """

    _parameter_constraints: dict = {
        "transfer": [HasMethods(["fit", "predict"])],
        "target": [HasMethods(["fit", "predict"])],
        "rule": [StrOptions({"stack", "select"})],
        "margin": [Interval(Real, None, None, closed="neither")],
        "scoring": [None, str, callable],
        "cv": ["cv_object"],
        "n_jobs": [Integral, None],
    }

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__score = {"sample_domain": True}

    def __init__(
        self, transfer, target, *, rule="stack", margin=1.0, scoring=None, cv=None, n_jobs=None
    ):
        self.transfer = transfer
        self.target = target
        self.rule = rule
        self.margin = margin
        self.scoring = scoring
        self.cv = cv
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sample_domain=None, sample_weight=None):
        """Judge both models out of fold on the labelled target rows, then fit what is kept.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Source and target rows, stacked (see :func:`skxfer.pack`).
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows; ``None``: every row is a
            labelled target row.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every fit of both estimators, for the rows each is fitted on.

        Returns
        -------
        self : object
            The fitted guard.
        """
        self._check_estimators()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        validate_data(self, X, reset=True, skip_check_array=True)
        if sp.issparse(X):
            X = X.tocsr()  # rows of every sparse format can then be taken
        elif not hasattr(X, "__getitem__"):  # array-likes that cannot be indexed
            X = np.asarray(X)
        y = column_or_1d(y.to_numpy() if hasattr(y, "to_numpy") else y, warn=True)
        n_samples = len(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, y)
        # Bad input fails here, with the transfer estimator's own message, rather than in
        # every fold; the fit is kept when the transfer model is.
        transfer = self._fit_transfer(
            clone(self.transfer), X, y, sample_domain, sample_weight, np.arange(n_samples)
        )
        classifier = is_classifier(self.transfer)
        masks = domain_masks(y, sample_domain, n_samples, require_source=False)
        if sample_domain is None:
            target_rows = np.arange(n_samples)
            labels = y
        else:
            target_rows = np.flatnonzero(masks.labelled_target)
            labels = y[masks.labelled]
        self._proba = classifier and all(
            hasattr(est, "predict_proba") for est in (self.transfer, self.target)
        )
        if classifier:
            self.classes_ = np.unique(labels)
            if self.rule == "stack" and not self._proba:
                raise TypeError(
                    "rule='stack' mixes class probabilities, but "
                    f"{self._without_proba()} has no predict_proba. Use rule='select', or "
                    "wrap the classifier in CalibratedClassifierCV."
                )
        cv = self._folds(sample_domain, y, target_rows, classifier)
        groups = split_groups(cv, None, sample_domain)
        split_params = {} if sample_domain is None else {"sample_domain": sample_domain}
        if groups is not None:
            split_params = {"groups": groups}
        splits = list(cv.split(X, y, **split_params))
        folds = Parallel(n_jobs=self.n_jobs)(
            delayed(self._fold)(X, y, sample_domain, sample_weight, train, test)
            for train, test in splits
        )
        self.n_splits_ = len(splits)
        self._decide(folds, y)
        self.transfer_ = transfer if self.weight_ > 0 else None
        self.target_ = None
        if self.weight_ < 1:
            self.target_ = fit_on_rows(
                clone(self.target), X, y, target_rows, sample_weight=sample_weight
            )
        return self

    def predict(self, X):
        """Predict with the kept model, or the mixture.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted classes (of highest mixed probability) or values.
        """
        check_fitted_rows(self, X)
        if is_classifier(self.transfer):
            if self._proba:
                return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
            kept = self.transfer_ if self.transfer_ is not None else self.target_
            return kept.predict(X)
        return self._mix(self._response(self.transfer_, X), self._response(self.target_, X))

    def predict_proba(self, X):
        """Class probabilities of the kept model, or the mixture.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of ``classes_``, in that order.
        """
        check_fitted_rows(self, X)
        if not (is_classifier(self.transfer) and self._proba):
            raise AttributeError(
                "predict_proba is available when both estimators are classifiers with "
                "predict_proba."
            )
        return self._mix(self._response(self.transfer_, X), self._response(self.target_, X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def score(self, X, y, sample_weight=None, sample_domain=None):
        """Accuracy for a classifier, R² for a regressor, on the labelled rows.

        Rows whose label is the unlabelled mark are left out (see :func:`skxfer.pack`);
        with ``sample_domain`` only the labelled target rows are scored.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Test rows.
        y : array-like of shape (n_samples,)
            True targets, possibly masked.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the test rows.
        sample_domain : array-like of shape (n_samples,), default=None
            When given, only the labelled target rows (``sample_domain <= -1``) are scored.

        Returns
        -------
        score : float
            Accuracy or R² of :meth:`predict`.
        """
        X, y, sample_weight = labelled_part(self, X, y, sample_weight, sample_domain)
        metric = accuracy_score if is_classifier(self.transfer) else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.transfer.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.allow_nan = inner.input_tags.allow_nan
        tags.input_tags.string = inner.input_tags.string
        tags.target_tags.required = True
        return tags

    # ------------------------------------------------------------------------------------------
    # fitting

    def _check_estimators(self):
        if is_classifier(self.transfer) != is_classifier(self.target):
            kinds = {True: "a classifier", False: "not a classifier"}
            raise ValueError(
                f"transfer is {kinds[is_classifier(self.transfer)]} but target is "
                f"{kinds[is_classifier(self.target)]}; pass two classifiers or two regressors."
            )

    def _without_proba(self):
        for name in ("transfer", "target"):
            if not hasattr(getattr(self, name), "predict_proba"):
                return f"{name} ({type(getattr(self, name)).__name__})"
        return "an estimator"

    def _folds(self, sample_domain, y, target_rows, classifier):
        n_labelled = len(target_rows)
        if n_labelled < 2:
            raise ValueError(
                f"{type(self).__name__} judges the two models out of fold on labelled target "
                f"rows, but got {n_labelled} sample(s) with a target label. Label at least two "
                "target rows (ten or more for a useful decision), or fit the transfer model "
                "alone."
            )
        cv = self.cv
        if cv is None:
            cv = min(5, n_labelled)
        if sample_domain is None:
            if not isinstance(cv, Integral):
                return check_cv(cv, y, classifier=classifier)
            if classifier and np.unique(y, return_counts=True)[1].min() >= cv:
                return StratifiedKFold(cv, shuffle=True, random_state=0)
            return KFold(cv, shuffle=True, random_state=0)
        return domain_cv(cv, sample_domain, shuffle=True, random_state=0)

    def _fit_transfer(self, estimator, X, y, sample_domain, sample_weight, rows):
        params = {}
        if sample_weight is not None:
            params["sample_weight"] = _safe_indexing(np.asarray(sample_weight), rows)
        if sample_domain is None:
            return fit_on_rows(estimator, X, y, rows, sample_weight=sample_weight)
        if consumes_sample_domain(estimator):
            return fit_with_domains(
                estimator,
                _safe_indexing(X, rows),
                y[rows],
                np.asarray(sample_domain)[rows],
                **params,
            )
        masks = domain_masks(
            y[rows],
            np.asarray(sample_domain)[rows],
            len(rows),
            require_source=False,
            require_target=False,
        )
        return fit_on_rows(estimator, X, y, rows[masks.labelled], sample_weight=sample_weight)

    def _fold(self, X, y, sample_domain, sample_weight, train, test):
        """Both models fitted on one fold's training rows; their responses and scores on its
        labelled target test rows."""
        if sample_domain is None:
            target_train = train
        else:
            masks = domain_masks(
                y[train],
                np.asarray(sample_domain)[train],
                len(train),
                require_source=False,
                require_target=False,
            )
            target_train = train[masks.labelled_target]
        transfer = self._fit_transfer(
            clone(self.transfer), X, y, sample_domain, sample_weight, train
        )
        target = fit_on_rows(clone(self.target), X, y, target_train, sample_weight=sample_weight)
        X_test = _safe_indexing(X, test)
        fold = {
            "test": test,
            "transfer": self._response(transfer, X_test),
            "target": self._response(target, X_test),
        }
        if self.scoring is not None:
            scorer = check_scoring(self.transfer, scoring=self.scoring)
            fold["transfer_score"] = scorer(transfer, X_test, y[test])
            fold["target_score"] = scorer(target, X_test, y[test])
        return fold

    def _response(self, model, X):
        """Class probabilities over ``classes_`` (classifiers with probabilities) or
        predictions; None for a model that was not kept."""
        if model is None:
            return None
        if not self._proba:
            return np.asarray(model.predict(X))
        proba = model.predict_proba(X)
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, np.searchsorted(self.classes_, model.classes_)] = proba
        return out

    def _mix(self, transfer, target):
        if transfer is None:
            return target
        if target is None:
            return transfer
        return self.weight_ * transfer + (1.0 - self.weight_) * target

    # ------------------------------------------------------------------------------------------
    # deciding

    def _row_loss(self, response, y):
        """Loss of each row: log-loss, error, or squared error."""
        if self._proba:
            column = np.searchsorted(self.classes_, y)
            return -np.log(np.clip(response[np.arange(len(y)), column], _EPS, 1.0))
        if is_classifier(self.transfer):
            return (response != y).astype(float)
        return (np.asarray(response, dtype=float) - y.astype(float)) ** 2

    def _decide(self, folds, y):
        test = np.concatenate([f["test"] for f in folds])
        y_test = y[test]
        transfer = np.concatenate([f["transfer"] for f in folds])
        target = np.concatenate([f["target"] for f in folds])
        loss_transfer = self._row_loss(transfer, y_test)
        loss_target = self._row_loss(target, y_test)
        if self.scoring is None:
            diff = loss_target - loss_transfer
        else:
            diff = np.array([f["transfer_score"] - f["target_score"] for f in folds])
        self.difference_ = float(np.mean(diff))
        self.difference_se_ = (
            float(np.std(diff, ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else np.inf
        )
        if self.rule == "select":
            keep = self.difference_ >= -self.margin * self.difference_se_
            self.weight_ = 1.0 if keep else 0.0
        else:
            self.weight_ = self._stack_weight(transfer, target, y_test)
        if self.weight_ >= 1.0:
            self.decision_ = "transfer"
        elif self.weight_ <= 0.0:
            self.decision_ = "target"
        else:
            self.decision_ = "blend"
        self.cv_results_ = self._results(folds, y)

    def _stack_weight(self, transfer, target, y):
        """The weight in [0, 1] of the transfer model minimising the out-of-fold loss."""
        if not self._proba:  # squared error: closed form
            delta = transfer - target
            denom = float(np.dot(delta, delta))
            if denom == 0.0:
                return 1.0
            w = float(np.dot(y.astype(float) - target, delta)) / denom
            return float(np.clip(w, 0.0, 1.0))
        column = np.searchsorted(self.classes_, y)
        rows = np.arange(len(y))
        p_transfer, p_target = transfer[rows, column], target[rows, column]

        def loss(w):
            return -np.mean(np.log(np.clip(w * p_transfer + (1 - w) * p_target, _EPS, 1.0)))

        w = float(minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded").x)
        # the bounded search never lands exactly on an end: snap when the end is as good
        for end in (0.0, 1.0):
            if loss(end) <= loss(w) + 1e-9:
                return end
        return w

    def _results(self, folds, y):
        candidates = ["transfer", "target", "stack"]
        scores = np.empty((3, len(folds)))
        for k, fold in enumerate(folds):
            y_test = y[fold["test"]]
            mixed = self._mix(fold["transfer"], fold["target"])
            if self.scoring is None:
                responses = (fold["transfer"], fold["target"], mixed)
                scores[:, k] = [-self._row_loss(r, y_test).mean() for r in responses]
            else:
                scores[:, k] = [fold["transfer_score"], fold["target_score"], np.nan]
        results = {"candidate": np.array(candidates, dtype=object)}
        for k in range(len(folds)):
            results[f"split{k}_test_score"] = scores[:, k]
        results["mean_test_score"] = scores.mean(axis=1)
        results["std_test_score"] = scores.std(axis=1)
        return results
