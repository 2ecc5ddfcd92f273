"""Loaders and generators of shifted data. Imports no estimator."""

from skxfer.datasets._synthetic import make_covariate_shift

__all__ = ["make_covariate_shift"]
