"""The first rows of an .xlsx sheet, read from its XML before the sheet itself is parsed: the
header row decides how each column is read (numbers or text), so it must be known first.

Only the beginning of the sheet part is inflated (up to row :data:`~.headers.HEADER_SCAN_ROWS`).
Values are what python-calamine gives for those cells: shared and inline strings as text (runs
joined, phonetic runs left out, spaces trimmed unless preserved), formula results as their
cached value, numbers as float, booleans as bool. Rows are lists from column A, padded with ``""``.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable

from ..cellref import col_index
from .headers import HEADER_SCAN_ROWS
from .inflate import open_member
from .sst import item_text, xml_text

_READ = 1 << 16
_MAX_HEAD_BYTES = 64 << 20  # a sheet whose first rows are bigger than this is read the slow way


class HeadUnreadable(Exception):
    """The first rows could not be read this way (the caller reads the file another way)."""


@dataclass
class Head:
    rows: list[list]  # rows 1..HEADER_SCAN_ROWS, from column A
    prefix: bytes  # the worksheet's namespace prefix (b"" or b"x:")
    row_spans: list[tuple[int, int, int]] = field(default_factory=list)  # (row number, start, end offset)
    data_start: int = 0  # offset of the first row element (or of </sheetData> when there is none)
    inline: bool = False  # the first rows hold inline strings
    part: str | None = None  # the zip member read

    def data_from(self, header_row: int) -> int:
        """The offset (in the inflated part) where the rows after ``header_row`` begin."""
        ends = [end for number, _, end in self.row_spans if number <= header_row]
        return max(ends) if ends else self.data_start


def read_head(zf: zipfile.ZipFile, part: str, strings: Callable[[set[int]], dict[int, str]],
              nrows: int = HEADER_SCAN_ROWS) -> Head:
    """The first ``nrows`` rows of the sheet part ``part``; ``strings(indexes)`` gives the shared
    strings those rows use."""
    buf = b""
    size = _READ
    with open_member(zf, part) as f:  # (a damaged stream: zipfile.BadZipFile)
        while True:
            chunk = f.read(size)
            buf += chunk
            if not chunk or _enough(buf, nrows):
                break
            if len(buf) > _MAX_HEAD_BYTES:
                raise HeadUnreadable("the first rows are too big")
            size *= 2  # reads double: the checks below stay linear in the bytes read
    m = re.search(rb"<(\w+:)?worksheet[\s>]", buf[:1 << 16])
    pfx = m.group(1) if m and m.group(1) else b""
    head = _parse(buf, pfx, strings, nrows)
    head.inline, head.part = b't="inlineStr"' in buf, part
    return head


_ROW_START = re.compile(rb'<(?:\w+:)?row(?:\s[^>]*?\br="(\d+)")?[\s>/]')
_DATA_END = re.compile(rb"</(?:\w+:)?sheetData>|<(?:\w+:)?sheetData\s*/>")


def _enough(buf: bytes, nrows: int) -> bool:
    """Whether ``buf`` holds every row up to ``nrows`` (or all of the sheet's rows)."""
    if _DATA_END.search(buf):
        return True
    starts = _ROW_START.findall(buf)
    if len(starts) > nrows:
        return True
    return bool(starts) and starts[-1] != b"" and int(starts[-1]) > nrows and len(starts) >= 2


def _parse(buf: bytes, pfx: bytes, strings: Callable[[set[int]], dict[int, str]], nrows: int) -> Head:
    q = re.escape(pfx)
    start = re.search(rb"<" + q + rb"sheetData\s*>", buf)
    if start is None:
        if re.search(rb"<" + q + rb"sheetData\s*/>", buf):
            return Head([], pfx, [], len(buf))
        raise HeadUnreadable("no sheetData")
    row_re = re.compile(rb"<" + q + rb"row(\s[^>]*?)?(/>|>(.*?)</" + q + rb"row>)|</" + q + rb"sheetData>", re.S)
    cell_re = re.compile(rb"<" + q + rb"c(\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"c>)", re.S)
    rows: dict[int, dict[int, tuple[bytes, bytes]]] = {}
    spans: list[tuple[int, int, int]] = []
    number = 0
    data_start = None
    for m in row_re.finditer(buf, start.end()):
        if m.group(0).startswith(b"</"):
            data_start = m.start() if data_start is None else data_start
            break
        data_start = m.start() if data_start is None else data_start
        rm = re.search(rb'\sr="(\d+)"', m.group(1) or b"")
        number = int(rm.group(1)) if rm else number + 1
        if number > nrows:
            break
        spans.append((number, m.start(), m.end()))
        cells: dict[int, object] = {}
        col = -1
        for c in cell_re.finditer(m.group(3) or b""):
            attrs = c.group(1) or b""
            ref = re.search(rb'\sr="([A-Z]+)\d*"', attrs)
            col = col_index(ref.group(1).decode()) if ref else col + 1
            cells[col] = (attrs, c.group(2) or b"")
        rows[number] = cells
    v_re = re.compile(rb"<" + q + rb"v(?:\s[^>]*)?(?:/>|>(.*?)</" + q + rb"v>)", re.S)
    wanted = set()
    for cells in rows.values():
        for attrs, body in cells.values():
            if re.search(rb'\st="s"', attrs) and (v := v_re.search(body)) and (v.group(1) or b"").strip().isdigit():
                wanted.add(int(v.group(1)))
    shared = strings(wanted)
    width = max((max(c) + 1 for c in rows.values() if c), default=0)
    out = [[_value(*rows[r][ci], q, v_re, shared) if ci in rows.get(r, {}) else "" for ci in range(width)]
           for r in range(1, nrows + 1)]
    return Head(out, pfx, spans, data_start if data_start is not None else len(buf))


def _value(attrs: bytes, body: bytes, q: bytes, v_re, shared: dict[int, str]):
    t = re.search(rb'\st="(\w+)"', attrs)
    t = t.group(1) if t else b"n"
    v = v_re.search(body)
    v = None if v is None else (v.group(1) or b"")
    if t == b"inlineStr":
        inline = re.search(rb"<" + q + rb"is(?:\s[^>]*)?>(.*?)</" + q + rb"is>", body, re.S)
        return item_text(inline.group(1)) if inline else ""
    if v is None:
        return ""
    if t == b"s":
        return shared.get(int(v), "") if v.strip().isdigit() else ""
    if t == b"b":
        return v.strip() in (b"1", b"true")
    if t in (b"str", b"e", b"d"):
        return xml_text(v)
    try:
        return float(v)
    except ValueError:
        return xml_text(v)
