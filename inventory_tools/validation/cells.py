"""Step 2 of validation: each raw cell read as its column's type → its canonical text, with the
damage a spreadsheet does to data detected on the way (codes in scientific notation or turned
into dates, padding spaces, numbers read by a lenient rule).

Work is done once per distinct raw value of a column (a million ``0.0000`` cost one parse). A
cell damaged here is reported once and blanked, so later checks never hide or repeat it. A value
that is simply not valid for its column (``abc`` in a decimal column, ``Actvie`` in Status) keeps
its text: the rules (:mod:`.checks`, stage ``values``) refuse it, worded with what reading it
found (:meth:`ReadColumn.issue`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .._lazy import lazy_import
from .. import columns as cols
from .. import factorised
from ..reading import Table
from ..values import Issue, plain_float_texts, read_cell
from .rules import table as rule_table

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

_SCI_RE = re.compile(r"^[+-]?\d(?:[.,]\d+)?[eE][+-]\d{1,3}$")  # how a spreadsheet shows 1.23457E+12

#: add(position, column, raw value, rule, message, hint) (the severity is the rule's)
AddProblem = Callable[..., None]


@dataclass
class _Uniques:
    """Per distinct raw value (plus one slot for blank at the end): canonical text, the problem
    if any, and the two detector flags."""

    values: np.ndarray
    issues: dict  # position of a distinct value → what reading it found (most have nothing)
    spaced: np.ndarray
    scientific: np.ndarray


def _shown(value) -> str:
    """A value a rule refuses, as the text the file holds (what the Problems list shows): a whole
    number without Python's ``.0`` (``-1000000000000000``, not ``-1000000000000000.0``)."""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    return str(value).replace("\u00a0", " ").strip()


def _canonical_uniques(col: cols.Column, uniq) -> _Uniques:
    nu = len(uniq)
    u = _Uniques(np.empty(nu + 1, dtype=object), {}, np.zeros(nu + 1, dtype=bool), np.zeros(nu + 1, dtype=bool))
    u.values[nu] = ""  # blank (code -1)
    others = range(nu)
    if col.type in ("text", "account") and nu:
        # Text read as text (nearly every value) is its own canonical form once the spaces a
        # spreadsheet adds are trimmed: done in bulk, only other types go through read_cell().
        uniq_arr = np.asarray(uniq, dtype=object)
        is_str = np.fromiter((type(v) is str for v in uniq_arr), dtype=bool, count=nu)
        at = np.flatnonzero(is_str)
        trimmed = np.array([v.replace("\u00a0", " ").strip() for v in uniq_arr[at]], dtype=object)
        u.spaced[at] = trimmed != uniq_arr[at]
        u.values[at] = trimmed
        if col.identifier:
            sci = np.fromiter((_SCI_RE.match(t) is not None for t in trimmed), dtype=bool, count=len(at))
            u.scientific[at[sci]] = True
            u.spaced[at[sci]] = False
            u.values[at[sci]] = ""
        others = np.flatnonzero(~is_str).tolist()
    elif col.type == "decimal" and nu:
        # Numbers read as numbers (nearly every value): their text in one pass, the same as
        # read_cell() gives; anything else (text, bools, odd floats) goes through read_cell().
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
        u.values[i] = _shown(uniq[i]) if v is None and _judged_by_rules(issue) else ("" if v is None else v)
        if issue is not None:
            u.issues[i] = issue
    return u


def _judged_by_rules(issue: Issue | None) -> bool:
    """An issue of a value's validity (stage ``values``): the rules refuse it, not reading."""
    return issue is not None and rule_table()[issue.rule].stage == "values"


@dataclass
class ReadColumn:
    """A column read: canonical text per cell (a refused value kept as the file's text), the same
    as categories, and what reading found per distinct value (:meth:`issue`)."""

    values: pd.Series
    categorical: pd.Categorical
    _issues: dict
    _codes: np.ndarray

    def issue(self, pos: int) -> Issue | None:
        return self._issues.get(int(self._codes[pos]))


def canonical_column(table: Table, name: str, bad: np.ndarray, add: AddProblem) -> ReadColumn:
    """Read column ``name`` (see the module's docstring); reports the damage found and updates
    ``bad`` (cells reported as errors), which are blanked."""
    col = cols.column(name)
    n = len(table.row_numbers)
    codes, uniq = table.factors.get(name, (None, None))
    if codes is None or len(codes) != n:  # (the readers always give them; a table built otherwise)
        codes, uniq = pd.factorize(table.raw[name].to_numpy(dtype=object), use_na_sentinel=True)
    nu = len(uniq)
    u = _canonical_uniques(col, uniq)
    c = np.where(codes < 0, nu, codes)  # blank (-1) → the last slot
    if u.issues or u.spaced.any() or u.scientific.any():  # (most columns: nothing to report)
        _report_damage(name, codes, uniq, u, c, bad, add)
    vals = u.values.take(c)
    cat_of_u, categories = pd.factorize(u.values)
    cells = cat_of_u.take(c)
    if bad.any():
        vals[bad] = ""
        cells[bad] = cat_of_u[nu]  # u.values[nu] is ""
    categorical = factorised.categorical(cells, categories)
    return ReadColumn(pd.Series(vals, index=pd.RangeIndex(n), dtype=object), categorical, u.issues, c)


def _report_damage(name: str, codes: np.ndarray, uniq, u: _Uniques, c: np.ndarray, bad: np.ndarray,
                   add: AddProblem) -> None:
    """Report the cells whose distinct value reading found damaged (``u``); the errors among
    them join ``bad``."""
    nu = len(uniq)
    # 0 nothing to say or left to the rules, 1 a warning (the value is read), 2 an error (blanked)
    level = np.zeros(nu + 1, dtype=np.int8)
    for i, x in u.issues.items():
        level[i] = 0 if _judged_by_rules(x) else 1 if x.severity == "warning" else 2
    cell_level = level.take(c)
    sci_cells = u.scientific.take(c) & ~bad
    issue_cells = cell_level > 0
    space_cells = u.spaced.take(c) & ~bad & ~issue_cells
    raw = np.append(np.asarray(uniq, dtype=object), None)  # a cell as read: raw[codes[pos]] (blank -1: None)
    for pos in np.flatnonzero(sci_cells).tolist():
        v = raw[codes[pos]]
        add(pos, name, v, "identifier.scientific",
            f"{name} '{v}' is in scientific notation: the digits of the code were lost",
            f"format the {name} column as Text and re-enter the full code")
    for pos in np.flatnonzero(space_cells).tolist():
        v = raw[codes[pos]]
        add(pos, name, v, "text.spaces", f"{name} {v!r} has non-breaking or leading/trailing spaces; they were removed",
            "nothing to do (the value is read without them); retype it to silence this warning")
    for pos in np.flatnonzero(issue_cells & ~bad).tolist():
        issue: Issue = u.issues[c[pos]]
        add(pos, name, raw[codes[pos]], issue.rule, issue.message, issue.hint)
    bad |= sci_cells | (cell_level == 2)
