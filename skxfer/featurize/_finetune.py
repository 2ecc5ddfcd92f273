"""Fine-tune the top blocks of an encoder, from the cached output of its frozen part."""

import copy
import warnings

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import type_of_target


def fine_tune(encoder, frozen_rows, y, *, start, stop, pooling, options, seed):
    """Copies of ``encoder.blocks[start:stop]`` trained with a temporary head on ``y``.

    Parameters
    ----------
    encoder : Encoder
        The backend; its blocks are copied, never changed.
    frozen_rows : list of ndarray
        Per-row output of block ``start`` (the frozen part), as stored in the cache.
    y : ndarray of shape (n_rows,)
        Class labels (classification) or real targets (regression, by ``type_of_target``).
    start, stop : int
        Block positions: blocks ``start .. stop - 1`` are trained (``stop`` is the layer
        whose pooled output feeds the head).
    pooling : str
        How the trained layer's output is pooled for the head.
    options : dict
        ``max_epochs``, ``learning_rate``, ``batch_size``, ``validation_fraction``,
        ``n_iter_no_change``, ``gradual_unfreezing``, ``verbose``.
    seed : int
        Seeds the split, the shuffling, dropout and the head's initialisation.

    Returns
    -------
    blocks : list of torch.nn.Module
        The trained copies (in eval mode).
    history : dict
        ``train_loss`` and ``validation_loss`` per epoch, and ``best_epoch``.
    """
    import torch

    blocks = [_plain_copy(b) for b in encoder.blocks[start:stop]]
    task = "regression" if type_of_target(y) in ("continuous", "continuous-multioutput") else "clf"
    if task == "clf":
        classes, codes = np.unique(y, return_inverse=True)
        target = torch.as_tensor(codes, dtype=torch.long)
        n_out = len(classes)
    else:
        y = np.asarray(y, dtype=np.float64)
        mu, sd = float(y.mean()), float(y.std()) or 1.0
        target = torch.as_tensor((y - mu) / sd, dtype=torch.float32)
        n_out = 1
    train, valid = _split(len(frozen_rows), y if task == "clf" else None, options, seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        width = _width(encoder, blocks, frozen_rows[:1], pooling)
        head = torch.nn.Linear(width, n_out)
        loss_fn = torch.nn.CrossEntropyLoss() if task == "clf" else torch.nn.MSELoss()
        params = [p for b in blocks for p in b.parameters()] + list(head.parameters())
        optimizer = torch.optim.AdamW(params, lr=options["learning_rate"], weight_decay=0.01)
        generator = torch.Generator().manual_seed(seed)
        best, best_loss, stale = None, np.inf, 0
        history = {"train_loss": [], "validation_loss": []}
        for epoch in range(options["max_epochs"]):
            trainable = _unfrozen(blocks, epoch, options["gradual_unfreezing"])
            _train_mode(blocks, head, trainable)
            order = train[torch.randperm(len(train), generator=generator).numpy()]
            total = 0.0
            for i in range(0, len(order), options["batch_size"]):
                rows = order[i : i + options["batch_size"]]
                state, context = encoder.pad([frozen_rows[r] for r in rows])
                out = _forward(encoder, blocks, head, state, context, pooling, task)
                loss = loss_fn(out, target[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(rows)
            history["train_loss"].append(total / len(train))
            if len(valid) == 0:
                best = _snapshot(blocks)
                continue
            with torch.no_grad():
                _train_mode(blocks, head, [])
                state, context = encoder.pad([frozen_rows[r] for r in valid])
                v_loss = float(
                    loss_fn(
                        _forward(encoder, blocks, head, state, context, pooling, task),
                        target[valid],
                    )
                )
            history["validation_loss"].append(v_loss)
            if v_loss < best_loss - 1e-6:
                best, best_loss, stale = _snapshot(blocks), v_loss, 0
                history["best_epoch"] = epoch
            else:
                stale += 1
                if stale >= options["n_iter_no_change"]:
                    break
        for block, state in zip(blocks, best):
            block.load_state_dict(state)
            block.eval()
    return blocks, history


def _split(n, labels, options, seed):
    """Train and validation row positions; no validation rows when too few rows."""
    fraction = options["validation_fraction"]
    everything = np.arange(n)
    if not fraction or n < 10:
        return everything, np.arange(0)
    stratify = labels
    if labels is not None:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            stratify = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            train, valid = train_test_split(
                everything, test_size=fraction, random_state=seed, stratify=stratify
            )
        except ValueError:
            train, valid = train_test_split(everything, test_size=fraction, random_state=seed)
    return np.sort(train), np.sort(valid)


def _width(encoder, blocks, rows, pooling):
    import torch

    with torch.no_grad():
        state, context = encoder.pad(rows)
        state = encoder.run_blocks(state, context, 0, len(blocks), blocks)
        return int(encoder.pool(state, context, pooling).shape[1])


def _forward(encoder, blocks, head, state, context, pooling, task):
    state = encoder.run_blocks(state, context, 0, len(blocks), blocks)
    out = head(encoder.pool(state, context, pooling))
    return out[:, 0] if task == "regression" else out


def _unfrozen(blocks, epoch, gradual):
    """Blocks trained at ``epoch``: all, or with gradual unfreezing the top ``epoch + 1``."""
    if not gradual:
        return blocks
    return blocks[max(len(blocks) - epoch - 1, 0) :]


def _train_mode(blocks, head, trainable):
    """Dropout on in the trained blocks; batch-norm statistics stay the pretrained ones (a
    few hundred target rows in small batches would only make them noisy)."""
    import torch

    for block in blocks:
        train = any(block is t for t in trainable)
        block.train(train)
        for p in block.parameters():
            p.requires_grad_(train)
        for m in block.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    head.train()


def _plain_copy(block):
    """A deep copy of ``block`` without the forward hooks a library installed on the
    original (transformers adds closures to capture hidden states, which cannot be pickled;
    the featurizer calls the blocks itself and needs none)."""
    block = copy.deepcopy(block)
    for module in block.modules():
        for name in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_pre_hooks_with_kwargs",
            "_forward_hooks_always_called",
        ):
            hooks = getattr(module, name, None)
            if hooks is not None:
                hooks.clear()
    return block


def _snapshot(blocks):
    return [{k: v.detach().clone() for k, v in b.state_dict().items()} for b in blocks]
