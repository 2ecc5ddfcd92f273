"""Hypothesis-generated bad input for every public estimator.

Each case must either raise a ValueError/TypeError with a message, or fit and give finite
output. Any other exception, and any NaN/inf in a prediction or a weight, fails.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.utils import get_tags

from tests._instances import NAN_OUTPUT, all_instances, domain_kwargs

ESTIMATORS = all_instances()

DEFECTS = (
    "none",
    "nan",
    "inf",
    "huge",
    "tiny",
    "constant_feature",
    "duplicate_rows",
    "int_dtype",
    "float32",
    "strings",
    "single_class",
    "no_target",
    "no_source",
    "domain_zero",
    "domain_wrong_length",
    "no_domain",
    "one_row_each",
    "3d",
)


@st.composite
def cases(draw):
    defect = draw(st.sampled_from(DEFECTS))
    n_source = draw(st.integers(2, 25))
    n_target = draw(st.integers(1, 25))
    n_features = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if defect == "one_row_each":
        n_source = n_target = 1
    X = rng.normal(size=(n_source + n_target, n_features))
    X[n_source:] += 0.5
    n_classes = 1 if defect == "single_class" else min(draw(st.integers(2, 3)), n_source)
    y = rng.integers(0, n_classes, n_source + n_target)
    y[:n_classes] = np.arange(n_classes)  # every class present on source rows
    sample_domain = np.r_[np.ones(n_source, int), -np.ones(n_target, int)]
    # a few labelled target rows, so estimators that need them can fit in the clean case
    n_labelled = draw(st.integers(0, n_target))
    y[n_source + n_labelled :] = -1
    if defect == "nan":
        X[rng.integers(len(X)), rng.integers(n_features)] = np.nan
    elif defect == "inf":
        X[rng.integers(len(X)), rng.integers(n_features)] = np.inf
    elif defect == "huge":
        X *= 1e150
    elif defect == "tiny":
        X *= 1e-150
    elif defect == "constant_feature":
        X[:, 0] = 3.0
    elif defect == "duplicate_rows":
        X[:] = X[0]
    elif defect == "int_dtype":
        X = np.round(X * 3).astype(np.int64)
    elif defect == "float32":
        X = X.astype(np.float32)
    elif defect == "strings":
        # words, not numbers: numeric strings are converted by sklearn's check_array, correctly
        X = np.char.add("v", X.astype(str)).astype(object)
    elif defect == "no_target":
        sample_domain[:] = 1
    elif defect == "no_source":
        sample_domain[:] = -1
    elif defect == "domain_zero":
        sample_domain[0] = 0
    elif defect == "domain_wrong_length":
        sample_domain = sample_domain[:-1]
    elif defect == "no_domain":
        sample_domain = None
        y[y == -1] = 0
    elif defect == "3d":
        X = X[:, :, None]
    return defect, X, y, sample_domain


def _fit(estimator, X, y, sample_domain):
    kwargs = domain_kwargs(estimator, sample_domain)
    if is_regressor(estimator):
        y = np.where(y == -1, np.nan, y.astype(float))
        return estimator.fit(X, y, **kwargs)
    if is_classifier(estimator):
        return estimator.fit(X, y, **kwargs)
    return estimator.fit(X, **kwargs)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(case=cases())
def test_bad_input_gives_clear_error_or_finite_output(estimator, case):
    defect, X, y, sample_domain = case
    estimator = clone(estimator)
    with warnings.catch_warnings():
        # numerical warnings on degenerate data are fine; wrong answers and crashes are not
        warnings.simplefilter("ignore")
        try:
            fitted = _fit(estimator, X, y, sample_domain)
            # A meta-estimator that fits only the labelled rows may never see a bad unlabelled
            # row; predicting on it must then raise the clear error instead.
            X_eval = np.asarray(X, dtype=float)
            outputs = {
                method: np.asarray(getattr(fitted, method)(X_eval), dtype=float)
                for method in ("predict", "predict_proba", "compute_weights", "transform")
                if hasattr(fitted, method)
            }
        except (ValueError, TypeError) as exc:
            error = exc
        else:
            error = None
    if error is not None:
        assert len(str(error)) > 15, f"{defect}: an error without a useful message: {error!r}"
        return
    if hasattr(fitted, "weights_"):
        outputs["weights_"] = fitted.weights_
    invalid = {"nan", "inf", "strings", "domain_zero", "domain_wrong_length", "3d"}
    if get_tags(estimator).input_tags.allow_nan:
        invalid.discard("nan")  # boosted trees read NaN as a missing value
    if get_tags(estimator).input_tags.three_d_array:
        invalid.discard("3d")  # a featurizer's torch module takes series (n, C, T)
    if not domain_kwargs(estimator, None):
        invalid -= {"domain_zero", "domain_wrong_length"}  # it takes no sample_domain
    assert defect not in invalid, (
        f"{type(estimator).__name__} accepted invalid input ({defect}) without an error"
    )
    for name, out in outputs.items():
        if type(estimator).__name__ in NAN_OUTPUT:
            assert not np.any(np.isinf(out)), f"{defect}: {name} has an infinity"
            continue
        assert np.all(np.isfinite(out)), f"{defect}: {name} is not finite"
    if "weights_" in outputs:
        assert np.all(outputs["weights_"] >= 0)


@pytest.mark.parametrize("scale", [1e39, 1e160, 1e300], ids=["1e39", "1e160", "1e300"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_finite_values_near_the_float_limits_raise_clearly_or_give_finite_output(estimator, scale):
    """Finite values that overflow float32 (1e39), squared float64 distances (1e160) or
    float64 sums (1e300) either raise an error that says so or leave every output finite."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    X[40:] += 0.5
    y = (X[:, 0] > 0.2).astype(int)
    y[50:] = -1
    sample_domain = np.r_[np.ones(40, int), -np.ones(20, int)]
    estimator = clone(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fitted = _fit(estimator, X * scale, y, sample_domain)
            outputs = {
                method: np.asarray(getattr(fitted, method)(X * scale), dtype=float)
                for method in ("predict", "predict_proba", "compute_weights", "transform")
                if hasattr(fitted, method)
            }
        except ValueError as exc:
            message = str(exc)
            assert "X" in message, f"the error does not name X: {message!r}"
            assert len(message) > 40, f"an unclear error: {message!r}"
            assert "C++" not in message, f"a library's trace, not a message: {message!r}"
            return
    if hasattr(fitted, "weights_"):
        outputs["weights_"] = fitted.weights_
    for name, out in outputs.items():
        if type(estimator).__name__ in NAN_OUTPUT:
            out = out[~np.isnan(out)]
        assert np.all(np.isfinite(out)), f"{name} is not finite at |X| ~ {scale:g}"
