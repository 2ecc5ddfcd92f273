"""Import stays light: no torch, tensorflow or pandas pulled in, and fast."""

import subprocess
import sys

HEAVY = (
    "torch",
    "tensorflow",
    "transformers",
    "xgboost",
    "catboost",
    "lightgbm",
    "matplotlib",
)


def test_import_pulls_no_heavy_dependency():
    code = (
        "import sys, skxfer, skxfer.reweight, skxfer.model_selection, skxfer.warm_start;"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
