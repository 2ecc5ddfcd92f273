"""Loaders and generators of shifted data. Imports no estimator."""

from skxfer.datasets._heart import load_heart_disease
from skxfer.datasets._images import IMAGE_EXTENSIONS, load_image_folder
from skxfer.datasets._synthetic import make_covariate_shift

__all__ = ["IMAGE_EXTENSIONS", "load_heart_disease", "load_image_folder", "make_covariate_shift"]
