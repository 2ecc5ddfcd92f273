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


def test_readme_python_blocks_are_ruff_clean(tmp_path):
    """README.md's python blocks, with the project's configuration: linted one file per
    heading, as tests/test_readme.py runs them (a block may use the names of the blocks above
    it, so their imports need not come first), each file padded so that a message names the
    README's line; formatted one file per block."""
    from tests.test_readme import SECTIONS

    (tmp_path / "lint").mkdir()
    (tmp_path / "format").mkdir()
    for section in SECTIONS:
        blocks = [block for block in section.blocks if block.language == "python"]
        lines = []
        for block in blocks:
            lines += [""] * (block.line - 1 - len(lines))
            lines += block.code.splitlines()
            (tmp_path / "format" / f"README_md_line_{block.line}.py").write_text(block.code)
        if blocks:
            (tmp_path / "lint" / f"README_md_{section.line}.py").write_text("\n".join(lines) + "\n")
    # outside the checkout, ruff cannot see that skxfer is this project's package
    config = ["--config", str(ROOT / "pyproject.toml")]
    config += ["--config", "lint.isort.known-first-party = ['skxfer']"]
    for args in (["check", "--ignore", "E402", "lint"], ["format", "--check", "format"]):
        result = subprocess.run(
            [_ruff(), *args[:-1], *config, args[-1]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
