"""The bad-input corpus (tests/data/bad/make_corpus.py): each file gets its exact message and exit
code from validate and import, never a traceback, and the store is left unchanged."""
import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import EXAMPLES, Cli

spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "data" / "bad" / "make_corpus.py")
make_corpus = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_corpus)

# file → (exit code of validate, words its message must hold, rule for data problems)
EXPECTED = {
    "not-a-zip.xlsx": (3, "not an Excel or OpenDocument workbook", None),
    "truncated.xlsx": (3, "damaged or incomplete", None),
    "empty.xlsx": (3, "the file is empty", None),
    "empty.csv": (3, "the file is empty", None),
    "word.docx": (3, "a Word document, not a workbook", None),
    "zip-bomb.xlsx": (3, "a zip bomb", None),
    "no-inventory-sheet.xlsx": (3, "no inventory sheet found; the sheets are: Notes, Summary", None),
    "password.xlsx": (3, "password-protected", None),
    "old-format.xls": (3, "old Excel 97-2003 workbook (.xls)", None),
    "duplicate-headers.xlsx": (1, "", "header.duplicate"),
    "merged-cells.xlsx": (1, "cells C2:C4 are merged", "cell.merged"),
    "hidden-rows.xlsx": (0, "row 3 is hidden", "row.hidden"),
    "utf16.csv": (0, "", None),
    "header-only.xlsx": (0, "", None),
    "formatted-empty-rows.xlsx": (0, "", None),
    "xxe.xlsx": (0, "", None),
    "billion-laughs.xlsx": (0, "", None),
    # not ours to read: refused by their real names, never parsed as CSV
    "flat.fods": (3, "this is a Flat OpenDocument spreadsheet (.fods)", None),
    "excel-2003.xml": (3, "this is an Excel 2003 XML spreadsheet", None),
    "web-page.xls": (3, "this is a web page (HTML)", None),
    "sylk.csv": (3, "this is a SYLK spreadsheet (.slk)", None),
    "items.json": (3, "this is a JSON file", None),
    "scan.pdf": (3, "this is a PDF document", None),
    "photo.png": (3, "this is an image (PNG)", None),
    "binary.xlsb": (3, "this is an Excel Binary Workbook (.xlsb)", None),
    "sheet.numbers": (3, "this is an Apple Numbers spreadsheet", None),
    # CSV that cannot be split exactly: the line is named, nothing applied
    "unclosed-quote.csv": (3, "line 2: a quoted value that starts in this record is never closed", None),
    "extra-fields.csv": (3, "line 3 (record 2) has 5 fields but the header has 4", None),
    # genuine workbooks laid out unlike Excel's: read through to the invalid Status at D2
    "parts-at-root.xlsx": (1, "Status 'Actvie' is not one of", "enum.value"),
    "backslash-names.xlsx": (1, "Status 'Actvie' is not one of", "enum.value"),
    "renamed-parts.xlsx": (1, "Status 'Actvie' is not one of", "enum.value"),
    "strict-ooxml.xlsx": (1, "Name is a formula with no saved value", "cell.formula_no_value"),
    "macro-sheet.xlsm": (1, "Status 'Actvie' is not one of", "enum.value"),
    "sheet-state-show.xlsx": (1, "Status 'Actvie' is not one of", "enum.value"),
    "nul-in-a-cell.xlsx": (1, "Name contains the NUL character (U+0000", "text.unsafe_char"),
}
# what a reader library says must never reach the user
RAW_READER_TEXTS = ("Unrecognized", "sheet:state", "sheet:type", "RelationshipNotFound", "File not found", "<?xml",
                    "CalamineError", "XlsxError")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, store):
    return make_corpus.build(tmp_path_factory.mktemp("bad"), Path(store.store))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    work = tmp_path_factory.mktemp("store")
    cli = Cli(str(work / "s.db"), work)
    cli("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", str(work / "r.xlsx"))
    return cli


def products(cli) -> list:
    db = sqlite3.connect(cli.store)
    rows = db.execute("SELECT * FROM products ORDER BY rowid").fetchall()
    db.close()
    return rows


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_file_gets_its_message_and_exit_code(corpus, store, name):
    assert name in corpus, f"{name} could not be built: it needs LibreOffice and msoffcrypto-tool (.ci/run installs both)"
    code, words, rule = EXPECTED[name]
    before = products(store)
    result = store("validate", corpus[name], "--json", expect=code)
    assert "Traceback" not in result.output
    assert not any(raw in result.stderr for raw in RAW_READER_TEXTS), result.stderr
    if code == 3:
        assert words in result.stderr
    else:
        report = json.loads(result.stdout)
        rules = {p["rule"] for p in report["problems"]}
        if rule:
            assert rule in rules
        if words:
            assert any(words in p["message"] for p in report["problems"])
    imported = store("import", corpus[name], "--yes", "--results", str(Path(store.cwd) / "r2.xlsx"), expect=None)
    assert imported.exit_code == code, imported.output
    assert "Traceback" not in imported.output
    if code:
        assert products(store) == before  # nothing applied


def test_entities_are_never_expanded(corpus, store):
    report = store.json("validate", corpus["billion-laughs.xlsx"])
    assert report["errors"] == 0
    plan = store.json("import", corpus["xxe.xlsx"], "--dry-run")
    assert plan["changes"] == [] and "root:" not in json.dumps(plan)


def test_hidden_row_edits_are_imported_but_warned(corpus, store):
    plan = store.json("import", corpus["hidden-rows.xlsx"], "--dry-run")
    assert any(p["rule"] == "row.hidden" for p in plan["problems"])
    assert [(c["column"], c["new"]) for c in plan["changes"]] == [("PriceTier1", "99")]


# Validate reads the file: 1 GB, the budget of a step for 100,000 products (issue 8). Import also
# holds the export snapshot the file is compared with (here ~280 MB of the same text): 1.5 GB.
VALIDATE_BUDGET_MB, IMPORT_BUDGET_MB = 1024, 1536


def _peak_mb(cli, *args, env: dict | None = None) -> tuple[int, float, str]:
    """Run the CLI in its own process: (exit code, peak RSS in MB from wait4, stderr)."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "inventory_tools", "--store", cli.store, *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cli.cwd,
                            env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, err


def test_a_genuine_200_mb_workbook_is_read_within_the_memory_budget(tmp_path):
    import subprocess
    import sys

    # Made in a process of its own: a child's peak RSS starts from its parent's at fork, so the
    # test process must stay small for the figures below to be the commands' own.
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import make_corpus;"
                    "from pathlib import Path; make_corpus.big_workbook(Path(sys.argv[2]), Path(sys.argv[3]))",
                    str(Path(spec.origin).parent), str(tmp_path / "big.xlsx"), str(tmp_path / "big.db")], check=True)
    big = tmp_path / "big.xlsx"
    assert big.stat().st_size >= 200 * 1024**2
    cli = Cli(str(tmp_path / "big.db"), tmp_path)
    code, peak, err = _peak_mb(cli, "validate", big)
    assert code == 0 and "Traceback" not in err, err
    assert peak < VALIDATE_BUDGET_MB, f"validate peaked at {peak:.0f} MB"
    for cache in ("off", None):  # reading the file itself, then what validate left in the cache
        code, peak, err = _peak_mb(cli, "import", big, "--dry-run",
                                   env={"INVENTORY_TOOLS_CACHE_DIR": cache} if cache else None)
        assert code == 0 and "0 to update" in err, err
        assert peak < IMPORT_BUDGET_MB, f"import --dry-run (cache {cache or 'on'}) peaked at {peak:.0f} MB"
