"""skxfer: transfer learning for scikit-learn users.

Subpackages: :mod:`skxfer.reweight` (instance reweighting), :mod:`skxfer.align` (feature
alignment), :mod:`skxfer.model_selection` (domain-aware splitters and scorers),
:mod:`skxfer.warm_start`, :mod:`skxfer.featurize`,
:mod:`skxfer.timeseries`, :mod:`skxfer.datasets` and :mod:`skxfer.utils`. They are imported
on first use (``skxfer.reweight`` works after ``import skxfer``) so that ``import skxfer``
stays light.
"""

import importlib

from skxfer._domain import is_masked, mask_value, pack, unpack

__version__ = "0.1.0.dev0"

_SUBPACKAGES = (
    "align",
    "datasets",
    "featurize",
    "model_selection",
    "reweight",
    "timeseries",
    "utils",
    "warm_start",
)

__all__ = ["__version__", "is_masked", "mask_value", "pack", "unpack", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"skxfer.{name}")
    raise AttributeError(f"module 'skxfer' has no attribute {name!r}")


def __dir__():
    return list(__all__)
