"""CSV files: encodings, dialects and records (a quoted cell may span lines)."""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from ..errors import FileReadError
from .build import build_table
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
    problems.append(Problem(None, None, None, "", None, "encoding.windows_1252", "warning",
                            "the file is not UTF-8; it was read as Windows-1252 (Excel's default 'CSV' on many PCs)",
                            "check accented letters and symbols in the report; next time save as CSV UTF-8"))
    return text, "cp1252", problems


def csv_records(text: str):
    """(non-empty record, its first physical line) for each record; a quoted cell may span lines."""
    sample = text[:65536]
    dialect = None
    if "," not in sample.split("\n", 1)[0]:
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = None
    reader = csv.reader(io.StringIO(text, newline=""), dialect or "excel")
    prev_end = 0
    try:
        for r in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if r:
                yield r, start
    except csv.Error as exc:
        raise csv.Error(f"near line {reader.line_num}: {exc}") from None


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
    except csv.Error as exc:
        raise FileReadError(f"the CSV is malformed: {exc}",
                            "check for an unclosed quote (\") in that line and the ones before it",
                            file=str(path)) from None
    table = build_table(path, "csv", None, rows, {}, line_numbers=starts, record_numbers=records)
    table.problems[:0] = problems
    table.encoding = used
    return table
