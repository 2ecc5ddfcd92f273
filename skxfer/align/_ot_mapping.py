"""A non-linear map from entropic optimal transport, extended to new rows."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from skxfer.align._base import BaseAligner
from skxfer.utils import import_optional


class OTMapping(OneToOneFeatureMixin, BaseAligner):
    """Move source rows to the barycentre of the target rows they are transported to.

    An entropy-regularised optimal-transport plan ``G`` between (up to ``max_samples``)
    source and target rows is computed with POT's Sinkhorn solver on the squared Euclidean
    cost, divided by the target rows' mean squared distance to each other (so ``reg`` does
    not depend on the scale of ``X``). Each of
    those source rows moves to its barycentric image ``sum_j G_ij x_j / sum_j G_ij``. Other
    source rows, at fit time beyond ``max_samples`` or new ones, move by the displacements
    of their ``n_neighbors`` nearest transported rows, weighted by inverse distance (so a
    transported row keeps its own image exactly). Target rows, and rows at prediction time,
    pass unchanged.

    Parameters
    ----------
    reg : float, default=0.1
        Entropic regularisation, relative to the target's mean squared distance. Smaller
        values give sharper plans (closer to exact transport) and need more iterations.
    max_samples : int, default=2000
        Rows of each domain in the plan, drawn at random when there are more; the plan
        takes ``O(max_samples^2)`` memory.
    n_neighbors : int, default=5
        Transported rows whose displacement a new source row takes.
    sinkhorn_max_iter : int, default=1000
        Most Sinkhorn iterations.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows when a domain has more than ``max_samples``.

    Attributes
    ----------
    support_ : ndarray of shape (n_transported, n_features)
        The source rows the plan was computed on.
    displacement_ : ndarray of shape (n_transported, n_features)
        Their barycentric images minus themselves.
    n_iter_ : int
        Sinkhorn iterations run (0 when fitted without ``sample_domain``).
    n_source_, n_target_ : int
        Rows of each domain seen in ``fit``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    LinearOTMapping : The closed-form map between Gaussian approximations.

    References
    ----------
    .. [1] Courty, N., Flamary, R., Tuia, D., & Rakotomamonjy, A. (2017). Optimal transport
       for domain adaptation. IEEE TPAMI, 39(9).
    .. [2] Cuturi, M. (2013). Sinkhorn distances: lightspeed computation of optimal
       transport. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer import pack
    >>> from skxfer.align import OTMapping
    >>> rng = np.random.default_rng(0)
    >>> Xs, Xt = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) + 5
    >>> X, _, sd = pack(Xs, None, Xt)
    >>> Z = OTMapping(random_state=0).fit_transform(X, sample_domain=sd)
    >>> bool(np.allclose(Z[:200].mean(axis=0), Xt.mean(axis=0)))
    True
    >>> bool(np.all(Z[:200].std(axis=0) > 0.8 * Xt.std(axis=0)))
    True
    """

    _parameter_constraints: dict = {
        "reg": [Interval(Real, 0, None, closed="neither")],
        "max_samples": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "sinkhorn_max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self, reg=0.1, *, max_samples=2000, n_neighbors=5, sinkhorn_max_iter=1000, random_state=None
    ):
        self.reg = reg
        self.max_samples = max_samples
        self.n_neighbors = n_neighbors
        self.sinkhorn_max_iter = sinkhorn_max_iter
        self.random_state = random_state

    def _fit_maps(self, X_source, X_target):
        rng = check_random_state(self.random_state)
        source = _subsample(X_source, self.max_samples, rng).astype(np.float64)
        self.support_ = source
        self.n_iter_ = 0
        if X_target is X_source:
            self.displacement_ = np.zeros_like(source)
        else:
            ot = import_optional("ot", purpose="OTMapping")
            target = _subsample(X_target, self.max_samples, rng).astype(np.float64)
            cost = ot.dist(source, target, metric="sqeuclidean")
            # A constant per source row changes no plan, and takes most of the range off the
            # exponent; the scale is the target's own mean squared distance, 2 tr(C_t).
            cost -= cost.min(axis=1, keepdims=True)
            scale = 2.0 * float(target.var(axis=0).sum())
            cost /= scale if scale > 0 else 1.0
            plan, self.n_iter_ = _sinkhorn(ot, cost, self.reg, self.sinkhorn_max_iter)
            mass = plan.sum(axis=1, keepdims=True)
            if not np.all(np.isfinite(plan)) or np.any(mass <= 0):
                raise ValueError(
                    f"The Sinkhorn plan for reg={self.reg} is degenerate (a source row gets "
                    "no mass); raise reg, or standardise X."
                )
            self.displacement_ = plan @ target / mass - source
        self._neighbors = NearestNeighbors(n_neighbors=min(self.n_neighbors, len(source)))
        self._neighbors.fit(source)

    def _map(self, X, source):
        if not source:
            return X.copy()
        out = np.empty_like(X)
        for start in range(0, X.shape[0], 8192):  # the neighbours' displacements, by block
            block = X[start : start + 8192]
            distance, index = self._neighbors.kneighbors(block)
            exact = distance[:, :1] <= 0
            weights = np.where(
                exact, (distance <= 0).astype(float), 1.0 / np.maximum(distance, 1e-300)
            )
            weights /= weights.sum(axis=1, keepdims=True)
            shift = np.einsum("ik,ikj->ij", weights, self.displacement_[index])
            out[start : start + len(block)] = block + shift
        return out


def _sinkhorn(ot, cost, reg, max_iter):
    """The plan with uniform marginals; in the log domain when the fast scaling underflows."""
    a = np.full(cost.shape[0], 1.0 / cost.shape[0])
    b = np.full(cost.shape[1], 1.0 / cost.shape[1])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        plan, log = ot.sinkhorn(a, b, cost, reg, numItermax=max_iter, warn=False, log=True)
    if np.all(np.isfinite(plan)) and np.all(plan.sum(axis=1) > 0):
        return plan, int(log["niter"])
    plan, log = ot.sinkhorn(
        a, b, cost, reg, method="sinkhorn_log", numItermax=max_iter, warn=False, log=True
    )
    return plan, int(log["niter"])


def _subsample(X, n, rng):
    if len(X) <= n:
        return X
    return X[np.sort(rng.choice(len(X), n, replace=False))]
