"""The pooling baseline: one model fitted on the source and the labelled target rows."""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from skxfer._domain import _num_rows, _take_rows
from skxfer.utils._meta import DelegatedPredictMixin, InnerTagsMixin, _estimator_has
from skxfer.utils._scoring import labelled_part, score_docstring
from skxfer.utils._validation import check_fitted_rows
from skxfer.warm_start._rows import transfer_rows


class PooledTransfer(InnerTagsMixin, DelegatedPredictMixin, MetaEstimatorMixin, BaseEstimator):
    """Fit one estimator on the source rows and the labelled target rows together.

    The baseline every transfer method should beat: ``clone(estimator)`` is fitted on the
    source rows and the labelled target rows, each labelled target row weighted by
    ``target_weight`` (times the user's ``sample_weight``). ``target_weight=0`` is the
    source-only model; a large ``target_weight`` approaches the target-only model.
    Unlabelled target rows are dropped, and so are rows whose final weight is 0.

    It is a classifier or a regressor as ``estimator`` is (its tags are copied), and
    ``predict``, ``predict_proba``, ``predict_log_proba``, ``decision_function`` and
    ``score`` are the fitted estimator's.

    Without ``sample_domain`` every row is a labelled target row, ``target_weight`` has no
    source to weigh against and is ignored: this is ``estimator`` fitted with the user's
    weights (with a :class:`~skxfer.utils.NoTransferWarning`).

    Parameters
    ----------
    estimator : estimator object
        The classifier or regressor to fit. Its ``fit`` (the final step's, for a Pipeline)
        must accept ``sample_weight``; in a Pipeline only the final step gets the weights,
        the earlier steps are fitted unweighted on the same rows.
    target_weight : float or "balanced", default=1.0
        Weight of each labelled target row relative to a source row (``>= 0``).
        ``"balanced"`` gives the labelled target rows together the same total weight as
        the source rows: ``sum(source sample_weight) / sum(target sample_weight)`` (the
        ratio of the row counts without ``sample_weight``).

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    sample_weight_ : ndarray of shape (n_samples,)
        The weight each row of ``X`` was fitted with; 0 for the rows left out.
    target_weight_ : float
        The target weight used (the ratio, for ``"balanced"``; 1.0 without
        ``sample_domain``).
    classes_ : ndarray of shape (n_classes,)
        The fitted classifier's classes (classifiers only).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    TransferLogisticRegression : Pulls a target fit toward the source weights instead.
    TransferRidge : The same for least squares.
    skxfer.reweight.ImportanceWeightedClassifier : Weighs each source row by its density
        ratio instead of one weight per domain.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer import pack
    >>> from skxfer.warm_start import PooledTransfer
    >>> rng = np.random.default_rng(0)
    >>> X_source, X_target = rng.normal(size=(200, 2)), rng.normal(size=(20, 2))
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> y_target = (X_target[:, 0] > 0.5).astype(int)
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> clf = PooledTransfer(LogisticRegression(), target_weight="balanced")
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> clf.target_weight_
    10.0
    >>> clf.predict([[2.0, 0.0], [-2.0, 0.0]])
    array([1, 0])
    """

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__score = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "target_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"balanced"})],
    }

    def __init__(self, estimator, *, target_weight=1.0):
        self.estimator = estimator
        self.target_weight = target_weight

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit a clone of the estimator on the source and the labelled target rows.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Source and target rows, stacked (see :func:`skxfer.pack`). Passed to the
            estimator as is (rows selected), so a Pipeline may take raw columns.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 for integer labels, NaN
            otherwise) and are dropped.
        sample_weight : array-like of shape (n_samples,), default=None
            The user's weights, multiplied with the domain weights.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is a
            labelled target row and nothing is transferred.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = _as_rows(X)
        validate_data(self, X, reset=True, skip_check_array=True)
        n_samples = _num_rows(X, "X")
        rows = transfer_rows(
            self,
            np.empty((n_samples, 0)),
            y,
            sample_weight,
            sample_domain,
            classifier=is_classifier(self.estimator),
            has_source=False,
        )
        weights = np.where(rows.source | rows.target, rows.sample_weight, 0.0)
        if rows.has_domains:
            if self.target_weight == "balanced":
                factor = weights[rows.source].sum() / weights[rows.target].sum()
            else:
                factor = float(self.target_weight)
            weights[rows.target] *= factor
        else:
            factor = 1.0
        keep = weights > 0
        self.target_weight_ = float(factor)
        self.sample_weight_ = weights
        self.estimator_ = _fit_weighted(
            self.estimator, _take_rows(X, keep), rows.y[keep], weights[keep]
        )
        return self

    @property
    def classes_(self):
        """The fitted classifier's class labels."""
        return self.estimator_.classes_

    @available_if(_estimator_has("score"))
    @score_docstring
    def score(self, X, y, sample_weight=None, sample_domain=None):
        """Score the labelled rows with the fitted estimator's ``score``.

        The score is accuracy for a classifier and R² for a regressor.

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
        X = self._check_X(X)
        X, y, sample_weight = labelled_part(self, X, y, sample_weight, sample_domain)
        return self.estimator_.score(X, y, sample_weight=sample_weight)

    def _check_X(self, X):
        check_is_fitted(self)
        X = _as_rows(X)
        check_fitted_rows(self, X)
        return X


def _as_rows(X):
    """``X`` in a form whose rows can be selected: DataFrames, arrays and CSR matrices as
    they are, other sparse formats as CSR, anything else (lists, array-likes) as an array."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):
        return X
    if sp.issparse(X):
        return X.tocsr()
    if isinstance(X, np.ndarray):
        return X
    return np.asarray(X)


def _fit_weighted(estimator, X, y, sample_weight):
    """Fit a clone of ``estimator`` with ``sample_weight`` (a Pipeline's final step gets it)."""
    estimator = clone(estimator)
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if final in (None, "passthrough") or not has_fit_parameter(final, "sample_weight"):
        raise TypeError(
            f"{type(final).__name__}.fit takes no sample_weight, so PooledTransfer cannot weigh "
            "the target rows against the source rows. Pass an estimator whose fit accepts "
            "sample_weight (LogisticRegression, Ridge, HistGradientBoosting*, ...)."
        )
    if isinstance(estimator, Pipeline):
        # With routing on, a Pipeline would ask every step to request sample_weight; with
        # routing off, `step__sample_weight` sends the weights to the final step only.
        with config_context(enable_metadata_routing=False):
            return estimator.fit(
                X, y, **{f"{estimator.steps[-1][0]}__sample_weight": sample_weight}
            )
    return estimator.fit(X, y, sample_weight=sample_weight)
