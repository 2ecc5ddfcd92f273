"""The activation cache never hands one network's features to another, and never fails a fit.

Keys follow what the network computes (its layers, hyper-parameters, code, weights, hooks and
preprocessing), in memory and on disk across processes; networks whose computation cannot be
identified run without the cache; values of the wrong shape or dtype are recomputed; a
cache_dir that cannot be written costs the reuse, never the features.
"""

import copy
import errno
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from skxfer.featurize import CacheWarning, PretrainedFeaturizer, _cache, clear_cache
from tests.featurize.conftest import tiny_cnn

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


def _rows(n=12, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _features(net, X, **params):
    """The last layer's features (the suite turns any warning into an error)."""
    return PretrainedFeaturizer(net, **params).fit(X).transform(X)


def _rewrite_segments(folder, change):
    """Rewrite every value of the cache files under ``folder`` (same keys)."""
    for path in Path(folder).rglob("*.npz"):
        entries = [(key, change(value)) for key, value in _cache.read_segment(path)]
        _cache.write_segment(str(path), entries)


def _expected(net, X):
    with torch.no_grad():
        return net(torch.from_numpy(X)).numpy()


def _after_one_linear(first, second):
    """Two networks whose Linear(4, 6) has the same weights, and differ in what follows."""
    torch.manual_seed(0)
    linear = torch.nn.Linear(4, 6)
    return (
        torch.nn.Sequential(linear, first),
        torch.nn.Sequential(copy.deepcopy(linear), second),
    )


PAIRS = {
    "activation": lambda: (
        torch.nn.Sequential(torch.nn.Tanh()),
        torch.nn.Sequential(torch.nn.ReLU()),
    ),
    "hyper-parameter": lambda: (
        torch.nn.Sequential(torch.nn.LeakyReLU(0.01)),
        torch.nn.Sequential(torch.nn.LeakyReLU(0.5)),
    ),
    "layer after the same weights": lambda: _after_one_linear(torch.nn.Tanh(), torch.nn.Sigmoid()),
}


# ---------------------------------------------------------------------------------------------
# what the key follows


@pytest.mark.parametrize("case", list(PAIRS))
def test_networks_with_the_same_weights_but_other_layers_get_their_own_features(case, tmp_path):
    first, second = PAIRS[case]()
    X = _rows() * 3  # negative and large values: tanh, relu and both slopes all differ
    for params in ({}, {"cache_dir": tmp_path}):
        clear_cache()
        np.testing.assert_allclose(_features(first, X, **params), _expected(first, X), rtol=1e-6)
        if params:
            clear_cache()  # the second network meets the first one's files only
        np.testing.assert_allclose(_features(second, X, **params), _expected(second, X), rtol=1e-6)


def test_a_hyper_parameter_kept_in_an_attribute_is_part_of_the_key():
    class Scale(torch.nn.Module):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor  # no extra_repr: only the attribute tells the two apart

        def forward(self, x):
            return x * self.factor

    X = _rows()
    for factor in (2.0, 3.0):
        net = torch.nn.Sequential(Scale(factor))
        np.testing.assert_allclose(_features(net, X), X * factor, rtol=1e-6)


def test_the_forward_code_is_part_of_the_key():
    def make(activation):
        class Act(torch.nn.Module):  # the same qualified name every time; another forward
            def forward(self, x):
                return activation(x)

        return Act

    X = _rows()
    # the source is the same line; what it closes over differs, and so does the code below
    for activation in (torch.tanh, torch.sigmoid):
        net = torch.nn.Sequential(make(activation)())
        np.testing.assert_allclose(_features(net, X), activation(torch.from_numpy(X)), rtol=1e-6)

    def compile_act(body):
        namespace = {"torch": torch}
        exec(  # no source file: the key falls back to the bytecode
            f"class Act(torch.nn.Module):\n    def forward(self, x):\n        return {body}\n",
            namespace,
        )
        return namespace["Act"]

    for body, expected in (("torch.tanh(x)", np.tanh(X)), ("x * 2", X * 2)):
        net = torch.nn.Sequential(compile_act(body)())
        np.testing.assert_allclose(_features(net, X), expected, rtol=1e-6)


SCALE = {"factor": 2.0}


class _GlobalScale(torch.nn.Module):
    def forward(self, x):
        return x * SCALE["factor"]


def test_a_forward_that_reads_global_state_runs_without_the_cache(tmp_path):
    X = _rows()
    net = torch.nn.Sequential(_GlobalScale())
    with pytest.warns(CacheWarning, match=r"reads the global 'SCALE' \(a dict\)") as record:
        first = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
    assert len([w for w in record if w.category is CacheWarning]) == 1  # said once
    np.testing.assert_allclose(first.transform(X), 2 * X, rtol=1e-6)
    SCALE["factor"] = 5.0
    try:
        with pytest.warns(CacheWarning):
            second = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
        np.testing.assert_allclose(second.transform(X), 5 * X, rtol=1e-6)
    finally:
        SCALE["factor"] = 2.0
    assert not list(tmp_path.rglob("*.npz"))


def test_a_hook_that_changes_an_output_runs_without_the_cache(tmp_path):
    X = _rows()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh())
    plain = _features(net, X, cache_dir=tmp_path)  # cached, without the hook
    handle = net[1].register_forward_hook(lambda module, args, out: out * 10)
    try:
        with pytest.warns(CacheWarning, match="forward hook"):
            hooked = PretrainedFeaturizer(net, cache_dir=tmp_path).fit(X)
        np.testing.assert_allclose(hooked.transform(X), 10 * plain, rtol=1e-6)
    finally:
        handle.remove()
    np.testing.assert_allclose(_features(net, X, cache_dir=tmp_path), plain)


def test_text_key_follows_the_content_of_the_tokenizer_files(tiny_bert, tmp_path, monkeypatch):
    import shutil

    from skxfer.featurize import _featurizer

    folder = tmp_path / "bert"
    shutil.copytree(tiny_bert, folder)
    texts = ["good movie", "bad film", "great plot"]
    before = PretrainedFeaturizer(str(folder), cache_dir=tmp_path / "cache").fit_transform(texts)
    # "good" and "love" trade token ids; every file keeps its size and modification time
    for path in (folder / "vocab.txt", *folder.glob("tokenizer.json")):
        stat = path.stat()
        text = path.read_text()
        path.write_text(text.replace("good", "\0").replace("love", "good").replace("\0", "love"))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    monkeypatch.setattr(_featurizer, "_LOADED", type(_featurizer._LOADED)())  # a new process
    clear_cache()
    after = PretrainedFeaturizer(str(folder), cache_dir=tmp_path / "cache").fit_transform(texts)
    exact = PretrainedFeaturizer(str(folder), cache=False).fit_transform(texts)
    np.testing.assert_allclose(after, exact, rtol=1e-6)
    assert not np.allclose(after[0], before[0])  # "good movie" reads another word now
    np.testing.assert_allclose(after[1:], before[1:], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# across processes


_CHILD = """
import sys
import numpy as np
from skxfer.featurize import PretrainedFeaturizer
from tests.featurize.conftest import tiny_cnn

X = np.load(sys.argv[1])
np.save(sys.argv[3], PretrainedFeaturizer(tiny_cnn(), cache_dir=sys.argv[2]).fit_transform(X))
"""


@pytest.mark.slow
def test_a_cache_dir_written_by_another_process(tmp_path, monkeypatch):
    X = np.random.default_rng(0).normal(size=(10, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    cache = tmp_path / "cache"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(tmp_path / "X.npy"),
            str(cache),
            str(tmp_path / "Z.npy"),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    theirs = np.load(tmp_path / "Z.npy")

    # the same network: read from the other process's files (one row runs, to learn the
    # shape the files must have)
    same = PretrainedFeaturizer(tiny_cnn(), cache_dir=cache).fit(X)
    assert int(same._encoder().blocks[0].rows) <= 1
    np.testing.assert_allclose(same.transform(X), theirs, rtol=1e-5)  # one row ran here

    # another network with the same weights: its own features
    net = tiny_cnn()
    net[2][1] = torch.nn.Tanh()
    other = PretrainedFeaturizer(net, cache_dir=cache).fit(X)
    assert int(other._encoder().blocks[0].rows) == len(X)
    with torch.no_grad():
        np.testing.assert_allclose(
            other.transform(X), net(torch.from_numpy(X)).mean(dim=(2, 3)).numpy(), rtol=1e-5
        )

    # the other process's files, rewritten as float64 of the right shape: recomputed
    clear_cache()
    _rewrite_segments(cache, lambda value: value.astype(np.float64))
    from skxfer.featurize import _featurizer

    # as in a new process, which has not seen the network produce anything yet
    monkeypatch.setattr(_featurizer, "LAYOUTS", _cache.Layouts())
    with pytest.warns(CacheWarning, match="not what the encoder produces"):
        again = PretrainedFeaturizer(tiny_cnn(), cache_dir=cache).fit(X)
    np.testing.assert_allclose(again.transform(X), theirs, rtol=1e-5)
    assert again.transform(X).dtype == np.float32


# ---------------------------------------------------------------------------------------------
# values of the wrong shape or dtype


def test_cached_values_of_another_width_are_recomputed(tmp_path):
    X = np.random.default_rng(0).normal(size=(8, 1, 8, 8)).astype(np.float32)
    expected = PretrainedFeaturizer(tiny_cnn(), cache_dir=tmp_path).fit_transform(X)
    _rewrite_segments(tmp_path, lambda value: np.append(value, np.float32(0)))  # one wider
    clear_cache()
    with pytest.warns(CacheWarning, match="not what the encoder produces") as record:
        again = PretrainedFeaturizer(tiny_cnn(), cache_dir=tmp_path).fit(X)
    assert len([w for w in record if w.category is CacheWarning]) == 1
    np.testing.assert_array_equal(again.transform(X), expected)
    clear_cache()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the files were rewritten with the right values
        np.testing.assert_array_equal(
            PretrainedFeaturizer(tiny_cnn(), cache_dir=tmp_path).fit_transform(X), expected
        )


# ---------------------------------------------------------------------------------------------
# a cache_dir that cannot be written


def test_a_file_where_the_cache_dir_should_be_costs_a_warning_not_the_fit(tmp_path):
    X, net = _rows(), torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh())
    blocker = tmp_path / "cache"
    blocker.write_text("a file, not a folder")
    with pytest.warns(CacheWarning, match="cannot be written") as record:
        Z = PretrainedFeaturizer(net, cache_dir=blocker).fit_transform(X)
    assert len([w for w in record if w.category is CacheWarning]) == 1
    np.testing.assert_allclose(Z, _expected(net, X), rtol=1e-6)
    assert blocker.read_text() == "a file, not a folder"


def test_a_full_disk_costs_a_warning_not_the_fit(tmp_path, monkeypatch):
    def full(file, **arrays):
        file.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    X = np.random.default_rng(0).normal(size=(24, 1, 8, 8)).astype(np.float32)
    y = np.arange(20) % 2
    with pytest.warns(CacheWarning, match="No space left") as record:
        fitted = PretrainedFeaturizer(
            tiny_cnn(), freeze_depth=2, max_epochs=1, random_state=0, cache_dir=tmp_path
        ).fit(X[:20], y)  # two passes through the cache: the frozen blocks, the features
    assert len([w for w in record if w.category is CacheWarning]) == 1  # once per fit
    assert not list(tmp_path.rglob("*.tmp"))
    assert not list(tmp_path.rglob("*.npz"))
    expected = PretrainedFeaturizer(
        tiny_cnn(), freeze_depth=2, max_epochs=1, random_state=0, cache=False
    ).fit(X[:20], y)
    with pytest.warns(CacheWarning, match="No space left"):
        np.testing.assert_allclose(fitted.transform(X[20:]), expected.transform(X[20:]))


# ---------------------------------------------------------------------------------------------
# the folder that featurizers sent to other processes share


def test_a_pickled_unfitted_featurizer_writes_the_shared_folder_and_all_read_it():
    import pickle
    import stat

    X = np.random.default_rng(0).normal(size=(10, 1, 8, 8)).astype(np.float32)
    folder = Path(os.environ["SKXFER_CACHE_DIR"]) / "shared"
    os.environ["SKXFER_CACHE_DIR"] = str(folder)  # restored by the fixture
    sent = pickle.loads(pickle.dumps(PretrainedFeaturizer(tiny_cnn())))  # as to a worker
    expected = sent.fit_transform(X)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # its owner's only
    assert len(list(folder.rglob("*.npz"))) == 1

    clear_cache()  # another process: nothing in memory
    here = PretrainedFeaturizer(tiny_cnn()).fit(X)  # never pickled: reads, does not write
    assert int(here._encoder().blocks[0].rows) <= 1  # one row, to learn the layout
    np.testing.assert_allclose(here.transform(X), expected, rtol=1e-6)
    assert len(list(folder.rglob("*.npz"))) == 1

    fitted = pickle.loads(pickle.dumps(here))  # a fitted model saved and loaded: no writes
    clear_cache()
    fitted.transform(X[::-1].copy())
    assert len(list(folder.rglob("*.npz"))) == 1


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() != 0, reason="needs chown")
def test_a_shared_folder_of_another_user_is_neither_read_nor_written():
    import pickle

    X = np.random.default_rng(0).normal(size=(10, 1, 8, 8)).astype(np.float32)
    folder = Path(os.environ["SKXFER_CACHE_DIR"])
    os.chown(folder, 12345, 12345)
    sent = pickle.loads(pickle.dumps(PretrainedFeaturizer(tiny_cnn())))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sent.fit(X)
    assert not list(folder.rglob("*"))
