"""Any ``torch.nn.Module`` as a chain of named blocks, on numeric arrays."""

import numpy as np

from skxfer.featurize._encoders import Encoder, module_fingerprint, resolve_attribute


class ModuleEncoder(Encoder):
    """A user's module whose forward pass is its ``blocks`` applied one after the other.

    ``blocks`` names submodules (dotted paths, as in ``model.named_modules()``); ``None``
    takes the children of an ``nn.Sequential``. The input of the first block is the array
    itself (state 0), so ``layer=0`` returns the input pooled. Rows are numeric arrays of any
    fixed shape: ``(n, d)`` tables, ``(n, C, T)`` series, ``(n, C, H, W)`` images.
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
        self.fingerprint = module_fingerprint(model, f"chain:{blocks}")

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
