"""Loaders and generators of shifted data. Imports no estimator."""

from skxfer.datasets._benchmark_sets import BENCHMARK_SETS, load_domain_benchmark
from skxfer.datasets._digits import load_mnist_digits
from skxfer.datasets._heart import load_heart_disease
from skxfer.datasets._images import IMAGE_EXTENSIONS, load_image_folder
from skxfer.datasets._rotten_tomatoes import load_rotten_tomatoes
from skxfer.datasets._synthetic import make_covariate_shift
from skxfer.datasets._txhousing import load_txhousing
from skxfer.datasets._ucr import GUNPOINT_TARGETS, load_gunpoint_transfer, load_ucr

__all__ = [
    "BENCHMARK_SETS",
    "GUNPOINT_TARGETS",
    "IMAGE_EXTENSIONS",
    "load_domain_benchmark",
    "load_gunpoint_transfer",
    "load_heart_disease",
    "load_image_folder",
    "load_mnist_digits",
    "load_rotten_tomatoes",
    "load_txhousing",
    "load_ucr",
    "make_covariate_shift",
]
