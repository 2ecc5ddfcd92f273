"""A pretrained network seen as a stem followed by a chain of blocks.

Every backend (Hugging Face text encoders, the packaged EfficientNet-Lite0, timm and torchvision
models, any ``torch.nn.Module`` with its list of blocks) is turned into an :class:`Encoder`:
``states(batch)`` runs the frozen network once and returns the output of the stem (index 0)
and of every block (1 ... ``n_blocks``); ``run_blocks`` runs a span of blocks from a stored
state, which is what fine-tuning the top blocks needs; ``pool`` turns one state into one vector
per row.
"""

import numpy as np

from skxfer.featurize._cache import digest


class Encoder:
    """Shared behaviour of the backends.

    Subclasses set ``modality``, ``n_blocks``, ``poolings`` (the first is the default),
    ``fingerprint`` and ``blocks`` (the ``n_blocks`` torch modules, in order), and implement
    ``prepare``, ``row_key``, ``batches`` and ``states``.

    ``fingerprint`` identifies the function the encoder computes from a prepared row (the
    network, its weights and the preprocessing): the activation cache keys start with it.
    ``None`` means that function cannot be identified reliably (``not_cached`` says why), and
    the featurizer computes without the cache.
    """

    modality = "tensor"
    poolings = ("mean",)
    not_cached = None

    def hook_change(self):
        """Where a forward hook changed a block's output during the last passes (None: no
        hook did); such outputs are not cached."""
        return None

    def run_blocks(self, state, context, start, stop, blocks):
        """Apply ``blocks[start:stop]`` (0-based block positions) to a stored state."""
        for block in blocks[start:stop]:
            state = block(state)
        return state

    def pool(self, state, context, pooling):
        """One vector per row: the mean over every axis after the channels (or the row
        itself for a 2-D state); ``"max"`` takes the maximum instead."""
        if state.ndim <= 2:
            return state.reshape(len(state), -1)
        flat = state.flatten(2)
        return flat.amax(dim=2) if pooling == "max" else flat.mean(dim=2)

    def modules(self):
        """Every torch module the encoder runs (moved and quantised together): the model
        and stem, and the blocks that are not already part of the model."""
        model = getattr(self, "model", None)
        roots = [m for m in (model, getattr(self, "stem", None)) if m is not None]
        return roots + [b for b in self.blocks or [] if not _inside(b, model)]

    def to(self, device):
        for module in self.modules():
            module.to(device)
        return self

    def quantize_int8(self):
        """Dynamic int8 quantisation of every linear layer, in place."""
        import warnings

        import torch
        from torch.ao.quantization import quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation notes for quantized tensors
            for module in self.modules():
                quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
        return self

    def row_keys(self, items):
        return [digest(self.fingerprint, self.row_key(item)) for item in items]

    def sizes(self, items):
        """The cost of each row, where rows differ (None: they cost alike). A pass split
        into chunks takes rows in this order, so each chunk batches rows that pad little."""
        return None

    def unpad(self, state, context):
        """Per-row arrays of a batch state (text trims the padding; others split rows)."""
        return list(state.float().numpy())

    def pad(self, rows):
        """Stack stored per-row states back into a batch state and its context."""
        import torch

        return torch.from_numpy(np.stack(rows)), None


def package_version(distribution):
    """``"name=version"`` of an installed distribution (``"name=?"`` when it is not
    installed): a library's version is part of the identity of a model it builds."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{distribution}={version(distribution)}"
    except PackageNotFoundError:
        return f"{distribution}=?"


def _inside(block, model):
    return model is not None and any(block is m for m in model.modules())


def resolve_attribute(module, dotted, name):
    """``module.a.b.c`` for ``dotted="a.b.c"`` (integers index lists), with a clear error."""
    obj = module
    for part in dotted.split("."):
        if part.isdigit() and hasattr(obj, "__getitem__"):
            obj = obj[int(part)]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            raise ValueError(
                f"{name}: the model has no submodule {dotted!r} (no {part!r} in "
                f"{type(obj).__name__}). Name the blocks as in model.named_modules()."
            )
    return obj


def check_range(X, dtype, name, *, compute="the encoder computes", what="X"):
    """Refuse float values that become infinite when cast to ``dtype`` (a torch dtype), the
    precision the network computes in: they would come out as NaN features or probabilities.

    Parameters
    ----------
    X : ndarray
        The values (checked only when they are floats).
    dtype : torch.dtype
        The precision of the computation (float32; bfloat16 and float16 hold less).
    name : str
        The estimator, for the message.
    compute : str
        Says what computes in ``dtype`` (e.g. ``"the encoder computes"``), for the message.
    what : str
        The name of the values, for the message.
    """
    import torch

    X = np.asarray(X)
    if X.dtype.kind != "f" or X.size == 0:
        return
    high, low = float(np.max(X)), float(np.min(X))
    if not (np.isfinite(high) and np.isfinite(low)):
        raise ValueError(f"{name}: {what} holds NaN or infinite values; drop or impute them first.")
    peak = max(abs(high), abs(low))
    limit = torch.finfo(dtype).max
    precision = str(dtype).removeprefix("torch.")
    if peak > limit:
        raise ValueError(
            f"{name}: {what} holds values beyond {precision}'s range (max |x| = {peak:.3g} > "
            f"{limit:.3g}); {compute} in {precision}, where they would become inf and the "
            "outputs NaN. Scale X first (e.g. with sklearn.preprocessing.StandardScaler, or "
            "by dividing it by a constant)."
        )
