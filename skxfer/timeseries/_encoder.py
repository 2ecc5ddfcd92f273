"""ConvSeriesEncoder: a fully convolutional series classifier, pre-trained on a labelled source."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skxfer.featurize._encoders import check_range
from skxfer.featurize._module import ModuleEncoder
from skxfer.utils import import_optional
from skxfer.utils._threads import torch_threads


class ConvSeriesEncoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClassifierMixin, BaseEstimator
):
    """A 1-D convolutional network for series, trained on labelled (source) series.

    The network is the fully convolutional baseline of Wang et al. (2017): ``n_blocks_``
    blocks of ``Conv1d`` ("same" padding) + ``BatchNorm1d`` + ``ReLU``, the average of the
    last block's output over time (global average pooling), and a linear layer to the
    classes. ``fit`` trains it on ``(X, y)`` with Adam and early stopping on a held-out
    fraction; ``predict`` and ``predict_proba`` classify, and ``transform`` returns the pooled
    output of the last block, the features that transfer to other series tasks (Fawaz et
    al., 2018).

    To reuse the trained network on a *target* task, give it to
    :class:`skxfer.featurize.PretrainedFeaturizer` as
    ``PretrainedFeaturizer(FrozenEstimator(encoder), layer=..., freeze_depth=...)``: its
    blocks become the featurizer's blocks, so ``layer`` picks the block whose time-averaged
    output is the feature and ``freeze_depth=k`` fine-tunes the blocks above ``k`` on the
    target labels (``FrozenEstimator`` keeps the fit through ``clone``).

    Convolutions and global average pooling make the network independent of the series
    length: a network trained on series of 150 steps featurizes or classifies series of 80
    or 400 steps (given as 3-D ``(n, C, T)`` arrays; see ``X`` in :meth:`fit`). Series should
    be on a comparable scale to the source ones; UCR series are z-normalised per series.

    Parameters
    ----------
    n_filters : tuple of int, default=(128, 256, 128)
        Output channels of each convolutional block (one entry per block).
    kernel_sizes : tuple of int, default=(8, 5, 3)
        Kernel length of each block, as many entries as ``n_filters``. Series must be at
        least ``max(kernel_sizes)`` steps long.
    max_epochs : int, default=100
        Training epochs at most.
    batch_size : int, default=16
        Series per training step (and per batch when predicting).
    learning_rate : float, default=1e-3
        Adam's learning rate.
    validation_fraction : float, default=0.1
        Series held out (stratified) to stop early and keep the best epoch; with ``0``, or
        fewer than 10 series, the training loss is watched instead.
    n_iter_no_change : int, default=10
        Epochs without a lower monitored loss before training stops.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    n_threads : int, default=None
        Torch threads during ``fit`` and prediction; ``None`` keeps torch's setting.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the validation split and the shuffling. With an int and
        the same ``n_threads``, two fits give the same network.
    verbose : bool, default=False
        Print the losses of every epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_blocks_ : int
        Convolutional blocks (``len(n_filters)``).
    n_channels_ : int
        Channels of the training series (1 for a 2-D ``X``).
    n_features_in_ : int
        Columns of a 2-D ``X`` (time steps), or channels of a 3-D ``X``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D ``X`` that had them.
    module_ : torch.nn.Sequential
        The trained network, on the CPU, in eval mode: children ``block0 .. block{n-1}``,
        ``pool``, ``flatten`` and ``head``.
    block_names_ : list of str
        Names of the convolutional blocks in ``module_``, in order (what
        ``PretrainedFeaturizer(encoder.module_, blocks=encoder.block_names_)`` takes).
    history_ : dict
        ``train_loss`` and ``validation_loss`` per epoch.
    n_iter_ : int
        Epochs run.
    best_epoch_ : int
        The epoch (0-based) whose weights were kept.

    See Also
    --------
    skxfer.featurize.PretrainedFeaturizer : Features of a frozen or partly fine-tuned network.
    skxfer.datasets.load_gunpoint_transfer : Real source and target series to transfer across.

    References
    ----------
    .. [1] Wang, Z., Yan, W. and Oates, T. (2017). Time series classification from scratch
       with deep neural networks: a strong baseline. IJCNN, 1578-1585.
    .. [2] Ismail Fawaz, H., Forestier, G., Weber, J., Idoumghar, L. and Muller, P.-A.
       (2018). Transfer learning for time series classification. IEEE Big Data, 1367-1376.

    Examples
    --------
    >>> import numpy as np
    >>> from skxfer.timeseries import ConvSeriesEncoder
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 40)
    >>> y = np.repeat([0, 1], 30)
    >>> X = np.sin(2 * np.pi * (2 + 3 * y[:, None]) * t) + 0.3 * rng.normal(size=(60, 40))
    >>> encoder = ConvSeriesEncoder(
    ...     n_filters=(8, 8), kernel_sizes=(5, 3), max_epochs=30, random_state=0
    ... ).fit(X, y)
    >>> encoder.n_blocks_, encoder.transform(X).shape
    (2, (60, 8))
    >>> bool(encoder.score(X, y) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "n_filters": [tuple, list],
        "kernel_sizes": [tuple, list],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_filters=(128, 256, 128),
        kernel_sizes=(8, 5, 3),
        *,
        max_epochs=100,
        batch_size=16,
        learning_rate=1e-3,
        validation_fraction=0.1,
        n_iter_no_change=10,
        device="cpu",
        n_threads=None,
        random_state=None,
        verbose=False,
    ):
        self.n_filters = n_filters
        self.kernel_sizes = kernel_sizes
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on labelled series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, n_timesteps) or (n_samples, n_timesteps)
            Series; a 2-D array is read as univariate series, one per row.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted encoder.
        """
        torch = import_optional("torch", purpose=type(self).__name__)
        filters, kernels = self._architecture()
        X, y = validate_data(self, X, y, allow_nd=True, dtype=[np.float32, np.float64])
        series = self._as_series(X, fitting=True)
        self._fit_ndim = X.ndim
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has 1 class ({self.classes_[0]!r}); {type(self).__name__} needs at least "
                "2 classes to train on."
            )
        device = self._device(torch)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        with torch_threads(torch, self.n_threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            network = _network(torch, self.n_channels_, filters, kernels, len(self.classes_))
            self.history_, self.best_epoch_ = self._train(
                torch, network.to(device), series, codes, seed, device
            )
        self.module_ = network.cpu().eval()
        self.n_blocks_ = len(filters)
        self.block_names_ = [f"block{i}" for i in range(self.n_blocks_)]
        self.n_iter_ = len(self.history_["train_loss"])
        self._n_features_out = filters[-1]
        return self

    def predict_proba(self, X):
        """Class probabilities of series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, n_timesteps) or (n_samples, n_timesteps)
            Series with the training channels; 3-D series may have another length.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Softmax of the network's output, in the order of ``classes_``.
        """
        torch = import_optional("torch", purpose=type(self).__name__)
        logits = self._run(X, lambda net, batch: net(batch))
        return torch.softmax(torch.from_numpy(logits), dim=1).numpy().astype(np.float64)

    def predict(self, X):
        """Class labels of series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, n_timesteps) or (n_samples, n_timesteps)
            Series with the training channels; 3-D series may have another length.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The class of highest probability.
        """
        check_is_fitted(self, "module_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def transform(self, X):
        """Pooled features of the last block: its output averaged over time.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, n_timesteps) or (n_samples, n_timesteps)
            Series with the training channels; 3-D series may have another length.

        Returns
        -------
        features : ndarray of shape (n_samples, n_filters[-1]), float32
            One row of features per series.
        """
        return self._run(X, lambda net, batch: net[:-1](batch))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def __skxfer_encoder__(self, name):
        """The trained blocks as the Encoder that PretrainedFeaturizer runs (on a copy of
        the network, so the featurizer never moves or changes this one)."""
        if not hasattr(self, "module_"):
            raise ValueError(
                f"{name}: model is an unfitted {type(self).__name__}. Fit it on the source "
                "series and wrap it in sklearn.frozen.FrozenEstimator, so that clone (and "
                "GridSearchCV) keeps its fit."
            )
        return _SeriesEncoder(
            copy.deepcopy(self.module_),
            self.block_names_,
            name,
            n_channels=self.n_channels_,
            min_length=max(self.kernel_sizes),
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        if "module_" in state:  # travel on the CPU, so a pickle loads without the GPU
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state

    # --- input --------------------------------------------------------------------------

    def _architecture(self):
        filters, kernels = tuple(self.n_filters), tuple(self.kernel_sizes)
        for label, values in (("n_filters", filters), ("kernel_sizes", kernels)):
            if not values or not all(isinstance(v, Integral) and v >= 1 for v in values):
                raise ValueError(
                    f"{label} must be a non-empty tuple of positive ints (one per block); "
                    f"got {values!r}."
                )
        if len(filters) != len(kernels):
            raise ValueError(
                f"n_filters has {len(filters)} entries but kernel_sizes has {len(kernels)}; "
                "give one filter count and one kernel size per block."
            )
        return filters, kernels

    def _as_series(self, X, *, fitting):
        """``X`` as float32 ``(n, C, T)``, checked against the kernels and the channels."""
        name = type(self).__name__
        if X.ndim not in (2, 3):
            raise ValueError(
                f"{name} takes X of shape (n_samples, n_channels, n_timesteps), or "
                f"(n_samples, n_timesteps) for univariate series; got a {X.ndim}-D array."
            )
        series = X[:, None, :] if X.ndim == 2 else X
        longest = max(self.kernel_sizes)
        if series.shape[2] < longest:
            if X.ndim == 2:
                got = f"X has {X.shape[1]} feature(s) (time steps)"
            else:
                got = (
                    f"X holds series of {series.shape[2]} time step(s) (shape {X.shape}; "
                    "is it (n, T, C) rather than (n, C, T)?)"
                )
            raise ValueError(
                f"{got}, fewer than the largest kernel ({longest}) of kernel_sizes="
                f"{tuple(self.kernel_sizes)}: the convolutions would see mostly padding. Pass "
                "longer series or smaller kernel_sizes."
            )
        if fitting:
            self.n_channels_ = series.shape[1]
        elif series.shape[1] != self.n_channels_:
            raise ValueError(
                f"X has {series.shape[1]} channel(s), but {name} was fitted on series with "
                f"{self.n_channels_}; pass X shaped (n, {self.n_channels_}, T)."
            )
        torch = import_optional("torch", purpose=name)
        check_range(series, torch.float32, name, compute="the network computes")
        return np.ascontiguousarray(series, dtype=np.float32)

    def _validated(self, X):
        check_is_fitted(self, "module_")
        # A 2-D X after a 2-D fit is a table: the same columns, as scikit-learn requires. A
        # 3-D X is a stack of series of any length (the network is length-agnostic).
        checked = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
        if self._fit_ndim == 2 and checked.ndim == 2:
            checked = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        X = checked
        return self._as_series(X, fitting=False)

    # --- torch --------------------------------------------------------------------------

    def _device(self, torch):
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r}, but torch sees no CUDA device.")
        return torch.device(self.device)

    def _train(self, torch, network, series, codes, seed, device):
        rng = np.random.RandomState(seed)
        train, valid = _split(codes, self.validation_fraction, rng)
        X = torch.from_numpy(series)
        target = torch.as_tensor(codes, dtype=torch.long)
        optimizer = torch.optim.Adam(network.parameters(), lr=self.learning_rate)
        loss_fn = torch.nn.CrossEntropyLoss()
        history = {"train_loss": [], "validation_loss": []}
        best_state, best_loss, best_epoch, stale = None, np.inf, 0, 0
        for epoch in range(self.max_epochs):
            network.train()
            total = 0.0
            for rows in _batches(rng.permutation(train), self.batch_size, series.shape[2]):
                batch, labels = X[rows].to(device), target[rows].to(device)
                loss = loss_fn(network(batch), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
            history["train_loss"].append(total / len(train))
            monitored = history["train_loss"][-1]
            if len(valid):
                network.eval()
                with torch.no_grad():
                    logits = _predict_batches(torch, network, X[valid], self.batch_size, device)
                    monitored = float(loss_fn(logits, target[valid].to(device)))
                history["validation_loss"].append(monitored)
            if self.verbose:
                losses = ", ".join(f"{k}={v[-1]:.4f}" for k, v in history.items() if v)
                print(f"epoch {epoch}: {losses}")
            if monitored < best_loss - 1e-6:
                best_loss, best_epoch, stale = monitored, epoch, 0
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            else:
                stale += 1
                if stale >= self.n_iter_no_change:
                    break
        if best_state is None:
            raise ValueError(
                f"{type(self).__name__} training diverged (the loss is {monitored}); lower "
                f"learning_rate={self.learning_rate} or check X for extreme values."
            )
        network.load_state_dict(best_state)
        return history, best_epoch

    def _run(self, X, forward):
        torch = import_optional("torch", purpose=type(self).__name__)
        series = self._validated(X)
        device = self._device(torch)
        with torch_threads(torch, self.n_threads), torch.inference_mode():
            # module_ stays on the CPU; another device runs a copy
            network = self.module_ if device.type == "cpu" else copy.deepcopy(self.module_)
            network = network.to(device).eval()
            out = _predict_batches(
                torch, network, torch.from_numpy(series), self.batch_size, device, forward
            )
        out = out.float().cpu().numpy()
        if not np.isfinite(out).all():
            # NaN logits would silently predict the first class
            bad = int((~np.isfinite(out)).any(axis=1).sum())
            raise ValueError(
                f"{type(self).__name__}: the network's output is NaN or infinite for {bad} of "
                f"{len(out)} series (max |x| = {np.abs(series).max():.3g}): its activations "
                "overflowed float32. Scale X like the training series (UCR series are "
                "z-normalised per series)."
            )
        return out


def _network(torch, n_channels, filters, kernels, n_classes):
    """The network: conv blocks, average over time, linear head (children named, so that
    the featurizer can address the blocks)."""
    from collections import OrderedDict

    nn = torch.nn
    layers = OrderedDict()
    width = n_channels
    for i, (n_out, kernel) in enumerate(zip(filters, kernels)):
        # "same" padding, spelled out: torch's padding="same" warns for even kernels
        left = (kernel - 1) // 2
        layers[f"block{i}"] = nn.Sequential(
            nn.ConstantPad1d((left, kernel - 1 - left), 0.0),
            nn.Conv1d(width, n_out, kernel),
            nn.BatchNorm1d(n_out),
            nn.ReLU(),
        )
        width = n_out
    layers["pool"] = nn.AdaptiveAvgPool1d(1)
    layers["flatten"] = nn.Flatten()
    layers["head"] = nn.Linear(width, n_classes)
    return nn.Sequential(layers)


def _split(codes, fraction, rng):
    """Training and validation row positions: a stratified hold-out of ``fraction`` of the
    rows, or none for fewer than 10 rows (or a class too small to spare one)."""
    n = len(codes)
    everything = np.arange(n)
    n_valid = int(round(fraction * n))
    counts = np.bincount(codes)
    if n < 10 or n_valid < 1 or n - n_valid < len(counts) or counts.min() < 2:
        return everything, everything[:0]
    from sklearn.model_selection import StratifiedShuffleSplit

    n_valid = max(n_valid, len(counts))
    splitter = StratifiedShuffleSplit(1, test_size=n_valid, random_state=rng)
    train, valid = next(splitter.split(everything, codes))
    return np.sort(train), np.sort(valid)


def _batches(order, batch_size, length):
    """Row batches of ``order``; a last batch of one series of one step is joined to the
    one before (batch norm needs more than one value per channel in training)."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if len(batches) > 1 and len(batches[-1]) * length == 1:
        batches[-2:] = [np.concatenate(batches[-2:])]
    return batches


def _predict_batches(torch, network, X, batch_size, device, forward=None):
    """``forward`` over batches of ``batch_size`` rows, the last one padded with zero rows:
    every row then goes through the same kernels, so a row's output does not depend on the
    rows around it (float32 convolutions sum in another order for another batch size)."""
    forward = forward or (lambda net, batch: net(batch))
    out = []
    for start in range(0, len(X), batch_size):
        batch = X[start : start + batch_size]
        short = batch_size - len(batch)
        if short:
            batch = torch.cat([batch, batch.new_zeros((short, *batch.shape[1:]))])
        out.append(forward(network, batch.to(device))[: batch_size - short])
    return torch.cat(out)


class _SeriesEncoder(ModuleEncoder):
    """The conv blocks of a fitted ConvSeriesEncoder as PretrainedFeaturizer's Encoder: 2-D
    rows are read as univariate series, and channels and length are checked."""

    def __init__(self, model, blocks, name, *, n_channels, min_length):
        super().__init__(model, blocks, name)
        self.n_channels = n_channels
        self.min_length = min_length

    def prepare(self, X, name):
        X = np.asarray(X)
        series = X[:, None, :] if X.ndim == 2 else X
        if series.ndim != 3:
            raise ValueError(
                f"{name}: a ConvSeriesEncoder takes X of shape (n, C, T) or (n, T); got a "
                f"{X.ndim}-D array."
            )
        if series.shape[1] != self.n_channels:
            raise ValueError(
                f"{name}: X has {series.shape[1]} channel(s), but the ConvSeriesEncoder was "
                f"trained on {self.n_channels}; pass X shaped (n, {self.n_channels}, T)."
            )
        if series.shape[2] < self.min_length:
            raise ValueError(
                f"{name}: series of {series.shape[2]} time step(s) are shorter than the "
                f"encoder's largest kernel ({self.min_length}); pass longer series."
            )
        return super().prepare(series, name)
