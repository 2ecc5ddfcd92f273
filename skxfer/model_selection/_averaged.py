"""A grid search that averages the candidates its cross-validation cannot tell apart."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import validate_data

from skxfer._domain import domain_masks, is_masked
from skxfer.model_selection._search import (
    check_fit_params,
    domain_cv,
    log_loss_scorer,
    split_groups,
)
from skxfer.utils._meta import InnerTagsMixin
from skxfer.utils._scoring import labelled_part, score_docstring
from skxfer.utils._validation import check_fitted_rows


class AveragedSearchCV(InnerTagsMixin, MetaEstimatorMixin, BaseEstimator):
    """Grid search that averages every candidate within one standard error of the best.

    With a few dozen labelled target rows, the cross-validated scores of transfer settings
    (how hard to pull toward the source, how many trees to add, whether to keep the source at
    all) differ by less than their noise, and picking the single best mean often picks the
    setting that fitted the folds' noise. Averaging the predictions of every candidate the
    cross-validation cannot tell apart hedges that choice; for probabilities it also cannot
    do worse, in log-loss, than the average of its members' losses. ``anchor`` settings
    (typically the model that ignores the source) join the average whatever their score, so
    a source that misleads on the target is always diluted by a model that does not use it.

    The search is a :class:`~sklearn.model_selection.GridSearchCV` (``refit=False``) over
    ``param_grid``; the members are then refitted on all rows, and every member has the
    same weight. As more target labels arrive the standard errors shrink, the band narrows
    toward the best candidate, and only the anchors remain as a hedge.

    Parameters
    ----------
    estimator : estimator object
        The classifier (with ``predict_proba``) or regressor whose settings are searched.
    param_grid : dict or list of dicts
        The grid, as for :class:`~sklearn.model_selection.GridSearchCV`.
    scoring : str, callable or None, default=None
        How a fold is scored (higher is better), as for ``GridSearchCV``; ``None`` uses the
        estimator's ``score``. For probabilities ``"neg_log_loss"`` is the natural choice;
        it is given every class of ``y``, so that a fold holding one class only is scored
        rather than failed.
    cv : int, cross-validation generator or iterable, default=None
        The folds, as for ``GridSearchCV``. When ``fit`` gets ``sample_domain``, ``None``
        and an integer k mean ``TargetKFold(5)`` and ``TargetKFold(k)``: every fold keeps the
        source rows and is scored on labelled target rows (``sample_domain`` reaches an
        skxfer splitter as ``groups``).
    n_se : float, default=1.0
        Width of the band, in standard errors of the best candidate's mean score
        (``std_test_score / sqrt(n_splits)``); ``0`` keeps the best candidate alone (plus
        the anchors).
    anchor : dict, list of dicts or None, default=None
        Parameter settings (applied to a clone of ``estimator``) that are always in the
        average, scored or not. E.g. ``{"source_scale": 0.0}`` for an
        :class:`~skxfer.warm_start.XGBTransferClassifier`: boosting on the target rows alone.
    anchor_weight : "auto" or float in [0, 1], default="auto"
        The anchors' share of the average, split equally among them; the band's other
        members share the rest equally. ``"auto"``: every member weighs the same, except
        that a classifier's anchors take half when the labelled rows hold fewer rows of
        some class than there are folds (or none of a class only the source rows hold).
        Then some fold is scored on one class only, and the cross-validation rests on one
        or two rows to rank the candidates, so it gets no more say than the anchors.
        Ignored without ``anchor``.
    anchor_n_se : float or None, default=None
        ``None``: every anchor joins the average. A float: the anchors are alternatives
        (e.g. the target-only model at several strengths of regularisation, listed from the
        most regularised) and one joins: the first whose mean score is within
        ``anchor_n_se`` standard errors of the best anchor's. Every anchor must then be a
        setting of ``param_grid``, so that it is scored. Where a classifier's labelled rows
        hold fewer rows of some class than there are folds, the scores cannot rank the
        anchors and the first is taken.
    n_jobs : int or None, default=None
        Parallel jobs of the grid search.

    Attributes
    ----------
    cv_results_ : dict of ndarrays
        The grid search's results (see ``GridSearchCV.cv_results_``).
    best_index_ : int
        Index in ``cv_results_`` of the best mean score.
    best_params_ : dict
        The setting with the best mean score.
    best_score_ : float
        Its mean score.
    band_ : ndarray of int
        Indices in ``cv_results_`` of the candidates within ``n_se`` standard errors of the
        best, best first.
    member_params_ : list of dict
        The settings averaged: the band's, then the anchors' not already in it.
    anchor_params_ : list of dict
        The anchors in the average: every one of ``anchor``, or the one chosen when
        ``anchor_n_se`` is set.
    estimators_ : list of estimator objects
        The members, each fitted on all rows.
    weights_ : ndarray of shape (n_members,)
        The weight of each member in the average (summing to 1; see ``anchor_weight``).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_splits_ : int
        Number of cross-validation splits.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    least_change_refit : Pick one candidate from the same band: the one closest to the source.
    skxfer.model_selection.TargetKFold : Folds that validate on labelled target rows.

    Notes
    -----
    Measured on seven real shifted tasks (``benchmarks/warm_start_quality.py``: heart
    disease across hospitals, wine red -> white, Amazon reviews), averaging the band with the
    source-discarding setting as anchor beats both the target-only and the source-only model
    on average over the tasks at every number of target labels from 10 to all, for XGBoost
    and for the linear models; the single best mean, or the least change within the band,
    does not. The anchor is a fixed hedge: where the source is excellent and 10 labels are
    all there is, it costs a little (about 0.02 of skill on the Amazon tasks). Where a
    class has one or two labelled rows (Switzerland's 10 labels hold one patient without
    heart disease), the cross-validation ranks the candidates on those rows alone, and the
    ``"auto"`` anchor weight of one half is what keeps the average near the target-only
    model when the source misleads.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.model_selection import AveragedSearchCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    >>> search = AveragedSearchCV(
    ...     LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0]}, scoring="neg_log_loss", cv=3
    ... ).fit(X, y)
    >>> len(search.estimators_) == len(search.band_)
    True
    >>> search.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "param_grid": [dict, list],
        "scoring": [None, str, callable],
        "cv": ["cv_object"],
        "n_se": [Interval(Real, 0, None, closed="left")],
        "anchor": [None, dict, list],
        "anchor_weight": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
        "anchor_n_se": [None, Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        cv=None,
        n_se=1.0,
        anchor=None,
        anchor_weight="auto",
        anchor_n_se=None,
        n_jobs=None,
    ):
        self.estimator = estimator
        self.param_grid = param_grid
        self.scoring = scoring
        self.cv = cv
        self.n_se = n_se
        self.anchor = anchor
        self.anchor_weight = anchor_weight
        self.anchor_n_se = anchor_n_se
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, groups=None, sample_weight=None, sample_domain=None):
        """Search the grid, then fit every member of the band and the anchors on all rows.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Training rows (source and target rows stacked, for transfer estimators).
        y : array-like of shape (n_samples,)
            Targets (unlabelled target rows masked, for transfer estimators).
        groups : array-like of shape (n_samples,), default=None
            Group labels for the splitter; defaults to ``sample_domain``.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to every fit of ``estimator``.
        sample_domain : array-like of shape (n_samples,), default=None
            Passed to every fit of ``estimator`` (and to the splitter, as ``groups``).

        Returns
        -------
        self : object
            The fitted search.
        """
        if is_classifier(self.estimator) and not hasattr(self.estimator, "predict_proba"):
            raise TypeError(
                f"AveragedSearchCV averages class probabilities, but "
                f"{type(self.estimator).__name__} has no predict_proba. Pass a classifier "
                "with predict_proba (or wrap it in CalibratedClassifierCV)."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        anchors = self._anchors()
        if self.anchor_n_se is not None:
            _check_in_grid(anchors, self.param_grid)
        validate_data(self, X, reset=True, skip_check_array=True)
        params = check_fit_params(
            self.estimator,
            type(self).__name__,
            sample_weight=sample_weight,
            sample_domain=sample_domain,
        )
        cv = domain_cv(self.cv, sample_domain)
        # Bad input fails here, with the estimator's own message, rather than as a warning
        # per failed fold; the fit is kept if this candidate joins the average.
        first = clone(self.estimator).set_params(**_first_params(self.param_grid))
        first.fit(X, y, **params)
        search_params = dict(params)
        groups = split_groups(cv, groups, sample_domain)
        if groups is not None:
            search_params["groups"] = groups
        search = GridSearchCV(
            self.estimator,
            self.param_grid,
            scoring=self._scorer(y, sample_domain),
            cv=cv,
            refit=False,
            n_jobs=self.n_jobs,
            error_score=np.nan,
        )
        search.fit(X, y, **search_params)
        results = search.cv_results_
        mean = np.asarray(results["mean_test_score"], dtype=float)
        if not np.isfinite(mean).any():
            raise ValueError(
                "Every candidate's mean test score is NaN (each fit failed, or the scorer is "
                "undefined on these folds), so no candidate can be averaged. Check the "
                "warnings of the failed fits, or use fewer folds."
            )
        std = np.asarray(results["std_test_score"], dtype=float)
        best, close = _within_n_se(mean, std, search.n_splits_, self.n_se)
        band = close[np.argsort(-mean[close], kind="stable")]
        few = self._few_of_a_class(y, sample_domain, search.n_splits_)
        if self.anchor_n_se is not None and anchors:
            anchors = [self._choose_anchor(anchors, results, few, search.n_splits_)]
        members = [results["params"][i] for i in band]
        is_anchor = [any(_same(m, a) for a in anchors) for m in members]
        for setting in anchors:
            if not any(_same(setting, m) for m in members):
                members.append(setting)
                is_anchor.append(True)
        self.cv_results_ = results
        self.n_splits_ = search.n_splits_
        self.best_index_ = best
        self.best_params_ = results["params"][best]
        self.best_score_ = float(mean[best])
        self.band_ = band
        self.member_params_ = members
        self.anchor_params_ = anchors
        self.estimators_ = [
            first
            if _same(m, results["params"][0])
            else clone(self.estimator).set_params(**m).fit(X, y, **params)
            for m in members
        ]
        self.weights_ = _weights(np.asarray(is_anchor), self._anchor_share(few))
        if is_classifier(self.estimator):
            self.classes_ = self.estimators_[0].classes_
            for est in self.estimators_[1:]:
                if not np.array_equal(est.classes_, self.classes_):
                    raise ValueError(
                        f"The members learned different classes ({self.classes_} and "
                        f"{est.classes_}), so their probabilities cannot be averaged."
                    )
        return self

    def predict(self, X):
        """Predict with the members' average.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The class of highest average probability, or the average prediction.
        """
        self._check_X(X)
        if is_classifier(self.estimator):
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return sum(w * est.predict(X) for w, est in zip(self.weights_, self.estimators_))

    def predict_proba(self, X):
        """The members' average class probabilities.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Weighted average of the members' probabilities, in the order of ``classes_``.
        """
        if not is_classifier(self.estimator):
            raise AttributeError("predict_proba is only available for classifiers.")
        self._check_X(X)
        return sum(w * est.predict_proba(X) for w, est in zip(self.weights_, self.estimators_))

    def predict_log_proba(self, X):
        """Logarithm of the members' average class probabilities.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of ``predict_proba`` (``-inf`` where it is 0).
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    @score_docstring
    def score(self, X, y, sample_weight=None, sample_domain=None):
        """Score the labelled rows: accuracy for a classifier, R² for a regressor.

        %(labelled_rows)s

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Test rows.
        %(score_parameters)s

        Returns
        -------
        %(score_returns)s
        """
        X, y, sample_weight = labelled_part(self, X, y, sample_weight, sample_domain)
        metric = accuracy_score if is_classifier(self.estimator) else r2_score
        return float(metric(y, self.predict(X), sample_weight=sample_weight))

    def _scorer(self, y, sample_domain):
        """``scoring``, with ``"neg_log_loss"`` told every class: a fold of a few target rows
        often holds one class only, and the plain scorer then fails on it."""
        if self.scoring != "neg_log_loss" or not is_classifier(self.estimator):
            return self.scoring
        y = np.asarray(y)
        labels = y[~is_masked(y)] if sample_domain is not None else y
        return log_loss_scorer(np.unique(labels))

    def _anchor_share(self, few):
        """The anchors' total weight, or None for equal weights (``few``: whether a class
        has fewer scored rows than folds)."""
        if self.anchor_weight != "auto":
            return float(self.anchor_weight)
        return 0.5 if few else None

    def _few_of_a_class(self, y, sample_domain, n_splits):
        """Whether a classifier's scored rows hold fewer rows of some class than folds (a
        class the source rows hold but the labelled target rows lack has none)."""
        if not is_classifier(self.estimator):
            return False
        labels = np.asarray(y)
        known = labels
        if sample_domain is not None:  # the folds score the labelled target rows
            masks = domain_masks(
                y, sample_domain, len(labels), require_source=False, require_target=False
            )
            known = labels[~is_masked(labels)]
            labels = labels[masks.labelled_target]
        classes = np.unique(known)
        counts = [np.count_nonzero(labels == c) for c in classes]
        return bool(len(counts)) and min(counts) < n_splits

    def _choose_anchor(self, anchors, results, few, n_splits):
        """The first anchor within ``anchor_n_se`` SEs of the best anchor's mean score (the
        first outright when ``few``, or when no anchor has a score)."""
        index = [next(i for i, p in enumerate(results["params"]) if _same(p, a)) for a in anchors]
        mean = np.asarray(results["mean_test_score"], dtype=float)[index]
        if len(anchors) == 1 or few or not np.isfinite(mean).any():
            return anchors[0]
        std = np.asarray(results["std_test_score"], dtype=float)[index]
        _, close = _within_n_se(mean, std, n_splits, self.anchor_n_se)
        return anchors[int(close[0])]

    def _anchors(self):
        if self.anchor is None:
            return []
        anchors = [self.anchor] if isinstance(self.anchor, dict) else list(self.anchor)
        valid = self.estimator.get_params()
        for setting in anchors:
            if not isinstance(setting, dict):
                raise TypeError(
                    f"anchor must be a dict of parameters or a list of such dicts; got an "
                    f"item of type {type(setting).__name__}."
                )
            unknown = sorted(set(setting) - set(valid))
            if unknown:
                raise ValueError(
                    f"anchor sets {unknown}, which {type(self.estimator).__name__} does not "
                    f"have. Valid parameters: {sorted(valid)}."
                )
        return anchors

    def _check_X(self, X):
        check_fitted_rows(self, X)


def _weights(is_anchor, share):
    """Equal weights, or the anchors' ``share`` split among them and the rest among the
    others (all to one side when the other is empty)."""
    n = len(is_anchor)
    n_anchor = int(is_anchor.sum())
    if share is None or n_anchor in (0, n):
        return np.full(n, 1.0 / n)
    return np.where(is_anchor, share / n_anchor, (1.0 - share) / (n - n_anchor))


def _within_n_se(mean, std, n_splits, n_se):
    """The best mean score's index, and the indices of every mean within ``n_se`` standard
    errors (``std / sqrt(n_splits)``) of it; NaN means are never within."""
    best = int(np.nanargmax(mean))
    se = float(std[best]) / np.sqrt(n_splits)
    return best, np.flatnonzero(np.nan_to_num(mean, nan=-np.inf) >= mean[best] - n_se * se)


def _check_in_grid(anchors, param_grid):
    """Raise unless every anchor is a setting the grid search scores."""
    settings = list(ParameterGrid(param_grid))
    for setting in anchors:
        if not any(_same(setting, p) for p in settings):
            raise ValueError(
                f"anchor_n_se chooses among the anchors by their cross-validated scores, but "
                f"the anchor {setting!r} is not a setting of param_grid, so it has none. Add "
                "it to param_grid, or set anchor_n_se=None to average every anchor unscored."
            )


def _first_params(param_grid):
    """The first setting GridSearchCV will try."""
    return next(iter(ParameterGrid(param_grid)))


def _same(a, b):
    """Whether two settings are equal (estimators compared by identity)."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x is y:
            continue
        try:
            if not bool(np.all(x == y)):
                return False
        except Exception:  # values that cannot be compared are different settings
            return False
    return True
