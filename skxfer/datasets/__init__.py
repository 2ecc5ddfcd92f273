"""Loaders and generators of shifted data. Imports no estimator."""

from skxfer.datasets._heart import load_heart_disease
from skxfer.datasets._synthetic import make_covariate_shift

__all__ = ["load_heart_disease", "make_covariate_shift"]
