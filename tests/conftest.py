"""Test-session settings."""

import os

# pytest-xdist runs two workers on two cores; XGBoost and CatBoost would each start a thread
# per core, and their OpenMP spin-waits made single fits 100x slower (a 0.3 s test took 5 min).
# Set before either library is imported (they are imported lazily, inside fit).
os.environ.setdefault("OMP_NUM_THREADS", "1")
