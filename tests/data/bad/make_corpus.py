"""Build the bad-input corpus: files people (and attackers) hand to inventory-tools.

    python tests/data/bad/make_corpus.py OUT_DIR

Each entry is (file name, how to build it); tests/test_bad_input.py holds the exact message and
exit code expected for each. Nothing is committed but this script: some files are large.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "inventory-list.csv"


def good_workbook(out: Path, store_path: Path | None = None) -> Path:
    """A genuine export of the example data (the base for most corruptions)."""
    from inventory_tools.exporting import export
    from inventory_tools.importing import import_file
    from inventory_tools.stores import open_store

    store = open_store(store_path or out.parent / ".corpus-store.db")
    if not store.read_products().shape[0]:
        import_file(store, str(EXAMPLE), results=str(out.parent / ".corpus-load.xlsx"))
    export(store, out)
    store.close()
    return out


def build(out_dir: Path, store_path: Path | None = None) -> dict[str, Path]:
    """Write the corpus; workbooks are exported from ``store_path`` (a store holding the examples)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    good = good_workbook(out_dir / "good.xlsx", store_path)
    data = good.read_bytes()
    files: dict[str, Path] = {}

    def put(name: str, content: bytes) -> None:
        (out_dir / name).write_bytes(content)
        files[name] = out_dir / name

    put("not-a-zip.xlsx", b"ProductCode,Name\r\nA,B\r\n but named .xlsx")
    put("truncated.xlsx", data[: len(data) // 2])
    put("empty.xlsx", b"")
    put("empty.csv", b"")
    put("utf16.csv", EXAMPLE.read_text(encoding="utf-8").encode("utf-16"))
    put("word.docx", _zip({"word/document.xml": b"<document/>", "[Content_Types].xml": b"<Types/>"}))
    put("zip-bomb.xlsx", _zip_bomb())

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Shopping list", "Qty"])
    wb.active.append(["Milk", 2])
    wb.create_sheet("Summary").append(["Total", 2])
    wb.save(out_dir / "no-inventory-sheet.xlsx")
    files["no-inventory-sheet.xlsx"] = out_dir / "no-inventory-sheet.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.delete_rows(2, ws.max_row)
    wb.save(out_dir / "header-only.xlsx")
    files["header-only.xlsx"] = out_dir / "header-only.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.cell(row=1, column=ws.max_column + 1, value="Name")
    wb.save(out_dir / "duplicate-headers.xlsx")
    files["duplicate-headers.xlsx"] = out_dir / "duplicate-headers.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.merge_cells("C2:C4")  # Category of three products merged into one cell
    wb.save(out_dir / "merged-cells.xlsx")
    files["merged-cells.xlsx"] = out_dir / "merged-cells.xlsx"

    wb = openpyxl.load_workbook(good)
    wb["Inventory List"].row_dimensions[3].hidden = True
    wb["Inventory List"]["AB3"] = 99  # an edit in a row the manager cannot see
    wb.save(out_dir / "hidden-rows.xlsx")
    files["hidden-rows.xlsx"] = out_dir / "hidden-rows.xlsx"

    put("formatted-empty-rows.xlsx", _formatted_empty_rows(good))
    put("xxe.xlsx", _with_sheet_prefix(good, '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"))
    laughs = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    put("billion-laughs.xlsx", _with_sheet_prefix(good, f'<!DOCTYPE x [<!ENTITY l0 "ha">{laughs}]>', "&l9;"))

    for name, content in foreign_files().items():  # what people hand us that is not ours to read
        put(name, content)
    for name, content in odd_packages().items():  # genuine workbooks built unlike Excel's
        put(name, content)
    put("unclosed-quote.csv", b'ProductCode,Name,Status\r\nQ1,"Quoted name,Active\r\nQ2,Other,Active\r\n'
                              b'Q3,Third,Active\r\n')
    put("extra-fields.csv", b"ProductCode,Name,PriceTier1,Status\r\nE1,Nuts,1.5,Active\r\n"
                            b"E2,Bolts,1,25,Active\r\nE3,Pins,2,Active\r\n")

    encrypted = _encrypted(good)
    if encrypted:
        put("password.xlsx", encrypted)
    soffice = shutil.which("soffice")
    if soffice:
        subprocess.run([soffice, f"-env:UserInstallation=file://{out_dir}/.lo", "--headless", "--convert-to",
                        "xls", "--outdir", str(out_dir), str(good)], check=True, capture_output=True, timeout=180)
        (out_dir / "good.xls").rename(out_dir / "old-format.xls")
        files["old-format.xls"] = out_dir / "old-format.xls"
    return files


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A 'workbook' whose sheet inflates 1000-fold: 256 MB of zeros in 250 kB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"0" * (1 << 22)
            for _ in range(64):
                f.write(block)
    return buf.getvalue()


def _rewrite(good: Path, fn) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, fn(info.filename, content))
    return buf.getvalue()


def _formatted_empty_rows(good: Path) -> bytes:
    """Every one of Excel's 1,048,576 rows formatted, and empty, below the data."""
    def fn(name, content):
        if name != "xl/worksheets/sheet1.xml":
            return content
        text = content.decode("utf-8")
        head, tail = text.split("</sheetData>", 1)
        start = head.count("<row ") + 1
        rows = "".join(f'<row r="{r}" s="2" customFormat="1" ht="15" customHeight="1"/>'
                       for r in range(start, 1_048_577))
        return (head + rows + "</sheetData>" + tail).encode("utf-8")
    return _rewrite(good, fn)


def _with_sheet_prefix(good: Path, doctype: str, entity_ref: str) -> bytes:
    def fn(name, content):
        if name != "xl/worksheets/sheet1.xml":
            return content
        text = content.decode("utf-8").replace('standalone="yes"?>\n', f'standalone="yes"?>\n{doctype}', 1)
        return text.replace("<sheetData>", f'<sheetData><!-- {entity_ref} -->', 1).encode("utf-8")
    return _rewrite(good, fn)


def _encrypted(good: Path) -> bytes | None:
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return None
    out = io.BytesIO()
    with good.open("rb") as fh:
        OOXMLFile(fh).encrypt("s3cret", out)
    return out.getvalue()


# -- files that are not ours to read, each refused by its real name ---------------------------
def foreign_files() -> dict[str, bytes]:
    """One file per class of thing people save with a spreadsheet's name (never read as CSV)."""
    fods = ('<?xml version="1.0" encoding="UTF-8"?>\n<office:document xmlns:office="urn:oasis:names:tc:opendocument:'
            'xmlns:office:1.0" office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">'
            "<office:body><office:spreadsheet/></office:body></office:document>")
    xml2003 = ('<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook xmlns="urn:schemas-'
               'microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet '
               'ss:Name="Inventory List"><Table><Row><Cell><Data ss:Type="String">ProductCode</Data></Cell></Row>'
               "</Table></Worksheet></Workbook>")
    html = ("<html><head><meta charset='utf-8'></head><body><table><tr><td>ProductCode</td><td>Name</td></tr>"
            "<tr><td>A1</td><td>Apple</td></tr></table></body></html>")
    sylk = 'ID;PWXL;N;E\r\nC;Y1;X1;K"ProductCode"\r\nC;Y2;X1;K"A1"\r\nE\r\n'
    return {
        "flat.fods": fods.encode(),
        "excel-2003.xml": xml2003.encode(),
        "web-page.xls": html.encode(),
        "sylk.csv": sylk.encode(),
        "items.json": b'[{"ProductCode": "A1", "Name": "Apple"}]',
        "scan.pdf": b"%PDF-1.7\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n",
        "photo.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        "binary.xlsb": _zip({"[Content_Types].xml": _types("xl/workbook.bin", "application/vnd.ms-excel.sheet.binary."
                                                                               "macroEnabled.main"),
                             "_rels/.rels": _rels([("rId1", "officeDocument", "xl/workbook.bin")]),
                             "xl/workbook.bin": b"\x83\x01\x00"}),
        "sheet.numbers": _zip({"Index/Document.iwa": b"\x00" * 32, "Metadata/Properties.plist": b"<plist/>"}),
    }


# -- genuine workbooks that are not laid out the way Excel writes them -------------------------
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
SHEET_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
WORKBOOK_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
ROWS = [["ProductCode", "Name", "PriceTier1", "Status"], ["OP-1", "Widget", 2.5, "Actvie"]]


def _types(main: str, main_type: str = WORKBOOK_CT, sheets: tuple[str, ...] = ()) -> str:
    over = "".join(f'<Override PartName="/{p}" ContentType="{SHEET_CT}"/>' for p in sheets)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{main}" ContentType="{main_type}"/>{over}</Types>')


def _rels(items, rel_ns: str = REL) -> str:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships">'
            + "".join(f'<Relationship Id="{i}" Type="{rel_ns}/{t}" Target="{target}"/>' for i, t, target in items)
            + "</Relationships>")


def sheet_xml(rows: list[list], ns: str = MAIN, formulas: dict[str, str] | None = None,
              strings: list[str] | None = None) -> str:
    """Sheet XML with inline strings, or indexes into ``strings`` (a shared-strings table it
    fills); ``formulas``: cell → formula, no value."""
    from xml.sax.saxutils import escape

    out = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, v in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if formulas and ref in formulas:
                cells.append(f'<c r="{ref}"><f>{escape(formulas[ref])}</f></c>')
            elif isinstance(v, str) and strings is not None:
                strings.append(v)
                cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
            elif isinstance(v, str):
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(v)}</t></is></c>')
            elif v is not None:
                cells.append(f'<c r="{ref}"><v>{v!r}</v></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{ns}">'
            f'<sheetData>{"".join(out)}</sheetData></worksheet>')


def package(rows: list[list] = ROWS, *, folder: str = "xl/", main: str = "workbook.xml", strict: bool = False,
            backslashes: bool = False, state: str | None = None, macro_sheet: bool = False,
            formulas: dict[str, str] | None = None, shared_strings: str | None = None) -> bytes:
    """A hand-written .xlsx whose parts are found only through its relationships: ``folder``
    "" puts them at the package root, ``main`` names the workbook part; ``backslashes`` writes
    the zip names as Windows paths."""
    main_ns, rel_ns = (STRICT_MAIN, STRICT_REL) if strict else (MAIN, REL)
    state_attr = f' state="{state}"' if state else ""
    sheets = f'<sheet name="Inventory List" sheetId="1"{state_attr} r:id="rId1"/>'
    items = [("rId1", "worksheet", "worksheets/data.xml" if folder else "data.xml")]
    strings: list[str] | None = [] if shared_strings else None
    parts = {f"{folder}{items[0][2]}": sheet_xml(rows, main_ns, formulas, strings)}
    if shared_strings:  # a shared-strings part under the name given, found through the relationships
        from xml.sax.saxutils import escape

        items.append(("rId3", "sharedStrings", shared_strings))
        parts[f"{folder}{shared_strings}"] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst '
                                              f'xmlns="{main_ns}" count="{len(strings)}" uniqueCount="{len(strings)}">'
                                              + "".join(f"<si><t>{escape(t)}</t></si>" for t in strings) + "</sst>")
    if macro_sheet:
        sheets += '<sheet name="Macro1" sheetId="2" r:id="rId2"/>'
        items.append(("rId2", "xlMacrosheet", "macrosheets/macro1.xml"))
        parts[f"{folder}macrosheets/macro1.xml"] = ('<?xml version="1.0" encoding="UTF-8"?>\n<xm:macrosheet '
                                                   'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
                                                   f'<sheetData xmlns="{MAIN}"/></xm:macrosheet>')
    parts.update({
        "[Content_Types].xml": _types(f"{folder}{main}", sheets=tuple(p for p in parts if p.endswith(".xml"))),
        "_rels/.rels": _rels([("rId1", "officeDocument", f"{folder}{main}")], rel_ns),
        f"{folder}{main}": (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{main_ns}" '
                              f'xmlns:r="{rel_ns}"><sheets>{sheets}</sheets></workbook>'),
        f"{folder}_rels/{main}.rels": _rels(items, rel_ns),
    })
    if backslashes:
        parts = {name.replace("/", "\\"): data for name, data in parts.items()}
    return _zip({name: data.encode("utf-8") if isinstance(data, str) else data for name, data in parts.items()})


def odd_packages() -> dict[str, bytes]:
    """Genuine workbooks (python-calamine reads each) laid out unlike Excel's: each holds one
    invalid Status at D2 so that reading them through to the cell is proven."""
    return {
        "parts-at-root.xlsx": package(folder=""),
        "backslash-names.xlsx": package(backslashes=True),
        "renamed-parts.xlsx": package(main="book.xml"),
        "strict-ooxml.xlsx": package(strict=True, formulas={"B2": 'UPPER("widget")'}),
        "macro-sheet.xlsm": package(macro_sheet=True),
        "sheet-state-show.xlsx": package(state="show"),
        "nul-in-a-cell.xlsx": package([ROWS[0], ["OP-1", "Wid_x0000_get", 2.5, "Active"]]),
    }


def pivot_table(src: Path, out: Path) -> Path:
    """``src`` plus a sheet holding a pivot table with a grouped field (openpyxl cannot read
    those: ``discretePr``)."""
    cache = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<pivotCacheDefinition xmlns="{MAIN}" '
             'refreshOnLoad="1" recordCount="1"><cacheSource type="worksheet"><worksheetSource ref="A1:B2" '
             'sheet="Inventory List"/></cacheSource><cacheFields count="3"><cacheField name="ProductCode" '
             'numFmtId="0"><sharedItems count="1"><s v="x"/></sharedItems></cacheField><cacheField name="Name" '
             'numFmtId="0"><sharedItems/></cacheField><cacheField name="Group" numFmtId="0" databaseField="0">'
             '<fieldGroup base="0"><discretePr count="1"><x v="0"/></discretePr><groupItems count="1">'
             '<s v="Group1"/></groupItems></fieldGroup></cacheField></cacheFields></pivotCacheDefinition>')
    table = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<pivotTableDefinition xmlns="{MAIN}" '
             'name="PivotTable1" cacheId="1" dataCaption="Values"><location ref="A3:A5" firstHeaderRow="1" '
             'firstDataRow="1" firstDataCol="0"/><pivotFields count="3"><pivotField axis="axisRow" showAll="0">'
             '<items count="2"><item x="0"/><item t="default"/></items></pivotField><pivotField showAll="0"/>'
             '<pivotField showAll="0"/></pivotFields><rowFields count="1"><field x="0"/></rowFields>'
             "</pivotTableDefinition>")
    wb = openpyxl.load_workbook(src)
    wb.create_sheet("Pivot")["A1"] = "Pivot"
    wb.save(out)
    extra = {"xl/pivotCache/pivotCacheDefinition1.xml": cache, "xl/pivotTables/pivotTable1.xml": table,
             "xl/pivotTables/_rels/pivotTable1.xml.rels":
                 _rels([("rId1", "pivotCacheDefinition", "../pivotCache/pivotCacheDefinition1.xml")])}
    with zipfile.ZipFile(out) as z:
        parts = {n: z.read(n) for n in z.namelist()}
        sheet = len([n for n in parts if n.startswith("xl/worksheets/sheet")])
    extra[f"xl/worksheets/_rels/sheet{sheet}.xml.rels"] = _rels([("rId1", "pivotTable", "../pivotTables/pivotTable1.xml")])
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</workbook>", b'<pivotCaches><pivotCache cacheId="1" r:id="rIdPivot"/></pivotCaches></workbook>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", (f'<Relationship Id="rIdPivot" Type="{REL}/pivotCacheDefinition" '
                              'Target="pivotCache/pivotCacheDefinition1.xml"/></Relationships>').encode())
    parts.update({n: d.encode() for n, d in extra.items()})
    out.write_bytes(_zip(parts))
    return out


def chart_sheet(path: Path, rows: list[list]) -> Path:
    """An xlsxwriter workbook with the inventory sheet and a chart sheet left without its chart
    (openpyxl cannot open such a chart sheet; Excel and python-calamine can)."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Inventory List")
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='Inventory List'!$C$2:$C$2"})
    wb.add_chartsheet("Chart1").set_chart(chart)
    wb.close()
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist() if not n.startswith("xl/chartsheets/_rels/")}
    path.write_bytes(_zip(parts))
    return path


if __name__ == "__main__":
    for name, path in build(Path(sys.argv[1])).items():
        print(f"{path.stat().st_size:>12,}  {name}")


def big_workbook(out: Path, store_path: Path, size: int = 210 * 1024**2, text_chars: int = 6000) -> Path:
    """A genuine export of at least ``size`` bytes: products whose descriptions are long and
    incompressible (random text), so the file is big without being millions of rows."""
    import base64
    import os

    import pandas as pd

    from inventory_tools import columns as cols
    from inventory_tools.exporting import export
    from inventory_tools.stores import open_store
    from inventory_tools.changes import ChangeSet

    per_row = text_chars * 3 // 4 + 200  # deflate gets ~6 bits per base64 character back
    n = size // per_row + 1
    rows = {name: [""] * n for name in cols.names()}
    rows[cols.KEY] = [f"BIG-{i:06d}" for i in range(n)]
    rows["Name"] = [f"Big product {i}" for i in range(n)]
    rows["Status"] = ["Deprecated"] * n  # needs no setup columns
    rows["Description"] = [base64.b64encode(os.urandom(text_chars * 3 // 4)).decode() for _ in range(n)]
    store = open_store(store_path)
    store.apply(ChangeSet(creates=pd.DataFrame(rows, dtype=object)), kind="import", source="big", base_export_id=None,
                counts={})
    export(store, out)
    store.close()
    return out
