"""Byte-level scans of a workbook's sheet XML for what python-calamine hides: formulas (with or
without a cached value), error cells and hidden rows (.xlsx); error cells (.ods).

No XML parser runs over the sheet data (so nothing in it can expand); workbook.xml, the
relationships and ODS content go through defusedxml.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..cellref import col_index
from .package import Package
from .sniff import xml_problem, damaged

_NEEDLES = (b"<f", b't="e"')  # a formula or an error cell (unprefixed XML, as every writer we know)
_PREFIXED_NEEDLES = (b":f>", b":f ", b":f/", b't="e"')


def _has_needle(zf: zipfile.ZipFile, part: str, needles: tuple[bytes, ...] = _NEEDLES) -> bool:
    tail = b""
    first = True
    with zf.open(part) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return False
            if first and needles is _NEEDLES and re.search(rb"<\w+:worksheet[\s>]", chunk[:4096]):
                needles = _NEEDLES + _PREFIXED_NEEDLES  # namespace-prefixed sheet XML (<x:c>, <x:f>)
            first = False
            buf = tail + chunk
            if any(n in buf for n in needles):
                return True
            tail = chunk[-16:]


def scan_xlsx(path: Path, sheet: str) -> tuple[dict[tuple[int, int], tuple[str, str | None]], list[int]]:
    """(row, col idx) → ("formula" | "formula_no_value" | "error", formula or error text), and
    the numbers of hidden rows.

    One streaming pass over the sheet XML that looks only at cells holding a formula (``<f>``) or
    an error (``t="e"``): each such cell's own bytes are read (reference, type, formula, cached
    value). No XML parser runs over the sheet, so nothing in it can expand; a sheet without
    formulas or errors costs one decompression and a byte search.
    """
    out: dict[tuple[int, int], tuple[str, str | None]] = {}
    hidden: list[int] = []
    try:
        with zipfile.ZipFile(path) as zf:
            part = Package.of(zf).sheet_part(sheet)  # found through the relationships (any part name)
            if part is None:
                return out, hidden
            with zf.open(part) as f:
                _scan_cells(f, out, hidden)
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as exc:
        raise damaged(path, str(exc)[:120]) from None
    except Exception as exc:  # defusedxml refusals and XML syntax errors (workbook.xml, rels)
        if exc.__class__.__name__ in ("ParseError", "DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            raise damaged(path, xml_problem(exc)) from None
        raise
    return out, hidden


def _xml_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    from xml.sax.saxutils import unescape

    return unescape(raw.decode("utf-8", "replace"), {"&quot;": '"', "&apos;": "'"})


def _scan_cells(f, out: dict, hidden: list[int]) -> None:
    head = f.read(1 << 16)
    m = re.search(rb"<(\w+:)?worksheet[\s>]", head)
    pfx = m.group(1) if m and m.group(1) else b""
    q = re.escape(pfx)
    needle = re.compile(rb"<" + q + rb"f[\s>/]|\st=\"e\"")
    cell_open, cell_close, row_close = b"<" + pfx + b"c ", b"</" + pfx + b"c>", b"</" + pfx + b"row>"
    quick = (b"<" + pfx + b"f>", b"<" + pfx + b"f ", b"<" + pfx + b"f/", b't="e"')
    f_re = re.compile(rb"<" + q + rb"f(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"f>)", re.S)
    v_re = re.compile(rb"<" + q + rb"v(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"v>)", re.S)
    ref_re = re.compile(rb'\sr="([A-Z]+)(\d+)"')
    t_re = re.compile(rb'\st="(\w+)"')
    hidden_re = re.compile(rb"<" + q + rb'row [^>]*?r="(\d+)"[^>]*?hidden="(?:1|true)"')
    carry = head
    done = False
    while not done:
        chunk = f.read(4 << 20)
        buf = carry + chunk
        if chunk:
            cut = buf.rfind(row_close)
            if cut < 0:
                carry = buf
                continue
            cut += len(row_close)
            work, carry = buf[:cut], buf[cut:]
        else:
            work, carry, done = buf, b"", True
        end_data = work.find(b"</" + pfx + b"sheetData>")
        if end_data >= 0:
            work, done = work[:end_data], True
        if b'hidden="' in work:
            hidden.extend(int(m) for m in hidden_re.findall(work))
        if not any(q_ in work for q_ in quick):  # byte search first: most chunks have no formula
            continue
        seen = -1
        for hit in needle.finditer(work):
            start = work.rfind(cell_open, 0, hit.start() + 1)
            if start < 0 or start <= seen:
                continue
            seen = start
            tag_end = work.find(b">", start)
            tag = work[start:tag_end + 1]
            if tag.endswith(b"/>"):
                body = b""
            else:
                close = work.find(cell_close, tag_end)
                body = work[tag_end + 1:close if close >= 0 else len(work)]
            rm = ref_re.search(tag)
            if not rm:
                continue
            key = (int(rm.group(2)), col_index(rm.group(1).decode()))
            tm = t_re.search(tag)
            t = tm.group(1).decode() if tm else None
            fm = f_re.search(body)
            vm = v_re.search(body)
            v = None if vm is None else (vm.group(1) or b"")
            if t == "e":
                out[key] = ("error", _xml_text(v))
            elif fm is not None:
                if v is None or (v == b"" and t != "str"):
                    out[key] = ("formula_no_value", _xml_text(fm.group(1)))
                else:
                    out[key] = ("formula", _xml_text(fm.group(1)))


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODS_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_ODS_NEEDLES = (b'value-type="error"', b':formula="')


def scan_ods(path: Path, sheet: str) -> dict[tuple[int, int], tuple[str, str | None]]:
    """Error cells (calamine reads them as blank; LibreOffice marks them ``calcext:value-type="error"``)
    and formula cells of an .ods sheet. Rows and cells may be repeated (``number-*-repeated``)."""
    from defusedxml import ElementTree as ET

    out: dict[tuple[int, int], tuple[str, str | None]] = {}
    t_table, t_row, t_cell = f"{{{_ODS_TABLE}}}table", f"{{{_ODS_TABLE}}}table-row", f"{{{_ODS_TABLE}}}table-cell"
    t_cov = f"{{{_ODS_TABLE}}}covered-table-cell"
    a_name, a_rrep = f"{{{_ODS_TABLE}}}name", f"{{{_ODS_TABLE}}}number-rows-repeated"
    a_crep, a_vt = f"{{{_ODS_TABLE}}}number-columns-repeated", f"{{{_ODS_CALCEXT}}}value-type"
    a_formula = f"{{{_ODS_TABLE}}}formula"
    try:
        with zipfile.ZipFile(path) as zf:
            if "content.xml" not in zf.namelist() or not _has_needle(zf, "content.xml", _ODS_NEEDLES):
                return out
            with zf.open("content.xml") as f:
                in_sheet = False
                row = 0
                for event, el in ET.iterparse(f, events=("start", "end")):
                    if el.tag == t_table:
                        if event == "start":
                            in_sheet = el.get(a_name) == sheet
                            row = 0
                        else:
                            in_sheet = False
                            el.clear()
                        continue
                    if not in_sheet or event != "end" or el.tag != t_row:
                        continue
                    reps = int(el.get(a_rrep) or 1)
                    col = 0
                    for cell in el:
                        if cell.tag not in (t_cell, t_cov):
                            continue
                        creps = int(cell.get(a_crep) or 1)
                        flag = None
                        if cell.get(a_vt) == "error":
                            flag = ("error", "".join(cell.itertext()).strip() or "#ERROR")
                        elif cell.get(a_formula):
                            flag = ("formula", cell.get(a_formula))
                        if flag is not None:
                            for r in range(reps):
                                for c in range(creps):
                                    out[(row + r + 1, col + c)] = flag
                        col += creps
                    row += reps
                    el.clear()
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise damaged(path, str(exc)[:120]) from None
    except Exception as exc:  # defusedxml refusals and XML syntax errors
        if exc.__class__.__name__ in ("ParseError", "DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            raise damaged(path, xml_problem(exc)) from None
        raise
    return out
