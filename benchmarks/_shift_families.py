"""Synthetic covariate shifts with a known density ratio, for the weighters' Spearman table.

Each family draws source and target rows in ``d`` dimensions and returns the exact
``log p_target(x) - log p_source(x)`` on the source rows. The shift lives in a random
one- or two-dimensional subspace (a random rotation, so no method gains from axis-aligned
features); the other ``d - 2`` directions are nuisance dimensions with the same law in both
domains. Strengths are fixed across ``d`` (the true ratio's effective sample size stays
between about 25% and 60% of the source rows), so a column of the table reads how each method
copes with dimension and sample size, not with a harder shift.

- ``reference``: :func:`skxfer.datasets.make_covariate_shift` (mean shift 0.7 on two axes,
  target scale 0.8 on every axis): the family the defaults were first checked on.
- ``mean``: N(0, I) -> N(u, I), ``|u| = 1``.
- ``scale``: N(0, I) -> N(0, I) with standard deviation 0.5 along two random directions.
- ``mixture``: N(0, I) -> two equal components N(+-1.2 u, I) with standard deviation 0.5
  along ``u``: a bimodal ratio that no monotone or quadratic score ranks exactly.
- ``student``: multivariate t with 3 degrees of freedom, t(0, I) -> t(u, I), ``|u| = 1``:
  heavy tails (the source has rows 10+ standard deviations out), which upset
  moment-based standardisation and median distances.
"""

import numpy as np
from scipy.special import logsumexp

FAMILIES = ("reference", "mean", "scale", "mixture", "student")
_STUDENT_DF = 3.0


def make_shift(family, n_features, n_source, n_target, random_state):
    """``(X_source, X_target, log_ratio_source)`` of one family; see the module docstring."""
    rng = np.random.default_rng(random_state)
    d = n_features
    if family == "reference":
        from skxfer.datasets import make_covariate_shift

        data = make_covariate_shift(n_source, n_target, d, random_state=random_state)
        source = data.sample_domain > 0
        return data.X[source], data.X[~source], np.log(data.true_ratio[source])
    # Random orthonormal directions: u1, u2 carry the shift.
    basis = np.linalg.qr(rng.standard_normal((d, d)))[0]
    u1 = basis[:, 0]
    u2 = basis[:, 1] if d > 1 else None
    if family == "student":
        Xs = _student(rng, n_source, d)
        Xt = _student(rng, n_target, d) + u1
        half = (_STUDENT_DF + d) / 2
        log_ratio = -half * (
            np.log1p(np.sum((Xs - u1) ** 2, axis=1) / _STUDENT_DF)
            - np.log1p(np.sum(Xs**2, axis=1) / _STUDENT_DF)
        )
        return Xs, Xt, log_ratio
    Xs = rng.standard_normal((n_source, d))
    Z = rng.standard_normal((n_target, d))
    if family == "mean":
        Xt = Z + u1
        return Xs, Xt, Xs @ u1 - 0.5
    if family == "scale":
        directions = [u1] if u2 is None else [u1, u2]
        s = 0.5
        Xt = Z.copy()
        log_ratio = np.zeros(n_source)
        for u in directions:
            Xt += (s - 1) * np.outer(Z @ u, u)
            proj = Xs @ u
            log_ratio += -0.5 * proj**2 / s**2 + 0.5 * proj**2 - np.log(s)
        return Xs, Xt, log_ratio
    if family == "mixture":
        a, s = 1.2, 0.5
        sign = np.where(rng.random(n_target) < 0.5, 1.0, -1.0)
        Xt = Z + (s - 1) * np.outer(Z @ u1, u1) + np.outer(a * sign, u1)
        proj = Xs @ u1
        components = [-0.5 * (proj - m) ** 2 / s**2 - np.log(s) for m in (a, -a)]
        log_ratio = logsumexp(components, axis=0) + np.log(0.5) + 0.5 * proj**2
        return Xs, Xt, log_ratio
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def _student(rng, n, d):
    """Multivariate t rows with identity scale matrix and ``_STUDENT_DF`` degrees of freedom."""
    return (
        rng.standard_normal((n, d)) / np.sqrt(rng.chisquare(_STUDENT_DF, n) / _STUDENT_DF)[:, None]
    )


def true_ess_fraction(family, n_features, n=200_000, random_state=0):
    """The effective sample size of the true ratio, as a share of the source rows."""
    _, _, log_ratio = make_shift(family, n_features, n, 10, random_state)
    w = np.exp(log_ratio - log_ratio.max())
    return float(w.sum() ** 2 / np.sum(w**2) / len(w))
