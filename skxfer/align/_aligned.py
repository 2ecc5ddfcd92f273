"""Fit any scikit-learn estimator on source rows aligned to the target."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _assert_all_finite,
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)

from skxfer._domain import domain_masks, warn_no_transfer
from skxfer.utils._meta import DelegatedPredictMixin
from skxfer.utils._scoring import LabelledScoreMixin


class _BaseAligned(DelegatedPredictMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared fit of the aligned classifier and regressor."""

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "aligner": [HasMethods(["fit", "transform"]), None],
    }

    def __init__(self, estimator, aligner=None):
        self.estimator = estimator
        self.aligner = aligner

    def _fit(self, X, y, sample_weight, sample_domain):
        X = validate_data(self, X, reset=True, dtype=[np.float64, np.float32])
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass labels, with the mask value (-1 or NaN) on unlabelled target rows."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"y has {len(y)} rows but X has {X.shape[0]}; pass one label per row.")
        masks = domain_masks(y, sample_domain, X.shape[0])
        if sample_domain is None:
            warn_no_transfer(self, "every row is labelled data of one domain, not aligned")
        aligner = self._default_aligner() if self.aligner is None else self.aligner
        self.aligner_ = clone(aligner)
        if sample_domain is None:
            import warnings

            from skxfer.utils import NoTransferWarning

            with warnings.catch_warnings():  # said once above, for the whole estimator
                warnings.simplefilter("ignore", NoTransferWarning)
                X_aligned = self.aligner_.fit_transform(X)
        else:
            X_aligned = self.aligner_.fit_transform(X, sample_domain=sample_domain)
        labelled = masks.labelled
        y_fit = self._check_target(y[labelled])
        self.estimator_ = clone(self.estimator)
        fit_params = {}
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            if not has_fit_parameter(self.estimator_, "sample_weight"):
                raise TypeError(
                    f"{type(self.estimator_).__name__}.fit does not accept sample_weight; "
                    "pass an estimator that does, or no sample_weight."
                )
            fit_params["sample_weight"] = sample_weight[labelled]
        self.estimator_.fit(X_aligned[labelled], y_fit, **fit_params)
        return self

    def _default_aligner(self):
        from skxfer.align._coral import CORAL

        return CORAL()

    def _check_X(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.aligner_.transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.target_tags.required = True
        return tags


class AlignedClassifier(LabelledScoreMixin, ClassifierMixin, _BaseAligned):
    """Classifier fitted on source rows aligned to the target's feature distribution.

    The aligner is fitted on all rows (source and target, labelled or not) and maps them
    by domain; the estimator is then fitted on the aligned labelled rows (every source row
    and the labelled target rows). New rows are target rows: they go through the aligner's
    target map (the identity for :class:`CORAL`, :class:`LinearOTMapping` and
    :class:`OTMapping`) before the estimator. Prediction needs no ``sample_domain``.

    Parameters
    ----------
    estimator : estimator object
        The classifier to fit on the aligned rows.
    aligner : aligner object, default=None
        A skxfer aligner (``fit(X, sample_domain=...)`` and
        ``transform(X, sample_domain=None)``). ``None`` uses :class:`CORAL`.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    aligner_ : aligner object
        The fitted clone of ``aligner``.
    classes_ : ndarray of shape (n_classes,)
        Class labels (target rows holding the mask value are not a class).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    AlignedRegressor : The regression counterpart.
    make_alignment_pipeline : Preprocessing steps before the aligner, in one Pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer import pack
    >>> from skxfer.align import AlignedClassifier, CORAL
    >>> rng = np.random.default_rng(0)
    >>> Xs = rng.normal(size=(300, 2)); ys = (Xs[:, 0] > 0).astype(int)
    >>> Xt = 3 * rng.normal(size=(300, 2)) + 5; yt = (Xt[:, 0] > 5).astype(int)
    >>> X, y, sample_domain = pack(Xs, ys, Xt)
    >>> clf = AlignedClassifier(LogisticRegression(), CORAL())
    >>> clf = clf.fit(X, y, sample_domain=sample_domain)
    >>> bool(clf.score(Xt, yt) > 0.9)
    True
    """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the aligner on all rows, then the estimator on the aligned labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 or NaN).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to the estimator for the labelled rows.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` source rows, ``<= -1`` target rows. Without it nothing is aligned
            (a :class:`~skxfer.utils.NoTransferWarning` says so).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, sample_domain)

    def _check_target(self, y):
        if y.dtype.kind == "f":
            _assert_all_finite(y, input_name="y")
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        return y


class AlignedRegressor(LabelledScoreMixin, RegressorMixin, _BaseAligned):
    """Regressor fitted on source rows aligned to the target's feature distribution.

    The regression counterpart of :class:`AlignedClassifier`: unlabelled target rows hold
    ``NaN`` in ``y``.

    Parameters
    ----------
    estimator : estimator object
        The regressor to fit on the aligned rows.
    aligner : aligner object, default=None
        A skxfer aligner; ``None`` uses :class:`CORAL`.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone of ``estimator``.
    aligner_ : aligner object
        The fitted clone of ``aligner``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    AlignedClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skxfer import pack
    >>> from skxfer.align import AlignedRegressor
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(200, 3)), 2 * rng.normal(size=(200, 3))
    >>> X, y, sample_domain = pack(Xs, Xs.sum(axis=1), Xt)
    >>> reg = AlignedRegressor(Ridge()).fit(X, y, sample_domain=sample_domain)
    >>> reg.predict(Xt[:2]).shape
    (2,)
    """

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the aligner on all rows, then the estimator on the aligned labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,)
            Targets; unlabelled target rows hold NaN.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights passed to the estimator for the labelled rows.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` source rows, ``<= -1`` target rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, sample_domain)

    def _check_target(self, y):
        if y.dtype.kind not in "iuf":
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(
                    f"Unknown label type: {type(self).__name__} needs numeric targets, got "
                    f"dtype {y.dtype}; use AlignedClassifier for class labels."
                ) from None
        _assert_all_finite(y, input_name="y")
        return y


def make_alignment_pipeline(*steps):
    """Build a Pipeline whose aligner step sees ``sample_domain`` and passes aligned rows on.

    A scikit-learn Pipeline hands every step the same ``y``, so an estimator after an
    aligner would be fitted on the unlabelled target rows' mask too. This factory splits
    ``steps`` at the aligner: the steps before it form the outer Pipeline (source *and*
    target rows go through the same preprocessing), and the aligner with the steps after it
    become one :class:`AlignedClassifier` or :class:`AlignedRegressor` (by the final
    step's type), which fits the aligner on the preprocessed rows and the estimator on the
    aligned labelled rows.

    Parameters
    ----------
    *steps : estimators
        The steps, as for :func:`sklearn.pipeline.make_pipeline`; exactly one of them must be
        a skxfer aligner, and it cannot be the last.

    Returns
    -------
    pipeline : Pipeline
        Route ``sample_domain`` to it with metadata routing on
        (``sklearn.set_config(enable_metadata_routing=True)``, then
        ``pipeline.fit(X, y, sample_domain=...)``), or with routing off through the last
        step's name: ``pipeline.fit(X, y, alignedclassifier__sample_domain=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skxfer import pack
    >>> from skxfer.align import CORAL, make_alignment_pipeline
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(100, 3)), 2 * rng.normal(size=(100, 3))
    >>> X, y, sample_domain = pack(Xs, (Xs[:, 0] > 0).astype(int), Xt)
    >>> pipe = make_alignment_pipeline(StandardScaler(), CORAL(), LogisticRegression())
    >>> [name for name, _ in pipe.steps]
    ['standardscaler', 'alignedclassifier']
    >>> pipe = pipe.fit(X, y, alignedclassifier__sample_domain=sample_domain)
    >>> pipe[-1].aligner_.n_target_
    100
    """
    from skxfer.align._base import BaseAligner

    positions = [i for i, step in enumerate(steps) if isinstance(step, BaseAligner)]
    if len(positions) != 1:
        raise ValueError(
            f"make_alignment_pipeline needs exactly one aligner step (a skxfer.align "
            f"aligner such as CORAL), got {len(positions)}; pass one."
        )
    (at,) = positions
    if at == len(steps) - 1:
        raise ValueError(
            "The aligner is the last step, so no estimator is fitted on the aligned rows; "
            "add an estimator after it (or use the aligner alone as a transformer)."
        )
    after = steps[at + 1 :]
    estimator = after[0] if len(after) == 1 else make_pipeline(*after)
    wrapper = AlignedClassifier if is_classifier(after[-1]) else AlignedRegressor
    return make_pipeline(*steps[:at], wrapper(estimator, steps[at]))
