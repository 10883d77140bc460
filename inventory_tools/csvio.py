"""Cin7 Core's own Inventory List CSV: written byte-for-byte as Cin7 writes it.

Format facts (from a real export, reference/dear/samples): one unquoted header line, per-column
quoting (text columns always double-quoted, enum-ish and numeric ones never), fixed decimals per
column, ``ACTIVE``-style status, CRLF line ends, UTF-8 without BOM, embedded CR/LF kept inside
quotes.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import columns as cols
from . import values

CRLF = "\r\n"
_NEEDS_QUOTES = re.compile(r'[",\r\n]')
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def formula_like(text: str) -> bool:
    """Would a spreadsheet app run this value as a formula when it opens the CSV?"""
    if len(text) < 2:
        return False
    first = text[0]
    if first == "=":
        return True
    if first in "+-@":
        return not _NUMBER.fullmatch(text)
    return first in "\t\r" and len(text.strip()) > 0


def _column_text(column: cols.Column, series: pd.Series) -> np.ndarray:
    """One column of canonical values → its CSV field text (quoted as Cin7 quotes it)."""
    vals = series.to_numpy(dtype=object)
    if column.type == "decimal":
        codes, uniques = pd.factorize(vals)
        formatted = np.array([values.format_decimal(u, column.decimals) for u in uniques] + [""], dtype=object)
        vals = formatted[codes]
    elif column.name == cols.STATUS:
        codes, uniques = pd.factorize(vals)
        vals = np.array([values.status_csv(u) for u in uniques] + [""], dtype=object)[codes]
    if column.csv_quoted:
        escaped = pd.Series(vals, dtype=object).str.replace('"', '""', regex=False).to_numpy(dtype=object)
        return '"' + escaped + '"'
    # Unquoted columns never hold separators in Cin7's data; quote defensively if ours do.
    needs = pd.Series(vals, dtype=object).str.contains(_NEEDS_QUOTES, regex=True).to_numpy(dtype=bool)
    if needs.any():
        vals = vals.copy()
        vals[needs] = ['"' + v.replace('"', '""') + '"' for v in vals[needs]]
    return vals


def render_rows(frame: pd.DataFrame) -> str:
    """Data rows (no header) of a canonical product frame, each ending in CRLF."""
    if frame.empty:
        return ""
    acc = None
    for column in cols.columns():
        text = _column_text(column, frame[column.name])
        acc = text if acc is None else acc + "," + text
    return "".join((acc + CRLF).tolist())


def header_line() -> str:
    return ",".join(cols.names()) + CRLF


def write_csv(rows, fh, chunk_rows: int = 5_000, progress=None, on_chunk=None) -> None:
    """Write canonical products (a DataFrame, or ``n`` + ``chunks(size)``) in Cin7's format."""
    from .xlsx import FrameChunks

    source = rows if hasattr(rows, "chunks") else FrameChunks(rows)
    fh.write(header_line().encode("utf-8"))
    for chunk in source.chunks(chunk_rows):
        fh.write(render_rows(chunk).encode("utf-8"))
        if on_chunk:
            on_chunk(chunk)
        if progress:
            progress(len(chunk))


@dataclass
class FormulaWarning:
    code: str
    column: str
    value: str


def formula_warnings(frame: pd.DataFrame) -> list[FormulaWarning]:
    """Text values a spreadsheet would run if someone opened the CSV in one (reported, not changed)."""
    out: list[FormulaWarning] = []
    for column in cols.of_type("text", "account"):
        s = frame[column.name]
        starts = s.str[:1].isin(["=", "+", "-", "@", "\t", "\r"])
        if not starts.any():
            continue
        for idx in s.index[starts]:
            v = s.at[idx]
            if formula_like(v):
                out.append(FormulaWarning(frame.at[idx, cols.KEY], column.name, v))
    return out


def read_records(text: str) -> tuple[list[str], list[list[str]], list[int]]:
    """Parse CSV text exactly (a quoted cell may span lines): header, records, start line of each."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = next(reader, [])
    records, lines = [], []
    line = reader.line_num + 1
    for rec in reader:
        records.append(rec)
        lines.append(line)
        line = reader.line_num + 1
    return header, records, lines

