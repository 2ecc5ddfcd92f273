"""Hugging Face BERT-family text encoders: the embeddings are the stem, each layer a block."""

import os
from contextlib import contextmanager

import numpy as np

from skxfer.featurize._cache import digest
from skxfer.featurize._encoders import Encoder, package_version
from skxfer.featurize._fingerprint import module_fingerprint
from skxfer.utils import import_optional


class TextEncoder(Encoder):
    """A transformers ``AutoModel`` with its tokenizer.

    The frozen pass asks the model for every hidden state at once (``output_hidden_states``),
    which works for any encoder; running single layers (fine-tuning) needs the BERT layout
    (``model.encoder.layer``), which BERT, RoBERTa, MiniLM, ELECTRA and XLM-R share.
    """

    modality = "text"
    poolings = ("mean", "cls", "max")

    def __init__(self, model, tokenizer, max_length, fingerprint):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.fingerprint = fingerprint
        self.n_blocks = int(model.config.num_hidden_layers)
        self.width = int(model.config.hidden_size)
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        self.blocks = list(layers) if layers is not None else None

    @classmethod
    def load(cls, path, *, max_length, trust_remote_code, name):
        transformers = import_optional("transformers", purpose=name)
        try:
            with _quiet_loading(transformers):
                tokenizer = transformers.AutoTokenizer.from_pretrained(
                    path, trust_remote_code=trust_remote_code
                )
                model = transformers.AutoModel.from_pretrained(
                    path, trust_remote_code=trust_remote_code
                )
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"model={path!r}: transformers could not load it ({exc}). Pass a local "
                "directory holding a Hugging Face model (config.json, weights, tokenizer) or, "
                "online, a hub id."
            ) from exc
        model.eval()
        if max_length is None:
            max_length = _sentence_transformers_length(path)
        if max_length is None:
            max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
        if os.path.isdir(path):
            model_identity = _folder_identity(path)
        else:
            model_identity = module_fingerprint(model, f"hf:{path}", inspect_state=False)
        fingerprint = digest(
            "hf",
            model_identity,
            _tokenizer_identity(tokenizer),
            str(max_length),
            package_version("transformers"),
        )
        return cls(model, tokenizer, max_length, fingerprint)

    @classmethod
    def from_module(cls, model, tokenizer, *, max_length):
        if max_length is None:
            max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
        model.eval()
        fingerprint = digest(
            "hf",
            module_fingerprint(model, "hf-module", inspect_state=False),
            _tokenizer_identity(tokenizer),
            str(max_length),
            package_version("transformers"),
        )
        return cls(model, tokenizer, max_length, fingerprint)

    # --- inputs -------------------------------------------------------------------------

    def prepare(self, X, name):
        if isinstance(X, str):
            raise TypeError(
                f"{name} got a single string; pass a list (or array, or pandas Series) of texts."
            )
        if hasattr(X, "ndim") and getattr(X, "ndim", 1) == 2 and X.shape[1] == 1:
            X = np.asarray(X).ravel()  # a one-column DataFrame or array of texts
        items = list(X.tolist() if hasattr(X, "tolist") else X)
        bad = [type(x).__name__ for x in items if not isinstance(x, str)]
        if bad:
            raise TypeError(
                f"{name}: the text model needs every row to be a string; got "
                f"{sorted(set(bad))}. Convert them (e.g. X.astype(str)) or drop missing rows."
            )
        return items

    def row_key(self, item):
        return item

    def sizes(self, items):
        """Tokens per text (the order :meth:`batches` sorts by)."""
        return [len(ids) for ids in self._token_ids(items)]

    def batches(self, items, batch_size):
        """Token ids of every text, batched by length so each batch pads to its own longest
        text (sorting removes most of the padding a random batch would carry)."""
        encoded = self._token_ids(items)
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            yield positions, self._pad_ids([encoded[i] for i in positions])

    def _token_ids(self, items):
        return self.tokenizer(
            items,
            truncation=True,
            max_length=self.max_length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]

    def _pad_ids(self, rows):
        import torch

        longest = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id or 0
        ids = torch.full((len(rows), longest), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.as_tensor(r)
            mask[i, : len(r)] = 1
        return {"input_ids": ids, "attention_mask": mask}

    # --- the network --------------------------------------------------------------------

    def states(self, batch, model=None):
        model = self.model if model is None else model
        out = model(
            input_ids=batch["input_ids"],
            attention_mask=batch["attention_mask"],
            output_hidden_states=True,
            return_dict=True,
        )
        return list(out.hidden_states), batch["attention_mask"]

    def check_tunable(self, name):
        if self.blocks is None:
            raise ValueError(
                f"{name}: fine-tuning runs the model's layers one by one and needs the BERT "
                f"layout (model.encoder.layer); {type(self.model).__name__} does not have it. "
                "Use freeze_depth=None (a frozen extractor)."
            )

    def run_blocks(self, state, context, start, stop, blocks):
        mask = self._layer_mask(state, context)
        for layer in blocks[start:stop]:
            out = layer(state, mask)
            state = out[0] if isinstance(out, tuple) else out
        return state

    def _layer_mask(self, state, attention_mask):
        try:
            from transformers.masking_utils import create_bidirectional_mask
        except ImportError:  # transformers 4.x
            return self.model.get_extended_attention_mask(attention_mask, attention_mask.shape)
        return create_bidirectional_mask(
            config=self.model.config, inputs_embeds=state, attention_mask=attention_mask
        )

    def pool(self, state, context, pooling):
        if pooling == "cls":
            return state[:, 0]
        mask = context.unsqueeze(-1).to(state.dtype)
        if pooling == "max":
            return state.masked_fill(mask == 0, float("-inf")).amax(dim=1)
        return (state * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)

    def unpad(self, state, context):
        lengths = context.sum(dim=1).tolist()
        values = state.float().numpy()
        return [values[i, :n] for i, n in enumerate(lengths)]

    def pad(self, rows):
        import torch

        longest = max(len(r) for r in rows)
        state = torch.zeros((len(rows), longest, rows[0].shape[1]), dtype=torch.float32)
        mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for i, r in enumerate(rows):
            state[i, : len(r)] = torch.from_numpy(np.array(r, dtype=np.float32))
            mask[i, : len(r)] = 1
        return state, mask


@contextmanager
def _quiet_loading(transformers):
    """No weight-loading progress bar (a grid search loads the model once per fit); the
    user's own setting is restored afterwards."""
    logging = transformers.utils.logging
    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


def _sentence_transformers_length(path):
    """The ``max_seq_length`` a sentence-transformers model directory declares, if any (so
    that the features equal its ``encode()``)."""
    import json

    config = os.path.join(path, "sentence_bert_config.json")
    if not os.path.isfile(config):
        return None
    with open(config) as f:
        length = json.load(f).get("max_seq_length")
    return int(length) if length else None


#: Files of a model folder up to this size are identified by their content (config,
#: tokenizer, remote code); larger ones (weights) by their size and modification time.
_HASHED_FILE_BYTES = 4 * 1024**2


def _folder_identity(path):
    """What identifies a Hugging Face model folder: its real path, and each file (of the
    folder and its sub-folders, hidden ones such as ``.git`` aside) by content when small, by
    size and modification time when large."""
    parts = [os.path.realpath(path)]
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for entry in sorted(files):
            full = os.path.join(root, entry)
            st = os.stat(full)
            parts.append(f"{os.path.relpath(full, path)}:{st.st_size}:{st.st_mtime_ns}")
            if st.st_size <= _HASHED_FILE_BYTES:
                with open(full, "rb") as f:
                    parts.append(f.read())
    return digest("hf-dir", *parts)


def _tokenizer_identity(tokenizer):
    """The tokenizer's class, settings and vocabulary (the preprocessing of the texts)."""
    vocabulary = sorted(tokenizer.get_vocab().items())
    return digest(type(tokenizer).__qualname__, repr(tokenizer), repr(vocabulary))
