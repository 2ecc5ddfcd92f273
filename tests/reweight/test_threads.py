"""The weighters split their passes over blocks of rows between threads: the weights must
not depend on how many threads there are."""

import threading

import numpy as np
import pytest

from skxfer.datasets import make_covariate_shift
from skxfer.reweight import (
    DiscriminativeWeighter,
    RULSIFWeighter,
    ULSIFWeighter,
    _base,
    _discriminative,
    _logistic,
    _rulsif,
)
from skxfer.utils._threads import available_threads, map_row_blocks


def test_blocks_come_back_in_order_each_thread_with_its_own_scratch():
    seen = []

    def block(rows, scratch):
        seen.append((threading.get_ident(), id(scratch)))
        return rows.start, rows.stop

    out = map_row_blocks(block, 1000, 64, make_scratch=lambda: np.empty(3), n_threads=2)
    assert out == [(s, min(s + 64, 1000)) for s in range(0, 1000, 64)]
    scratch_of = {}
    for thread, scratch in seen:
        assert scratch_of.setdefault(thread, scratch) == scratch  # one buffer per thread
    assert len(set(scratch_of.values())) == len(scratch_of)  # not shared between threads


def test_the_thread_count_follows_omp_num_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert available_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert available_threads() >= 1


@pytest.mark.parametrize(
    "weighter",
    [ULSIFWeighter(random_state=0), RULSIFWeighter(random_state=0), DiscriminativeWeighter()],
)
def test_weights_do_not_depend_on_the_number_of_threads(weighter, monkeypatch):
    # small blocks, so that a few thousand rows make many of them
    monkeypatch.setattr(_rulsif, "_BLOCK_ROWS", 256)
    monkeypatch.setattr(_discriminative, "_block_length", lambda n_columns, block_rows=0: 64)
    monkeypatch.setattr(_base, "_EXTREMES_BLOCK_ELEMENTS", 1000)
    monkeypatch.setattr(_logistic, "_MIN_BLOCK_ROWS", 64)
    monkeypatch.setattr(_discriminative, "_CV_THREADED_ELEMENTS", 0)  # its CV on threads too
    data = make_covariate_shift(1500, 1000, 6, random_state=0)
    weights = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        fitted = weighter.fit(data.X, sample_domain=data.sample_domain)
        weights[threads] = fitted.weights_.copy()
    np.testing.assert_array_equal(weights["1"], weights["2"])
    assert np.ptp(weights["1"]) > 0  # the shift is estimated, not flat
