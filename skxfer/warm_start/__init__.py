"""Warm-start transfer: continue, refresh or regularise a source model on target labels.

Every estimator here takes its source from ``source_model`` (a
:class:`~sklearn.frozen.FrozenEstimator` around a fitted model, a native model, or a saved
model file) or, when that is None, fits it on the rows that ``sample_domain`` marks as source.
"""

from skxfer.warm_start._xgboost import XGBTransferClassifier, XGBTransferRegressor

__all__ = [
    "XGBTransferClassifier",
    "XGBTransferRegressor",
]
