"""Any ``torch.nn.Module`` as a chain of named blocks, on numeric arrays."""

import numpy as np

from skxfer.featurize._encoders import Encoder, resolve_attribute
from skxfer.featurize._fingerprint import NotFingerprintable, module_fingerprint


class ModuleEncoder(Encoder):
    """A user's module whose forward pass is its ``blocks`` applied one after the other.

    ``blocks`` names submodules (dotted paths, as in ``model.named_modules()``); ``None``
    takes the children of an ``nn.Sequential``. The input of the first block is the array
    itself (state 0), so ``layer=0`` returns the input pooled. Rows are numeric arrays of any
    fixed shape: ``(n, d)`` tables, ``(n, C, T)`` series, ``(n, C, H, W)`` images.

    The fingerprint covers the blocks (their structure, hyper-parameters, code, weights and
    buffers, see :mod:`skxfer.featurize._fingerprint`) and the preprocessing (rows cast to
    float32). The forward hooks on the blocks are watched: one that returns a value (changes
    an output) makes the encoder uncached from then on.
    """

    poolings = ("mean", "max")

    def __init__(self, model, blocks, name):
        import torch

        if blocks is None:
            if not isinstance(model, torch.nn.Sequential):
                raise ValueError(
                    f"{name}: model is a {type(model).__name__}; pass blocks=[names of its "
                    "blocks, in the order they run] (or an nn.Sequential, whose children are "
                    "the blocks)."
                )
            self.blocks = list(model.children())
        else:
            if isinstance(blocks, str) or not len(blocks):
                raise ValueError(
                    f"{name}: blocks must be a non-empty list of submodule names; got {blocks!r}."
                )
            self.blocks = [resolve_attribute(model, b, name) for b in blocks]
        if not self.blocks:
            raise ValueError(f"{name}: the nn.Sequential model has no blocks.")
        for block in self.blocks:
            if not isinstance(block, torch.nn.Module):
                raise TypeError(f"{name}: every block must be a torch.nn.Module; got {block!r}.")
        self.model = model.eval()
        self.n_blocks = len(self.blocks)
        chain = torch.nn.ModuleList(self.blocks)  # what runs: the blocks, one after the other
        try:
            self.fingerprint = module_fingerprint(chain, f"{type(self).__name__}:float32-rows")
        except NotFingerprintable as exc:
            self.fingerprint, self.not_cached = None, str(exc)
        self._hook_changes = []
        for module in chain.modules():
            for hooks in (module._forward_pre_hooks, module._forward_hooks):
                for key, hook in list(hooks.items()):
                    hooks[key] = _WatchedHook(hook, self._hook_changes, type(module).__name__)

    def hook_change(self):
        return self._hook_changes[0] if self._hook_changes else None

    def prepare(self, X, name):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise TypeError(
                f"{name}: a torch.nn.Module model takes numeric arrays; got dtype {X.dtype}. "
                "Texts need a Hugging Face model, images the image models."
            )
        return list(X.astype(np.float32, copy=False))

    def row_key(self, item):
        return str(item.shape).encode() + item.tobytes()

    def batches(self, items, batch_size):
        import torch

        for start in range(0, len(items), batch_size):
            positions = np.arange(start, min(start + batch_size, len(items)))
            yield positions, torch.from_numpy(np.stack([items[i] for i in positions]))

    def states(self, batch, model=None):
        blocks = self.blocks if model is None else model
        states = [batch]
        for block in blocks:
            states.append(block(states[-1]))
        return states, None


class _WatchedHook:
    """A forward hook (or pre-hook) of the encoder's copy of the network that records when
    it returns a value, i.e. changes what the block computes."""

    def __init__(self, hook, log, where):
        self.hook, self.log, self.where = hook, log, where

    def __call__(self, *args, **kwargs):
        out = self.hook(*args, **kwargs)
        if out is not None and not self.log:
            self.log.append(self.where)
        return out
