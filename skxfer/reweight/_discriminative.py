"""Density-ratio weights from a probabilistic source-versus-target classifier."""

import warnings
from contextlib import nullcontext
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from skxfer.reweight._base import BaseWeighter
from skxfer.reweight._logistic import fit_logistic_on_rows
from skxfer.utils._chunks import is_dask_collection
from skxfer.utils._threads import map_row_blocks, map_threads, single_threaded_blas

_CALIBRATION_FOLDS = 5

# The default classifier's feature forms, each with the most input features it is tried at:
# the squares double the columns, the products add n_features * (n_features + 1) / 2.
_FORM_MAX_FEATURES = {"linear": np.inf, "squares": 50, "products": 20}
# Its penalty C is chosen from this grid, with the form, by cross-validated log-loss on at most
# _CV_MAX_ROWS rows of each domain (the loss is a mean over rows: a few thousand pin it down).
_C_GRID = 10.0 ** np.arange(-3, 3)
_CV_FOLDS = 5
_CV_MAX_ROWS = 2500
# Features of at least this many values have their cross-validation fits run on threads: at
# 5,000 rows, threads were slower up to 200 features and 1.6x faster at 800.
_CV_THREADED_ELEMENTS = 2_000_000


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
        The domain classifier; it is cloned. ``None``: a logistic regression whose features
        and penalty are chosen by the method's own criterion, the cross-validated log-loss of
        the domain classifier (5-fold, on at most 2,500 rows of each domain). The features
        are the standardised ``x`` alone, ``[x, x**2]`` (up to 50 features) or ``x`` with
        every product ``x_i * x_j`` (up to 20 features): the exact log-ratios of two Gaussians
        with equal, axis-aligned or any covariances. The penalty ``C`` is one of
        ``1e-3, 1e-2, ..., 100``. See Notes.
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
        class 1 is the target. The default is a Pipeline whose first step's ``form`` is the
        chosen features (``"linear"``, ``"squares"`` or ``"products"``) and whose
        :class:`~sklearn.linear_model.LogisticRegression` has the chosen ``C``.
    cv_scores_ : dict or None
        With the default classifier, the mean held-out log-loss (lower is better) of every
        ``(form, C)`` tried; ``None`` with a user's classifier, or when a domain has fewer
        than 2 rows (then ``[x, x**2]``, or ``x`` above 50 features, at ``C=1``).
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

    Notes
    -----
    Quality of the default, measured by ``benchmarks/reweight_quality.py ratio`` (Spearman
    correlation with the true ratio on the source rows, 500-2000 source and 200-1000 target
    rows, d = 2-20; means over 3 seeds and the sizes): 0.92-1.0 on Gaussian shifts of the
    mean at every d and of the variance along any two directions up to d = 10 (the log-ratio
    is then one of the three forms). A variance shift along 2 of 20 directions needs the 230
    product features and more rows: 0.56 with 500 source rows, 0.92 with 2,000. Where the
    log-ratio is not quadratic a logistic model cannot rank every row: a bimodal target
    (two-component mixture) gets 0.83 at d = 2 and 0.27 at d = 20, heavy-tailed
    (multivariate t) domains 0.90 at d = 2 and 0.76 at d = 20. The best form and penalty
    chosen in hindsight with the true ratio reach 0.87 and 0.92 at d = 2, 0.25 and 0.79 at
    d = 20: a more flexible classifier (``estimator=``) is needed beyond that.

    On real shifts where the domains barely overlap (most pairs of Office-Caltech10,
    Amazon reviews, MNIST/USPS, COIL20 and wine red/white) every discriminator puts most of
    the weight on a few rows and the weighted classifier is no better than source-only; the
    cross-validated penalty keeps the weights smoother than a logistic regression at ``C=1``
    (``benchmarks/reweight_quality.py discriminator``). Check the overlap first with
    :func:`~skxfer.reweight.domain_shift_report`.

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

    _fits_blocks = True

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
        if is_dask_collection(X_source):
            return self._fit_blocks(X_source, X_target)
        if self.estimator is None and self.calibration in ("auto", None):
            return self._fit_default(X_source, X_target, random_state)
        X = np.concatenate([X_source, X_target])
        is_target = np.concatenate(
            [np.zeros(len(X_source), dtype=int), np.ones(len(X_target), dtype=int)]
        )
        with self._blas_threads():
            estimator, calibrated = self._make_estimator(X, is_target, random_state)
        if calibrated:
            smaller = min(len(X_source), len(X_target))
            if smaller < _CALIBRATION_FOLDS:
                raise ValueError(
                    f"calibration={self.calibration!r} cross-validates the classifier with "
                    f"{_CALIBRATION_FOLDS} folds and needs at least {_CALIBRATION_FOLDS} rows of "
                    f"each domain; got {len(X_source)} source and {len(X_target)} target rows. "
                    "Pass calibration=None."
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

    def _fit_default(self, X_source, X_target, random_state):
        """The default classifier, fitted without stacking the domains: its features are
        written from each domain's rows into one float32 array, the only copy of the rows."""
        n_source, n_target = len(X_source), len(X_target)
        picked = [_evenly_spaced(np.arange(n)) for n in (n_source, n_target)]
        # The rows _choose_form_and_penalty would pick from the stacked domains.
        sample = np.concatenate([X_source[picked[0]], X_target[picked[1]]])
        labels = np.repeat([0, 1], [len(picked[0]), len(picked[1])])
        with self._blas_threads():
            form, C, self.cv_scores_ = _choose_form_and_penalty(sample, labels)
            estimator = _default_classifier(form, C)
            _seed_unset_random_states(estimator, random_state)
            features = estimator[0].fit_transform_parts([X_source, X_target])
            # scikit-learn's L-BFGS fit, its loss summed over row blocks on the available
            # threads, in the features' single precision
            estimator.steps[-1] = (
                "logisticregression",
                fit_logistic_on_rows(features, n_source, C),
            )
            self.estimator_ = estimator
            p_target = estimator[-1].predict_proba(features[:n_source])[:, 1]
        return self._odds(p_target)

    def _fit_blocks(self, X_source, X_target):
        """The default classifier fitted on dask arrays: its form and penalty chosen on the
        rows the in-memory fit would score, its standardisation and logistic loss summed
        over the blocks (see ``_chunked_logistic``)."""
        if self.estimator is not None or self.calibration not in ("auto", None):
            raise TypeError(
                "DiscriminativeWeighter fits on a dask array with its default classifier "
                "only (estimator=None, calibration='auto' or None), whose loss adds up over "
                "blocks of rows; compute X first to use another classifier."
            )
        from skxfer.reweight._chunked_logistic import fit_default_on_blocks

        with self._blas_threads():
            self.estimator_, self.cv_scores_ = fit_default_on_blocks(X_source, X_target)
        return None

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

    def _make_estimator(self, X, is_target, random_state):
        self.cv_scores_ = None
        if self.estimator is None:
            form, C, self.cv_scores_ = _choose_form_and_penalty(X, is_target)
            estimator = _default_classifier(form, C)
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


def _evenly_spaced(rows, most=_CV_MAX_ROWS):
    """At most ``most`` of ``rows``, evenly spaced along them."""
    if len(rows) <= most:
        return rows
    return rows[np.linspace(0, len(rows) - 1, most).round().astype(int)]


def _default_classifier(form, C):
    return make_pipeline(_Standardized(form=form), LogisticRegression(C=C, max_iter=1000))


def _choose_form_and_penalty(X, is_target):
    """The default classifier's feature form and penalty, by cross-validated log-loss.

    The forms are the log-ratios of Gaussian pairs: ``"linear"`` (equal covariances),
    ``"squares"`` (axis-aligned covariances) and ``"products"`` (any covariances), each tried
    up to its ``_FORM_MAX_FEATURES``. Each form and each ``C`` of ``_C_GRID`` is scored by the
    held-out log-loss of ``_CV_FOLDS``-fold stratified cross-validation, and the lowest wins
    (on a tie, the simpler form and the smaller ``C``). A domain with fewer than 2 rows
    cannot be cross-validated: then ``[x, x**2]`` up to 50 features, ``x`` above, at C = 1.

    Returns
    -------
    form : str
    C : float
    scores : dict or None
        Mean held-out log-loss of every ``(form, C)`` tried; None without cross-validation.
    """
    d = X.shape[1]
    forms = [form for form, largest in _FORM_MAX_FEATURES.items() if d <= largest]
    n_folds = min(_CV_FOLDS, int(np.bincount(is_target, minlength=2).min()))
    if n_folds < 2:
        return ("squares" if "squares" in forms else "linear"), 1.0, None
    # Evenly spaced rows and striped folds (the k-th row of a domain in fold k mod n_folds):
    # no random draw, so an unseeded weighter stays deterministic (like scikit-learn's own
    # cross-validation without shuffling), and rows sorted by time or label still spread over
    # every fold.
    rows = np.concatenate([_evenly_spaced(np.flatnonzero(is_target == label)) for label in (0, 1)])
    X, y = X[rows], is_target[rows]
    stripe = np.zeros(len(y), dtype=int)
    for label in (0, 1):
        stripe[y == label] = np.arange(np.count_nonzero(y == label)) % n_folds
    folds = [(np.flatnonzero(stripe != k), np.flatnonzero(stripe == k)) for k in range(n_folds)]
    features = {form: _Standardized(form=form).fit_transform(X) for form in forms}

    def path_losses(task):
        # the held-out losses of one form on one fold, along ascending C, each fit
        # warm-started from the last, more penalised one
        form, (train, test) = task
        model = LogisticRegression(warm_start=True, max_iter=1000)
        losses = np.zeros(len(_C_GRID))
        for k, C in enumerate(_C_GRID):
            with warnings.catch_warnings():
                # A large C on separable domains stops short; its loss still ranks it.
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.set_params(C=C).fit(features[form][train], y[train])
            p = model.predict_proba(features[form][test]).astype(np.float64)
            losses[k] = -np.mean(np.log(np.clip(p[np.arange(len(test)), y[test]], 1e-15, None)))
        return losses

    # every (form, fold) path on the available threads when the features are wide enough for
    # the fits to spend most of their time in matrix products and scikit-learn's Cython loss,
    # which release the GIL (narrower fits are Python-bound: threads only queue for the GIL)
    tasks = [(form, fold) for form in forms for fold in folds]
    wide = max(F.size for F in features.values()) >= _CV_THREADED_ELEMENTS
    paths = map_threads(path_losses, tasks, n_threads=None if wide else 1)
    scores = {}
    for i, form in enumerate(forms):
        # the mean over folds, added in fold order whatever the threads' timing
        losses = np.zeros(len(_C_GRID))
        for path in paths[i * n_folds : (i + 1) * n_folds]:
            losses += path / n_folds
        scores.update({(form, float(C)): float(loss) for C, loss in zip(_C_GRID, losses)})
    form, C = min(scores, key=scores.get)  # first minimum: the simpler form, the smaller C
    return form, C, scores


class _Standardized(TransformerMixin, BaseEstimator):
    """Standardised features of one form, written into one new float32 array.

    ``form``: ``"linear"``, the standardised ``z``; ``"squares"``, ``[z, z**2]``;
    ``"products"``, ``z`` and every product ``z_i * z_j`` (``i <= j``). The added columns are
    standardised too, so one penalty suits every column.

    StandardScaler's compensated running variance and its copies took most of the default
    classifier's fit (0.7 of 2 s at 128k x 800); plain numpy passes over blocks of rows
    suffice here. Single precision halves the memory the logistic regression streams through
    at every iteration (its fit took 20% less time at 128k x 20) and changes the weights by
    about 1e-6. Centring and scaling run in float64, block by block, so values beyond
    float32's range (3.4e38) are scaled before they are stored.
    """

    def __init__(self, form="linear"):
        self.form = form

    def fit(self, X, y=None):
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        return self.fit_transform_parts([X])

    def fit_transform_parts(self, parts):
        """``fit_transform`` of the rows of ``parts`` (validated 2-D float arrays of the same
        width) stacked, without stacking them: each is read block by block.

        Returns
        -------
        out : ndarray of shape (n_rows, n_output_features), float32
        """
        d = parts[0].shape[1]
        self.n_features_in_ = d
        n_rows = sum(len(part) for part in parts)
        step = _block_length(d)
        # one pass over blocks of rows on the available threads: each block's row count, mean
        # and centred sum of squares, merged in block order (Chan et al.'s pairwise update,
        # stable like two passes), so the result does not depend on the thread count

        def moments(part, rows, scratch):
            block = part[rows]
            mean = block.sum(axis=0, dtype=np.float64) / len(block)
            z = np.subtract(block, mean, out=scratch[: len(block)])
            return len(block), mean, np.einsum("ij,ij->j", z, z)

        blocks = [
            block
            for part in parts
            for block in map_row_blocks(
                lambda rows, scratch, part=part: moments(part, rows, scratch),
                len(part),
                step,
                lambda part=part: np.empty((min(step, len(part)), d)),
            )
        ]
        self.mean_, sum_squares = _merged_moments(blocks, d)
        self.scale_ = _nonzero(np.sqrt(sum_squares / max(n_rows, 1)))
        out = np.empty((n_rows, d + len(_added_columns(self.form, d)[0])), dtype=np.float32)
        start = 0
        for part in parts:
            self._standardize_into(part, out[start : start + len(part)])
            start += len(part)
        if out.shape[1] == d:
            self.added_mean_ = np.zeros(0)
            self.added_scale_ = np.ones(0)
            return out
        added = out[:, d:]
        added_step = _block_length(added.shape[1])
        sums = map_row_blocks(
            lambda rows, _: added[rows].sum(axis=0, dtype=np.float64), n_rows, added_step
        )
        self.added_mean_ = np.sum(sums, axis=0) / max(n_rows, 1)

        def center(rows, _):
            block = added[rows]
            block -= self.added_mean_
            return np.einsum("ij,ij->j", block, block, dtype=np.float64)

        sum_squares = np.sum(map_row_blocks(center, n_rows, added_step), axis=0)
        self.added_scale_ = _nonzero(np.sqrt(sum_squares / max(n_rows, 1)))

        def scale(rows, _):
            np.divide(added[rows], self.added_scale_, out=added[rows], casting="same_kind")

        map_row_blocks(scale, n_rows, added_step)
        return out

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        out = self._standardize(X)
        added = out[:, X.shape[1] :]
        added -= self.added_mean_
        added /= self.added_scale_
        return out

    def _standardize(self, X):
        """``z = (x - mean_) / scale_`` and the raw added columns, in a new float32 array."""
        d = X.shape[1]
        out = np.empty((X.shape[0], d + len(_added_columns(self.form, d)[0])), dtype=np.float32)
        return self._standardize_into(X, out)

    def _standardize_into(self, X, out):
        """``_standardize`` written into ``out``, a float32 array of its shape."""
        d = X.shape[1]
        left, right = _added_columns(self.form, d)
        step = _block_length(d)

        def standardize(block, scratch):
            # centred in float64 (in the thread's block-sized buffer), scaled straight into
            # float32
            z = np.subtract(X[block], self.mean_, out=scratch[: _length(X, block)])
            np.divide(z, self.scale_, out=out[block, :d], casting="same_kind")
            if len(left):
                z = out[block, :d]
                np.multiply(z[:, left], z[:, right], out=out[block, d:])

        map_row_blocks(standardize, len(X), step, lambda: np.empty((min(step, len(X)), d)))
        return out

    def get_feature_names_out(self, input_features=None):
        names = _check_feature_names_in(self, input_features)
        left, right = _added_columns(self.form, len(names))
        added = [
            f"{names[i]}**2" if i == j else f"{names[i]} {names[j]}" for i, j in zip(left, right)
        ]
        return np.asarray([*names, *added], dtype=object)


def _merged_moments(blocks, d):
    """The mean and centred sum of squares of the rows of blocks given as ``(count, mean,
    centred sum of squares)``, merged in order."""
    count, mean, squares = 0, np.zeros(d), np.zeros(d)
    for n, block_mean, block_squares in blocks:
        if n == 0:
            continue
        total = count + n
        delta = block_mean - mean
        mean = mean + delta * (n / total)
        squares = squares + block_squares + delta**2 * (count * n / total)
        count = total
    return mean, squares


def _added_columns(form, n_features):
    """The pairs ``(i, j)`` whose products ``z_i * z_j`` a form adds to ``z``, as two arrays."""
    if form == "squares":
        return np.arange(n_features), np.arange(n_features)
    if form == "products":
        return np.triu_indices(n_features)
    return np.empty(0, dtype=int), np.empty(0, dtype=int)


def _nonzero(scale):
    scale[scale == 0] = 1.0
    return scale


def _block_length(n_columns, block_rows=8192):
    """Rows per block: at most ``block_rows``, fewer for wide rows (about 8 MB of float64 a
    block), so float64 temporaries stay small and in cache."""
    return max(64, min(block_rows, 2**20 // max(1, n_columns)))


def _length(X, block):
    return len(range(*block.indices(len(X))))


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
