"""CSV files: encodings, dialects and records (a quoted cell may span lines)."""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from ..errors import FileReadError
from .build import build_table
from .headers import HEADER_SCAN_ROWS, find_header_row
from .table import Problem, Table


def decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str, list[Problem]]:
    problems: list[Problem] = []
    if encoding:
        try:
            return data.decode(encoding), encoding, problems
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileReadError(f"the file cannot be read as {encoding}: {exc}",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", problems
        except UnicodeDecodeError:
            raise FileReadError("the file says it is UTF-8 but contains bytes that are not",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16", problems
        except UnicodeDecodeError:
            raise FileReadError("the file is UTF-16 text but is damaged (odd number of bytes or bad characters)",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if b"\x00" in data[:4096]:
        raise FileReadError("the file looks like UTF-16 text without a byte-order mark (or is not text at all)",
                            "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)", file=str(path))
    try:
        return data.decode("utf-8"), "utf-8", problems
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    problems.append(Problem(None, None, None, "", None, "encoding.windows_1252",
                            "the file is not UTF-8; it was read as Windows-1252 (Excel's default 'CSV' on many PCs)",
                            "check accented letters and symbols in the report; next time save as CSV UTF-8"))
    return text, "cp1252", problems


class CsvShapeError(Exception):
    """The text cannot be split into records and cells exactly: (message, line)."""

    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message, self.line = message, line


def _dialect(text: str):
    sample = text[:65536]
    if "," not in sample.split("\n", 1)[0]:
        try:
            return csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            return None
    return None


def csv_records(text: str):
    """(non-empty record, its first physical line) for each record; a quoted cell may span lines.

    Read strictly: a quote that is never closed, or a closing quote followed by more text, is a
    :class:`CsvShapeError` naming the line (never later rows silently merged into one cell).
    """
    dialect = _dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), dialect or "excel", strict=True)
    prev_end = 0
    try:
        for r in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if r:
                yield r, start
    except csv.Error as exc:
        raise _shape_error(str(exc), prev_end + 1, reader.line_num) from None


def _shape_error(reason: str, start: int, line: int) -> CsvShapeError:
    if "unexpected end of data" in reason:
        return CsvShapeError(f"line {start}: a quoted value that starts in this record is never closed, so every "
                             "line after it would be read into one cell", start)
    if "expected after" in reason:
        return CsvShapeError(f"line {line}: a quoted value is followed by more text before the next separator "
                             '(like "abc"def)', line)
    if "NUL" in reason:
        return CsvShapeError(f"line {line}: the line contains a NUL character (byte 0)", line)
    return CsvShapeError(f"line {line}: the line cannot be split into cells", line)


def _too_wide(rows: list[list], starts: list[int]) -> str | None:
    """Records with a value beyond the header's last field: the cells of that record would be
    read under the wrong columns (an unquoted comma inside a value, most often)."""
    hdr = find_header_row(rows[:HEADER_SCAN_ROWS])
    width = len(rows[hdr]) if rows else 0
    bad = [i for i in range(hdr + 1, len(rows))
           if len(rows[i]) > width and any(v.strip() for v in rows[i][width:])]
    if not bad:
        return None
    first = bad[0]
    more = ""
    if len(bad) > 1:
        lines = ", ".join(str(starts[i]) for i in bad[1:6])
        more = f" (also lines {lines}" + (f" and {len(bad) - 6:,} more" if len(bad) > 6 else "") + ")"
    return (f"line {starts[first]} (record {first}) has {len(rows[first])} fields but the header has "
            f"{width}: its values would land under the wrong columns{more}")


def read_csv(path: Path, encoding: str | None) -> Table:
    data = path.read_bytes()
    text, used, problems = decode(path, data, encoding)
    if text.strip() == "":
        raise FileReadError("the file is empty (no header row)",
                            "export the inventory list again, or check that the file finished saving",
                            file=str(path))
    rows: list[list] = []
    starts: list[int] = []
    records: list[int] = []
    try:
        for rec, (r, start) in enumerate(csv_records(text)):
            rows.append(r)
            starts.append(start)
            records.append(rec)
    except CsvShapeError as exc:
        raise FileReadError(f"the CSV cannot be read exactly: {exc.message}",
                            'close the quote in that line; a quote inside a quoted value is written twice ("") — '
                            "or open the file in a spreadsheet app, fix the line and save it as CSV again",
                            file=str(path)) from None
    wide = _too_wide(rows, starts)
    if wide:
        raise FileReadError(f"the CSV cannot be read exactly: {wide}",
                            'put a value that holds a comma in double quotes ("12,5"), or remove the extra '
                            "separator; a spreadsheet app saving as CSV does this for you", file=str(path))
    table = build_table(path, "csv", None, rows, {}, line_numbers=starts, record_numbers=records)
    table.problems[:0] = problems
    table.encoding = used
    return table
