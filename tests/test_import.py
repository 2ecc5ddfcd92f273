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


def test_subpackages_load_on_first_attribute_access():
    code = (
        "import sys, skxfer;"
        "assert 'skxfer.reweight' not in sys.modules;"
        "print(skxfer.reweight.KMMWeighter.__name__, skxfer.warm_start.__name__,"
        " 'reweight' in dir(skxfer))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["KMMWeighter", "skxfer.warm_start", "True"]


def test_an_unknown_attribute_is_an_attribute_error():
    import pytest

    import skxfer

    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        skxfer.nothing_here  # noqa: B018
