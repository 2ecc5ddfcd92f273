"""Time-series transfer: series encoders pre-trained on a labelled source.

:class:`ConvSeriesEncoder` is a 1-D fully convolutional network (Wang et al., 2017) trained on
source series; :class:`skxfer.featurize.PretrainedFeaturizer` then reuses its blocks on a
target task, frozen or partly fine-tuned. torch is imported only when an encoder is fitted.

:class:`LagFeatures` and :func:`make_lag_table` turn many series into lag and rolling-window
tables, so that a tabular model fitted on source series can be warm-started on a new one
with :mod:`skxfer.warm_start`.
"""

from skxfer.timeseries._encoder import ConvSeriesEncoder
from skxfer.timeseries._windows import LagFeatures, make_lag_table

__all__ = ["ConvSeriesEncoder", "LagFeatures", "make_lag_table"]
