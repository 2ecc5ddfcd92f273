"""Feature alignment: map source rows so their distribution matches the target's.

Aligners (:class:`CORAL`, :class:`LinearOTMapping`, :class:`SubspaceAlignment`,
:class:`TCA`, :class:`OTMapping`) are transformers fitted on stacked source and target rows
with ``sample_domain``; ``transform`` maps source rows onto the target, and target rows (and
rows at prediction time) by the target map. :class:`AlignedClassifier` and
:class:`AlignedRegressor` fit any estimator on the aligned labelled rows;
:func:`make_alignment_pipeline` builds one from Pipeline steps.
"""

from skxfer.align._aligned import AlignedClassifier, AlignedRegressor, make_alignment_pipeline
from skxfer.align._coral import CORAL
from skxfer.align._linear_ot import LinearOTMapping
from skxfer.align._ot_mapping import OTMapping
from skxfer.align._subspace import SubspaceAlignment
from skxfer.align._tca import TCA

__all__ = [
    "CORAL",
    "TCA",
    "AlignedClassifier",
    "AlignedRegressor",
    "LinearOTMapping",
    "OTMapping",
    "SubspaceAlignment",
    "make_alignment_pipeline",
]
