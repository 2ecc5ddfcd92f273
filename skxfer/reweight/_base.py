"""Shared machinery of the weighters: validation, normalisation, clipping, ESS."""

from abc import ABCMeta, abstractmethod
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    assert_all_finite,
    check_is_fitted,
    check_random_state,
    validate_data,
)

from skxfer._domain import _rows, domain_masks, warn_no_transfer
from skxfer.utils._chunks import is_dask_collection
from skxfer.utils._threads import map_row_blocks

# Values per block when the column extremes are read (2 MB of float64: the second pass
# over a block reads it from cache).
_EXTREMES_BLOCK_ELEMENTS = 2**18
# A squared difference below tiny / eps (about 1e-292) is subnormal and has lost precision.
_SMALLEST_SPREAD = float(np.sqrt(np.finfo(np.float64).tiny / np.finfo(np.float64).eps))


class BaseWeighter(BaseEstimator, metaclass=ABCMeta):
    """Base class of the density-ratio weighters.

    A weighter estimates ``w(x) = p_target(x) / p_source(x)`` on source rows. Subclasses
    implement :meth:`_fit_ratio` (fit on source and target rows, return the raw ratio on
    the source rows) and :meth:`_ratio` (raw ratio on new rows). This class validates the
    input, reads ``sample_domain``, rescales the ratio to mean 1 on the source rows, clips it
    at ``max_weight`` and reports the effective sample size.

    Fitted attributes set here, for every subclass:

    - ``weights_`` : ndarray of shape (n_source,), the weights of the source rows, mean 1.
    - ``sample_weight_`` : ndarray of shape (n_samples,), a weight for every row given to
      ``fit``: ``weights_`` on source rows and 1 on target rows.
    - ``ess_`` : float, the effective sample size ``sum(w)**2 / sum(w**2)`` of ``weights_``.
    - ``ratio_scale_`` : float, the factor that maps the raw ratio to ``weights_``.
    - ``n_source_``, ``n_target_`` : int, the rows of each kind seen in ``fit``.
    - ``n_features_in_``, ``feature_names_in_`` : as in scikit-learn.
    """

    __metadata_request__fit = {"sample_domain": True}
    #: Whether ``fit`` takes a dask array, block by block (see ``_chunked``).
    _fits_blocks = False

    _parameter_constraints: dict = {
        "max_weight": [Interval(Real, 1, None, closed="neither"), None],
    }

    def __init__(self, *, max_weight=None):
        self.max_weight = max_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_domain=None):
        """Estimate the density ratio of target to source rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked. :class:`ULSIFWeighter`,
            :class:`RULSIFWeighter`, :class:`KLIEPWeighter`, :class:`KMMWeighter` and
            :class:`DiscriminativeWeighter` (default classifier) also take a dask array:
            they fit block by block without gathering the rows, and ``weights_`` and
            ``sample_weight_`` are then dask arrays (equal to the in-memory ones).
        y : None
            Ignored; present for Pipeline compatibility.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is a
            source row, no ratio is estimated and every weight is 1 (with a
            :class:`~skxfer.utils.NoTransferWarning`).

        Returns
        -------
        self : object
            The fitted weighter.
        """
        if is_dask_collection(X):
            from skxfer.reweight._chunked import fit_chunked

            return fit_chunked(self, X, sample_domain)
        # the finite check is check_magnitude's pass over X (its extremes), or sklearn's
        X = validate_data(
            self, X, reset=True, dtype=[np.float64, np.float32], ensure_all_finite=False
        )
        if sample_domain is None:
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
        masks = domain_masks(None, sample_domain, X.shape[0])
        X_source, X_target = _rows(X, masks.source), _rows(X, masks.target)
        self.n_source_, self.n_target_ = len(X_source), len(X_target)
        if sample_domain is None:
            warn_no_transfer(self, "there are no target rows and every weight is 1")
            raw = np.ones(len(X_source))
        else:
            check_magnitude(X, type(self).__name__)
            raw = self._fit_ratio(X_source, X_target, check_random_state(self._seed()))
            raw = _check_raw_ratio(raw, len(X_source), type(self).__name__)
        self.ratio_scale_ = _clipped_mean_one_scale(raw, self.max_weight)
        self.weights_ = self._scale_and_clip(raw)
        self.ess_ = float(self.weights_.sum() ** 2 / np.sum(self.weights_**2))
        self.sample_weight_ = np.ones(X.shape[0])
        self.sample_weight_[masks.source] = self.weights_
        return self

    def compute_weights(self, X):
        """Compute the weights of new rows, on the same scale as ``weights_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to weigh (typically source rows not seen in ``fit``).

        Returns
        -------
        weights : ndarray of shape (n_samples,)
            ``ratio_scale_ * w(x)``, clipped at ``max_weight``.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            from skxfer.reweight._chunked import compute_weights_chunked

            return compute_weights_chunked(self, X)
        X = validate_data(
            self, X, reset=False, dtype=[np.float64, np.float32], ensure_all_finite=False
        )
        if self.n_target_ == 0:
            assert_all_finite(X, input_name="X", estimator_name=type(self).__name__)
            return np.ones(X.shape[0])
        # Distances to the fitted centres and neighbours add up over the fitted rows too.
        n_rows = X.shape[0] + self.n_source_ + self.n_target_
        check_magnitude(X, type(self).__name__, n_rows=n_rows, spread=False)
        raw = _check_raw_ratio(self._ratio(X), X.shape[0], type(self).__name__)
        return self._scale_and_clip(raw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    @abstractmethod
    def _fit_ratio(self, X_source, X_target, random_state):
        """Fit on source and target rows; return the raw (unscaled) ratio on ``X_source``."""

    @abstractmethod
    def _ratio(self, X):
        """Raw (unscaled) ratio on new rows, on the scale that ``_fit_ratio`` returned."""

    def _seed(self):
        return getattr(self, "random_state", None)

    def _scale_and_clip(self, raw):
        w = raw * self.ratio_scale_
        if self.max_weight is not None:
            w = np.minimum(w, self.max_weight)
        return w


def check_magnitude(X, name, *, n_rows=None, spread=True):
    """Refuse values that are not finite, whose squares overflow, or whose spread underflows,
    in float64.

    Every weighter adds up squares of differences of values: squared distances over the
    features, variances and neighbourhood moments over the rows. With ``M = max|x|``, each
    difference is at most ``2M``, so ``n_rows * n_features`` such squares stay below a
    quarter of float64's largest value when ``M <= sqrt(max / (16 n_rows n_features))``;
    beyond it the sums turn into inf and NaN deep inside a solver (an eigenvalue failure, a
    NaN in a classifier) or, worse, into wrong neighbours and weights without an error. At
    the other end, when no feature varies by more than ``_SMALLEST_SPREAD`` the squared
    distances fall below float64's normal range and every row looks alike, silently.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows validated but for their finiteness: NaN and infinity get scikit-learn's error
        (``Input X contains NaN.``), found from the column extremes this check computes anyway
        (one pass over X rather than two).
    name : str
        The weighter, for the message.
    n_rows : int or None, default=None
        Rows whose squares may be summed together; ``None`` means ``len(X)``.
    spread : bool, default=True
        Also refuse rows that vary too little (fit only: new rows are measured against the
        fitted ones).
    """
    if X.size == 0:
        return
    n_rows = len(X) if n_rows is None else n_rows
    # Column extremes, block by block on the available threads (each block read twice while
    # it is in cache), and no temporary the size of X.
    step = max(1, _EXTREMES_BLOCK_ELEMENTS // max(1, X.shape[1]))
    extremes = map_row_blocks(
        lambda rows, _: (X[rows].max(axis=0), X[rows].min(axis=0)), len(X), step
    )
    high = np.max([h for h, _ in extremes], axis=0)
    low = np.min([lo for _, lo in extremes], axis=0)
    if not (np.isfinite(high).all() and np.isfinite(low).all()):  # NaN propagates through max
        assert_all_finite(X, input_name="X", estimator_name=name)
    largest = float(max(np.abs(high).max(), np.abs(low).max()))
    limit = float(np.sqrt(np.finfo(np.float64).max / (16.0 * n_rows * X.shape[1])))
    if largest > limit:
        raise ValueError(
            f"{name} cannot weigh X: it holds values up to |x| = {largest:.3g}, and with "
            f"{n_rows} rows of {X.shape[1]} features the sums of their squares (squared "
            f"distances, variances) overflow float64 above |x| = {limit:.3g}. Scale X "
            "first, e.g. with sklearn.preprocessing.StandardScaler (or divide it by a constant)."
        )
    if spread:
        widest = float(np.max(high - low))
        if 0.0 < widest < _SMALLEST_SPREAD:
            raise ValueError(
                f"{name} cannot weigh X: no feature varies by more than {widest:.3g}, so "
                f"squared distances between rows underflow float64 (a feature must span at "
                f"least {_SMALLEST_SPREAD:.0e}). Scale X first, e.g. with "
                "sklearn.preprocessing.StandardScaler (or multiply it by a constant)."
            )


def _check_raw_ratio(raw, n, name):
    raw = np.asarray(raw, dtype=np.float64).reshape(-1)
    if raw.shape[0] != n:  # pragma: no cover - a bug in a subclass, not a user error
        raise RuntimeError(f"{name} returned {raw.shape[0]} ratios for {n} rows.")
    if not np.all(np.isfinite(raw)):
        raise ValueError(
            f"{name} produced non-finite weights; the source and target rows may be too far "
            "apart for this kernel width. Standardise X or set the bandwidth explicitly."
        )
    return np.maximum(raw, 0.0)


def _clipped_mean_one_scale(raw, max_weight):
    """The factor c with mean(min(c * raw, max_weight)) == 1 (c = 1 / mean(raw) unclipped)."""
    if raw.sum() <= 0:
        raise ValueError(
            "Every source row got weight 0: no source row resembles the target rows. "
            "Check that source and target share features and scaling (standardise X), or "
            "widen the kernel (bandwidth)."
        )
    scale = len(raw) / raw.sum()
    if max_weight is None or raw.max() * scale <= max_weight:
        return scale
    # mean(min(c * raw, M)) is continuous and non-decreasing in c: bisect for mean 1.
    lo, hi = scale, max_weight / raw[raw > 0].min()
    if np.mean(np.minimum(hi * raw, max_weight)) < 1:
        return hi  # too few positive rows to reach mean 1 under the bound: clip them all
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if np.mean(np.minimum(mid * raw, max_weight)) < 1:
            lo = mid
        else:
            hi = mid
    return hi
