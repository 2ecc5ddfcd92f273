"""Shared machinery of the aligners: validation, ``sample_domain``, transform by domain."""

from abc import ABCMeta, abstractmethod

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from skxfer._domain import _rows, check_sample_domain, domain_masks, warn_no_transfer


class BaseAligner(TransformerMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of the feature aligners.

    An aligner learns, from source and target rows, a map under which the two domains'
    feature distributions match. ``transform`` maps each row by its domain: rows with
    ``sample_domain >= 1`` by the source map, the other rows by the target map. At
    prediction time rows come without ``sample_domain`` and are target rows.

    Subclasses implement :meth:`_fit_maps` (fit on the source and target rows) and
    :meth:`_map` (map rows of one kind). Without ``sample_domain`` every row is a source row
    of one domain with no target to align to: the maps are fitted as if the rows were both
    source and target, so nothing is transferred (a :class:`~skxfer.utils.NoTransferWarning`
    says so).

    Fitted attributes set here: ``n_source_``, ``n_target_``, ``n_features_in_`` and
    ``feature_names_in_``.
    """

    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__transform = {"sample_domain": True}

    _parameter_constraints: dict = {}

    #: smallest number of rows of each domain that ``_fit_maps`` needs
    _min_rows = 2

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_domain=None):
        """Learn the maps that align the source rows with the target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : None
            Ignored; present for Pipeline compatibility.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows. Without it every row is
            of one domain and the fitted map transfers nothing (with a
            :class:`~skxfer.utils.NoTransferWarning`).

        Returns
        -------
        self : object
            The fitted aligner.
        """
        X = validate_data(self, X, reset=True, dtype=[np.float64, np.float32])
        check_magnitude(X, type(self).__name__, len(X))
        masks = domain_masks(None, sample_domain, X.shape[0])
        X_source, X_target = _rows(X, masks.source), _rows(X, masks.target)
        self.n_source_, self.n_target_ = len(X_source), len(X_target)
        if sample_domain is None:
            warn_no_transfer(self, "source and target maps are fitted on the same rows")
            X_target = X_source
        else:
            for name, rows in (("source", X_source), ("target", X_target)):
                if len(rows) < self._min_rows:
                    raise ValueError(
                        f"{type(self).__name__} needs at least {self._min_rows} {name} rows "
                        f"to estimate their distribution, got {len(rows)} sample(s); pass "
                        f"more {name} rows."
                    )
        self._fit_maps(X_source, X_target)
        return self

    def transform(self, X, sample_domain=None):
        """Map rows by their domain: source rows onto the target, target rows as fitted.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to map.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` marks a source row, mapped by the source map. ``None`` (as at
            prediction time) means every row is a target row.

        Returns
        -------
        X_aligned : ndarray of shape (n_samples, n_features_out)
            The aligned rows.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        check_magnitude(X, type(self).__name__, len(X) + self.n_source_ + self.n_target_)
        if sample_domain is None:
            return self._map(X, source=False)
        source = check_sample_domain(sample_domain, X.shape[0]) >= 1
        if source.all():
            return self._map(X, source=True)
        if not source.any():
            return self._map(X, source=False)
        out = None
        for mask, is_source in ((source, True), (~source, False)):
            mapped = self._map(_rows(X, mask), source=is_source)
            if out is None:
                out = np.empty((X.shape[0], mapped.shape[1]), dtype=mapped.dtype)
            out[mask] = mapped
        return out

    def fit_transform(self, X, y=None, sample_domain=None):
        """Fit, then map the rows by their domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : None
            Ignored; present for Pipeline compatibility.
        sample_domain : array-like of shape (n_samples,), default=None
            ``>= 1`` for source rows, ``<= -1`` for target rows.

        Returns
        -------
        X_aligned : ndarray of shape (n_samples, n_features_out)
            Source rows mapped onto the target, target rows mapped as at prediction time.
        """
        return self.fit(X, y, sample_domain=sample_domain).transform(X, sample_domain)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @abstractmethod
    def _fit_maps(self, X_source, X_target):
        """Fit the source and target maps."""

    @abstractmethod
    def _map(self, X, source):
        """Map rows that are all source rows (``source=True``) or all target rows."""


def check_magnitude(X, name, n_rows):
    """Refuse finite values whose squares, summed over rows and features, overflow float64.

    Covariances, distances and kernels all add up ``n_rows * n_features`` squares of
    differences of values, each at most ``(2 max|x|)^2``; above the limit below the sums turn
    into inf and NaN deep inside an eigensolver instead of failing here with a fix.
    """
    if X.size == 0:
        return
    largest = float(np.max(np.abs(X)))
    limit = float(np.sqrt(np.finfo(np.float64).max / (16.0 * n_rows * X.shape[1])))
    if largest > limit:
        raise ValueError(
            f"{name} cannot align X: it holds values up to |x| = {largest:.3g}, and with "
            f"{n_rows} rows of {X.shape[1]} features the sums of their squares (covariances, "
            f"distances) overflow float64 above |x| = {limit:.3g}. Scale X first, e.g. with "
            "sklearn.preprocessing.StandardScaler (or divide it by a constant)."
        )


def center_and_cov(X):
    """Mean and biased covariance of the rows, in float64 (one Gram product over ``X``)."""
    mean = X.mean(axis=0, dtype=np.float64)
    Xc = X - mean.astype(X.dtype, copy=False)
    cov = (Xc.T @ Xc).astype(np.float64) / len(X)
    return mean, cov, Xc


def shrunk_covariance(X, reg):
    """Mean and covariance shrunk toward ``tr(C) / d * I``.

    ``reg="auto"`` takes the Ledoit-Wolf shrinkage, computed from the row norms (``O(n d)``
    beyond the covariance itself: the sum over rows of ``||x x^T - C||_F^2`` equals
    ``sum ||x||^4 - n ||C||_F^2``).
    """
    mean, cov, Xc = center_and_cov(X)
    n, d = X.shape
    mu = np.trace(cov) / d
    if reg == "auto":
        delta = np.sum((cov - mu * np.eye(d)) ** 2) / d
        norms = np.einsum("ij,ij->i", Xc, Xc, dtype=np.float64)
        beta = (np.sum(norms**2) / n - np.sum(cov**2)) / (n * d)
        shrinkage = 0.0 if delta <= 0 else float(np.clip(beta / delta, 0.0, 1.0))
    else:
        shrinkage = float(reg)
    cov = (1.0 - shrinkage) * cov
    cov.flat[:: d + 1] += shrinkage * mu
    return mean, cov, shrinkage


def eigh(A, **kwargs):
    """``scipy.linalg.eigh`` on one BLAS thread.

    The eigenproblems here are small (features x features, landmarks x landmarks); a
    tridiagonal reduction gains little from threads, and on a busy machine OpenBLAS threads
    that wait for each other make it 10 to 40 times slower than one thread.
    """
    with threadpool_limits(1, user_api="blas"):
        return scipy.linalg.eigh(A, **kwargs)


def symmetric_power(C, power):
    """``C ** power`` of a symmetric positive semi-definite matrix, small eigenvalues floored."""
    values, vectors = eigh(C)
    floor = max(float(values.max()), 0.0) * 1e-10 + np.finfo(np.float64).tiny ** 0.25
    values = np.maximum(values, floor)
    return (vectors * values**power) @ vectors.T
