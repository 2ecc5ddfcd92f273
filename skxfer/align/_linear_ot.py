"""The optimal-transport (Monge) map between the Gaussians fitted to source and target."""

from numbers import Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils._param_validation import Interval, StrOptions

from skxfer.align._base import BaseAligner, shrunk_covariance, symmetric_power


class LinearOTMapping(OneToOneFeatureMixin, BaseAligner):
    """Map source rows by the optimal-transport map between two Gaussians.

    Among the linear maps that send the source Gaussian ``N(m_s, C_s)`` onto the target
    Gaussian ``N(m_t, C_t)``, the Monge map moves rows the least (in squared distance):
    ``x -> m_t + (x - m_s) A`` with
    ``A = C_s^{-1/2} (C_s^{1/2} C_t C_s^{1/2})^{1/2} C_s^{-1/2}``, a symmetric matrix (the
    map of the Bures-Wasserstein distance). Unlike :class:`CORAL`, whose whitening and
    recolouring may rotate the source, this map is the gradient of a convex function: it
    keeps rows in place when the two covariances agree. Target rows and rows at prediction
    time pass unchanged.

    Parameters
    ----------
    reg : "auto" or float in [0, 1], default="auto"
        Shrinkage of each covariance toward ``tr(C) / d * I``, as in :class:`CORAL`;
        ``"auto"`` is the Ledoit-Wolf formula.

    Attributes
    ----------
    mean_source_, mean_target_ : ndarray of shape (n_features,)
        The domain means.
    coef_ : ndarray of shape (n_features, n_features)
        The symmetric matrix ``A`` of the map.
    n_source_, n_target_ : int
        Rows of each domain seen in ``fit``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    CORAL : Whitening and recolouring instead.
    OTMapping : A non-linear map from entropic optimal transport.

    References
    ----------
    .. [1] Flamary, R., Lounici, K., & Ferrari, A. (2019). Concentration bounds for linear
       Monge mapping estimation and optimal transport domain adaptation. arXiv:1905.10155.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.align import LinearOTMapping
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) * [1, 4] + 2
    >>> X, _, sample_domain = pack(Xs, None, Xt)
    >>> Z = LinearOTMapping(reg=0.0).fit_transform(X, sample_domain=sample_domain)
    >>> np.round(Z[:500].std(axis=0) / Xt.std(axis=0), 3)
    array([1., 1.])
    """

    _parameter_constraints: dict = {
        "reg": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, reg="auto"):
        self.reg = reg

    def _fit_maps(self, X_source, X_target):
        self.mean_source_, cov_s, _ = shrunk_covariance(X_source, self.reg)
        if X_target is X_source:
            self.mean_target_ = self.mean_source_
            self.coef_ = np.eye(len(cov_s))
            return
        self.mean_target_, cov_t, _ = shrunk_covariance(X_target, self.reg)
        root = symmetric_power(cov_s, 0.5)
        inv_root = symmetric_power(cov_s, -0.5)
        middle = symmetric_power(root @ cov_t @ root, 0.5)
        coef = inv_root @ middle @ inv_root
        self.coef_ = (coef + coef.T) / 2

    def _map(self, X, source):
        if not source:
            return X.copy()
        dtype = X.dtype
        shift = self.mean_target_ - self.mean_source_ @ self.coef_
        return (X @ self.coef_.astype(dtype, copy=False)) + shift.astype(dtype, copy=False)
