"""The fastexcel reader (reading/fast.py): real workbooks written by openpyxl, xlsxwriter, by hand
and by our export, read back both ways; the fastexcel reading must equal python-calamine's value
for value and type for type, or say why it left the file to python-calamine."""
from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
import xlsxwriter

from inventory_tools.reading import read_table, workbook
from inventory_tools.reading.compare import same_tables
from inventory_tools.reading.sst import MARK, entities, item_text, mark_strings, strings_at
from inventory_tools.reading.styles import is_date_format
from inventory_tools.reading.workbook import read_calamine
from inventory_tools.reading.zipcopy import package_copy, remove
from tests.helpers.workbooks import write_wb

HEAD = ["ProductCode", "Name", "Category", "Barcode", "PriceTier1", "Sellable", "Status"]


@pytest.fixture(autouse=True)
def _fastexcel_for_small_files_too(monkeypatch):
    """The files here are small: python-calamine would read them (quicker below a few MB)."""
    monkeypatch.setattr(workbook, "SMALL_WORKBOOK_BYTES", 0)


def both(path: Path, expect: str = "fastexcel"):
    """The file read by the default reader (which must be ``expect``) and compared with python-calamine."""
    fast = read_table(path)
    assert fast.reader.startswith(expect), fast.reader
    slow = read_calamine(Path(path), "xlsx", None)[0]
    same_tables(fast, slow)
    return fast


def xw(path: Path, rows: list[list], *, options: dict | None = None, sheet: str = "Inventory List",
       fmt: dict | None = None) -> Path:
    """Rows written by xlsxwriter with shared strings (its default), each value as its own type."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False, **(options or {})})
    ws = wb.add_worksheet(sheet)
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, date)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            elif isinstance(v, bool):
                ws.write_boolean(r, c, v)
            else:
                ws.write_number(r, c, v)
    wb.close()
    return path


def ox(path: Path, rows: list[list]) -> Path:
    """Rows written by openpyxl (inline strings, ``t="n"`` numbers)."""
    return write_wb(path, rows[0], rows[1:])


TEXTS = ["00123", "B-2", "  padded  ", "nbsp\u00a0", "line\nbreak", "x_x000D_y", "é😀", "12.5", "true",
         "2024-01-02 00:00:00", "1.23457E+12", "4006381333931", "=not a formula", MARK + "marked", " ", ""]


# -- clean files: read by fastexcel, equal to python-calamine ---------------------------------------
@pytest.mark.parametrize("writer", [xw, ox], ids=["shared-strings", "inline-strings"])
def test_text_and_numbers_read_exactly(tmp_path, writer):
    rows = [HEAD] + [[f"C{i}", t, "Pipes", t, 0.1 * i if i % 3 else 0.30000000000000004, "Yes", "Active"]
                     for i, t in enumerate(TEXTS)]
    rows.append(["C-big", "n", "c", "b", 123456789.123456789, "No", "Active"])
    rows.append(["C-tiny", "n", "c", "b", 1e-11, "No", "Active"])
    t = both(writer(tmp_path / "a.xlsx", rows))
    assert t.raw["Name"].tolist()[:3] == ["00123", "B-2", "  padded  "]
    assert t.raw["PriceTier1"].tolist()[-1] == 1e-11  # not fastexcel's nine places as text


def test_header_below_a_title_blank_rows_and_columns_extra_columns(tmp_path):
    rows = [[None, "Inventory for 2026"], [], [None, *HEAD, None, "My notes"],
            [None, "A1", "Apple", None, None, 1.5, "Yes", "Active", "under header-less", "note"],
            [], [None, None, None, None, None, None, None, None, None, "only a note"],
            [None, "A2", "Pear", None, None, 2, "No", "Active"]]
    t = both(xw(tmp_path / "a.xlsx", rows))
    assert t.header_row == 3 and t.row_numbers == [4, 6, 7]
    assert t.column_letters["ProductCode"] == "B"
    assert {p.rule for p in t.problems} == {"header.blank", "header.unknown"}


def test_booleans_formulas_and_error_cells_in_text_and_number_columns(tmp_path):
    path = tmp_path / "a.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    ws.write_row(0, 0, HEAD)
    ws.write_row(1, 0, ["F1", "n", "c", "b"])
    ws.write_formula(1, 1, '=LOWER("ABC")', None, "abc")
    ws.write_formula(1, 4, "=2*3", None, 6)
    ws.write_boolean(1, 5, True)
    ws.write_row(2, 0, ["F2", "m", "c", "b"])
    ws.write_formula(2, 2, "=VLOOKUP(A3,X:Y,2,0)", None, "#N/A")
    ws.write_formula(2, 4, "=1/0", None, "#DIV/0!")
    ws.write_boolean(2, 5, False)
    wb.close()
    t = both(path)
    assert t.raw["Sellable"].tolist() == [True, False]
    assert t.raw["PriceTier1"].tolist() == [6.0, None]
    assert {p.rule for p in t.problems} == {"cell.formula", "cell.error"}
    # formulas openpyxl writes have no saved value: empty, and said so
    t = both(ox(tmp_path / "b.xlsx", [HEAD, ["A1", "ok", "c", "b", 1, "Yes", "Active"],
                                       ["A2", '=UPPER("x")', "c", "b", "=E2*2", "Yes", "Active"]]))
    assert [(p.rule, p.cell) for p in t.problems] == [("cell.formula_no_value", "B3"), ("cell.formula_no_value", "E3")]


def test_merged_cells_and_hidden_rows(tmp_path):
    path = ox(tmp_path / "a.xlsx", [HEAD] + [[f"P{i}", "n", "c", "", 1, "Yes", "Active"] for i in range(5)])
    wb = openpyxl.load_workbook(path)
    ws = wb.active
    ws.merge_cells("C2:C4")
    ws.row_dimensions[5].hidden = True
    wb.save(path)
    t = both(path)
    assert [p.rule for p in t.problems] == ["cell.merged", "row.hidden"]


def test_our_own_export_is_read_by_fastexcel(run, tmp_path):
    from tests.helpers import EXAMPLES

    run("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", str(tmp_path / "load.xlsx"))
    run("export", str(tmp_path / "out.xlsx"))
    t = both(tmp_path / "out.xlsx")
    assert t.manifest and t.manifest["sheet"] == "Inventory List" and len(t.raw) == 12


def test_namespace_prefixed_sheet_and_shared_strings(tmp_path):
    src = xw(tmp_path / "p0.xlsx", [HEAD, ["A", "Apple", "c", "0123", 2.5, "Yes", "Active"]])
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp_path / "p1.xlsx", "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                root = b"worksheet" if "sheet1" in item.filename else b"sst"
                data = data.replace(b"<" + root + b' xmlns="', b"<x:" + root + b' xmlns:x="')
                data = re.sub(rb"<(/?)(?!x:" + root + rb")([a-zA-Z]+)([\s>/])", rb"<\1x:\2\3", data)
            zout.writestr(item, data)
    t = both(tmp_path / "p1.xlsx")
    assert t.raw["Barcode"].tolist() == ["0123"]


# -- what fastexcel cannot say exactly is left to python-calamine ------------------------------------
@pytest.mark.parametrize("row", [
    ["123", "n", "c", 4006381333931.0, 1, "Yes", "Active"],  # a barcode typed as a number
    [123.0, "n", "c", "b", 1, "Yes", "Active"],  # a code typed as a number
    ["A", "n", "c", "b", "12.50", "Yes", "Active"],  # a price typed as text
    ["A", "n", "c", "b", "n/a", "Yes", "Active"],
    ["A", 0.30000000000000004, "c", 1.0000000001, "  ", "Yes", "Active"],
], ids=["number-in-barcode", "number-in-code", "text-in-decimal", "words-in-decimal", "float-noise-in-text"])
def test_numbers_in_text_columns_and_text_in_number_columns_are_read_again_those_columns(tmp_path, row):
    t = both(xw(tmp_path / "a.xlsx", [HEAD, ["A0", "n", "c", "b", 1, "Yes", "Active"], row]),
             expect="fastexcel (some columns read twice)")
    assert len(t.raw) == 2


@pytest.mark.parametrize("row, why", [
    (["A", "n", "c", dt.datetime(2024, 3, 1), 1, "Yes", "Active"], "a date in a text column"),
    (["A", "n", "c", "b", True, "Yes", "Active"], "a boolean, date or formula text in a number column"),
    (["A", "n", "c", "b", dt.datetime(2024, 3, 1), "Yes", "Active"], "number cells not all read as numbers"),
    (["A", "n", "c", "b", 1, 1.0, "Active"], "booleans and the numbers 0 or 1 in one column"),
], ids=["date-in-code", "bool-in-decimal", "date-in-decimal", "bool-and-one"])
def test_what_fastexcel_cannot_say_exactly_is_read_by_python_calamine(tmp_path, row, why):
    rows = [HEAD, ["A0", "n", "c", "b", 1, True, "Active"], row]
    t = both(xw(tmp_path / "a.xlsx", rows), expect=f"python-calamine ({why})")
    assert len(t.raw) == 2


@pytest.mark.parametrize("number", [False, True], ids=["inline-only", "and-a-number"])
def test_inline_strings_that_look_like_numbers_are_told_from_numbers(tmp_path, number):
    # shared strings in the first rows, inline strings (digits) further down, as a big export of
    # ours writes them: those columns are read again (as booleans: a text never gives one); a
    # number cell among them sends the sheet to a copy with the inline strings marked
    path = xw(tmp_path / "a.xlsx", [HEAD] + [[f"S{i}", "n", "c", "", 1, "Yes", "Active"] for i in range(2000)])
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"]  # (well beyond the first rows, read before the rest)
    row = b'<row r="3000"><c r="A3000" t="inlineStr"><is><t>12345</t></is></c><c r="D3000" t="inlineStr"><is><t>' \
          b'4006381333931</t></is></c></row>'
    if number:
        row += b'<row r="3001"><c r="A3001" t="inlineStr"><is><t>C31</t></is></c><c r="D3001"><v>4006381333931</v>' \
               b'</c></row>'
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(b"</sheetData>", row + b"</sheetData>")
    with zipfile.ZipFile(tmp_path / "b.xlsx", "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    t = both(tmp_path / "b.xlsx", expect="fastexcel (some columns read twice)")
    assert t.raw["ProductCode"].tolist()[2000] == "12345" and t.raw["Barcode"].tolist()[2000] == "4006381333931"
    if number:
        assert t.raw["Barcode"].tolist()[2001] == 4006381333931.0


def test_data_sheet_found_by_its_header_is_left_to_python_calamine(tmp_path):
    both(xw(tmp_path / "a.xlsx", [HEAD, ["A", "n", "c", "b", 1, "Yes", "Active"]], sheet="Products"),
         expect="python-calamine (the data sheet is found by its header)")


def test_workbooks_laid_out_unlike_excels_are_read_exactly():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", Path(__file__).parent / "data" / "bad" /
                                                  "make_corpus.py")
    mc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mc)
    for name, data in mc.odd_packages().items():
        path = Path(pytest.importorskip("tempfile").mkdtemp()) / name
        path.write_bytes(data)
        fast = read_table(path)
        same_tables(fast, read_calamine(path, "xlsx", None)[0])


# -- the pieces ---------------------------------------------------------------------------------------
def test_marking_shared_strings_keeps_every_text_and_skips_empty_items():
    data = (b'<sst><si><t>A</t></si><si/><si><r><t xml:space="preserve"> b </t></r><r><t> c </t></r>'
            b'<rPh><t>zz</t></rPh></si><x:si><x:t>p</x:t></x:si></sst>')
    marked, n = mark_strings(data)
    assert n == 3 and marked.count(MARK.encode()) == 3
    assert b"<x:si><x:t>" + MARK.encode() + b"</x:t>" in marked
    assert mark_strings(b"<sst><si><t><![CDATA[<si>]]></t></si></sst>") is None
    plain = b"<sst><si><t>A</t></si><si/><si><t>id:si 7</t></si><si><t>C</t></si></sst>"  # ':si' in a text
    marked, n = mark_strings(plain)
    assert n == 3 and marked == plain.replace(b"<si>", b"<si><t>" + MARK.encode() + b"</t>")
    assert mark_strings(plain.replace(b"id:si", b"id")) == (marked.replace(b"id:si", b"id"), 3)  # the bulk replace
    assert item_text(b'<r><t xml:space="preserve"> b </t></r><r><t> c </t></r><rPh><t>zz</t></rPh>') == " b c"
    assert item_text(b"<t>x&amp;_x000D_&#65;</t>") == "x&\rA"


@pytest.mark.parametrize("xml, text", [
    ("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;", "a <b> & \"c\" 'd'"),
    ("&#65;&#x42;&#X43;", "AB&#X43;"),  # (XML's hex reference is a lowercase x)
    ("&amp;lt; &#38;lt; &amp;#65;", "&lt; &lt; &#65;"),  # one pass, as an XML parser reads it
    ("&#0; &#x110000; &nbsp; & alone", "&#0; &#x110000; &nbsp; & alone"),  # no character: as written
])
def test_references_in_sheet_xml_are_decoded_once(xml, text):
    assert entities(xml) == text


def test_shared_strings_are_read_by_index_as_far_as_needed(tmp_path):
    items = b"".join(b"<si><t>s%d</t></si>" % i for i in range(50_000))
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sst.xml", b"<sst>" + items[:100] + b"<si/>" + items[100:] + b"</sst>")
    with zipfile.ZipFile(path) as z:
        got = strings_at(z, "sst.xml", {0, 7, 49_999})
    assert got == {0: "s0", 7: "s7", 49_999: "s49999"}


@pytest.mark.parametrize("form", ["plain", "prefixed"])
def test_shared_strings_at_any_indexes_across_blocks_and_chunks(tmp_path, form):
    """Items found by counting start tags (64 KB blocks, 4 MB chunks) are the items the pattern finds."""
    rng = np.random.default_rng(7)
    texts = [f"t{i}-" + "x" * int(rng.integers(0, 80)) for i in range(150_000)]  # about 7 MB: two chunks
    si, end = ("<si>", "</si>") if form == "plain" else ("<x:si>", "</x:si>")
    parts = []
    for i, t in enumerate(texts):
        parts.append(f"{si}<t>{t}</t>{end}" if form == "plain" else f"{si}<x:t>{t}</x:t>{end}")
        if i % 9_999 == 0:
            parts.append("<si/>")  # skipped: not an item
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("sst.xml", "<sst>" + "".join(parts) + "</sst>")
    wanted = {0, 1, 2, 149_999, *rng.integers(0, 150_000, 300).tolist()}
    wanted |= {i + d for i in range(1_000, 150_000, 37_123) for d in (0, 1)}  # neighbours
    with zipfile.ZipFile(path) as z:
        assert strings_at(z, "sst.xml", wanted) == {i: texts[i] for i in wanted}


def test_package_copy_copies_members_as_stored_and_replaces_others(tmp_path):
    src = tmp_path / "a.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("keep.xml", b"k" * 100_000)
        z.writestr("swap.xml", b"old")
        z.writestr("gone.xml", b"x")
    copy = package_copy(src, replace={"swap.xml": b"new", "keep.xml": lambda write: write(b"streamed")},
                        rename={"swap.xml": "renamed.xml"}, drop=frozenset({"gone.xml"}))
    try:
        with zipfile.ZipFile(copy) as z:
            assert z.testzip() is None
            assert z.read("keep.xml") == b"streamed" and z.read("renamed.xml") == b"new"
            assert z.namelist() == ["keep.xml", "renamed.xml"]
        copy2 = package_copy(src)
        with zipfile.ZipFile(copy2) as z:
            info = z.getinfo("keep.xml")
            assert z.read("keep.xml") == b"k" * 100_000 and info.compress_size < 1000  # copied compressed
        remove(copy2)
    finally:
        remove(copy)


@pytest.mark.parametrize("code, date", [("yyyy-mm-dd", True), ("0.0000", False), ("[Red]0.00", False),
                                        ('0.00 "days"', False), ("[h]:mm", True), ("h:mm AM/PM", True),
                                        ("General", False), ("@", False), ("0;[Red]-0;d", False)])
def test_date_formats_are_recognised(code, date):
    assert is_date_format(code) is date


def test_text_columns_cost_a_python_object_per_distinct_value_not_per_cell(tmp_path):
    rows = [HEAD] + [[f"P{i}", "Same name", "Pipes", "", 0.0, "Yes", "Active"] for i in range(3000)]
    t = both(xw(tmp_path / "a.xlsx", rows))
    codes, uniques = t.factors["Name"]
    assert len(uniques) == 1 and len(codes) == 3000 and codes.dtype == np.int32
    assert len(t.factors["PriceTier1"][1]) == 1 and type(t.factors["PriceTier1"][1][0]) is float


def test_long_texts_are_converted_a_few_megabytes_at_a_time(tmp_path, monkeypatch):
    import inventory_tools.reading.arrowcols as arrowcols

    rows = [HEAD] + [[f"P{i}", ("long " * 50) + str(i % 7), "Pipes", "", float(i % 3), "Yes", "Active"]
                     for i in range(2000)]
    path = xw(tmp_path / "a.xlsx", rows)
    whole = read_table(path)
    monkeypatch.setattr(arrowcols, "_SLICE_BYTES", 4096)  # ~16 rows of Name per slice
    sliced = both(path)
    assert len(sliced.factors["Name"][1]) == 7
    assert sliced.raw["Name"].tolist() == whole.raw["Name"].tolist()


def test_two_readings_that_differ_are_reported(tmp_path):
    from inventory_tools.reading.compare import ReadersDiffer

    a = read_table(xw(tmp_path / "a.xlsx", [HEAD, ["A", "n", "c", "b", 1, "Yes", "Active"]]))
    b = read_table(xw(tmp_path / "b.xlsx", [HEAD, ["A", "n", "c", "b", 1.5, "Yes", "Active"]]))
    with pytest.raises(ReadersDiffer, match="PriceTier1 row 2: 1.0 != 1.5"):
        same_tables(a, b)


def test_small_workbooks_are_read_by_python_calamine(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "SMALL_WORKBOOK_BYTES", 4 << 20)
    monkeypatch.delenv(workbook.CHECK_ENV, raising=False)
    t = read_table(xw(tmp_path / "a.xlsx", [HEAD, ["A", "n", "c", "b", 1, "Yes", "Active"]]))
    assert t.reader == "python-calamine"
