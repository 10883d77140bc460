"""Spreadsheet files built for tests: an .xlsx by openpyxl, an .ods written by hand (the XML
LibreOffice writes, reduced to what the reader looks at)."""
from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl


def write_wb(path: Path, header: list, rows: list[list], *, sheet: str = "Inventory List",
             manifest: dict | None = None, others: dict[str, list[list]] | None = None,
             text_typed: bool = False) -> Path:
    """One data sheet (a header and rows), optionally other sheets and a hidden manifest.
    ``text_typed``: every text cell typed as text (openpyxl would read "=..." as a formula)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    if text_typed:
        for r in ws.iter_rows(min_row=2):
            for cell in r:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    for name, rws in (others or {}).items():
        o = wb.create_sheet(name)
        for r in rws:
            o.append(r)
    if manifest is not None:
        m = wb.create_sheet("_manifest")
        for k, v in manifest.items():
            m.append([k, v])
        m.sheet_state = "hidden"
    wb.save(path)
    return path


def ods(path: Path, rows_xml: str, sheet: str = "Inventory List") -> Path:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:calcext="urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{rows_xml}'
        "</table:table></office:spreadsheet></office:body></office:document-content>")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                   '<manifest:file-entry manifest:full-path="/" '
                   'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                   '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                   "</manifest:manifest>")
    return path


def ods_text(text):
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def ods_number(v):
    return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'


ODS_ERROR = ('<table:table-cell table:formula="of:=NA()" office:value-type="string" office:string-value="" '
       'calcext:value-type="error"><text:p>#N/A</text:p></table:table-cell>')
