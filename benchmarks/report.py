"""Regenerate the tables of ``benchmarks/README.md`` from ``benchmarks/results/*.json``.

Each benchmark script writes its latest run to ``benchmarks/results/<name>.json`` (see
``save_results`` in ``_common.py``): the arguments, machine, versions, date, load average, the
raw rows, and ``tables``, a list of ``{"title", "headers", "rows"}`` with cells formatted as the
README shows them. The README holds marker pairs::

    <!-- results:<name> -->
    ... (generated: do not edit) ...
    <!-- /results:<name> -->

and this script replaces what lies between them with the run's provenance line and its tables.
``<!-- results:<name> tables=1,3 -->`` shows only the first and third tables of that file (every
table stays in the JSON), ``tables=none`` only the provenance line; ``rows=N`` shows the first N
rows of each table shown, with a line saying how many the JSON holds. A marker whose results
file does not exist yet gets a one-line note with the command that makes it:
``python benchmarks/<name>.py``, or the marker's own ``command="..."``. Any results file renders
the same generic way, so a new benchmark needs only a marker pair in the README.

Run from the repository root::

    python benchmarks/report.py            # rewrite benchmarks/README.md
    python benchmarks/report.py --check    # exit 1 (and print a diff) if the README is stale
"""

import argparse
import difflib
import json
import re
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
README = BENCH_DIR / "README.md"
RESULTS_DIR = BENCH_DIR / "results"

BLOCK = re.compile(
    r"(?P<open><!-- results:(?P<name>[\w.-]+)(?P<options>[^>]*?)\s*-->)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- /results:(?P=name) -->)",
    re.DOTALL,
)
OPTION = re.compile(r'(\w+)=("[^"]*"|\S+)')
NUMERIC = re.compile(r"^[-+−±~<>≈]?\s*[\d.]")


def markdown_table(headers, rows):
    """A GitHub Markdown table; a column whose cells are mostly numbers is right-aligned."""
    cells = [[_cell(c) for c in headers]]
    cells += [[_cell(c) for c in row] + [""] * (len(headers) - len(row)) for row in rows]
    ncol = len(headers)
    widths = [max(3, *(len(r[i]) for r in cells)) for i in range(ncol)]
    right = []
    for i in range(ncol):
        body = [r[i] for r in cells[1:] if r[i] not in ("", "-", "—")]
        numeric = sum(bool(NUMERIC.match(c.strip("*_` "))) for c in body)
        right.append(i > 0 and bool(body) and numeric * 2 > len(body))

    def line(row):
        padded = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right)]
        return "| " + " | ".join(padded) + " |"

    sep = "|" + "|".join(
        "-" * (w + 1) + ":" if r else ":" + "-" * (w + 1) for w, r in zip(widths, right)
    )
    return "\n".join([line(cells[0]), sep + "|"] + [line(r) for r in cells[1:]])


def _cell(value):
    if isinstance(value, float):
        value = f"{value:.4g}"
    return str(value).replace("|", "/").replace("\n", " ").strip()


def provenance(name, payload):
    """One line: the command, when, on what, under what load."""
    machine = payload.get("machine") or {}
    command = payload.get("command") or f"python benchmarks/{name}.py"
    parts = [f"`{command}`"]
    date = payload.get("date") or machine.get("date")
    if date:
        parts.append(str(date))
    if machine.get("cpus"):
        memory = f", {machine['memory_gib']} GiB" if machine.get("memory_gib") else ""
        parts.append(f"{machine['cpus']} cores{memory}")
    seconds = next(
        (
            payload[k]
            for k in ("elapsed_seconds", "seconds", "elapsed")
            if _is_number(payload.get(k))
        ),
        None,
    )
    if seconds is not None:
        parts.append(f"{seconds / 60:.1f} min")
    load = payload.get("load") or {"start": machine.get("load")}
    start = load.get("start") if isinstance(load, dict) else load
    end = load.get("end") if isinstance(load, dict) else None
    if start:
        text = f"load {_first(start):.1f}"
        parts.append(text + (f" at the start, {_first(end):.1f} at the end" if end else ""))
    version = (payload.get("versions") or machine.get("versions") or {}).get("skxfer")
    if version:
        parts.append(f"skxfer {version}")
    line = "Last run: " + "; ".join(parts) + "."
    for update in payload.get("updates", ()):
        cells = sorted({f"{c[1]} at {c[2]} x {c[3]}" for c in update["cells"] if c[0] != "limit"})
        line += f" Rerun on {update['date']}: {', '.join(cells)} (`{update['command']}`)."
    return line


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _first(load):
    return float(load[0] if isinstance(load, (list, tuple)) else load)


def render_block(name, options, results_dir=RESULTS_DIR):
    """The generated text between a marker pair (without the markers)."""
    options = {k: v.strip('"') for k, v in OPTION.findall(options or "")}
    path = Path(results_dir) / f"{name}.json"
    if not path.exists():
        command = options.get("command", f"python benchmarks/{name}.py")
        return (
            f"_Not run yet: `{command}` writes `benchmarks/results/{name}.json`, "
            "then `python benchmarks/report.py` puts its tables here._"
        )
    payload = json.loads(path.read_text())
    tables = list(payload.get("tables") or [])
    if options.get("tables") == "none":
        return "\n\n".join(
            [provenance(name, payload), f"_Its tables are in `benchmarks/results/{name}.json`._"]
        )
    if "tables" in options:
        picked = [int(i) for i in options["tables"].split(",") if i.strip().isdigit()]
        tables = [tables[i - 1] for i in picked if 0 < i <= len(tables)]
    limit = int(options["rows"]) if options.get("rows", "").isdigit() else None
    out = [provenance(name, payload)]
    for table in tables:
        title = _cell(table.get("title") or "")
        if title and title not in (name, f"{name}.py"):
            out.append(f"**{title}**")
        rows = list(table.get("rows") or [])
        out.append(markdown_table(table.get("headers") or [], rows[:limit]))
        if limit is not None and len(rows) > limit:
            out.append(
                f"_First {limit} of {len(rows)} rows; all are in `benchmarks/results/{name}.json`._"
            )
    if not tables:
        out.append("_The results file holds no tables._")
    return "\n\n".join(out)


def render_readme(text, results_dir=RESULTS_DIR):
    """``text`` with every marked block regenerated."""

    def replace(match):
        body = render_block(match["name"], match["options"], results_dir)
        return f"{match['open']}\n{body}\n{match['close']}"

    return BLOCK.sub(replace, text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--check", action="store_true", help="exit 1 if the README differs; write nothing"
    )
    p.add_argument("--readme", default=str(README))
    p.add_argument("--results", default=str(RESULTS_DIR))
    args = p.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text()
    new = render_readme(text, args.results)
    if args.check:
        if new != text:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(True), new.splitlines(True), str(readme), "generated"
                )
            )
            print(f"\n{readme} is stale: run `python benchmarks/report.py`", file=sys.stderr)
            return 1
        return 0
    if new != text:
        readme.write_text(new)
        print(f"rewrote {readme.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
