"""Density-ratio weights from a probabilistic source-versus-target classifier."""

from contextlib import nullcontext
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from skxfer.reweight._base import BaseWeighter
from skxfer.utils._threads import single_threaded_blas

_CALIBRATION_FOLDS = 5


# Up to this many features the default classifier also sees the squared features.
_QUADRATIC_MAX_FEATURES = 50


class DiscriminativeWeighter(BaseWeighter):
    """Density-ratio weights from a classifier that tells target rows from source rows.

    A probabilistic classifier is fitted to separate target rows (class 1) from source rows
    (class 0). By Bayes' rule its odds give the density ratio up to the class prior:

    .. math:: \\frac{p_t(x)}{p_s(x)} = \\frac{P(t \\mid x)}{P(s \\mid x)}
              \\cdot \\frac{n_s}{n_t}.

    The probabilities are clipped to ``[clip_proba, 1 - clip_proba]`` so every weight is
    finite. Any scikit-learn classifier with ``predict_proba`` works; the ratio is only as
    good as its probabilities, so a classifier not fitted by log-loss is calibrated first
    (``calibration="auto"``). Fit the classifier without class reweighting
    (``class_weight=None``): the prior correction assumes the classes keep their sizes.

    Parameters
    ----------
    estimator : classifier with ``predict_proba`` or None, default=None
        The domain classifier; it is cloned. ``None``: logistic regression on the
        standardised features and, up to 50 features, their squares, which is the exact
        form of the log-ratio between two Gaussians with axis-aligned covariances; above 50
        features, on the standardised features alone (the squares would double the cost
        and mostly add variance).
    calibration : {"auto", "sigmoid", "isotonic"} or None, default="auto"
        How to calibrate the classifier's probabilities with
        :class:`~sklearn.calibration.CalibratedClassifierCV` (5-fold, at least 5 rows per
        domain). ``"auto"``: none for the default and for a :class:`~sklearn.linear_model.
        LogisticRegression` (alone or last in a Pipeline), which are calibrated by their
        loss; ``"sigmoid"`` for any other classifier. ``None``: use ``predict_proba`` as is.
    clip_proba : float in (0, 0.5), default=1e-3
        ``P(target | x)`` is clipped to ``[clip_proba, 1 - clip_proba]``, bounding the raw
        ratio between about ``clip_proba`` and ``1 / clip_proba`` times ``n_s / n_t``.
    max_weight : float > 1 or None, default=None
        Upper bound on a weight after rescaling to mean 1; ``None`` leaves them unbounded.
    random_state : int, RandomState instance or None, default=None
        Seeds every ``random_state`` parameter of the classifier (nested ones included) that
        is left at None; seeds set by the user are kept.

    Attributes
    ----------
    estimator_ : classifier
        The fitted domain classifier (wrapped in ``CalibratedClassifierCV`` when calibrated);
        class 1 is the target.
    weights_ : ndarray of shape (n_source,)
        Weights of the source rows, mean 1.
    sample_weight_ : ndarray of shape (n_samples,)
        ``weights_`` on the source rows and 1 on the target rows, aligned with ``X``.
    ess_ : float
        Effective sample size of ``weights_``.
    ratio_scale_ : float
        Factor mapping the estimated ratio to ``weights_``.
    n_source_, n_target_ : int
        Source and target rows seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    NearestNeighborsWeighter : The ratio from a neighbour vote, without a model.
    ULSIFWeighter : The ratio fitted directly by least squares on a kernel basis.

    References
    ----------
    .. [1] S. Bickel, M. Brückner and T. Scheffer, "Discriminative learning for differing
       training and test distributions", ICML 2007.

    Examples
    --------
    >>> from scipy.stats import spearmanr
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import DiscriminativeWeighter
    >>> data = make_covariate_shift(500, 300, n_features=3, random_state=0)
    >>> weighter = DiscriminativeWeighter().fit(data.X, sample_domain=data.sample_domain)
    >>> true_ratio = data.true_ratio[data.sample_domain > 0]
    >>> bool(spearmanr(weighter.weights_, true_ratio)[0] > 0.9)
    True
    """

    _parameter_constraints: dict = {
        **BaseWeighter._parameter_constraints,
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "calibration": [StrOptions({"auto", "sigmoid", "isotonic"}), None],
        "clip_proba": [Interval(Real, 0, 0.5, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator=None,
        *,
        calibration="auto",
        clip_proba=1e-3,
        max_weight=None,
        random_state=None,
    ):
        super().__init__(max_weight=max_weight)
        self.estimator = estimator
        self.calibration = calibration
        self.clip_proba = clip_proba
        self.random_state = random_state

    # The classifier is the user's: let its own fit validate its parameters.
    fit = _fit_context(prefer_skip_nested_validation=False)(BaseWeighter.fit.__wrapped__)

    def _fit_ratio(self, X_source, X_target, random_state):
        estimator, calibrated = self._make_estimator(random_state)
        if calibrated:
            smaller = min(len(X_source), len(X_target))
            if smaller < _CALIBRATION_FOLDS:
                raise ValueError(
                    f"calibration={self.calibration!r} cross-validates the classifier with "
                    f"{_CALIBRATION_FOLDS} folds and needs at least {_CALIBRATION_FOLDS} rows of "
                    f"each domain; got {len(X_source)} source and {len(X_target)} target rows. "
                    "Pass calibration=None."
                )
        X = np.concatenate([X_source, X_target])
        is_target = np.concatenate(
            [np.zeros(len(X_source), dtype=int), np.ones(len(X_target), dtype=int)]
        )
        if self.estimator is not None or calibrated:
            with self._blas_threads():
                self.estimator_ = estimator.fit(X, is_target)
            return self._ratio(X_source)
        # The default pipeline: score the source rows on the features already computed for
        # the fit instead of transforming them a second time.
        with self._blas_threads():
            features = estimator[0].fit_transform(X)
            del X
            estimator[-1].fit(features, is_target)
            self.estimator_ = estimator
            p_target = estimator[-1].predict_proba(features[: len(X_source)])[:, 1]
        return self._odds(p_target)

    def _ratio(self, X):
        target_column = np.flatnonzero(self.estimator_.classes_ == 1)[0]
        with self._blas_threads():
            p_target = self.estimator_.predict_proba(X)[:, target_column]
        return self._odds(p_target)

    def _odds(self, p_target):
        p_target = np.clip(p_target, self.clip_proba, 1 - self.clip_proba)
        return p_target / (1 - p_target) * (self.n_source_ / self.n_target_)

    def _blas_threads(self):
        # The default model works on a tall, narrow matrix (2 * n_features columns): its
        # matrix-vector products gain nothing from BLAS threads, and on a busy machine their
        # spin-waits make the fit several times slower. A user's estimator keeps its threads.
        if self.estimator is None:
            return single_threaded_blas()
        return nullcontext()

    def _make_estimator(self, random_state):
        if self.estimator is None:
            estimator = _default_classifier(self.n_features_in_)
        else:
            estimator = clone(self.estimator)
        _seed_unset_random_states(estimator, random_state)
        calibration = self.calibration
        if calibration == "auto":
            calibration = None if _fitted_by_log_loss(estimator) else "sigmoid"
        if calibration is None:
            return estimator, False
        # Imported here: sklearn.calibration pulls in model_selection and svm (0.1 s).
        from sklearn.calibration import CalibratedClassifierCV

        calibrated = CalibratedClassifierCV(estimator, method=calibration, cv=_CALIBRATION_FOLDS)
        return calibrated, True


def _default_classifier(n_features):
    """Logistic regression on ``[x, x**2]`` (the log-ratio of two axis-aligned Gaussians)
    in low dimension; on ``x`` alone above ``_QUADRATIC_MAX_FEATURES``, where the squares
    double the cost and, with few rows per feature, only add variance."""
    return make_pipeline(
        _Standardized(squares=n_features <= _QUADRATIC_MAX_FEATURES),
        LogisticRegression(max_iter=1000),
    )


class _Standardized(TransformerMixin, BaseEstimator):
    """Standardised ``x`` (and ``x**2`` when ``squares``), written into one new float32 array.

    StandardScaler's compensated running variance and its copies took most of the default
    classifier's fit (0.7 of 2 s at 128k x 800); plain numpy passes over blocks of rows
    suffice here. Single precision halves the memory the logistic regression streams through
    at every iteration (its fit took 20% less time at 128k x 20) and changes the weights by
    about 1e-6. Centring and scaling run in float64, block by block, so values beyond
    float32's range (3.4e38) are scaled before they are stored.
    """

    def __init__(self, squares=False):
        self.squares = squares

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        sum_squares = np.zeros(X.shape[1])
        for block in _row_blocks(len(X)):
            z = X[block] - self.mean_
            sum_squares += np.einsum("ij,ij->j", z, z)
        self.scale_ = np.sqrt(sum_squares / max(len(X), 1))
        self.scale_[self.scale_ == 0] = 1.0
        out = self._standardize(X)
        if self.squares:
            squares = out[:, X.shape[1] :]
            self.square_mean_ = squares.mean(axis=0, dtype=np.float64)
            squares -= self.square_mean_
            self.square_scale_ = np.sqrt(
                np.einsum("ij,ij->j", squares, squares, dtype=np.float64) / max(len(X), 1)
            )
            self.square_scale_[self.square_scale_ == 0] = 1.0
            squares /= self.square_scale_
        return out

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out = self._standardize(X)
        if self.squares:
            squares = out[:, X.shape[1] :]
            squares -= self.square_mean_
            squares /= self.square_scale_
        return out

    def _standardize(self, X):
        """``z = (x - mean_) / scale_`` (and the raw ``z**2``) in a new float32 array."""
        d = X.shape[1]
        out = np.empty((X.shape[0], 2 * d if self.squares else d), dtype=np.float32)
        for block in _row_blocks(len(X)):
            z = X[block] - self.mean_
            z /= self.scale_
            out[block, :d] = z
            if self.squares:
                np.square(out[block, :d], out=out[block, d:])
        return out

    def get_feature_names_out(self, input_features=None):
        names = _check_feature_names_in(self, input_features)
        if self.squares:
            names = np.concatenate([names, [f"{name}**2" for name in names]])
        return np.asarray(names, dtype=object)


def _row_blocks(n_rows, block_rows=8192):
    """Slices of at most ``block_rows`` rows, so float64 temporaries stay small."""
    return [slice(start, start + block_rows) for start in range(0, n_rows, block_rows)]


def _fitted_by_log_loss(estimator):
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return isinstance(final, LogisticRegression)


def _seed_unset_random_states(estimator, random_state):
    params = estimator.get_params(deep=True)
    unset = sorted(
        key
        for key, value in params.items()
        if (key == "random_state" or key.endswith("__random_state")) and value is None
    )
    if unset:
        estimator.set_params(**{key: random_state.randint(np.iinfo(np.int32).max) for key in unset})
