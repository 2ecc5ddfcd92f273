"""Pretrained networks as scikit-learn transformers: frozen features, partial fine-tuning.

:class:`PretrainedFeaturizer` turns texts (Hugging Face BERT-family encoders), images (the
packaged EfficientNet-Lite0, torchvision and timm classifiers) or arrays (any
``torch.nn.Module``) into features, with the output block (``layer``) and the number of
frozen blocks (``freeze_depth``) as ordinary hyper-parameters. torch is imported only when a
featurizer is fitted.

:class:`CacheWarning` says when the activation cache could not be used as asked (the features
are computed all the same); :class:`PrecisionWarning` when ``dtype="bfloat16"`` is likely
slower than float32 on the device in use.
"""

from skxfer.featurize._cache import CacheWarning, clear_cache
from skxfer.featurize._featurizer import PretrainedFeaturizer
from skxfer.featurize._precision import PrecisionWarning

__all__ = ["CacheWarning", "PrecisionWarning", "PretrainedFeaturizer", "clear_cache"]
