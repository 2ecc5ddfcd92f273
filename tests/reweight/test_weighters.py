"""Behaviour every density-ratio weighter shares: finite but extreme inputs."""

import numpy as np
import pytest

from skxfer.datasets import make_covariate_shift
from skxfer.reweight import (
    DiscriminativeWeighter,
    KLIEPWeighter,
    KMMWeighter,
    NearestNeighborsWeighter,
    RULSIFWeighter,
    ULSIFWeighter,
)

WEIGHTERS = [
    KMMWeighter,
    KLIEPWeighter,
    ULSIFWeighter,
    RULSIFWeighter,
    DiscriminativeWeighter,
    NearestNeighborsWeighter,
]
FLOAT_MAX = np.finfo(np.float64).max


@pytest.fixture(scope="module")
def data():
    return make_covariate_shift(300, 200, n_features=3, random_state=0)


def _fit(cls, X, sample_domain):
    return cls(random_state=0).fit(X, sample_domain=sample_domain)


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize("scale", [1e160, 1e300])
def test_values_whose_squares_overflow_raise_a_clear_error(cls, scale, data):
    # Before: wrong weights without an error (nearest neighbours), LinAlgError (KMM, uLSIF,
    # RuLSIF), "Input X contains NaN" (discriminative), "too far apart" (KLIEP).
    with pytest.raises(ValueError, match=r"(?s)up to \|x\| = .*overflow.*StandardScaler"):
        _fit(cls, data.X * scale, data.sample_domain)


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize(
    ("value", "message"), [(np.nan, "contains NaN"), (-np.inf, "contains infinity")]
)
def test_rows_that_are_not_finite_get_scikit_learns_error(cls, value, message, data):
    # found from the column extremes of the magnitude check, not by a second pass over X
    X = data.X.copy()
    X[7, 1] = value
    with pytest.raises(ValueError, match=f"Input X {message}"):
        _fit(cls, X, data.sample_domain)
    with pytest.raises(ValueError, match=f"Input X {message}"):
        _fit(cls, X, None)  # no sample_domain: no magnitude check, still refused
    weighter = _fit(cls, data.X, data.sample_domain)
    with pytest.raises(ValueError, match=f"Input X {message}"):
        weighter.compute_weights(X[:10])


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_new_rows_whose_squares_overflow_raise_a_clear_error(cls, data):
    weighter = _fit(cls, data.X, data.sample_domain)
    with pytest.raises(ValueError, match=r"(?s)up to \|x\| = 1e\+200.*StandardScaler"):
        weighter.compute_weights(np.full((2, 3), 1e200))


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_rows_that_barely_vary_raise_a_clear_error(cls, data):
    # Before: every squared distance underflowed to 0 and the weights came out uniform.
    with pytest.raises(ValueError, match=r"(?s)varies by more than .*underflow.*StandardScaler"):
        _fit(cls, data.X * 1e-300, data.sample_domain)


@pytest.mark.parametrize("cls", WEIGHTERS)
def test_weights_hold_up_to_the_largest_accepted_scale(cls, data):
    # The defaults are scale-free, so any accepted scale must give the same weights: no sum
    # of squares may overflow below the limit that the error message states.
    n, d = data.X.shape
    largest = np.sqrt(FLOAT_MAX / (16 * n * d))
    factor = 0.99 * largest / np.abs(data.X).max()
    reference = _fit(cls, data.X, data.sample_domain)
    scaled = _fit(cls, data.X * factor, data.sample_domain)
    np.testing.assert_allclose(scaled.weights_, reference.weights_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        scaled.compute_weights(data.X[:20] * factor),
        reference.compute_weights(data.X[:20]),
        rtol=1e-6,
        atol=1e-9,
    )


@pytest.mark.parametrize("cls", WEIGHTERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rows_far_from_the_origin_get_the_same_weights(cls, dtype, data):
    # Before: the kernel weighters expanded ||a - b||^2 = ||a||^2 + ||b||^2 - 2ab around
    # the origin; at an offset of 1e8 (1e5 in float32) that is pure rounding error.
    offset = 1e8 if dtype == np.float64 else 1e5
    reference = _fit(cls, data.X.astype(dtype), data.sample_domain).weights_
    shifted = _fit(cls, (data.X + offset).astype(dtype), data.sample_domain).weights_
    if dtype == np.float64:
        np.testing.assert_allclose(shifted, reference, rtol=1e-5, atol=1e-5)
    else:  # float32 rounds the shifted rows themselves by up to 0.004
        assert np.corrcoef(shifted, reference)[0, 1] > 0.99
