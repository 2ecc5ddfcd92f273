"""Transfer component analysis: a kernel subspace in which the domain means match."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from skxfer.align._base import BaseAligner, eigh


class TCA(ClassNamePrefixFeaturesOutMixin, BaseAligner):
    """Transfer component analysis: project both domains where their means agree.

    Rows are embedded in a kernel feature space ``phi(x)``; TCA then looks for the
    ``n_components`` directions ``W`` that keep most of the variance of the pooled rows
    while shrinking the distance between the domain means there (the maximum mean
    discrepancy): the top solutions of ``S w = lambda (I + mu u u^T) w``, with ``S`` the
    pooled covariance of ``phi(x)`` and ``u`` the unit vector along the difference of the
    domain means. A direction's variance thus counts ``1 + mu cos^2`` times less, ``cos``
    its angle with ``u``: ``mu`` does not depend on the scale of the features. Source
    rows, target rows and new rows all go through the same map ``(phi(x) - m) W``, with
    ``W`` scaled so that the pooled rows' components hold as much variance in total as
    their features do: the kernel feature map fixes no scale (an rbf ``phi(x)`` has unit
    norm whatever ``X``), and without it a classifier's default regularisation would meet
    components far smaller than its input.

    The kernel feature map is the Nystroem approximation on ``n_landmarks`` rows drawn
    from both domains, so a fit costs ``O(n m^2)`` time and ``O(n m)`` memory for ``m``
    landmarks instead of the ``O(n^3)`` and ``O(n^2)`` of the exact method (whose
    ``n x n`` kernel matrix does not fit in memory beyond some 30,000 rows). With
    ``n_landmarks >= n_samples`` the feature map is exact; ``kernel="linear"`` uses
    ``phi(x) = x``. The regulariser ``I`` acts on ``W`` in the feature space (skada and
    Pan et al. put it on the coefficients of the rows, and do not normalise ``d``), so
    ``mu`` is on a scale of its own.

    Parameters
    ----------
    n_components : int, default=None
        Dimension of the output; ``None`` uses ``min(n_features, 50)`` (at most the
        dimension of the feature space).
    kernel : {"rbf", "laplacian", "cosine", "poly", "sigmoid", "linear"}, default="rbf"
        The kernel of the feature space.
    gamma : float, default=None
        Kernel coefficient of the rbf, laplacian, poly and sigmoid kernels; ``None`` uses
        ``1 / (n_features * X.var())``, as ``SVC(gamma="scale")``.
    mu : float, default=10.0
        Weight of the mean matching against the variance kept; 0 is kernel PCA, large
        values remove the direction of the mean difference altogether.
    n_landmarks : int, default=500
        Rows of the Nystroem approximation.
    max_samples : int, default=50_000
        Rows of each domain, drawn at random when there are more, on which the covariance
        and the mean gap in the feature space are estimated (``transform`` maps every row).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of landmarks and of the rows.

    Attributes
    ----------
    components_ : ndarray of shape (n_features_space, n_components_)
        The directions ``W`` in the kernel feature space, scaled to the input's variance.
    landmarks_ : ndarray of shape (n_landmarks, n_features) or None
        The rows of the Nystroem feature map (``None`` for the linear kernel).
    normalization_ : ndarray of shape (n_landmarks, n_features_space) or None
        ``V diag(s)^{-1/2}`` of the landmarks' kernel matrix: ``phi(x) = k(x, L)`` times it.
    mean_ : ndarray of shape (n_features_space,)
        The mean of ``phi(x)`` over the rows seen in ``fit``.
    n_components_ : int
        The dimension of the output.
    n_source_, n_target_ : int
        Rows of each domain seen in ``fit``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SubspaceAlignment : Linear subspaces of each domain, turned onto each other.

    References
    ----------
    .. [1] Pan, S. J., Tsang, I. W., Kwok, J. T., & Yang, Q. (2011). Domain adaptation
       via transfer component analysis. IEEE Transactions on Neural Networks, 22(2).

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.align import TCA
    >>> rng = np.random.default_rng(0)
    >>> X, _, sd = pack(rng.normal(size=(200, 4)), None, rng.normal(size=(200, 4)) + 1)
    >>> tca = TCA(n_components=2, random_state=0).fit(X, sample_domain=sd)
    >>> Z = tca.transform(X)
    >>> Z.shape
    (400, 2)
    >>> def gap(Z):
    ...     return np.linalg.norm(Z[:200].mean(axis=0) - Z[200:].mean(axis=0))
    >>> kernel_pca = TCA(n_components=2, mu=0.0, random_state=0).fit(X, sample_domain=sd)
    >>> bool(gap(Z) < 0.1 * gap(kernel_pca.transform(X)))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "kernel": [StrOptions({"rbf", "laplacian", "cosine", "poly", "sigmoid", "linear"})],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "mu": [Interval(Real, 0, None, closed="left")],
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    _min_rows = 1

    def __init__(
        self,
        n_components=None,
        *,
        kernel="rbf",
        gamma=None,
        mu=10.0,
        n_landmarks=500,
        max_samples=50_000,
        random_state=None,
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.mu = mu
        self.n_landmarks = n_landmarks
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit_maps(self, X_source, X_target):
        same = X_target is X_source
        rng = check_random_state(self.random_state)
        # The covariance and the mean gap of phi(x) are estimated on at most max_samples
        # rows of each domain: far more than the landmarks' dimension needs.
        X_source = _subsample(X_source, self.max_samples, rng)
        X_target = X_source if same else _subsample(X_target, self.max_samples, rng)
        pooled = X_source if same else np.concatenate([X_source, X_target])
        self._fit_feature_map(pooled, rng)
        width = self.normalization_.shape[1] if self.kernel != "linear" else pooled.shape[1]
        k = min(pooled.shape[1], 50, width) if self.n_components is None else self.n_components
        if k > width:
            raise ValueError(
                f"n_components={k} exceeds the dimension of the kernel feature space, {width} "
                f"(the landmarks, or the features for the linear kernel); pass n_components "
                f"<= {width}, or raise n_landmarks."
            )
        # Sums over row blocks: the n x m features are never held at once.
        n_s = len(X_source)
        total, gram = np.zeros(width), np.zeros((width, width))
        source_total = np.zeros(width)
        for start, block in _blocks(pooled):
            features = self._features(block)
            total += features.sum(axis=0, dtype=np.float64)
            gram += (features.T @ features).astype(np.float64)
            if start < n_s:
                source_total += features[: max(n_s - start, 0)].sum(axis=0, dtype=np.float64)
        n = len(pooled)
        self.mean_ = total / n
        cov = gram / n - np.outer(self.mean_, self.mean_)
        constraint = np.eye(width)
        if not same:
            gap = source_total / n_s - (total - source_total) / (n - n_s)
            norm = float(np.linalg.norm(gap))
            if norm > 0:
                constraint += self.mu * np.outer(gap, gap) / norm**2
        _, vectors = eigh(cov, b=constraint, subset_by_index=[width - k, width - 1])
        vectors = vectors[:, ::-1]
        # the components on the input's scale: their total variance is the features'
        kept = float(np.einsum("ij,ik,kj->", vectors, cov, vectors))
        total = float(pooled.var(axis=0, dtype=np.float64).sum())
        if kept > 0 and total > 0:
            vectors = vectors * np.sqrt(total / kept)
        self.components_ = vectors
        self.n_components_ = self._n_features_out = k

    def _fit_feature_map(self, pooled, rng):
        self.landmarks_ = self.normalization_ = None
        if self.kernel == "linear":
            return
        gamma = self.gamma
        if gamma is None:
            spread = float(pooled.var(dtype=np.float64))
            gamma = 1.0 / (pooled.shape[1] * spread) if spread > 0 else 1.0
        self.gamma_ = gamma
        m = min(self.n_landmarks, len(pooled))
        index = np.sort(rng.choice(len(pooled), m, replace=False))
        self.landmarks_ = np.asarray(pooled[index], dtype=np.float64)
        values, vectors = eigh(self._kernel(self.landmarks_))
        keep = values > max(float(values.max()), 0.0) * 1e-10
        if not keep.any():
            keep[-1] = True
            values[-1] = 1.0
        # phi(x) = k(x, L) V diag(s)^-1/2: the Nystroem map on the kept eigenvectors
        self.normalization_ = vectors[:, keep] / np.sqrt(values[keep])

    def _kernel(self, X):
        params = {} if self.kernel == "cosine" else {"gamma": self.gamma_}
        return pairwise_kernels(X, self.landmarks_, metric=self.kernel, **params)

    def _features(self, X):
        if self.kernel == "linear":
            return X
        return self._kernel(X) @ self.normalization_.astype(X.dtype, copy=False)

    def _map(self, X, source):
        projection = self.components_
        offset = self.mean_ @ projection
        out = np.empty((X.shape[0], projection.shape[1]), dtype=X.dtype)
        for start, block in _blocks(X):
            out[start : start + len(block)] = self._features(block) @ projection - offset
        return out


def _subsample(X, n, rng):
    if len(X) <= n:
        return X
    return X[np.sort(rng.choice(len(X), n, replace=False))]


def _blocks(X, rows=8192):
    for start in range(0, X.shape[0], rows):
        yield start, X[start : start + rows]
