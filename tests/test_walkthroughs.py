"""The walkthroughs in docs/ are run as written: every ```console block's commands (lines after
``$ ``) in order, in a fresh folder with a local Xero, each checked against the output the page
shows; every ``<!-- edit FILE -->`` table is typed into the workbook as a person would.

What a page shows must appear in the command's output, line by line and in order (other lines
may come between). ``…`` in a shown line stands for anything (times, ids, long lists, wording
that is not the point of the step); export ids and timestamps are compared by shape.
``<!-- exit N -->`` before a block: its commands end with exit code N (default 0).
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from tests.helpers import EXAMPLES
from inventory_tools import columns as cols
from inventory_tools.cli import cli

from tests.fakes.xero_server import FakeXero

DOCS = Path(__file__).resolve().parent.parent / "docs"
WALKTHROUGHS = ["new-products-from-xero.md", "weekly-price-update.md"]


@dataclass
class Run:
    command: str
    shown: list[str] = field(default_factory=list)
    exit_code: int = 0


@dataclass
class Edit:
    file: str
    rows: list[dict[str, str]]


def steps(text: str) -> list[Run | Edit]:
    """The commands and edits of a page, in order."""
    out: list[Run | Edit] = []
    lines = text.splitlines()
    i, exit_code = 0, 0
    while i < len(lines):
        line = lines[i].strip()
        if m := re.fullmatch(r"<!-- exit (\d+) -->", line):
            exit_code = int(m.group(1))
        elif m := re.fullmatch(r"<!-- edit (\S+) -->", line):
            table = []
            i += 1
            while i < len(lines) and lines[i].strip().startswith("|"):
                table.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            header, body = table[0], [r for r in table[1:] if not set("".join(r)) <= set("-: ")]
            out.append(Edit(m.group(1), [dict(zip(header, r)) for r in body]))
            continue
        elif line == "```console":
            i += 1
            while not lines[i].startswith("```"):
                if lines[i].startswith("$ "):
                    out.append(Run(lines[i][2:].strip(), exit_code=exit_code))
                elif lines[i].strip():
                    out[-1].shown.append(lines[i])
                i += 1
            exit_code = 0
        i += 1
    return out


def _normal(line: str) -> str:
    line = re.sub(r"exp-\d{8}-\d{6}-[0-9a-f]{4}", "exp-ID", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "TIME", line)
    return " ".join(line.split())


def _pattern(shown: str) -> re.Pattern:
    parts = [re.escape(p.strip()) for p in _normal(shown).split("…")]
    return re.compile(r"\s*.*?\s*".join(parts))


def check_shown(run: Run, output: str) -> None:
    """Every shown line matches a line of ``output``, in order."""
    actual = [_normal(a) for a in output.splitlines()]
    at = 0
    for shown in run.shown:
        pattern = _pattern(shown)
        hit = next((j for j in range(at, len(actual)) if pattern.fullmatch(actual[j])), None)
        assert hit is not None, f"$ {run.command}\nshown:  {shown}\nnot in (from line {at}):\n{output}"
        at = hit + 1


def type_into(path: Path, edit: Edit) -> None:
    """Enter the table's values in the workbook (a blank table cell: left as it is), as a person
    would: numbers as numbers, everything else as text."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Inventory List"]
    letters = {c.value: c.column_letter for c in ws[1]}
    rows = {ws.cell(row=r, column=1).value: r for r in range(2, ws.max_row + 1)}
    for change in edit.rows:
        row = rows[change["ProductCode"]]
        for column, value in change.items():
            if column != "ProductCode" and value != "":
                ws[f"{letters[column]}{row}"] = float(value) if cols.column(column).is_numeric else value
    wb.save(path)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh folder holding examples/, and a local Xero the environment points at."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    xero = FakeXero().start()
    for k, v in xero.env().items():
        monkeypatch.setenv(k, v)
    yield tmp_path
    xero.stop()


@pytest.mark.parametrize("page", WALKTHROUGHS)
def test_walkthrough_runs_as_written(page, folder):
    todo = steps((DOCS / page).read_text(encoding="utf-8"))
    assert sum(isinstance(s, Run) for s in todo) >= 6
    for step in todo:
        if isinstance(step, Edit):
            type_into(folder / step.file, step)
            continue
        args = shlex.split(step.command)
        assert args[0] == "inventory-tools", step.command
        result = CliRunner().invoke(cli, args[1:], catch_exceptions=False)
        assert result.exit_code == step.exit_code, (step.command, result.output)
        check_shown(step, result.output)


def test_the_walkthroughs_cover_the_two_flows():
    setup = [s.command for s in steps((DOCS / WALKTHROUGHS[0]).read_text(encoding="utf-8")) if isinstance(s, Run)]
    prices = [s.command for s in steps((DOCS / WALKTHROUGHS[1]).read_text(encoding="utf-8")) if isinstance(s, Run)]
    for flow, wanted in ((setup, ["sync --since", "export setup.xlsx --status \"Setup Required\" --columns setup",
                                  "validate setup.xlsx", "import setup.xlsx --yes", "inventory-tools sync",
                                  "sync --xero-file examples/xero-items.csv"]),
                         (prices, ["--columns pricing", "validate prices.xlsx", "import prices.xlsx --yes",
                                   "sync --push-only"])):
        for w in wanted:
            assert any(w in c for c in flow), w
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    for page in WALKTHROUGHS:
        assert f"docs/{page}" in readme


def test_shown_lines_are_matched_in_order_with_ellipses():
    run = Run("x", ["Applied import #4: 0 created…", "pushed … to Xero: 00123, …, 123"])
    check_shown(run, "Plan\nApplied import #4: 0 created, 3 updated. Undo with: x\npushed 11 product(s) to Xero:"
                     " 00123, 00124, 123\n")
    with pytest.raises(AssertionError):
        check_shown(run, "pushed 11 product(s) to Xero: 00123, 123\nApplied import #4: 0 created\n")
    with pytest.raises(AssertionError):
        check_shown(Run("x", ["Exported 7 products"]), "Exported 17 products\n")
