"""Gaussian kernels, bandwidth heuristics and kernel centres shared by the kernel weighters."""

import numpy as np
from scipy.spatial.distance import cdist


def gaussian_kernel(A, B, bandwidth):
    """``exp(-||a - b||^2 / (2 * bandwidth^2))`` for every pair of rows of ``A`` and ``B``."""
    sq = cdist(A, B, "sqeuclidean")
    sq *= -0.5 / bandwidth**2
    return np.exp(sq, out=sq)


def median_bandwidth(X, random_state, max_rows=1000):
    """The median pairwise distance of (a subsample of) ``X``: a scale-aware default width."""
    if len(X) > max_rows:
        X = X[random_state.choice(len(X), max_rows, replace=False)]
    d = cdist(X, X, "euclidean")
    med = np.median(d[np.triu_indices_from(d, k=1)]) if len(X) > 1 else 0.0
    return float(med) if med > 0 else 1.0


def choose_centers(X, n_centers, random_state):
    """``n_centers`` distinct rows of ``X`` drawn at random (all rows if there are fewer)."""
    if len(X) <= n_centers:
        return X.copy()
    return X[random_state.choice(len(X), n_centers, replace=False)]
