"""Every script under ``examples/`` runs to the end, as a user would run it, in its fast mode.

An example reads ``SKXFER_EXAMPLES_FAST=1`` to shrink its data and grids (the same code path,
fewer rows and seeds), prints its result table, and saves any figure into the working
directory, which here is a temporary folder.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").rglob("*.py"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_runs(script, tmp_path):
    needs = [
        line.split(":", 1)[1].split()
        for line in script.read_text().splitlines()
        if line.startswith("# requires:")
    ]
    for module in (m for group in needs for m in group):
        pytest.importorskip(module)
    env = {**os.environ, "SKXFER_EXAMPLES_FAST": "1", "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip(), "an example prints its result"
    assert "Traceback" not in out.stderr
