"""Tiny random encoders (fast) for the featurizer tests."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skxfer.featurize import clear_cache  # noqa: E402

# the vocabulary of the tiny tokenizer, and the words of the generated sentences
_VOCABULARY = """the a movie film good bad great awful plot actor story boring fun long short
music scene ending love hate best worst funny sad dark light slow fast old new"""
WORDS = _VOCABULARY.split()


@pytest.fixture(autouse=True)
def _empty_cache(tmp_path_factory, monkeypatch):
    # the folder that pickled featurizers share: a fresh one per test
    monkeypatch.setenv("SKXFER_CACHE_DIR", str(tmp_path_factory.mktemp("shared-activations")))
    clear_cache()
    yield
    clear_cache()


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 3-layer BERT with random weights and a word-level tokenizer, saved as a Hugging
    Face directory (what a user's local model looks like)."""
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    # transformers 5 takes the vocabulary itself and ignores (unknown) vocab_file=
    import inspect

    if "vocab" in inspect.signature(transformers.BertTokenizerFast.__init__).parameters:
        source = {"vocab": {word: i for i, word in enumerate(vocab)}}
    else:
        source = {"vocab_file": str(folder / "vocab.txt")}
    tokenizer = transformers.BertTokenizerFast(**source, do_lower_case=True)
    assert tokenizer("good")["input_ids"][1] == vocab.index("good")  # words are not [UNK]
    tokenizer.save_pretrained(folder)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    return str(folder)


def sentences(n, seed=0):
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(2, 12))) for _ in range(n)]


class Counting(torch.nn.Module):
    """A block that counts the rows it sees (to count forward passes)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.register_buffer("rows", torch.zeros((), dtype=torch.long), persistent=False)

    def forward(self, x):
        self.rows += len(x)
        return self.inner(x)


def tiny_cnn(seed=0):
    """Three conv blocks on (n, 1, 8, 8) arrays, the first counting its rows."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        Counting(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU())),
        torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU()),
        torch.nn.Sequential(torch.nn.Conv2d(6, 5, 3, padding=1), torch.nn.ReLU()),
    )


class LoggingRows(torch.nn.Module):
    """A block that appends the number of rows it sees to a file: counts forward passes
    across worker processes."""

    def __init__(self, inner, log):
        super().__init__()
        self.inner = inner
        self.log = str(log)

    def forward(self, x):
        with open(self.log, "a") as f:
            f.write(f"{len(x)}\n")
        return self.inner(x)


def logged_cnn(log, seed=0):
    """:func:`tiny_cnn` whose first block logs its rows to the file ``log``."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        LoggingRows(torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU()), log),
        torch.nn.Sequential(torch.nn.Conv2d(4, 6, 3, padding=1), torch.nn.ReLU()),
        torch.nn.Sequential(torch.nn.Conv2d(6, 5, 3, padding=1), torch.nn.ReLU()),
    )


def logged_rows(log):
    """Rows that went through a :func:`logged_cnn` (every process together)."""
    try:
        with open(log) as f:
            return sum(int(line) for line in f)
    except FileNotFoundError:
        return 0
