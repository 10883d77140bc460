"""Whether any cell of a workbook can be read as a date: a reader takes a number for a date when
its cell style's number format is a date or time format. A workbook whose styles have no such
format has no date cells, whatever its numbers (the check is calamine's, made broader: a format
in doubt counts as a date one)."""
from __future__ import annotations

import zipfile

#: built-in number formats of dates and times (calamine's, and the East Asian ones beside them)
DATE_FORMAT_IDS = frozenset(range(14, 23)) | frozenset(range(27, 37)) | {45, 46, 47} | \
    frozenset(range(50, 59)) | frozenset(range(71, 82))


def dates_possible(zf: zipfile.ZipFile, member: str | None) -> bool:
    """Whether the styles part ``member`` gives some cell style a date or time number format
    (True when it cannot be read: then it is not known)."""
    if member is None:
        return False  # no styles: every number is General
    try:
        from defusedxml import ElementTree as ET

        root = ET.fromstring(zf.read(member))
    except Exception:  # noqa: BLE001 - unreadable or refused styles: assume the worst
        return True
    custom = {}
    xfs = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "numFmt":
            custom[el.get("numFmtId")] = el.get("formatCode") or ""
        elif tag == "cellXfs":
            xfs = [x for x in el if x.tag.rsplit("}", 1)[-1] == "xf"]
    for xf in xfs:
        fid = xf.get("numFmtId") or "0"
        if fid in custom:
            if is_date_format(custom[fid]):
                return True
        elif not fid.isdigit() or int(fid) in DATE_FORMAT_IDS:
            return True
    return False


def is_date_format(code: str) -> bool:
    """A custom number format that shows a date, a time or a duration (calamine's reading of it:
    the first section only, quoted text, escapes and bracketed parts such as colours skipped)."""
    escaped = quoted = ap = False
    brackets = 0
    prev = ""
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return False
        elif ch == "[":
            brackets += 1
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif brackets:
            if prev == "[" and ch in "hmsHMS":
                return True  # [h], [mm], [ss]: a duration
        elif ch in "aA":
            ap = True
        elif ch in "dmhysDMHYS" or (ap and ch in "pmPM/"):
            return True
        prev = ch
    return False
