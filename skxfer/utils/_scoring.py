"""``score`` on packed rows: the labelled rows only."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from skxfer._domain import _take_rows, scored_rows
from skxfer.utils._docstrings import fill_doc

# What every ``score`` on possibly masked labels says: filled into the docstrings of
# LabelledScoreMixin.score and of the meta-estimators that score through their estimator.
score_docstring = fill_doc(
    {
        "labelled_rows": """\
Rows whose label is the unlabelled mark (NaN or None; -1 for integer labels unless
-1 is one of ``classes_``) are left out rather than counted as errors, so a score of
packed data (:func:`skxfer.pack`) is the score of its labelled rows. When no row is
labelled a ValueError is raised.""",
        "score_parameters": """\
y : array-like of shape (n_samples,)
    True labels or targets, possibly masked.
sample_weight : array-like of shape (n_samples,), default=None
    Weights of the test rows.
sample_domain : array-like of shape (n_samples,), default=None
    When given, only the labelled target rows (``sample_domain <= -1``) are scored.""",
        "score_returns": """\
score : float
    Accuracy (classifier) or R² (regressor) of the counted rows.""",
    }
)


class LabelledScoreMixin:
    """``score`` that counts labelled rows only, so packed data scores as its labelled part.

    Rows whose label is the unlabelled mark (see :func:`skxfer._domain.scored_rows`) are left
    out instead of being counted as errors; with ``sample_domain`` only the labelled target
    rows are scored. The metric is the next class's ``score`` in the MRO (accuracy for
    classifiers, R² for regressors), so the mixin goes left of ``ClassifierMixin`` /
    ``RegressorMixin``.
    """

    __metadata_request__score = {"sample_domain": True}

    @score_docstring
    def score(self, X, y, sample_weight=None, sample_domain=None):
        """Score the labelled rows: accuracy for a classifier, R² for a regressor.

        %(labelled_rows)s

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.
        %(score_parameters)s

        Returns
        -------
        %(score_returns)s
        """
        return super().score(*labelled_part(self, X, y, sample_weight, sample_domain))


def labelled_part(estimator, X, y, sample_weight=None, sample_domain=None):
    """``(X, y, sample_weight)`` restricted to the rows a score of ``estimator`` counts."""
    check_is_fitted(estimator)
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] != 1:
        return X, y, sample_weight  # several outputs: the metric itself decides
    classes = getattr(estimator, "classes_", None) if is_classifier(estimator) else None
    rows = scored_rows(y.reshape(len(y)), sample_domain, classes)
    if rows.all():
        return X, y, sample_weight
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)[rows]
    return _take_rows(X, rows), y[rows], sample_weight
