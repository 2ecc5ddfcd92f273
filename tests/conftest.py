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
