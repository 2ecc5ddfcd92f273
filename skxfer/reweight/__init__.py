"""Instance reweighting: weigh source rows to look like the target, then fit any estimator.

Weighters estimate the density ratio ``w(x) = p_target(x) / p_source(x)`` on source rows;
:class:`ImportanceWeightedClassifier` and :class:`ImportanceWeightedRegressor` fit any
scikit-learn estimator with those weights. TrAdaBoost estimators reweight instances by
boosting when a few target rows are labelled.
"""

from skxfer.reweight._discriminative import DiscriminativeWeighter
from skxfer.reweight._importance_weighted import (
    ImportanceWeightedClassifier,
    ImportanceWeightedRegressor,
    make_reweighting_pipeline,
)
from skxfer.reweight._kliep import KLIEPWeighter
from skxfer.reweight._kmm import KMMWeighter
from skxfer.reweight._nearest_neighbors import NearestNeighborsWeighter
from skxfer.reweight._plot import plot_weights
from skxfer.reweight._report import DomainShiftReport, domain_shift_report
from skxfer.reweight._rulsif import RULSIFWeighter
from skxfer.reweight._tradaboost import TrAdaBoostClassifier
from skxfer.reweight._tradaboost_r2 import TrAdaBoostRegressor
from skxfer.reweight._two_stage_tradaboost import TwoStageTrAdaBoostRegressor
from skxfer.reweight._ulsif import ULSIFWeighter

__all__ = [
    "DiscriminativeWeighter",
    "DomainShiftReport",
    "ImportanceWeightedClassifier",
    "ImportanceWeightedRegressor",
    "KLIEPWeighter",
    "KMMWeighter",
    "NearestNeighborsWeighter",
    "RULSIFWeighter",
    "TrAdaBoostClassifier",
    "TrAdaBoostRegressor",
    "TwoStageTrAdaBoostRegressor",
    "ULSIFWeighter",
    "domain_shift_report",
    "make_reweighting_pipeline",
    "plot_weights",
]
