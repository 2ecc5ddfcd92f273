"""CORAL: whiten the source rows with their covariance, recolour them with the target's."""

from numbers import Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils._param_validation import Interval, StrOptions

from skxfer.align._base import BaseAligner, shrunk_covariance, symmetric_power


class CORAL(OneToOneFeatureMixin, BaseAligner):
    """Correlation alignment: map source rows so their covariance is the target's.

    Source rows are centred on the source mean, whitened with the source covariance,
    recoloured with the target covariance and moved to the target mean:
    ``x -> (x - m_s) C_s^{-1/2} C_t^{1/2} + m_t``. Target rows are left as they are, so
    rows at prediction time (target rows, without ``sample_domain``) pass unchanged and a
    model fitted on the mapped source applies to them directly. Both covariances are
    shrunk toward a multiple of the identity (``reg``), which keeps the whitening stable
    when features are many or nearly collinear.

    skada's ``CORALAdapter`` centres the target rows too (each domain on its own mean);
    that differs from this map by one translation of every row, which changes nothing for
    a model fitted after it that has an intercept.

    Parameters
    ----------
    reg : "auto" or float in [0, 1], default="auto"
        Shrinkage of each covariance ``C`` toward ``tr(C) / d * I``:
        ``(1 - reg) C + reg tr(C) / d I``. ``"auto"`` chooses it per domain by the
        Ledoit-Wolf formula; 0 uses the sample covariances (Sun et al. add the identity
        instead, which on standardised features is a shrinkage of about ``1 / 2``).

    Attributes
    ----------
    mean_source_, mean_target_ : ndarray of shape (n_features,)
        The domain means.
    shrinkage_source_, shrinkage_target_ : float
        The shrinkage applied to each covariance.
    coef_ : ndarray of shape (n_features, n_features)
        ``C_s^{-1/2} C_t^{1/2}``, the linear part of the source map.
    n_source_, n_target_ : int
        Rows of each domain seen in ``fit``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    LinearOTMapping : The optimal-transport map between the two Gaussians instead.
    make_alignment_pipeline : Fit any estimator on the aligned source rows.

    References
    ----------
    .. [1] Sun, B., Feng, J., & Saenko, K. (2016). Return of frustratingly easy domain
       adaptation. AAAI.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.align import CORAL
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(200, 3)), 3 * rng.normal(size=(300, 3)) + 1
    >>> X, _, sample_domain = pack(Xs, None, Xt)
    >>> Z = CORAL(reg=0.0).fit_transform(X, sample_domain=sample_domain)
    >>> np.allclose(np.cov(Z[:200].T, bias=True), np.cov(Xt.T, bias=True))
    True
    >>> np.array_equal(Z[200:], Xt)
    True
    """

    _parameter_constraints: dict = {
        "reg": [StrOptions({"auto"}), Interval(Real, 0, 1, closed="both")],
    }

    def __init__(self, reg="auto"):
        self.reg = reg

    def _fit_maps(self, X_source, X_target):
        self.mean_source_, cov_s, self.shrinkage_source_ = shrunk_covariance(X_source, self.reg)
        if X_target is X_source:
            self.mean_target_, cov_t = self.mean_source_, cov_s
            self.shrinkage_target_ = self.shrinkage_source_
            self.coef_ = np.eye(len(cov_s))
            return
        self.mean_target_, cov_t, self.shrinkage_target_ = shrunk_covariance(X_target, self.reg)
        self.coef_ = symmetric_power(cov_s, -0.5) @ symmetric_power(cov_t, 0.5)

    def _map(self, X, source):
        if not source:
            return X.copy()
        dtype = X.dtype
        shift = self.mean_target_ - self.mean_source_ @ self.coef_
        return (X @ self.coef_.astype(dtype, copy=False)) + shift.astype(dtype, copy=False)
