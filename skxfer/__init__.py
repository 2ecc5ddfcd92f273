"""skxfer: transfer learning for scikit-learn users.

Subpackages: :mod:`skxfer.reweight` (instance reweighting), :mod:`skxfer.model_selection`
(domain-aware splitters and scorers), :mod:`skxfer.warm_start`, :mod:`skxfer.featurize`,
:mod:`skxfer.timeseries` and :mod:`skxfer.datasets`. They are imported on first use so that
``import skxfer`` stays light.
"""

from skxfer._domain import is_masked, mask_value, pack, unpack

__version__ = "0.1.0.dev0"

__all__ = ["__version__", "is_masked", "mask_value", "pack", "unpack"]
