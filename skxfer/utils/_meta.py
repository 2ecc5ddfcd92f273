"""What a meta-estimator around one ``estimator`` takes from it: tags and predictions."""

from copy import deepcopy

from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if


def _estimator_has(method):
    return lambda self: hasattr(self.estimator, method)


class InnerTagsMixin:
    """Tags of the wrapped ``estimator``: a classifier or regressor as it is, taking the input
    it takes. ``_own_input_tags`` names the input tags the meta-estimator decides itself (it
    validates ``X`` before the inner estimator sees it)."""

    _own_input_tags = ()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        own = {name: getattr(tags.input_tags, name) for name in self._own_input_tags}
        tags.input_tags = deepcopy(inner.input_tags)
        for name, value in own.items():
            setattr(tags.input_tags, name, value)
        tags.target_tags.required = True
        return tags


class BaseSparseTagsMixin:
    """Tags of an ensemble that clones ``estimator`` (or, when it is None, the default base
    estimator that ``_default_base()`` builds): sparse input when that base estimator
    takes it."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = self._default_base() if self.estimator is None else self.estimator
        tags.input_tags.sparse = get_tags(base).input_tags.sparse
        return tags


class DelegatedPredictMixin:
    """``predict``, ``predict_proba``, ``predict_log_proba`` and ``decision_function`` of the
    fitted ``estimator_``, each present when ``estimator`` has it, after the meta-estimator's
    own check of ``X`` (``_check_X``: fitted, and the features seen in ``fit``)."""

    def predict(self, X):
        """Predict with the fitted estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted classes or values.
        """
        X = self._check_X(X)  # first: it raises NotFittedError before fit
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        X = self._check_X(X)  # first: it raises NotFittedError before fit
        return self.estimator_.predict_proba(X)

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the fitted estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        X = self._check_X(X)  # first: it raises NotFittedError before fit
        return self.estimator_.predict_log_proba(X)

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the fitted estimator.

        Parameters
        ----------
        X : array-like, sparse matrix or DataFrame of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The estimator's confidence scores.
        """
        X = self._check_X(X)  # first: it raises NotFittedError before fit
        return self.estimator_.decision_function(X)
