"""Featurizers that miss the same rows share the work: they split the rows between them by
claiming them, a featurizer whose rows are claimed waits for their segments, and a claim
whose owner is gone (or, from another machine, too old) does not hold anything up."""

import copy
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from skxfer.featurize import PretrainedFeaturizer, _cache, clear_cache
from tests.featurize.conftest import Counting

torch = pytest.importorskip("torch")


class _Slow(torch.nn.Module):
    """A block that takes its time, so that two featurizers overlap."""

    def __init__(self, pause):
        super().__init__()
        self.pause = pause

    def forward(self, x):
        time.sleep(self.pause)
        return x


def _net(pause=0.0):
    torch.manual_seed(0)
    return torch.nn.Sequential(Counting(torch.nn.Linear(4, 4)), _Slow(pause), torch.nn.Linear(4, 3))


def _rows(n):
    return np.random.default_rng(0).normal(size=(n, 4)).astype(np.float32)


def _computed(featurizer):
    """Rows that went through the featurizer's own copy of the network."""
    return int(featurizer.__dict__["_loaded_encoder"].blocks[0].rows)


@pytest.mark.parametrize("on_disk", [False, True], ids=["threads in memory", "cache_dir"])
def test_featurizers_that_miss_the_same_rows_split_them(on_disk, tmp_path):
    X = _rows(64)
    net = _net(pause=0.05)
    params = {"batch_size": 8, "cache_dir": tmp_path if on_disk else None}
    featurizers = [PretrainedFeaturizer(copy.deepcopy(net), **params) for _ in range(2)]
    start = threading.Barrier(2)

    def fit(featurizer):
        start.wait()
        return featurizer.fit_transform(X)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(fit, featurizers)
    computed = [_computed(f) for f in featurizers]
    assert sum(computed) == len(X)  # every row once
    assert min(computed) > 0  # by both
    np.testing.assert_array_equal(first, second)
    expected = PretrainedFeaturizer(_net(), cache=False).fit_transform(X)
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-6)
    if on_disk:
        (group,) = [p for p in tmp_path.iterdir() if p.is_dir()]
        assert json.loads((group / "claims.json").read_text()) == {}  # all released


def _claim_every_row(tmp_path, X, holder):
    """Fit once to learn the encoder's folder and row ids; move its segments aside, and
    write claims of ``holder`` on every row. Returns the group folder and the features."""
    first = PretrainedFeaturizer(_net(), cache_dir=tmp_path)
    features = first.fit_transform(X)
    encoder = first._encoder()
    rows = encoder.row_keys(first._items(encoder, X, reset=False))
    (group,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    aside = tmp_path / "aside"
    aside.mkdir()
    for segment in group.glob("*.npz"):
        segment.rename(aside / segment.name)
    (group / "claims.json").write_text(json.dumps(dict.fromkeys(rows, holder)))
    clear_cache()
    return group, aside, features


def _fit_in_thread(tmp_path, X):
    featurizer = PretrainedFeaturizer(_net(), cache_dir=tmp_path)
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("X", featurizer.fit_transform(X)))
    thread.start()
    return featurizer, thread, out


def _gone_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.skipif(_cache.fcntl is None, reason="claims on disk need file locks")
@pytest.mark.parametrize("whose", ["a process that is gone", "another machine, long ago"])
def test_a_claim_that_no_longer_counts_holds_nothing(whose, tmp_path):
    X = _rows(12)
    if whose == "a process that is gone":
        holder = [socket.gethostname(), _gone_pid(), time.time(), "another"]
    else:
        holder = ["elsewhere", 1, time.time() - 2 * _cache.CLAIM_TIMEOUT, "another"]
    _, _, expected = _claim_every_row(tmp_path, X, holder)
    featurizer, thread, out = _fit_in_thread(tmp_path, X)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert _computed(featurizer) == len(X)
    np.testing.assert_allclose(out["X"], expected, rtol=1e-6)


@pytest.mark.skipif(_cache.fcntl is None, reason="claims on disk need file locks")
def test_rows_claimed_by_a_live_process_are_read_once_it_has_written_them(tmp_path):
    X = _rows(12)
    holder = [socket.gethostname(), os.getpid(), time.time(), "another"]
    group, aside, expected = _claim_every_row(tmp_path, X, holder)
    featurizer, thread, out = _fit_in_thread(tmp_path, X)
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the claimant
    for segment in aside.glob("*.npz"):  # the claimant writes its segments
        segment.rename(group / segment.name)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert _computed(featurizer) == 0  # read, not computed
    np.testing.assert_array_equal(out["X"], expected)
