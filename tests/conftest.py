"""Test-session settings."""

import os
import tempfile

import pytest

# pytest-xdist runs two workers on two cores; XGBoost and CatBoost would each start a thread
# per core, and their OpenMP spin-waits made single fits 100x slower (a 0.3 s test took 5 min).
# Set before either library is imported (they are imported lazily, inside fit).
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session", autouse=True)
def _shared_activation_folder():
    """Featurizers sent to worker processes write to a folder of the test session, not to
    the user's."""
    before = os.environ.get("SKXFER_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="skxfer-activations-") as folder:
        os.environ["SKXFER_CACHE_DIR"] = folder
        yield
        if before is None:
            os.environ.pop("SKXFER_CACHE_DIR", None)
        else:
            os.environ["SKXFER_CACHE_DIR"] = before


# Cases of the tests parametrized over every estimator that take more than about 3 s on
# their own (CPU time measured per test), marked slow so that `pytest -m "not slow"` stays
# fast: test function -> estimator class names, or "Class-check" for scikit-learn's checks.
SLOW_CASES = {
    "test_bad_input_gives_clear_error_or_finite_output": {
        "ImportanceWeightedClassifier",
        "ImportanceWeightedRegressor",
        "LGBMTransferClassifier",
        "LGBMTransferRegressor",
    },
    "test_sklearn_compatible": {
        "ConvSeriesEncoder-check_classifiers_train",
        "ConvSeriesEncoder-check_classifiers_train(readonly_memmap=True)",
        "ConvSeriesEncoder-check_classifiers_train(readonly_memmap=True,X_dtype=float32)",
        "LGBMTransferClassifier-check_classifiers_train(readonly_memmap=True)",
    },
}


def pytest_collection_modifyitems(items):
    for item in items:
        if _case(item) in SLOW_CASES.get(item.originalname, ()):
            item.add_marker(pytest.mark.slow)


def _case(item):
    """The estimator class of a parametrized test, with the check for the common checks."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    estimator = params.get("estimator")
    if estimator is None:
        return None
    case = type(estimator).__name__
    check = params.get("check")
    if check is not None:
        name = getattr(check, "func", check).__name__
        keywords = getattr(check, "keywords", None)
        if keywords:
            name += "(" + ",".join(f"{key}={value}" for key, value in keywords.items()) + ")"
        case += f"-{name}"
    return case
