"""Exported workbooks, read back by two independent readers (openpyxl and python-calamine)."""
import zipfile

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from inventory_tools import columns as cols
from inventory_tools.exporting import export
from inventory_tools.stores import open_store
from tests.helpers import EXAMPLES, FORMULA_LIKE


def _sheet_rows(path, sheet="Inventory List"):
    ws = openpyxl.load_workbook(path)[sheet]
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    return ws, header, {r[0].value: {h: c for h, c in zip(header, r)} for r in rows[1:]}


def test_workbook_layout_and_types(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    result = ex("export", out)
    export_id = result.stdout.strip()
    assert export_id.startswith("exp-")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[:2] == ["Inventory List", "Instructions"]
    assert wb["_manifest"].sheet_state == "hidden"
    manifest = {r[0].value: r[1].value for r in wb["_manifest"].iter_rows(min_row=2)}
    assert manifest["export_id"] == export_id and manifest["row_count"] == "12"
    assert manifest["schema_version"] == str(cols.SCHEMA_VERSION)
    ws, header, rows = _sheet_rows(out)
    assert header == list(cols.names())
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:CR")
    assert ws["A1"].font.b
    hinge = rows["00123"]
    assert hinge["ProductCode"].data_type == "s" and hinge["ProductCode"].number_format == "@"
    assert hinge["Barcode"].value == "0012345678905" and hinge["Barcode"].data_type == "s"
    assert hinge["PriceTier1"].value == 4.95 and hinge["PriceTier1"].number_format == "0.0000"
    assert hinge["Description"].value == "Solid brass butt hinge.\r\nSold singly; screws included."
    assert ws.column_dimensions["AQ"].width > 0  # AverageCost
    ro_fill = ws["AQ2"].fill.fgColor.rgb
    assert ro_fill not in (None, "00000000")  # read-only column visibly shaded
    assert rows["CAFÉ-CRÈME-1KG"]["Name"].value == "Café Crème beans 1 kg — Ñandú blend"
    assert wb["Instructions"]["A1"].value.startswith("How to edit")


def test_dropdowns_on_every_enum_and_bool_column(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    ex("export", out)
    ws = openpyxl.load_workbook(out)["Inventory List"]
    letters = {c.value: c.column_letter for c in ws[1]}
    by_col = {}
    for dv in ws.data_validations.dataValidation:
        for rng in str(dv.sqref).split():
            by_col[rng.split(":")[0].rstrip("0123456789")] = dv.formula1
    assert by_col[letters["Status"]] == '"Active,Setup Required,Deprecated"'
    for name in ("Type", "CostingMethod", "DropShip", "WeightUnits", "DimensionUnits", "Sellable",
                 "IsAccountingDimensionEnabled", "DefaultUnitOfMeasure"):
        assert letters[name] in by_col, name
    assert by_col[letters["DefaultUnitOfMeasure"]].startswith("_lists!")
    units = [c.value for c in openpyxl.load_workbook(out)["_lists"]["A"]][1:]
    assert {"Item", "Pack", "Pair", "Hour", "Bag"} <= set(units)


def test_second_reader_sees_the_same_values(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    ex("export", out)
    grid = CalamineWorkbook.from_path(str(out)).get_sheet_by_name("Inventory List").to_python()
    header = grid[0]
    rows = {r[0]: dict(zip(header, r)) for r in grid[1:]}
    assert set(rows) >= {"00123", "0456", "CAFÉ-CRÈME-1KG"}
    assert rows["00123"]["PriceTier1"] == 4.95
    assert rows["0456"]["Status"] == "Setup Required"
    assert rows["TEA-ROOIBOS-250"]["Description"] == "Naturally caffeine-free.\r\nBest before: see pack."


def test_no_cell_is_ever_a_formula(run, tmp_path, store_path):
    import csv

    from inventory_tools.csvio import read_records
    header, records, _ = read_records((EXAMPLES / "inventory-list.csv").read_text(encoding="utf-8"))
    src = tmp_path / "evil.csv"
    rows = []
    for i, text in enumerate(FORMULA_LIKE):
        rec = list(records[0])
        rec[0] = f"EVIL-{i}"
        rec[header.index("Name")] = text
        rec[header.index("Description")] = text
        rows.append(rec)
    with src.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows([header, *rows])
    run("import", src, "--yes")
    out = tmp_path / "evil.xlsx"
    run("export", out)
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name)
    ws, header, by_code = _sheet_rows(out)
    for i, text in enumerate(FORMULA_LIKE):
        cell = by_code[f"EVIL-{i}"]["Name"]
        assert cell.value == text and cell.data_type == "s"
    # and importing the file back changes nothing
    again = run.json("import", out, "--dry-run")
    assert again["counts"]["update"] == 0 and again["counts"]["create"] == 0


def test_status_filter_and_bad_status(ex, tmp_path):
    out = tmp_path / "setup.xlsx"
    ex("export", out, "--status", "setup required")
    _, _, rows = _sheet_rows(out)
    assert set(rows) == {"XERO-GIFTCARD-50", "XERO-WRAP", "0456"}
    bad = ex("export", tmp_path / "x.xlsx", "--status", "Pending", expect=2)
    assert "--status 'Pending' is not a status" in bad.stderr


def test_an_export_of_no_products_is_a_workbook_that_imports_as_nothing(run, store_path, tmp_path):
    # a store holding no products: the header, the manifest and the instructions all the same
    # (read back by a second reader), and importing the workbook back changes nothing
    open_store(store_path).close()
    out = tmp_path / "none.xlsx"
    run("export", out)
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names[:2] == ["Inventory List", "Instructions"]
    rows = book.get_sheet_by_name("Inventory List").to_python()
    assert len(rows) == 1 and rows[0] == list(cols.names())
    manifest = {r[0]: r[1] for r in book.get_sheet_by_name("_manifest").to_python()}
    assert manifest["row_count"] == "0"
    run("validate", out)
    run("import", out, "--yes", "--results", tmp_path / "r.xlsx")
    assert run.json("list")["products"] == []


def test_bad_target_names_and_folders(ex, tmp_path):
    r = ex("export", tmp_path / "inv.txt", expect=2)
    assert "must end in .xlsx or .csv" in r.stderr
    r = ex("export", tmp_path / "nope" / "inv.xlsx", expect=2)
    assert "does not exist" in r.stderr


def test_export_is_atomic_under_a_failing_writer(ex, tmp_path, store_path, monkeypatch):
    from inventory_tools import exporting

    target = tmp_path / "inv.xlsx"
    target.write_bytes(b"previous file")

    def boom(*a, **k):  # fault injection: the disk fills up half way through writing
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporting, "_write_xlsx", boom)
    store = open_store(store_path)
    before = store.state.last_export_id()
    with pytest.raises(Exception) as err:
        export(store, target, overwrite=True)
    assert "No space left" in str(err.value)
    assert target.read_bytes() == b"previous file"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert store.state.last_export_id() == before
    store.close()


def _no_child_processes() -> bool:
    import os

    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False  # one still running, or one that ended and nobody waited for


def test_a_reading_copy_that_wrote_every_batch_succeeds_when_the_pipe_closes_before_its_end(ex, store_path,
                                                                                           tmp_path, monkeypatch):
    """The export failed at random ("the store could not be read") on big rows: the parent, every
    batch taken, closed the pipe while the copy was still writing the stream's end. Now the
    parent drains the pipe first, and a copy that wrote every batch does not count a broken
    pipe after that as a failure. Here the parent closes the pipe before the copy ends its stream."""
    import os
    import sqlite3
    import time

    from inventory_tools.stores import arrow_read
    from inventory_tools.stores.state import qi

    written, closed = tmp_path / "written", tmp_path / "closed"
    read = arrow_read._read

    def then_wait(*args):  # (in the forked copy) every batch written, the stream's end waits
        yield from read(*args)
        written.touch()
        for _ in range(1000):
            if closed.exists():
                return
            time.sleep(0.01)
    monkeypatch.setattr(arrow_read, "_read", then_wait)
    names = list(cols.names())
    first = sqlite3.connect(store_path).execute("SELECT min(rowid) FROM products").fetchone()[0]
    sql = arrow_read.products_sql(names, "", [], qi)
    data_r, data_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(data_r)
        os.close(err_r)
        arrow_read._child(store_path, names, sql, [(first, first + 2)], data_w, err_w)  # two rows: one pipe buffer
    os.close(data_w)
    os.close(err_w)
    for _ in range(1000):
        if written.exists():
            break
        time.sleep(0.01)
    os.close(data_r)  # the batch is in the pipe; its end is not
    closed.touch()
    _, status = os.waitpid(pid, 0)
    message = os.read(err_r, 4000)
    os.close(err_r)
    assert os.waitstatus_to_exitcode(status) == 0, message


@pytest.mark.parametrize("where", ["reading", "writing"])
def test_an_export_failing_stops_its_reading_processes_and_leaves_nothing(ex, tmp_path, store_path, monkeypatch,
                                                                          where):
    """The store is read by forked processes (ADBC's own SQLite never shares this process): a
    failure on their side is a clear store error; a failure on ours stops them. Either way no
    file, no part file, no export recorded, no process left behind."""
    from inventory_tools.errors import StoreError
    from inventory_tools.outputs import OutputError
    from inventory_tools.stores import arrow_read
    from inventory_tools.xlsx import rows, writer

    monkeypatch.setattr(writer, "CHUNK_ROWS", 4)  # several chunks, from both reading processes
    if where == "reading":
        def unreadable(*a, **k):
            raise OSError(5, "Input/output error")
        monkeypatch.setattr(arrow_read, "_read", unreadable)  # (the forked copies run this)
    else:
        calls = []

        def failing(*a, **k):
            calls.append(1)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return original(*a, **k)
        original = rows.chunk_xml
        monkeypatch.setattr(writer, "chunk_xml", failing)
    store = open_store(store_path)
    before = store.state.last_export_id()
    target = tmp_path / "inv.xlsx"
    with pytest.raises(StoreError if where == "reading" else OutputError) as err:
        export(store, target)
    assert ("Input/output error" if where == "reading" else "the disk is full") in str(err.value)
    assert not target.exists() and [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert store.state.last_export_id() == before
    assert _no_child_processes()
    store.close()


def test_exported_file_has_normal_permissions(ex, tmp_path):
    out = tmp_path / "inv.xlsx"
    ex("export", out)
    assert out.stat().st_mode & 0o044  # readable by others as any normal file


def test_huge_exports_write_unique_text_inline_and_read_back_the_same(loaded, tmp_path, monkeypatch):
    """Past SST_INLINE_AFTER shared strings, mostly-unique columns are written as inline strings
    (so memory stays flat at a million rows); both readers and a re-import see the same values."""
    from inventory_tools.xlsx import cells

    shared, inline = tmp_path / "shared.xlsx", tmp_path / "inline.xlsx"
    loaded("export", shared)
    monkeypatch.setattr(cells, "SST_INLINE_AFTER", 0)
    loaded("export", inline)
    with zipfile.ZipFile(inline) as z:
        assert b't="inlineStr"' in z.read("xl/worksheets/sheet1.xml")
    read = lambda p: CalamineWorkbook.from_path(str(p)).get_sheet_by_name("Inventory List").to_python()  # noqa
    assert read(inline) == read(shared)
    a = [[c.value for c in r] for r in openpyxl.load_workbook(inline)["Inventory List"].iter_rows()]
    b = [[c.value for c in r] for r in openpyxl.load_workbook(shared)["Inventory List"].iter_rows()]
    assert a == b
    plan = loaded.json("import", inline, "--dry-run")
    assert plan["changes"] == [] and plan["counts"]["unchanged"] == 100


@pytest.mark.parametrize("texts", [
    ["plain", "a & b < c > d", "_x0041_ literal", "cr\r\nlf", "bell\x07", "\ufffe", "", "naïve ☃", "__x12_"],
    ["holds \x01 a control character", "other _x00e9_", "\uffff & _X00E9_ <\r>", "\x00", "_x12G_"],
])
def test_shared_strings_escaped_in_bulk_exactly_as_one_by_one(texts):
    from inventory_tools.xlsx.cells import si_elements
    from inventory_tools.xlsx.xml import xml_text

    expected = "".join(f'<si><t xml:space="preserve">{xml_text(t)}</t></si>' for t in texts)
    assert si_elements(texts) == expected.encode()


def test_results_workbook_from_coded_columns_reads_back_the_same(tmp_path):
    """The results workbook's columns come as validation's categories: same cells as from values."""
    import numpy as np
    import pandas as pd

    from inventory_tools.xlsx import CHUNK_ROWS, CodedColumn, ColumnSpec, XlsxWriter

    n = CHUNK_ROWS + 7  # two chunks
    values = np.array([["", "0", "12.5", "text & <more>", "00123"][i % 5] for i in range(n)], dtype=object)
    codes, categories = pd.factorize(values)
    highlight = {"B": np.arange(n) % 3 == 0}
    specs = [ColumnSpec("A", "text"), ColumnSpec("B", "number", decimals=4)]
    paths = []
    for how in ("values", "coded"):
        path = tmp_path / f"{how}.xlsx"
        writer = XlsxWriter(path, data_sheet="S", specs=specs)
        if how == "values":
            writer.write(pd.DataFrame({"A": values, "B": values}), highlight=highlight)
        else:
            coded = {name: CodedColumn(codes, np.asarray(categories, dtype=object)) for name in ("A", "B")}
            writer.write(pd.DataFrame(index=range(n)), highlight=highlight, coded=coded)
        paths.append(path)
    sheets = [openpyxl.load_workbook(p)["S"] for p in paths]
    cells = [[(c.value, c.data_type, c.style_id) for row in ws.iter_rows() for c in row] for ws in sheets]
    assert cells[0] == cells[1]
    assert sheets[1]["B2"].value is None and sheets[1]["A5"].value == "text & <more>"


# -- the writer's per-value work in Arrow equals the plain Python definitions -----------------
def _texts():
    from hypothesis import strategies as st

    return st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120) |
                    st.sampled_from(["0", "-0.5", "123456789012345", "1234567890123456", "1.5e3", "12.", "_x0041_",
                                     "a\r\nb", "\n", "\ufffe", "&<>", "x" * 500]), max_size=40)


def test_arrow_escaping_line_counts_and_numbers_equal_their_python_definitions():
    import math
    import re

    from hypothesis import given, settings

    from inventory_tools.stores.columnar import json_lines
    from inventory_tools.xlsx import arrowtext as at
    from inventory_tools.xlsx.cells import per_line
    from inventory_tools.xlsx.xml import xml_text

    def lines(t, width):
        return sum(max(1, math.ceil(len(p) / per_line(width))) for p in t.split("\n"))

    def plain(t):
        digits = t.replace("-", "").replace(".", "").lstrip("0")
        return bool(re.fullmatch(r"-?\d{1,15}(\.\d+)?", t)) and len(digits) <= 15

    @settings(max_examples=200, deadline=None)
    @given(_texts())
    def check(texts):
        import json

        values = at.strings(texts)
        assert at.xml_escaped(values).to_pylist() == [xml_text(t) for t in texts]
        assert list(at.line_counts(values, per_line(20))) == [lines(t, 20) for t in texts]
        assert list(at.plain_numbers(values)) == [plain(t) for t in texts]
        back = [v for line in json_lines(values).split(b"\n") if line for v in json.loads(line)]
        assert back == texts
    check()
