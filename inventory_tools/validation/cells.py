"""Step 2 of validation: each raw cell → its canonical text, with the damage a spreadsheet does
to data detected on the way (codes in scientific notation, padding spaces, wrong types).

Work is done once per distinct raw value of a column (a million ``0.0000`` cost one parse); a
cell that fails here is reported once and blanked, so later checks never hide or repeat it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .. import columns as cols
from .. import factorised
from ..reading import Table
from ..values import Issue, plain_float_texts, read_cell

_SCI_RE = re.compile(r"^[+-]?\d(?:[.,]\d+)?[eE][+-]\d{1,3}$")  # how a spreadsheet shows 1.23457E+12
#: characters that cannot round-trip through a workbook's XML or a CSV file: C0 controls but tab,
#: LF and CR (NUL arrives as Excel's escape ``_x0000_``), U+FFFE/U+FFFF, lone surrogates
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

#: add(position, column, raw value, rule, message, hint, severity)
AddProblem = Callable[..., None]


@dataclass
class _Uniques:
    """Per distinct raw value (plus one slot for blank at the end): canonical text, the problem
    if any, and the two detector flags."""

    values: np.ndarray
    issues: list
    spaced: np.ndarray
    scientific: np.ndarray


def _canonical_uniques(col: cols.Column, uniq) -> _Uniques:
    nu = len(uniq)
    u = _Uniques(np.empty(nu + 1, dtype=object), [None] * (nu + 1), np.zeros(nu + 1, dtype=bool),
                 np.zeros(nu + 1, dtype=bool))
    u.values[nu] = ""  # blank (code -1)
    others = range(nu)
    if col.type in ("text", "account") and nu:
        # Text read as text (nearly every value) is its own canonical form once the spaces a
        # spreadsheet adds are trimmed: done in bulk, only other types go through canonical().
        uniq_arr = np.asarray(uniq, dtype=object)
        is_str = np.fromiter((type(v) is str for v in uniq_arr), dtype=bool, count=nu)
        at = np.flatnonzero(is_str)
        trimmed = np.array([v.replace("\u00a0", " ").strip() for v in uniq_arr[at]], dtype=object)
        u.spaced[at] = trimmed != uniq_arr[at]
        u.values[at] = trimmed
        for k in _unsafe_positions(trimmed):
            u.issues[at[k]] = _unsafe_char(col, trimmed[k])
            u.values[at[k]] = ""
        if col.identifier:
            sci = np.fromiter((_SCI_RE.match(t) is not None for t in trimmed), dtype=bool, count=len(at))
            u.scientific[at[sci]] = True
            u.spaced[at[sci]] = False
            u.values[at[sci]] = ""
        others = np.flatnonzero(~is_str).tolist()
    elif col.type == "decimal" and nu:
        # Numbers read as numbers (nearly every value): their text in one pass, the same as
        # canonical() gives; anything else (text, bools, odd floats) goes through canonical().
        uniq_arr = np.asarray(uniq, dtype=object)
        at = np.flatnonzero(np.fromiter((type(v) is float for v in uniq_arr), dtype=bool, count=nu))
        texts = np.array(plain_float_texts(uniq_arr[at].tolist()) + [None], dtype=object)[:-1]
        done = texts != None  # noqa: E711 - elementwise
        u.values[at[done]] = texts[done]
        rest = np.ones(nu, dtype=bool)
        rest[at[done]] = False
        others = np.flatnonzero(rest).tolist()
    for i in others:
        v, issue = read_cell(col, uniq[i])
        u.values[i] = "" if v is None else v
        u.issues[i] = issue
    return u


def canonical_column(table: Table, name: str, bad: np.ndarray, add: AddProblem) -> tuple[pd.Series, pd.Categorical]:
    """The column's canonical values (blank where a cell is bad) and the same as categories (the
    schema's checks then run once per category). ``bad`` (cells already reported) is updated."""
    col = cols.column(name)
    raw = table.raw[name]
    raw_arr = raw.to_numpy(dtype=object)
    codes, uniq = table.factors.get(name, (None, None))
    if codes is None or len(codes) != len(raw_arr):
        codes, uniq = pd.factorize(raw_arr, use_na_sentinel=True)
    nu = len(uniq)
    u = _canonical_uniques(col, uniq)
    # 0 no issue, 1 a warning (the value is read), 2 an error (the cell is blanked)
    level = np.fromiter((0 if x is None else 1 if x.severity == "warning" else 2 for x in u.issues),
                        dtype=np.int8, count=nu + 1)
    c = np.where(codes < 0, nu, codes)
    sci_cells = u.scientific[c] & ~bad
    issue_cells = level[c] > 0
    space_cells = u.spaced[c] & ~bad & ~issue_cells
    for pos in np.flatnonzero(sci_cells).tolist():
        v = raw_arr[pos]
        add(pos, name, v, "identifier.scientific",
            f"{name} '{v}' is in scientific notation: the digits of the code were lost",
            f"format the {name} column as Text and re-enter the full code")
    for pos in np.flatnonzero(space_cells).tolist():
        v = raw_arr[pos]
        add(pos, name, v, "text.spaces", f"{name} {v!r} has non-breaking or leading/trailing spaces; they were removed",
            "nothing to do (the value is read without them); retype it to silence this warning", "warning")
    for pos in np.flatnonzero(issue_cells & ~bad).tolist():
        issue: Issue = u.issues[c[pos]]
        add(pos, name, raw_arr[pos], issue.rule, issue.message, issue.hint, issue.severity)
    bad |= sci_cells | (level[c] == 2)
    vals = u.values[c]
    cat_of_u, categories = pd.factorize(u.values)
    cells = cat_of_u[c]
    if bad.any():
        vals[bad] = ""
        cells[bad] = cat_of_u[nu]  # u.values[nu] is ""
    categorical = factorised.categorical(cells, categories)
    return pd.Series(vals, index=raw.index, dtype=object), categorical


def _unsafe_positions(texts: np.ndarray, batch: int = 2048) -> list[int]:
    """Positions of the texts holding an :data:`UNSAFE_CHARS` character: one regex search per
    batch of texts (joined), then per text only in a batch that has one."""
    out: list[int] = []
    search = UNSAFE_CHARS.search
    for start in range(0, len(texts), batch):
        part = texts[start:start + batch].tolist()
        if search("\n".join(part)):
            out.extend(start + k for k, t in enumerate(part) if search(t))
    return out


def _unsafe_char(col: cols.Column, text: str) -> Issue:
    ch = UNSAFE_CHARS.search(text).group()
    code = f"U+{ord(ch):04X}"
    what = {"\x00": f"the NUL character ({code}, written _x0000_ inside Excel files)",
            "\ufffe": f"the non-character {code}", "\uffff": f"the non-character {code}"}.get(
        ch, f"an invisible control character ({code})" if ord(ch) < 32 else f"a broken character ({code})")
    return Issue("text.unsafe_char", f"{col.name} contains {what}, which a workbook or CSV file cannot hold",
                 "retype the value (the character is invisible: delete the cell's text and type it again)")
