"""Fit any scikit-learn estimator on source rows weighted to look like the target."""

from numbers import Real

import numpy as np
from sklearn import config_context
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    _fit_context,
    clone,
    is_classifier,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import HasMethods, Interval
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
from skxfer.utils._chunks import is_dask_collection
from skxfer.utils._docstrings import fill_doc
from skxfer.utils._meta import DelegatedPredictMixin
from skxfer.utils._scoring import LabelledScoreMixin


class _BaseImportanceWeighted(DelegatedPredictMixin, MetaEstimatorMixin, BaseEstimator):
    """Shared fit of the importance-weighted classifier and regressor."""

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "weighter": [HasMethods(["fit", "compute_weights"]), None],
        "target_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, estimator, weighter=None, *, target_weight=1.0):
        self.estimator = estimator
        self.weighter = weighter
        self.target_weight = target_weight

    def _fit(self, X, y, sample_weight, sample_domain):
        if is_dask_collection(X):
            return self._fit_dask(X, y, sample_weight, sample_domain)
        X = validate_data(self, X, reset=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass labels, with the mask value (-1 or NaN) on unlabelled target rows."
            )
        y = column_or_1d(y, warn=True)
        if len(y) != X.shape[0]:
            raise ValueError(f"y has {len(y)} rows but X has {X.shape[0]}; pass one label per row.")
        sample_weight = _check_sample_weight(sample_weight, X)
        masks = domain_masks(y, sample_domain, X.shape[0])
        weights = sample_weight.copy()
        if sample_domain is None:
            warn_no_transfer(self, "every row is labelled data of one domain, not reweighted")
            self.weighter_ = None
        else:
            from skxfer.reweight._discriminative import DiscriminativeWeighter

            weighter = DiscriminativeWeighter() if self.weighter is None else self.weighter
            self.weighter_ = clone(weighter).fit(X, sample_domain=sample_domain)
            importance = np.asarray(self.weighter_.sample_weight_, dtype=float)
            importance = np.where(masks.target, self.target_weight, importance)
            weights *= importance
        labelled = masks.labelled
        X_fit, y_fit = X[labelled], y[labelled]
        y_fit = self._check_target(y_fit)
        self.sample_weight_ = weights[labelled]
        self.estimator_ = _fit_with_sample_weight(self.estimator, X_fit, y_fit, self.sample_weight_)
        return self

    def _fit_dask(self, X, y, sample_weight, sample_domain):
        """Fit on a dask array: the weighter block by block, then the estimator on the
        labelled rows with the weights as a dask array (for an estimator that takes dask
        collections, e.g. ``xgboost.dask.DaskXGBClassifier``). The labels and domains, one
        value a row, are read on the client to find the labelled rows; the rows are not."""
        import dask.array as da

        if hasattr(X, "to_dask_array"):
            X = X.to_dask_array(lengths=True)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None; "
                "pass labels, with the mask value (-1 or NaN) on unlabelled target rows."
            )
        n_rows = X.shape[0]
        self.n_features_in_ = int(X.shape[1])
        y = np.asarray(y.compute() if is_dask_collection(y) else y).reshape(-1)
        if len(y) != n_rows:
            raise ValueError(f"y has {len(y)} rows but X has {n_rows}; pass one label per row.")
        if sample_domain is not None and is_dask_collection(sample_domain):
            sample_domain = sample_domain.compute()
        masks = domain_masks(y, sample_domain, n_rows)
        row_chunks = (X.chunks[0],)
        if sample_weight is None:
            weights = da.ones(n_rows, chunks=row_chunks)
        elif is_dask_collection(sample_weight):
            weights = da.asarray(sample_weight).astype(np.float64).rechunk(row_chunks)
        else:
            weights = da.from_array(_check_sample_weight(sample_weight, np.empty((n_rows, 0))))
            weights = weights.rechunk(row_chunks)
        if sample_domain is None:
            warn_no_transfer(self, "every row is labelled data of one domain, not reweighted")
            self.weighter_ = None
        else:
            from skxfer.reweight._discriminative import DiscriminativeWeighter

            weighter = DiscriminativeWeighter() if self.weighter is None else self.weighter
            self.weighter_ = clone(weighter).fit(X, sample_domain=sample_domain)
            importance = da.asarray(self.weighter_.sample_weight_).rechunk(row_chunks)
            is_target = da.from_array(masks.target, chunks=row_chunks)
            weights = weights * da.where(is_target, self.target_weight, importance)
        labelled = np.flatnonzero(masks.labelled)
        X_fit = X[labelled]
        y_fit = self._check_target(y[labelled])
        fit_chunks = (X_fit.chunks[0],)
        self.sample_weight_ = weights[labelled].rechunk(fit_chunks).persist()
        self.estimator_ = _fit_with_sample_weight(
            self.estimator, X_fit, da.from_array(y_fit, chunks=fit_chunks), self.sample_weight_
        )
        return self

    def _check_X(self, X):
        check_is_fitted(self)
        if is_dask_collection(X):
            return X  # the fitted estimator reads the dask collection
        return validate_data(self, X, reset=False)


# What the classifier and the regressor share, written once and filled into both docstrings.
_importance_docstring = fill_doc(
    {
        "weighter_parameters": """\
weighter : weighter object, default=None
    A skxfer weighter (anything with ``fit(X, sample_domain=...)``, ``sample_weight_``
    and ``compute_weights``). ``None`` uses :class:`DiscriminativeWeighter`.
target_weight : float, default=1.0
    Weight of each labelled target row, relative to an average source row.""",
        "fitted_attributes": """\
estimator_ : estimator object
    The fitted clone of ``estimator``.
weighter_ : weighter object
    The fitted clone of ``weighter``; ``None`` when fitted without ``sample_domain``.
sample_weight_ : ndarray of shape (n_labelled,)
    The weights the estimator was fitted with, one per labelled row.""",
        "fit_weights": """\
sample_weight : array-like of shape (n_samples,), default=None
    The user's own weights, multiplied with the importance weights.
sample_domain : array-like of shape (n_samples,), default=None
    ``>= 1`` source rows, ``<= -1`` target rows. Without it the estimator is fitted
    on all rows with the user's weights only (a :class:`~skxfer.utils.NoTransferWarning`
    says so).""",
    }
)


@_importance_docstring
class ImportanceWeightedClassifier(LabelledScoreMixin, ClassifierMixin, _BaseImportanceWeighted):
    """Classifier fitted on source rows reweighted by an estimated density ratio.

    The weighter is fitted on all rows (source and target, labelled or not); the estimator
    is then fitted on the labelled rows with ``sample_weight`` equal to the weighter's
    ratio on source rows and ``target_weight`` on labelled target rows, times the user's
    own ``sample_weight``. Prediction needs no ``sample_domain``.

    Parameters
    ----------
    estimator : estimator object
        The classifier to fit. It, or the final step of a Pipeline, must accept
        ``sample_weight`` in ``fit``.
    %(weighter_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s
    classes_ : ndarray of shape (n_classes,)
        Class labels (target rows holding the mask value are not a class).
    %(input_attributes)s

    See Also
    --------
    ImportanceWeightedRegressor : The regression counterpart.
    make_reweighting_pipeline : A Pipeline whose weighter step passes weights on.

    References
    ----------
    .. [1] Shimodaira, H. (2000). Improving predictive inference under covariate shift by
       weighting the log-likelihood function. Journal of Statistical Planning and Inference.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import ImportanceWeightedClassifier
    >>> data = make_covariate_shift(500, 500, random_state=0)
    >>> clf = ImportanceWeightedClassifier(LogisticRegression())
    >>> clf = clf.fit(data.X, data.y, sample_domain=data.sample_domain)
    >>> target = data.sample_domain < 0
    >>> bool(clf.score(data.X[target], data.y_true[target]) > 0.8)
    True
    """

    @_importance_docstring
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the weighter on all rows, then the estimator on the weighted labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,)
            Labels; unlabelled target rows hold the mask value (-1 or NaN).
        %(fit_weights)s

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


@_importance_docstring
class ImportanceWeightedRegressor(LabelledScoreMixin, RegressorMixin, _BaseImportanceWeighted):
    """Regressor fitted on source rows reweighted by an estimated density ratio.

    The regression counterpart of :class:`ImportanceWeightedClassifier`: unlabelled target
    rows hold ``NaN`` in ``y``.

    Parameters
    ----------
    estimator : estimator object
        The regressor to fit. It, or the final step of a Pipeline, must accept
        ``sample_weight`` in ``fit``.
    %(weighter_parameters)s

    Attributes
    ----------
    %(fitted_attributes)s
    %(input_attributes)s

    See Also
    --------
    ImportanceWeightedClassifier : The classification counterpart.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import ImportanceWeightedRegressor
    >>> data = make_covariate_shift(500, 500, random_state=0)
    >>> y = np.where(data.sample_domain > 0, data.X[:, 0] ** 2, np.nan)
    >>> reg = ImportanceWeightedRegressor(Ridge()).fit(data.X, y, sample_domain=data.sample_domain)
    >>> reg.predict(data.X[:3]).shape
    (3,)
    """

    @_importance_docstring
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None, sample_domain=None):
        """Fit the weighter on all rows, then the estimator on the weighted labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,)
            Targets; unlabelled target rows hold NaN.
        %(fit_weights)s

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
                    f"dtype {y.dtype}; use ImportanceWeightedClassifier for class labels."
                ) from None
        _assert_all_finite(y, input_name="y")
        return y


def make_reweighting_pipeline(*steps, target_weight=1.0):
    """Build a Pipeline in which a weighter step passes ``sample_weight`` to the final step.

    A scikit-learn Pipeline cannot pass data from one step to another except ``X``. This
    factory splits ``steps`` at the weighter: the steps before it form the outer Pipeline
    (so source *and* target rows go through the same preprocessing), and the weighter with
    the steps after it become one :class:`ImportanceWeightedClassifier` or
    :class:`ImportanceWeightedRegressor` (by the final step's type), which fits the
    weighter on the preprocessed rows and hands the weights to the final step.

    Parameters
    ----------
    *steps : estimators
        The steps, as for :func:`sklearn.pipeline.make_pipeline`; exactly one of them must be
        a weighter (have ``compute_weights``), and it cannot be the last.
    target_weight : float, default=1.0
        Passed to the importance-weighted estimator.

    Returns
    -------
    pipeline : Pipeline
        Route ``sample_domain`` to it with metadata routing on
        (``sklearn.set_config(enable_metadata_routing=True)``, then
        ``pipeline.fit(X, y, sample_domain=...)``), or with routing off through the last
        step's name: ``pipeline.fit(X, y, importanceweightedclassifier__sample_domain=...)``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skxfer.datasets import make_covariate_shift
    >>> from skxfer.reweight import DiscriminativeWeighter, make_reweighting_pipeline
    >>> data = make_covariate_shift(300, 300, random_state=0)
    >>> pipe = make_reweighting_pipeline(
    ...     StandardScaler(), DiscriminativeWeighter(), LogisticRegression()
    ... )
    >>> [name for name, _ in pipe.steps]
    ['standardscaler', 'importanceweightedclassifier']
    >>> pipe = pipe.fit(
    ...     data.X, data.y, importanceweightedclassifier__sample_domain=data.sample_domain
    ... )
    >>> pipe[-1].weighter_.n_target_
    300
    """
    positions = [i for i, step in enumerate(steps) if hasattr(step, "compute_weights")]
    if len(positions) != 1:
        raise ValueError(
            f"make_reweighting_pipeline needs exactly one weighter step (an object with "
            f"compute_weights), got {len(positions)}; pass one skxfer weighter."
        )
    (at,) = positions
    if at == len(steps) - 1:
        raise ValueError(
            "The weighter is the last step, so there is no estimator to pass the weights to; "
            "add an estimator after it."
        )
    after = steps[at + 1 :]
    estimator = after[0] if len(after) == 1 else make_pipeline(*after)
    wrapper = (
        ImportanceWeightedClassifier if is_classifier(after[-1]) else ImportanceWeightedRegressor
    )
    final = wrapper(estimator, steps[at], target_weight=target_weight)
    return make_pipeline(*steps[:at], final)


def _fit_with_sample_weight(estimator, X, y, sample_weight):
    """Fit a clone of ``estimator`` with ``sample_weight``, reaching a Pipeline's final step."""
    estimator = clone(estimator)
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    if final == "passthrough" or not has_fit_parameter(final, "sample_weight"):
        raise TypeError(
            f"{type(final).__name__}.fit does not accept sample_weight, so the importance "
            "weights could not be applied. Pass an estimator whose fit takes sample_weight "
            "(e.g. LogisticRegression, Ridge, HistGradientBoosting*)."
        )
    if isinstance(estimator, Pipeline):
        # Only the final step takes the importance weights. Under routing a Pipeline would
        # demand a request from every step that could take sample_weight (a scaler too), so
        # the call is made with routing off, where `step__sample_weight` means exactly this.
        with config_context(enable_metadata_routing=False):
            return estimator.fit(
                X, y, **{f"{estimator.steps[-1][0]}__sample_weight": sample_weight}
            )
    return estimator.fit(X, y, sample_weight=sample_weight)
