"""The code base is ruff-clean (lint and format), as configured in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _ruff():
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():  # pragma: no cover - the test extra installs ruff
        pytest.fail("ruff is not installed; run pip install -e '.[test]'")
    return exe


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args):
    paths = [p for p in ("skxfer", "tests", "benchmarks", "examples") if (ROOT / p).exists()]
    result = subprocess.run(
        [_ruff(), *args, *paths], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
