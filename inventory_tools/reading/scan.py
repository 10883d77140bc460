"""Byte-level scans of a workbook's sheet XML for what a reader library hides: formulas (with or
without a cached value), error cells, hidden rows, merged cells and how many cells of each type
the data rows hold (.xlsx); error cells (.ods).

No XML parser runs over the sheet data (so nothing in it can expand); workbook.xml, the
relationships and ODS content go through defusedxml.
"""
from __future__ import annotations

import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..cellref import col_index
from .inflate import MemberReader
from .package import Package
from .sniff import damaged, xml_problem
from .sst import MARK, entities


def _has_needle(zf: zipfile.ZipFile, part: str, needles: tuple[bytes, ...]) -> bool:
    tail = b""
    with zf.open(part) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return False
            buf = tail + chunk
            if any(n in buf for n in needles):
                return True
            tail = chunk[-32:]


@dataclass
class SheetScan:
    """What the byte scan of an .xlsx sheet found."""

    flags: dict[tuple[int, int], tuple[str, str | None]] = field(default_factory=dict)  # formulas, errors
    hidden: list[int] = field(default_factory=list)  # numbers of hidden rows
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)  # 0-based ranges
    typed: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) → t of formula/b/d/e/str cells
    counts: Counter = field(default_factory=Counter)  # cells by type in the data rows (see _Scanner.count)


def scan_xlsx(path: Path, sheet: str, *, data_from: int = 0, sink=None, mark_inline: bool = False,
              count_values: bool = True) -> SheetScan:
    """One streaming pass over the sheet XML that looks only at cells holding a formula (``<f>``),
    an error (``t="e"``), a boolean, a date or a formula text (``t="b"``, ``"d"``, ``"str"``):
    each such cell's own bytes are read (reference, type, formula, cached value); hidden rows and
    merged cells are noted, and the cells of the rows after offset ``data_from`` are counted by
    type. No XML parser runs over the sheet, so nothing in it can expand; a sheet without such
    cells costs one decompression and a few byte counts.

    ``sink``: called with the sheet's bytes in order (inline strings marked as shared ones are,
    :data:`~.sst.MARK`, when ``mark_inline``): the caller writes a copy of the part.
    ``count_values``: count the cells holding a value (``<v>``: a pass of its own, needed only
    where numbers may be dates).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            part = Package.of(zf).sheet_part(sheet)  # found through the relationships (any part name)
            if part is None:
                return SheetScan()
            with MemberReader(path, zf.getinfo(part)) as f:  # ISA-L's inflate: 4x zlib's
                return _Scanner(data_from, sink, mark_inline, count_values).run(f)
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as exc:
        raise damaged(path, str(exc)[:120]) from None
    except Exception as exc:  # defusedxml refusals and XML syntax errors (workbook.xml, rels)
        if exc.__class__.__name__ in ("ParseError", "DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            raise damaged(path, xml_problem(exc)) from None
        raise


def _xml_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return entities(raw.decode("utf-8", "replace"))


class CannotMark(Exception):
    """Inline strings written in a form the mark cannot be given to."""


class _Scanner:
    def __init__(self, data_from: int, sink, mark_inline: bool, count_values: bool = True):
        self.data_from, self.sink, self.mark_inline = data_from, sink, mark_inline
        self.count_values = count_values
        self.out = SheetScan()

    def _setup(self, head: bytes) -> None:
        m = re.search(rb"<(\w+:)?worksheet[\s>]", head)
        pfx = self.pfx = m.group(1) if m and m.group(1) else b""
        q = re.escape(pfx)
        self.needle = re.compile(rb"<" + q + rb"f[\s>/]|\st=\"(?:e|b|d|str)\"")
        self.cell_open, self.cell_close = b"<" + pfx + b"c ", b"</" + pfx + b"c>"
        self.row_close, self.data_end = b"</" + pfx + b"row>", b"</" + pfx + b"sheetData>"
        self.f_re = re.compile(rb"<" + q + rb"f(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"f>)", re.S)
        self.v_re = re.compile(rb"<" + q + rb"v(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"v>)", re.S)
        self.hidden_re = re.compile(rb"<" + q + rb'row [^>]*?r="(\d+)"[^>]*?hidden="(?:1|true)"')
        self.v_tag, self.f_tag = b"<" + pfx + b"v>", b"<" + pfx + b"f"
        self.is_tag = b"<" + pfx + b"is>"
        self.is_marked = self.is_tag + b"<" + pfx + b"t>" + MARK.encode() + b"</" + pfx + b"t>"

    def run(self, f) -> SheetScan:
        head = f.read(1 << 16)
        self._setup(head)
        carry, pos, in_data = head, 0, True
        tail = []
        while True:
            chunk = f.read(4 << 20)
            buf = carry + chunk
            if not chunk:
                work, carry = buf, b""
            elif in_data:
                cut = buf.rfind(self.row_close)
                if cut < 0:
                    carry = buf
                    continue
                cut += len(self.row_close)
                work, carry = buf[:cut], buf[cut:]
            else:
                work, carry = buf, b""
            if in_data:
                end = work.find(self.data_end)
                data, rest = (work, b"") if end < 0 else (work[:end], work[end:])
                self._rows(data, pos)
                if end >= 0:
                    in_data = False
                    tail.append(rest)
            elif sum(map(len, tail)) < (64 << 20):
                tail.append(work)
            if self.sink is not None:
                self.sink(self._marked(work) if self.mark_inline else work)
            pos += len(work)
            if not chunk:
                break
            if not in_data and self.sink is None:
                tail.append(f.read(64 << 20))  # only the merged cells are wanted from the rest
                break
        self._merged(b"".join(tail))
        return self.out

    def _marked(self, work: bytes) -> bytes:
        if self.is_tag[:-1] + b" " in work:
            raise CannotMark("an inline string with attributes")
        return work.replace(self.is_tag, self.is_marked)

    def _rows(self, work: bytes, pos: int) -> None:
        if b'hidden="' in work:
            self.out.hidden.extend(int(m) for m in self.hidden_re.findall(work))
        counts = self.count(work)
        if pos < self.data_from:  # the header rows (and any above) are not counted
            counts.subtract(self.count(work[:self.data_from - pos]))
        self.out.counts.update(counts)
        if counts["f"] or any(counts[t] for t in ("e", "b", "d", "str")) or pos < self.data_from:
            if self.needle.search(work):
                self._cells(work)

    def count(self, seg: bytes) -> Counter:
        """Cells by type: ``v`` (cells with a value element), ``t`` (with a type), ``s`` (shared
        strings), ``inlineStr`` (and ``is``: those with a text), ``n``, ``b``, ``e``, ``str``,
        ``d``; ``f``: whether there are formulas."""
        c = Counter(t=seg.count(b' t="'), s=seg.count(b' t="s"'), f=int(self.f_tag in seg))
        if self.count_values:
            c["v"] = seg.count(self.v_tag)
        rest = c["t"] - c["s"]
        for kind in ("inlineStr", "n", "e", "b", "str", "d"):
            if rest <= 0:
                break
            c[kind] = seg.count(b' t="' + kind.encode() + b'"')
            rest -= c[kind]
        c["other"] = max(rest, 0)  # types no writer uses
        if c["inlineStr"]:
            c["is"] = seg.count(self.is_tag)  # inline strings with a text (an empty one reads as empty)
        return c

    def _cells(self, work: bytes) -> None:
        seen = -1
        for hit in self.needle.finditer(work):
            start = work.rfind(self.cell_open, 0, hit.start() + 1)
            if start < 0 or start <= seen:
                continue
            seen = start
            tag_end = work.find(b">", start)
            tag = work[start:tag_end + 1]
            if tag.endswith(b"/>"):
                body = b""
            else:
                close = work.find(self.cell_close, tag_end)
                body = work[tag_end + 1:close if close >= 0 else len(work)]
            rm = _REF_RE.search(tag)
            if not rm:
                continue
            key = (int(rm.group(2)), col_index(rm.group(1).decode()))
            tm = _T_RE.search(tag)
            t = tm.group(1).decode() if tm else "n"
            self.out.typed[key] = t
            fm = self.f_re.search(body)
            vm = self.v_re.search(body)
            v = None if vm is None else (vm.group(1) or b"")
            if t == "e":
                self.out.flags[key] = ("error", _xml_text(v))
            elif fm is not None:
                if v is None or (v == b"" and t != "str"):
                    self.out.flags[key] = ("formula_no_value", _xml_text(fm.group(1)))
                else:
                    self.out.flags[key] = ("formula", _xml_text(fm.group(1)))

    def _merged(self, tail: bytes) -> None:
        q = re.escape(self.pfx)
        for m in re.finditer(rb"<" + q + rb'mergeCell\s[^>]*?ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"', tail):
            c0, r0 = col_index(m.group(1).decode()), int(m.group(2)) - 1
            c1, r1 = (col_index(m.group(3).decode()), int(m.group(4)) - 1) if m.group(3) else (c0, r0)
            self.out.merged.append(((r0, c0), (r1, c1)))


_REF_RE = re.compile(rb'\sr="([A-Z]+)(\d+)"')
_T_RE = re.compile(rb'\st="(\w+)"')


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
