"""Warm-start transfer: continue, refresh or regularise a source model on target labels.

Every estimator here takes its source from ``source_model`` (a
:class:`~sklearn.frozen.FrozenEstimator` around a fitted model, a native model, or a saved
model file) or, when that is None, fits it on the rows that ``sample_domain`` marks as source.
"""

from skxfer.warm_start._catboost import CatBoostTransferClassifier, CatBoostTransferRegressor
from skxfer.warm_start._lightgbm import LGBMTransferClassifier, LGBMTransferRegressor
from skxfer.warm_start._logistic import TransferLogisticRegression
from skxfer.warm_start._pooled import PooledTransfer
from skxfer.warm_start._ridge import TransferRidge
from skxfer.warm_start._xgboost import XGBTransferClassifier, XGBTransferRegressor

__all__ = [
    "CatBoostTransferClassifier",
    "CatBoostTransferRegressor",
    "LGBMTransferClassifier",
    "LGBMTransferRegressor",
    "PooledTransfer",
    "TransferLogisticRegression",
    "TransferRidge",
    "XGBTransferClassifier",
    "XGBTransferRegressor",
]
