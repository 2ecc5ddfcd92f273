"""TrAdaBoost.R2: transfer boosting for regression (Pardoe and Stone, 2010)."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from skxfer.reweight._boosting import (
    boost_r2,
    boosting_docstring,
    check_base_estimator,
    default_regressor,
    validate_boosting_input,
    weighted_median_predict,
)
from skxfer.utils._meta import BaseSparseTagsMixin
from skxfer.utils._scoring import LabelledScoreMixin


@boosting_docstring
class TrAdaBoostRegressor(BaseSparseTagsMixin, LabelledScoreMixin, RegressorMixin, BaseEstimator):
    """TrAdaBoost.R2: transfer boosting from a labelled source to a few labelled target rows.

    Each round fits the base regressor on the source rows and the labelled target rows with
    the current weights and computes every row's *adjusted error* ``e_i``: its absolute
    error divided by the largest one of the round (then squared or exponentiated, see
    ``loss``). The round's error ``eps_t`` is the weighted mean of ``e_i`` on the *target*
    rows, and ``beta_t = eps_t / (1 - eps_t)``. Target rows gain weight by ``beta_t **
    -e_i`` (AdaBoost.R2), source rows lose weight by ``beta ** e_i`` with Dai's fixed
    ``beta = 1 / (1 + sqrt(2 ln n_source / n_estimators))``, so source rows the target's
    models cannot fit fade away. The prediction is the weighted median of the last half of
    the rounds (rounds ``ceil(N/2)..N``), each weighted by ``log(1 / beta_t)``.

    As in the paper, boosting stops at the first round with ``eps_t >= 0.5`` (that round is
    dropped; a first round is kept alone). A round with ``eps_t = 0`` fits the target rows
    exactly: boosting stops and that round predicts alone (its weight would be infinite).

    Without ``sample_domain`` every row is target data and this is plain AdaBoost.R2
    (Drucker 1997) with every round voting, and a :class:`~skxfer.utils.NoTransferWarning`.

    Parameters
    ----------
    estimator : object, default=None
        Base regressor; its ``fit`` must accept ``sample_weight``. It is cloned for every
        round, never modified, and fitted with the boosting weights rescaled to sum to the
        total ``sample_weight`` (the number of rows by default).
        ``None`` means ``DecisionTreeRegressor(max_depth=3)``.
    %(n_estimators)s
    learning_rate : float, default=1.0
        Shrinks the updates: the vote weights and the exponents of ``beta_t`` and ``beta``
        are multiplied by it. 1.0 is the paper's algorithm.
    loss : {"linear", "square", "exponential"}, default="linear"
        How the error relative to the round's largest error becomes ``e_i``: ``r``,
        ``r ** 2`` or ``1 - exp(-r)``, as in AdaBoost.R2.
    %(random_state)s

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted base estimator of every round.
    estimator_weights_ : ndarray of shape (n_rounds,)
        Weight of every round in the weighted median: ``learning_rate * log(1 / beta_t)`` for
        the rounds in the last half, 0 for the first half.
    estimator_errors_ : ndarray of shape (n_rounds,)
        Adjusted error ``eps_t`` of every round on the labelled target rows.
    sample_weight_ : ndarray of shape (n_samples,)
        The boosting weights after the last round for every row given to ``fit``, summing to
        1; 0 for unlabelled target rows and rows with ``sample_weight`` 0.
    %(input_attributes)s

    See Also
    --------
    TwoStageTrAdaBoostRegressor : Pardoe and Stone's two-stage variant, which tunes the
        share of weight left to the source by cross-validation; usually more accurate.
    TrAdaBoostClassifier : The classification counterpart.
    sklearn.ensemble.AdaBoostRegressor : What this estimator is without a source.

    References
    ----------
    .. [1] D. Pardoe and P. Stone. "Boosting for regression transfer". ICML 2010.
    .. [2] H. Drucker. "Improving regressors using boosting techniques". ICML 1997.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.reweight import TrAdaBoostRegressor
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.uniform(-2, 2, size=(300, 1))
    >>> off = rng.random(300) < 0.4  # 40% of the source rows follow another concept
    >>> y_source = np.sin(X_source[:, 0]) + off
    >>> X_target = rng.uniform(-2, 2, size=(20, 1))
    >>> y_target = np.sin(X_target[:, 0])
    >>> X, y, sample_domain = pack(X_source, y_source, X_target, y_target)
    >>> reg = TrAdaBoostRegressor(n_estimators=20, random_state=0)
    >>> reg = reg.fit(X, y, sample_domain=sample_domain)
    >>> w = reg.sample_weight_[:300]
    >>> round(float(w[off].sum() / w.sum()), 2)  # their share of the source weight
    0.07
    """

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "loss": [StrOptions({"linear", "square", "exponential"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        n_estimators=50,
        learning_rate=1.0,
        loss="linear",
        random_state=None,
    ):
        self.estimator = estimator
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.loss = loss
        self.random_state = random_state

    @boosting_docstring
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Boost the base regressor on the source and the labelled target rows.

        Parameters
        ----------
        %(fit_X)s
        %(fit_y_regression)s
        %(fit_sample_weight)s
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows; at least one target row must
            be labelled. Without it every row is target data and this is plain AdaBoost.R2.

        Returns
        -------
        self : object
            The fitted regressor.
        """
        data = validate_boosting_input(self, X, y, sample_weight, sample_domain, classifier=False)
        template = check_base_estimator(self.estimator, default_regressor())
        result = boost_r2(
            template,
            data.X,
            data.y,
            data.weights,
            data.source,
            total_weight=data.total_weight,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            loss=self.loss,
            random_state=check_random_state(self.random_state),
            mode="transfer",
        )
        self.estimators_ = result.estimators
        self.estimator_weights_ = result.vote_weights
        self.estimator_errors_ = result.errors
        self.sample_weight_ = np.zeros(len(data.keep))
        self.sample_weight_[data.keep] = result.weights
        return self

    def predict(self, X):
        """Weighted median of the predictions of the last half of the rounds.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted values.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32]
        )
        return weighted_median_predict(self.estimators_, self.estimator_weights_, X)

    def _default_base(self):
        return default_regressor()
