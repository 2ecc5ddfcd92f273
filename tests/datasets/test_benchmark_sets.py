import os
from pathlib import Path

import numpy as np
import pytest

from skxfer.datasets import BENCHMARK_SETS, load_domain_benchmark

DATA = Path(
    os.environ.get("SKXFER_BENCH_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)

# set -> (source, target, rows of each, features, labels)
CASES = {
    "office_caltech10_surf": ("amazon", "webcam", (958, 295), 800, set(range(1, 11))),
    "amazon_reviews_400": ("books", "kitchen", (2000, 1999), 400, {0, 1}),
    "mnist_usps_jda": ("mnist", "usps", (2000, 1800), 256, set(range(1, 11))),
    "coil20_jda": ("coil1", "coil2", (720, 720), 1024, set(range(1, 21))),
    "winequality": ("red", "white", (1599, 4898), 11, {0, 1}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shapes_labels_and_domains(name):
    if not (DATA / name).is_dir():
        pytest.skip(f"{DATA / name} is absent")
    source, target, (n_source, n_target), n_features, labels = CASES[name]
    data = load_domain_benchmark(name, source, target, data_home=DATA)
    assert data.X.shape == (n_source + n_target, n_features)
    assert data.X.dtype == np.float64
    assert np.isfinite(data.X).all()
    assert (data.sample_domain == 1).sum() == n_source
    assert (data.sample_domain == -1).sum() == n_target
    assert np.all(data.y[data.sample_domain < 0] == -1)
    np.testing.assert_array_equal(data.y[:n_source], data.y_true[:n_source])
    assert set(np.unique(data.y_true)) == labels
    assert set(data.domain[:n_source]) == {source}
    assert set(data.domain[n_source:]) == {target}
    assert data.X.min() >= 0


def test_value_ranges_and_several_sources():
    if not all(
        (DATA / name).is_dir() for name in ("mnist_usps_jda", "winequality", "amazon_reviews_400")
    ):
        pytest.skip(f"{DATA} lacks a set")
    pixels = load_domain_benchmark("mnist_usps_jda", "mnist", "usps", data_home=DATA).X
    assert pixels.max() <= 1.0
    wine = load_domain_benchmark("winequality", "red", "white", data_home=DATA)
    assert set(np.unique(wine.quality)) <= set(range(3, 10))
    np.testing.assert_array_equal(wine.y_true, wine.quality >= 6)
    reviews = load_domain_benchmark("amazon_reviews_400", ["books", "dvd"], "elec", data_home=DATA)
    assert sorted(set(reviews.sample_domain)) == [-1, 1, 2]
    assert (reviews.sample_domain == 2).sum() == 1999


def test_every_set_names_its_domains():
    assert set(BENCHMARK_SETS) == set(CASES)


def test_missing_folder_or_file_says_what_to_provide(tmp_path):
    with pytest.raises(FileNotFoundError, match="must hold a subfolder 'coil20_jda'"):
        load_domain_benchmark("coil20_jda", "coil1", "coil2", data_home=tmp_path)
    (tmp_path / "coil20_jda").mkdir()
    np.savez(tmp_path / "coil20_jda" / "coil1.npz", X=np.zeros((3, 4)), y=np.arange(3))
    with pytest.raises(FileNotFoundError, match="coil2.npz"):
        load_domain_benchmark("coil20_jda", "coil1", "coil2", data_home=tmp_path)
    np.savez(tmp_path / "coil20_jda" / "coil2.npz", X=np.ones((2, 4)), y=np.arange(2))
    data = load_domain_benchmark("coil20_jda", "coil2", "coil1", data_home=tmp_path)
    assert data.X.shape == (5, 4)
    assert data.X[:2].sum() == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("office31", "amazon", "webcam"), "Unknown benchmark set 'office31'"),
        (("coil20_jda", "coil1", "coil3"), "no domain 'coil3'"),
        (("coil20_jda", "coil1", "coil1"), "also a source"),
    ],
)
def test_bad_names(args, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        load_domain_benchmark(*args, data_home=tmp_path)
