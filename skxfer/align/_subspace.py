"""Subspace alignment: project each domain on its principal axes, turn the source's onto the
target's."""

from numbers import Integral

from sklearn.base import ClassNamePrefixFeaturesOutMixin
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval, StrOptions

from skxfer.align._base import BaseAligner


class SubspaceAlignment(ClassNamePrefixFeaturesOutMixin, BaseAligner):
    """Align the principal subspaces of the source and target rows.

    Each domain is reduced to its own ``n_components`` principal axes (``P_s``, ``P_t``,
    rows centred on their own mean). The alignment matrix ``M = P_s P_t^T`` turns the source
    axes onto the target axes, so source rows become ``(x - m_s) P_s^T M`` and target rows
    ``(x - m_t) P_t^T``: both in the target's coordinates. Rows at prediction time are
    target rows. This is skada's ``SubspaceAlignmentAdapter`` map.

    Parameters
    ----------
    n_components : int, default=None
        Dimension of the subspaces; ``None`` uses ``min(n_source, n_target, n_features)``.
        It must not exceed the rows of either domain nor the features.
    svd_solver : {"auto", "full", "randomized"}, default="auto"
        Passed to :class:`~sklearn.decomposition.PCA`.
    random_state : int, RandomState instance or None, default=None
        Seeds the randomized SVD.

    Attributes
    ----------
    pca_source_, pca_target_ : PCA
        The principal axes of each domain.
    alignment_ : ndarray of shape (n_components_, n_components_)
        The matrix ``M`` that turns source axes onto target axes.
    n_components_ : int
        The dimension used.
    n_source_, n_target_ : int
        Rows of each domain seen in ``fit``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    TCA : A common subspace in which the domain means match, kernelised.

    References
    ----------
    .. [1] Fernando, B., Habrard, A., Sebban, M., & Tuytelaars, T. (2013). Unsupervised
       visual domain adaptation using subspace alignment. ICCV.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.align import SubspaceAlignment
    >>> rng = np.random.default_rng(0)
    >>> X, _, sample_domain = pack(rng.normal(size=(100, 5)), None, rng.normal(size=(80, 5)))
    >>> sa = SubspaceAlignment(n_components=2).fit(X, sample_domain=sample_domain)
    >>> sa.transform(X[:3]).shape
    (3, 2)
    >>> sa.get_feature_names_out().tolist()
    ['subspacealignment0', 'subspacealignment1']
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "svd_solver": [StrOptions({"auto", "full", "randomized"})],
        "random_state": ["random_state"],
    }

    _min_rows = 1

    def __init__(self, n_components=None, *, svd_solver="auto", random_state=None):
        self.n_components = n_components
        self.svd_solver = svd_solver
        self.random_state = random_state

    def _fit_maps(self, X_source, X_target):
        most = min(len(X_source), len(X_target), X_source.shape[1])
        k = most if self.n_components is None else self.n_components
        if k > most:
            raise ValueError(
                f"n_components={k} exceeds min(n_source, n_target, n_features) = {most}; "
                f"pass n_components <= {most}."
            )
        pca = PCA(k, svd_solver=self.svd_solver, random_state=self.random_state)
        self.pca_source_ = pca.fit(X_source)
        if X_target is X_source:
            self.pca_target_ = self.pca_source_
        else:
            self.pca_target_ = PCA(
                k, svd_solver=self.svd_solver, random_state=self.random_state
            ).fit(X_target)
        self.alignment_ = self.pca_source_.components_ @ self.pca_target_.components_.T
        self.n_components_ = self._n_features_out = k

    def _map(self, X, source):
        if source:
            return self.pca_source_.transform(X) @ self.alignment_.astype(X.dtype, copy=False)
        return self.pca_target_.transform(X)
