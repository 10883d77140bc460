"""reading.read_table: real files written with openpyxl / xlsxwriter / by hand, read back."""
from __future__ import annotations

import codecs
import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from inventory_tools.errors import ExitCode, FileReadError
from inventory_tools.reading import col_index, col_letter, read_table
from tests.helpers.workbooks import ODS_ERROR, ods, ods_number, ods_text, write_wb

SAMPLE = Path(__file__).parent / "data" / "samples" / "dear_inventorylist_export_live_2026-07-03.csv"
HEAD = ["ProductCode", "Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure", "Status"]


def good(code: str) -> list:
    return [code, f"Product {code}", "Pipes", "Stock", "FIFO", "Item", "Active"]


def problems_of(table, rule):
    return [p for p in table.problems if p.rule == rule]


# -- basics -----------------------------------------------------------------------------------
def test_letters_round_trip():
    for i in (0, 25, 26, 51, 52, 95, 701, 702):
        assert col_index(col_letter(i)) == i
    assert col_letter(0) == "A" and col_letter(26) == "AA"


def test_reads_workbook_with_manifest_rows_and_letters(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", HEAD + ["PriceTier1"], [good("00123") + [12.5], good("B2") + ["7"]],
                 manifest={"export_id": "exp-1", "store_id": "sqlite:x", "schema_version": 1,
                           "sheet": "Inventory List"})
    t = read_table(p)
    assert t.kind == "xlsx" and t.sheet == "Inventory List"
    assert t.row_numbers == [2, 3]
    assert t.column_letters["Status"] == "G" and t.column_letters["PriceTier1"] == "H"
    assert t.raw["ProductCode"].tolist() == ["00123", "B2"]
    assert t.raw["PriceTier1"].tolist() == [12.5, "7"]
    assert t.manifest["export_id"] == "exp-1" and t.manifest["schema_version"] == "1"
    assert t.problems == []
    assert t.cell_ref(1, "Status") == "G3"


def test_headers_tolerate_case_spaces_and_order(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["  status ", "NAME", "productcode"], [["active", "N", "X1"]])
    t = read_table(p)
    assert list(t.raw.columns) == ["Status", "Name", "ProductCode"]
    assert t.column_letters == {"Status": "A", "Name": "B", "ProductCode": "C"}
    assert t.problems == []


def test_unknown_header_is_a_warning_and_ignored(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", "My notes"], [["X1", "call supplier"]])
    t = read_table(p)
    [w] = problems_of(t, "header.unknown")
    assert (w.severity, w.cell, w.value) == ("warning", "B1", "My notes")
    assert "My notes" not in t.raw.columns and t.extra_columns == {"My notes": "B"}


@pytest.mark.parametrize("header, intended", [("Catgory", "Category"), ("Product Code", "ProductCode"),
                                              ("Price_Tier_1", "PriceTier1")])
def test_near_miss_header_is_an_error_naming_the_column(tmp_path, header, intended):
    cols_ = ["ProductCode", header] if intended != "ProductCode" else [header, "Name"]
    p = write_wb(tmp_path / "a.xlsx", cols_, [["X1", "Pipes"]])
    t = read_table(p)
    [e] = problems_of(t, "header.near_miss")
    assert e.severity == "error" and e.column == intended
    assert e.cell == ("B1" if intended != "ProductCode" else "A1")
    assert f"did you mean {intended}?" in e.message


def test_missing_product_code_column_is_an_error(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["Name", "Status"], [["N", "Active"]], sheet="Inventory List")
    t = read_table(p)
    [e] = problems_of(t, "header.missing")
    assert e.severity == "error" and e.column == "ProductCode"


def test_duplicate_header_is_an_error(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", "Name", "name"], [["X1", "a", "b"]])
    [e] = problems_of(read_table(p), "header.duplicate")
    assert e.cell == "C1"


def test_empty_rows_and_columns_are_ignored_row_numbers_kept(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Inventory List"
    ws.append(["ProductCode", "Name", None, None])
    ws.append(["A1", "a"])
    ws.append([None, "  "])  # blank row (spaces only)
    ws.append(["A3", "c"])
    for r in range(5, 40):  # formatted but empty trailing rows and columns
        ws.cell(row=r, column=6).number_format = "@"
        ws.cell(row=r, column=1).value = ""
    wb.save(tmp_path / "a.xlsx")
    t = read_table(tmp_path / "a.xlsx")
    assert t.row_numbers == [2, 4]
    assert t.raw["ProductCode"].tolist() == ["A1", "A3"]
    assert t.problems == []


def test_values_under_a_blank_header_are_warned(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", None, "Name"], [["A1", "stray", "a"]])
    [w] = problems_of(read_table(p), "header.blank")
    assert w.cell == "B1" and w.severity == "warning"


# -- data sheet -------------------------------------------------------------------------------
def test_data_sheet_is_inventory_list_among_others(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["Note"], [["x"]], sheet="Instructions",
                 others={"Inventory List": [["ProductCode"], ["Z9"]]})
    t = read_table(p)
    assert t.sheet == "Inventory List" and t.raw["ProductCode"].tolist() == ["Z9"]


def test_data_sheet_named_by_manifest(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode"], [["M1"]], sheet="Products",
                 others={"Other": [["ProductCode"], ["O1"]]}, manifest={"sheet": "Products"})
    assert read_table(p).sheet == "Products"


def test_data_sheet_is_the_one_with_product_code_header(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["Hello"], [["x"]], sheet="Cover",
                 others={"Sheet7": [[None], ["ProductCode", "Name"], ["S1", "n"]]})
    t = read_table(p)
    assert t.sheet == "Sheet7" and t.header_row == 2 and t.row_numbers == [3]


def test_no_data_sheet_names_the_sheets_found(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["Hello"], [["x"]], sheet="Cover", others={"Prices": [["SKU"]]})
    with pytest.raises(FileReadError) as ei:
        read_table(p)
    assert "Cover, Prices" in ei.value.message and "Inventory List" in ei.value.hint
    assert ei.value.exit_code == ExitCode.FAILED


def test_two_candidate_sheets_is_an_error(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode"], [["x"]], sheet="A", others={"B": [["ProductCode"]]})
    with pytest.raises(FileReadError, match="more than one sheet"):
        read_table(p)


# -- formulas and error cells -----------------------------------------------------------------
def test_formula_without_cached_value_is_an_error(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", "Name", "PriceTier1"],
                 [["A1", "ok", 1], ["A2", "=UPPER(\"x\")", "=B2*2"]])
    t = read_table(p)
    found = {(p_.cell, p_.column) for p_ in problems_of(t, "cell.formula_no_value")}
    assert found == {("B3", "Name"), ("C3", "PriceTier1")}
    assert t.cell_flags[(1, "Name")] == "formula_no_value"
    assert t.raw["Name"].tolist() == ["ok", None]


def test_formula_with_cached_value_reads_the_value_and_error_cells_are_found(tmp_path):
    path = tmp_path / "a.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, ["ProductCode", "Name", "PriceTier1"])
    ws.write_string(1, 0, "F1")
    ws.write_formula(1, 1, '=LOWER("ABC")', None, "abc")
    ws.write_formula(1, 2, "=2*3", None, 6)
    ws.write_string(2, 0, "F2")
    ws.write_formula(2, 1, "=VLOOKUP(A3,X:Y,2,0)", None, "#N/A")
    ws.write_formula(2, 2, "=1/0", None, "#DIV/0!")
    wb.close()
    t = read_table(path)
    assert t.raw["Name"].tolist() == ["abc", None]
    assert t.raw["PriceTier1"].tolist() == [6.0, None]
    assert t.cell_flags[(0, "Name")] == "formula"
    errs = {(p_.cell, p_.value) for p_ in problems_of(t, "cell.error")}
    assert errs == {("B3", "#N/A"), ("C3", "#DIV/0!")}
    assert problems_of(t, "cell.formula_no_value") == []


def test_typed_error_text_is_text_in_a_workbook_and_warned_in_csv(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", "Category"], [["A1", "#REF!"]])
    [e] = read_table(p).problems  # openpyxl stores "#REF!" as a real error cell (t="e")
    assert (e.rule, e.cell) == ("cell.error", "B2")
    path = tmp_path / "b.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, ["ProductCode", "Category"])
    ws.write_string(1, 0, "A1")
    ws.write_string(1, 1, "#REF!")  # a text cell that happens to read #REF!
    wb.close()
    t = read_table(path)
    assert t.problems == [] and t.raw["Category"].tolist() == ["#REF!"]
    c = tmp_path / "a.csv"
    c.write_text("ProductCode,Category\nA1,#N/A\n", encoding="utf-8")
    t = read_table(c)
    [w] = t.problems
    assert (w.rule, w.severity, w.cell) == ("cell.error_text", "warning", "record 1 (line 2)")
    assert t.raw["Category"].tolist() == ["#N/A"]


def test_ods_with_repeated_rows_and_an_error_cell(tmp_path):
    rows = (f"<table:table-row>{ods_text('ProductCode')}{ods_text('PriceTier1')}</table:table-row>"
            f"<table:table-row>{ods_text('00123')}{ods_number(2.5)}</table:table-row>"
            '<table:table-row table:number-rows-repeated="2"><table:table-cell table:number-columns-repeated="2"/>'
            "</table:table-row>"
            f"<table:table-row>{ods_number(42)}{ODS_ERROR}</table:table-row>"
            '<table:table-row table:number-rows-repeated="1048570"><table:table-cell/></table:table-row>')
    t = read_table(ods(tmp_path / "a.ods", rows))
    assert t.kind == "ods" and t.row_numbers == [2, 5]
    assert t.raw["ProductCode"].tolist() == ["00123", 42.0]
    [e] = problems_of(t, "cell.error")
    assert (e.cell, e.value, e.column) == ("B5", "#N/A", "PriceTier1")


# -- CSV --------------------------------------------------------------------------------------
def test_cin7_sample_reads_cleanly_with_records_and_lines():
    t = read_table(SAMPLE)
    assert t.kind == "csv" and t.sheet is None and len(t.raw) == 100 and len(t.raw.columns) == 96
    assert t.problems == []
    assert t.row_numbers[:3] == [1, 2, 3]
    assert t.line_numbers[0] == 2
    # the sample has records spanning lines: later records start on later lines than record+1
    assert t.line_numbers[-1] > t.row_numbers[-1] + 1


def test_csv_record_spanning_lines_reports_record_and_line(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('ProductCode,Description,Status\nA1,"two\nlines",Active\nA2,x,Actvie\n', encoding="utf-8")
    t = read_table(p)
    assert t.row_numbers == [1, 2] and t.line_numbers == [2, 4]
    assert t.cell_ref(1, "Status") == "record 2 (line 4)"
    assert t.raw["Description"].tolist() == ["two\nlines", "x"]


@pytest.mark.parametrize("enc, bom", [("utf-8", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16", b"")])
def test_csv_utf8_with_and_without_bom_and_utf16(tmp_path, enc, bom):
    p = tmp_path / "a.csv"
    p.write_bytes(bom + "ProductCode,Name\nC1,Café ✓\n".encode(enc))  # utf-16 codec writes its BOM
    t = read_table(p)
    assert t.raw["Name"].tolist() == ["Café ✓"] and t.problems == []
    assert t.raw.columns[0] == "ProductCode"


def test_csv_windows_1252_is_read_with_a_warning(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("ProductCode,Name\nC1,Café – 5€\n".encode("cp1252"))
    t = read_table(p)
    assert t.raw["Name"].tolist() == ["Café – 5€"]
    [w] = problems_of(t, "encoding.windows_1252")
    assert w.severity == "warning"


def test_csv_utf16_without_bom_is_a_clear_error(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes("ProductCode,Name\nC1,x\n".encode("utf-16-le"))
    with pytest.raises(FileReadError, match="UTF-16") as ei:
        read_table(p)
    assert "CSV UTF-8" in ei.value.hint


# -- unreadable files -------------------------------------------------------------------------
def test_empty_file(tmp_path):
    for name in ("e.xlsx", "e.csv"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(FileReadError, match="empty"):
            read_table(tmp_path / name)


def test_text_named_xlsx_is_not_a_workbook(tmp_path):
    (tmp_path / "a.xlsx").write_text("ProductCode,Name\n")
    with pytest.raises(FileReadError, match="not an Excel") as ei:
        read_table(tmp_path / "a.xlsx")
    assert ".csv" in ei.value.hint


def test_truncated_workbook(tmp_path):
    good_ = write_wb(tmp_path / "g.xlsx", HEAD, [good(f"T{i}") for i in range(50)])
    data = good_.read_bytes()
    (tmp_path / "t.xlsx").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileReadError, match="damaged or incomplete") as ei:
        read_table(tmp_path / "t.xlsx")
    assert "again" in ei.value.hint


def test_corrupt_sheet_inside_zip(tmp_path):
    src = write_wb(tmp_path / "g.xlsx", HEAD, [good("C1")])
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp_path / "c.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # cut the XML in half
            zout.writestr(item, data)
    with pytest.raises(FileReadError, match="damaged"):
        read_table(tmp_path / "c.xlsx")


def _flip(path: Path, member: str, at: float) -> None:
    """Damage ``member``'s stored bytes at fraction ``at`` of them (its zip entry left as it was)."""
    from inventory_tools.reading.inflate import data_offset

    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "r+b") as f:
        start = data_offset(f, info) + int(info.compress_size * at)
        f.seek(start)
        block = f.read(8)
        f.seek(start)
        f.write(bytes(b ^ 0x5A for b in block))


@pytest.mark.parametrize("reader", ["fastexcel", "python-calamine"])
@pytest.mark.parametrize("member, at", [("xl/worksheets/sheet1.xml", 0.0), ("xl/worksheets/sheet1.xml", 0.5),
                                        ("xl/sharedStrings.xml", 0.0)])
def test_a_member_damaged_anywhere_is_the_damaged_error_for_either_reader(tmp_path, monkeypatch, reader, member, at):
    """Deflate streams broken at their start (read first, for the header and its strings) or in
    the middle: the same clear error whichever reader the file's size picks, never a traceback."""
    from inventory_tools.reading import workbook

    monkeypatch.setattr(workbook, "SMALL_WORKBOOK_BYTES", 0 if reader == "fastexcel" else 1 << 40)
    path = tmp_path / "d.xlsx"
    wb = xlsxwriter.Workbook(str(path))  # shared strings, as Excel writes them
    ws = wb.add_worksheet("Inventory List")
    for r, row in enumerate([HEAD] + [good(f"D{i}") + [f"note {i} " * 5] for i in range(3000)]):
        ws.write_row(r, 0, row)
    wb.close()
    _flip(path, member, at)
    with pytest.raises(FileReadError, match="damaged or incomplete"):
        read_table(path)


@pytest.mark.parametrize("reader", ["fastexcel", "python-calamine"])
def test_a_workbook_that_needs_a_copy_and_is_damaged_in_it_is_the_damaged_error(tmp_path, monkeypatch, reader):
    """A sheet state python-calamine refuses makes us copy the package for it; a part of that
    copy with a broken local header is the damaged error (it escaped as CannotCopy)."""
    from inventory_tools.reading import workbook

    monkeypatch.setattr(workbook, "SMALL_WORKBOOK_BYTES", 0 if reader == "fastexcel" else 1 << 40)
    src = write_wb(tmp_path / "g.xlsx", HEAD, [good(f"C{i}") for i in range(20)])
    path = tmp_path / "odd.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b'state="visible"', b'state="hide"')  # a state python-calamine refuses
            zout.writestr(item.filename, data)
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo("docProps/core.xml").header_offset  # a part only the copy reads
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b"XX")  # its local header's signature
    with pytest.raises(FileReadError, match="damaged or incomplete"):
        read_table(path)


def test_old_xls_says_how_to_resave(tmp_path):
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    with pytest.raises(FileReadError, match="97-2003") as ei:
        read_table(tmp_path / "old.xls")
    assert "Save As" in ei.value.hint and ".xlsx" in ei.value.hint


def test_password_protected_workbook(tmp_path):
    # An encrypted .xlsx is an OLE2 container holding EncryptionInfo + EncryptedPackage streams.
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le") \
        + b"\x00" * 50 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 512
    (tmp_path / "secret.xlsx").write_bytes(body)
    with pytest.raises(FileReadError, match="password-protected") as ei:
        read_table(tmp_path / "secret.xlsx")
    assert "password" in ei.value.hint


def test_missing_file(tmp_path):
    with pytest.raises(FileReadError, match="no such file"):
        read_table(tmp_path / "nope.xlsx")


def test_dates_and_numbers_come_back_as_the_reader_gave_them(tmp_path):
    p = write_wb(tmp_path / "a.xlsx", ["ProductCode", "Barcode", "PriceTier1", "Sellable"],
                 [[123.0, dt.datetime(2024, 3, 1), "12.50", True]])
    t = read_table(p)
    row = t.raw.iloc[0].tolist()
    assert row[0] == 123.0 and isinstance(row[1], (dt.date, dt.datetime)) and row[2] == "12.50" and row[3] is True


def test_formula_scan_handles_namespace_prefixed_sheet_xml(tmp_path):
    # Some generators (.NET Open XML SDK) write <x:c><x:f>…; the scan must still find the cell.
    import re

    src = write_wb(tmp_path / "p0.xlsx", ["ProductCode", "Name"], [["A", "=1+1"], ["B", "ok"]])
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp_path / "p1.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b'<worksheet xmlns="', b'<x:worksheet xmlns:x="')
                data = re.sub(rb"<(/?)(?!x:worksheet)([a-zA-Z]+)([\s>/])", rb"<\1x:\2\3", data)
                assert b"<x:f>" in data
            zout.writestr(item, data)
    t = read_table(tmp_path / "p1.xlsx")
    [p] = t.problems
    assert (p.rule, p.cell, p.value) == ("cell.formula_no_value", "B2", "=1+1")
    assert t.raw["Name"].tolist() == [None, "ok"]


# -- CSV is split exactly, or refused at the line ----------------------------------------------
@pytest.mark.parametrize("text, line, words", [
    ('ProductCode,Name,Status\nA,Apple,Active\nB,"Banana,Active\nC,Cherry,Active\nD,Date,Active\n', 3,
     "a quoted value that starts in this record is never closed"),
    ('ProductCode,Name,Status\nA,"Apple"s,Active\nB,Banana,Active\n', 2,
     "a quoted value is followed by more text"),
    ('ProductCode,Name,PriceTier1\nA,Apple,1\nB,Banana,1,50\nC,Cherry,2\n', 3,
     "line 3 (record 2) has 4 fields but the header has 3"),
])
def test_csv_that_cannot_be_split_exactly_is_refused_at_its_line(tmp_path, text, line, words):
    p = tmp_path / "a.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(FileReadError) as ei:
        read_table(p)
    assert f"line {line}" in ei.value.message and words in ei.value.message
    assert ei.value.exit_code == ExitCode.FAILED and ei.value.hint


def test_csv_short_records_and_trailing_empty_fields_are_read(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text('ProductCode,Name,Status\nA,Apple\nB,"Ban\n""ana""",Active,,\n', encoding="utf-8")
    t = read_table(p)
    assert t.raw["Name"].tolist() == ["Apple", 'Ban\n"ana"'] and t.raw["Status"].tolist() == [None, "Active"]
    assert t.cell_ref(1, "Name") == "record 2 (line 3)"


# -- workbooks are found through their relationships, whatever their part names ---------------
def _corpus():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "data" / "bad" / "make_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


ROWS = [["ProductCode", "Name", "PriceTier1", "Status"], ["P-1", "Widget", 2.5, "Active"],
        ["P-2", None, 3.0, "Active"]]


@pytest.mark.parametrize("layout", [
    {"folder": ""},  # parts at the package root (calamine's minimal_package.xlsx)
    {"backslashes": True},  # zip names written as Windows paths (calamine's issue_530.xlsx)
    {"main": "book.xml"},  # a workbook part not named workbook.xml
    {"strict": True},  # Strict OOXML namespaces
    {"macro_sheet": True},  # an Excel 4.0 macro sheet beside the data
    {"state": "show"},  # a sheet state some writers use and Excel tolerates
    {"shared_strings": "strings/table.xml"},  # the shared strings under another name
], ids=["root", "backslashes", "renamed", "strict", "macro-sheet", "state-show", "strings-elsewhere"])
def test_genuine_workbooks_are_read_through_their_relationships(tmp_path, layout):
    path = tmp_path / "odd.xlsx"
    path.write_bytes(_corpus().package(ROWS, formulas={"B3": 'UPPER("gadget")'}, **layout))
    t = read_table(path)
    assert t.sheet == "Inventory List" and t.raw["ProductCode"].tolist() == ["P-1", "P-2"]
    assert t.raw["PriceTier1"].tolist() == [2.5, 3.0]
    # the formula scan found the sheet's part too: the formula without a value is at its cell
    assert [(p.rule, p.cell) for p in t.problems] == [("cell.formula_no_value", "B3")]


def test_reader_texts_never_reach_the_user(tmp_path):
    mc = _corpus()
    with zipfile.ZipFile(__import__("io").BytesIO(mc.package(ROWS))) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/data.xml"]
    parts["xl/worksheets/data.xml"] = sheet[:sheet.index(b'<c r="B2"') + 30]  # cut inside a tag
    (tmp_path / "broken.xlsx").write_bytes(mc._zip(parts))
    with pytest.raises(FileReadError) as ei:
        read_table(tmp_path / "broken.xlsx")
    assert ei.value.message == "the workbook is damaged or incomplete and cannot be read (a part of it is not " \
                               "well-formed XML)"


# -- formula cells: the saved value is read, and said so per cell ------------------------------
def test_formula_cells_are_warned_per_cell_in_xlsx_and_ods(tmp_path):
    path = tmp_path / "f.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, ["ProductCode", "Name", "PriceTier1"])
    ws.write_row(1, 0, ["F1", "plain", 1])
    ws.write_string(2, 0, "F2")
    ws.write_formula(2, 1, '=LOWER("ABC")', None, "abc")
    ws.write_formula(2, 2, "=2*3", None, 6)
    wb.close()
    t = read_table(path)
    warned = [(p.cell, p.severity, p.value, p.message) for p in problems_of(t, "cell.formula")]
    assert warned == [("B3", "warning", "abc", 'Name is a formula (=LOWER("ABC")): its saved value is what is read '
                                               "and imported"),
                      ("C3", "warning", 6.0, "PriceTier1 is a formula (=2*3): its saved value is what is read and "
                                             "imported")]
    formula = ('<table:table-cell table:formula="of:=[.B2]*2" office:value-type="float" office:value="5">'
               "<text:p>5</text:p></table:table-cell>")
    rows = (f"<table:table-row>{ods_text('ProductCode')}{ods_text('PriceTier1')}</table:table-row>"
            f"<table:table-row>{ods_text('A')}{formula}</table:table-row>")
    t = read_table(ods(tmp_path / "f.ods", rows))
    assert [(p.rule, p.cell, p.value) for p in t.problems] == [("cell.formula", "B2", 5.0)]
