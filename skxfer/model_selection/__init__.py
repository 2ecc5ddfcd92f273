"""Domain-aware model selection: splitters and scorers that respect ``sample_domain``.

:class:`TargetKFold` and :class:`TargetShuffleSplit` keep every source row in every training
fold and validate on labelled target rows; :class:`LeaveOneDomainOut` holds out one domain at
a time; :class:`ImportanceWeightedScorer` validates on importance-weighted source rows when
the target has no labels; :func:`least_change_refit` makes a grid search prefer the setting
closest to the source among those the cross-validation cannot tell apart, and
:class:`AveragedSearchCV` averages them instead (with anchors such as the model that ignores
the source). :class:`PredictionEntropyScorer`, :class:`MixValScorer` and
:class:`CircularValidationScorer` judge an adapted model without any target label.
:func:`transfer_curve` asks whether transfer helps at all: it scores transfer
methods against the baselines on held-out target rows as the number of target labels grows,
and :class:`TransferOrTarget` guards a transfer model against negative transfer by falling
back to (or blending with) a target-only model when out-of-fold target scores say so.

Transferability scores (:func:`logme_score`, :func:`h_score`, :func:`leep_score`,
:func:`nce_score`) rate how well frozen features, or a source classifier, suit the target
labels without fitting a model; :func:`rank_layers` and :func:`rank_encoders` rank layers and
encoders by them, and :func:`make_transferability_scorer` makes them ``scoring=`` of a search.
"""

from skxfer.model_selection._averaged import AveragedSearchCV
from skxfer.model_selection._guard import TransferOrTarget
from skxfer.model_selection._refit import least_change_refit
from skxfer.model_selection._scorer import ImportanceWeightedScorer
from skxfer.model_selection._split import LeaveOneDomainOut, TargetKFold, TargetShuffleSplit
from skxfer.model_selection._transfer_curve import TransferCurveResult, transfer_curve
from skxfer.model_selection._transferability import (
    h_score,
    leep_score,
    logme_score,
    make_transferability_scorer,
    nce_score,
    rank_encoders,
    rank_layers,
)
from skxfer.model_selection._unsupervised import (
    CircularValidationScorer,
    MixValScorer,
    PredictionEntropyScorer,
)

__all__ = [
    "AveragedSearchCV",
    "CircularValidationScorer",
    "ImportanceWeightedScorer",
    "LeaveOneDomainOut",
    "MixValScorer",
    "PredictionEntropyScorer",
    "TargetKFold",
    "TargetShuffleSplit",
    "TransferCurveResult",
    "TransferOrTarget",
    "h_score",
    "least_change_refit",
    "leep_score",
    "logme_score",
    "make_transferability_scorer",
    "nce_score",
    "rank_encoders",
    "rank_layers",
    "transfer_curve",
]
