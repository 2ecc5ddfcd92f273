"""benchmarks/README.md shows the tables of benchmarks/results/ as report.py renders them."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def report():
    spec = importlib.util.spec_from_file_location("benchmarks_report", BENCH / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_generated_from_results(report):
    text = (BENCH / "README.md").read_text()
    assert "<!-- results:" in text
    assert report.render_readme(text) == text, "run `python benchmarks/report.py`"
    assert report.main(["--check"]) == 0


def test_readme_stays_short():
    # a project goal: the README shows the current tables, history lives in CHANGELOG.md
    lines = (BENCH / "README.md").read_text().count("\n")
    assert lines < 250, f"benchmarks/README.md has {lines} lines: pick tables= or rows= on a marker"


def test_every_results_file_is_shown(report):
    text = (BENCH / "README.md").read_text()
    shown = {m["name"] for m in report.BLOCK.finditer(text)}
    on_disk = {p.stem for p in (BENCH / "results").glob("*.json")}
    assert on_disk <= shown, f"results without a marker in the README: {on_disk - shown}"


def test_results_files_carry_provenance():
    for path in (BENCH / "results").glob("*.json"):
        payload = json.loads(path.read_text())
        for key in ("arguments", "machine", "versions", "date", "tables"):
            assert key in payload, f"{path.name} lacks {key!r}"
        assert "load" in payload or "load" in payload["machine"], f"{path.name} lacks the load"
        for table in payload["tables"]:
            assert set(table) >= {"title", "headers", "rows"}
            assert all(len(row) == len(table["headers"]) for row in table["rows"]), path.name


def test_unknown_results_file_renders_generically(report, tmp_path):
    payload = {
        "command": "python benchmarks/brand_new.py --fast",
        "date": "2030-01-01 00:00 UTC",
        "machine": {"cpus": 2, "versions": {"skxfer": "9.9"}},
        "load": {"start": [1.5, 1.0, 0.5], "end": [2.0, 1.0, 0.5]},
        "tables": [
            {
                "title": "Speed",
                "headers": ["method", "s"],
                "rows": [["ours", 1.25], ["peer", "2.5"]],
            },
            {"title": "Other", "headers": ["a"], "rows": [["x"]]},
        ],
        "something_new": {"nested": [1, 2]},
    }
    (tmp_path / "brand_new.json").write_text(json.dumps(payload))
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- results:brand_new -->\nstale\n<!-- /results:brand_new -->\n"
        "<!-- results:brand_new tables=2 -->\n<!-- /results:brand_new -->\n"
        "<!-- results:not_run_yet -->\n<!-- /results:not_run_yet -->\n"
        '<!-- results:sub command="python benchmarks/host.py sub --jobs 2" -->\n'
        "<!-- /results:sub -->\nend\n"
    )
    assert report.main(["--check", "--readme", str(readme), "--results", str(tmp_path)]) == 1
    assert report.main(["--readme", str(readme), "--results", str(tmp_path)]) == 0
    text = readme.read_text()
    assert "stale" not in text
    assert "`python benchmarks/brand_new.py --fast`" in text
    assert "load 1.5 at the start, 2.0 at the end" in text
    assert "**Speed**" in text
    assert "| ours   | 1.25 |" in text
    # tables=2 shows the second table only
    second = text.split("<!-- results:brand_new tables=2 -->")[1].split("<!-- /results")[0]
    assert "**Other**" in second
    assert "Speed" not in second
    assert "python benchmarks/not_run_yet.py" in text
    assert "`python benchmarks/host.py sub --jobs 2` writes `benchmarks/results/sub.json`" in text
    assert text.startswith("intro\n")
    assert text.endswith("end\n")
    assert report.main(["--check", "--readme", str(readme), "--results", str(tmp_path)]) == 0


def test_results_file_without_optional_fields(report, tmp_path):
    (tmp_path / "bare.json").write_text(json.dumps({"tables": [{"headers": ["a"], "rows": []}]}))
    body = report.render_block("bare", "", tmp_path)
    assert "python benchmarks/bare.py" in body
    assert "| a" in body


def test_rows_option_keeps_the_first_rows(report, tmp_path):
    table = {"title": "Long", "headers": ["k"], "rows": [[f"row{i}"] for i in range(5)]}
    (tmp_path / "long.json").write_text(json.dumps({"tables": [table]}))
    body = report.render_block("long", " rows=2", tmp_path)
    assert "row1" in body
    assert "row2" not in body
    assert "_First 2 of 5 rows; all are in `benchmarks/results/long.json`._" in body
    full = report.render_block("long", " rows=5", tmp_path)
    assert "row4" in full
    assert "First" not in full


def test_tables_none_shows_the_provenance_line_only(report, tmp_path):
    payload = {
        "date": "2026-01-01 00:00 UTC",
        "command": "python benchmarks/demo.py",
        "tables": [{"title": "T", "headers": ["a"], "rows": [["1"]]}],
    }
    (tmp_path / "demo.json").write_text(json.dumps(payload))
    body = report.render_block("demo", " tables=none", tmp_path)
    assert "| a |" not in body.replace("  ", " ")
    assert "python benchmarks/demo.py" in body
    assert "benchmarks/results/demo.json" in body
