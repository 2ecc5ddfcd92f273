"""TrAdaBoost: boosting that trusts the source rows that agree with a few labelled target rows."""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.extmath import softmax
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from skxfer.reweight._boosting import (
    _EPS,
    base_input_tags,
    check_base_estimator,
    fit_seeded,
    source_beta,
    validate_boosting_input,
    vote_weights,
)


class TrAdaBoostClassifier(ClassifierMixin, BaseEstimator):
    """TrAdaBoost: transfer boosting from a labelled source to a few labelled target rows.

    Each round fits the base estimator on the source and the labelled target rows with the
    current weights and measures its weighted error ``eps_t`` on the *target* rows only.
    Target rows it gets wrong gain weight as in AdaBoost (SAMME's factor
    ``exp(alpha_t)``, ``alpha_t = log((1 - eps_t) / eps_t) + log(K - 1)``); source rows it gets
    wrong *lose* weight by the fixed factor ``beta = 1 / (1 + sqrt(2 ln n_source /
    n_estimators))``, because a source row that disagrees with a model fitted to the target
    is likely to come from a different concept. The prediction is the ``alpha_t``-weighted
    vote of the last half of the rounds (rounds ``ceil(N/2)..N``), as in the paper: the
    early rounds still lean on source rows that later rounds learn to distrust.

    With two classes this is Dai et al.'s algorithm; with more it uses the SAMME extension
    (Zhu et al. 2009) for the target update and the vote. Without ``sample_domain`` every row
    is target data and the estimator is plain AdaBoost-SAMME on all rounds (with a
    :class:`~skxfer.utils.NoTransferWarning`).

    Degenerate rounds: a round with ``eps_t = 0`` fits the target exactly; boosting stops and
    that round predicts alone (its ``alpha_t`` is infinite). The paper assumes ``eps_t < 1/2``
    (``1 - 1/K`` with K classes). A round at or above that level gets vote weight 0 and leaves
    the target weights as they are, but still lowers the source rows it misclassifies, so
    later rounds lean more on the target. Without source rows such a round ends boosting, as in
    :class:`~sklearn.ensemble.AdaBoostClassifier`.

    Parameters
    ----------
    estimator : object, default=None
        Base classifier; its ``fit`` must accept ``sample_weight``. It is cloned for every
        round, never modified. ``None`` means ``DecisionTreeClassifier(max_depth=2)``.
    n_estimators : int, default=50
        Number of boosting rounds ``N`` (fewer when a round fits the target exactly). It also
        sets the source factor ``beta``.
    learning_rate : float, default=1.0
        Shrinks every weight update and vote weight: ``alpha_t`` and the exponent of
        ``beta`` are multiplied by it. 1.0 is the paper's algorithm.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``random_state`` of the base estimator in every round.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted base estimator of every round.
    estimator_weights_ : ndarray of shape (n_rounds,)
        Vote weight of every round in predictions: ``learning_rate * alpha_t`` for the rounds
        in the last half, 0 for the first half (they only shape the sample weights).
    estimator_errors_ : ndarray of shape (n_rounds,)
        Weighted error ``eps_t`` of every round on the labelled target rows.
    sample_weight_ : ndarray of shape (n_samples,)
        The boosting weights after the last round for every row given to ``fit``, summing to
        1; 0 for unlabelled target rows and rows with ``sample_weight`` 0. Misleading source
        rows end with small weights.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_classes_ : int
        Number of classes.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    TrAdaBoostRegressor : The regression counterpart (TrAdaBoost.R2).
    TwoStageTrAdaBoostRegressor : Two-stage TrAdaBoost.R2, which tunes how much to trust the
        source by cross-validation on the target.
    sklearn.ensemble.AdaBoostClassifier : What this estimator is without a source.

    References
    ----------
    .. [1] W. Dai, Q. Yang, G.-R. Xue and Y. Yu. "Boosting for transfer learning". ICML 2007.
    .. [2] J. Zhu, H. Zou, S. Rosset and T. Hastie. "Multi-class AdaBoost". Statistics and
       its Interface 2(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.reweight import TrAdaBoostClassifier
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(200, 2))
    >>> y_source = (X_source[:, 0] > 0).astype(int)
    >>> X_target = rng.normal(size=(30, 2)) + 0.5
    >>> y_target = (X_target[:, 0] > 0.5).astype(int)
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> clf = TrAdaBoostClassifier(n_estimators=20, random_state=0)
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> clf.predict([[1.5, 0.0], [-0.5, 0.0]])
    array([1, 0])
    >>> clf.predict_proba([[1.5, 0.0]]).sum()
    np.float64(1.0)
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, n_estimators=50, learning_rate=1.0, random_state=None):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Boost the base classifier on the source and the labelled target rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Source and target rows, stacked (see :func:`skxfer.pack`).
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 for integer labels, NaN
            or None otherwise) and are not used.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies the initial (uniform) boosting weights. A row with weight 0 is the
            same as a row left out.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows; at least one target row must
            be labelled. Without it every row is target data and this is plain AdaBoost.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        data = validate_boosting_input(self, X, y, sample_weight, sample_domain, classifier=True)
        template = check_base_estimator(self.estimator, _default_estimator())
        self.classes_ = data.classes
        self.n_classes_ = len(data.classes)
        estimators, votes, errors, weights = self._boost(template, data)
        self.estimators_ = estimators
        self.estimator_weights_ = votes
        self.estimator_errors_ = errors
        self.sample_weight_ = np.zeros(len(data.keep))
        self.sample_weight_[data.keep] = weights
        return self

    def decision_function(self, X):
        """Weighted vote of the last half of the rounds (SAMME's symmetric coding).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        score : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, positive values favour ``classes_[1]``; otherwise one column per
            class in the order of ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32]
        )
        K = self.n_classes_
        score = np.zeros((X.shape[0], K))
        for est, w in zip(self.estimators_, self.estimator_weights_):
            if w > 0:
                hit = est.predict(X).astype(np.intp)[:, None] == np.arange(K)
                score += np.where(hit, w, -w / (K - 1))
        score /= self.estimator_weights_.sum()
        if K == 2:
            return score[:, 1] - score[:, 0]
        return score

    def predict(self, X):
        """Predict the class of each row by the weighted vote.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels.
        """
        score = self.decision_function(X)
        if self.n_classes_ == 2:
            return self.classes_.take((score > 0).astype(int))
        return self.classes_.take(np.argmax(score, axis=1))

    def predict_proba(self, X):
        """Class probabilities from the vote, as in SAMME (a softmax of the decision).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; each row sums to 1.
        """
        score = self.decision_function(X)
        if self.n_classes_ == 2:
            score = np.column_stack([-score, score]) / 2
        else:
            score = score / (self.n_classes_ - 1)
        return softmax(score, copy=False)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = base_input_tags(self.estimator, _default_estimator()).sparse
        return tags

    def _boost(self, template, data):
        rng = check_random_state(self.random_state)
        X, y, source, target = data.X, data.y, data.source, data.target
        K = self.n_classes_
        chance = 1.0 - 1.0 / K
        has_source = bool(source.any())
        beta_source = source_beta(int(source.sum()), self.n_estimators)
        w = data.weights.copy()
        estimators, alphas, errors = [], [], []
        perfect = False
        for iboost in range(self.n_estimators):
            w = np.maximum(w, _EPS)
            est = fit_seeded(template, X, y, w, rng)
            miss = est.predict(X) != y
            error = float(np.average(miss[target], weights=w[target]))
            if error >= chance and not has_source:
                if not estimators:
                    raise ValueError(
                        f"The first base estimator ({type(template).__name__}) is no better "
                        "than chance on the training rows, so boosting cannot start; pass a "
                        "stronger estimator (e.g. a deeper tree)."
                    )
                break  # as AdaBoost: the round is dropped and boosting ends
            estimators.append(est)
            errors.append(error)
            if error <= 0:
                perfect = True
                alphas.append(1.0)
                break
            if error >= chance:
                alpha = 0.0
            else:
                alpha = self.learning_rate * (math.log((1.0 - error) / error) + math.log(K - 1))
            alphas.append(alpha)
            if iboost == self.n_estimators - 1:
                break
            w[target] *= np.exp(alpha * miss[target])
            w[source] *= np.power(beta_source, self.learning_rate * miss[source])
            w /= w.sum()
        votes = vote_weights(np.asarray(alphas), perfect, last_half=has_source)
        return estimators, votes, np.asarray(errors), w


def _default_estimator():
    return DecisionTreeClassifier(max_depth=2)
