"""The header row: where it is, which inventory columns it names, and what is wrong with it."""
from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field

from .. import columns as cols
from ..cellref import col_letter
from ..values import fold
from .table import Problem

HEADER_SCAN_ROWS = 10  # the header row is looked for in the first rows of a sheet


def blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", fold(text))


@functools.lru_cache(maxsize=None)
def _header_maps() -> tuple[dict[str, str], dict[str, str], list[str]]:
    exact = {fold(n): n for n in cols.names()}
    squashed = {_squash(n): n for n in cols.names()}
    return exact, squashed, list(exact)


def match_header(text: str) -> tuple[str | None, str | None]:
    """Header text → (canonical name, None) | (None, near-miss name) | (None, None)."""
    exact, squashed, folded = _header_maps()
    key = fold(text)
    if key in exact:
        return exact[key], None
    sq = _squash(text)
    if sq in squashed:
        return None, squashed[sq]
    if len(key) >= 4:
        close = difflib.get_close_matches(key, folded, n=1, cutoff=0.85)
        if close:
            return None, exact[close[0]]
    return None, None



def header_row_of(rows: list[list]) -> int | None:
    """Index of the header row: the first of the first rows holding ProductCode (else None)."""
    for i, r in enumerate(rows[:HEADER_SCAN_ROWS]):
        for v in r:
            if isinstance(v, str) and fold(v) == fold(cols.KEY):
                return i
    return None


def find_header_row(head: list[list]) -> int:
    """The header row among the first rows: the one naming ProductCode, else the first non-blank."""
    at = header_row_of(head)
    if at is None:
        at = next((i for i, r in enumerate(head) if any(not blank(v) for v in r)), 0)
    return at


@dataclass
class Header:
    """The header row matched against the column table (``row`` is its 1-based sheet row)."""

    cells: list
    row: int
    sheet: str | None
    is_csv: bool
    recognised: dict[str, int] = field(default_factory=dict)  # column name → index
    extras: dict[str, str] = field(default_factory=dict)  # header text → letter (ignored columns)
    near: list[tuple[int, str, str]] = field(default_factory=list)  # (index, text, suggested name)
    by_column: dict[int, Problem] = field(default_factory=dict)  # problems, put in column order

    def where(self, ci: int) -> str:
        return f"header column {ci + 1} (line 1)" if self.is_csv else f"{col_letter(ci)}{self.row}"

    def _problem(self, ci: int, column, value, rule: str, message: str, hint: str) -> Problem:
        return Problem(self.sheet, self.row, column, self.where(ci), value, rule, message, hint)

    def match(self) -> "Header":
        for ci, h in enumerate(self.cells):
            if blank(h):
                continue
            text = h if isinstance(h, str) else str(h)
            name, suggestion = match_header(text)
            if name is not None and name in self.recognised:
                self.by_column[ci] = self._problem(
                    ci, name, text, "header.duplicate",
                    f"column {name} appears twice (also column {col_letter(self.recognised[name])})",
                    "delete one of the two columns")
            elif name is not None:
                self.recognised[name] = ci
            elif suggestion is not None:
                self.near.append((ci, text, suggestion))
            else:
                self.extras[text] = col_letter(ci)
                self.by_column[ci] = self._problem(
                    ci, None, text, "header.unknown",
                    f"column '{text}' is not an inventory column; it is ignored",
                    "leave it if it is your own note column; otherwise check the spelling against the exported header")
        return self

    @property
    def ordered(self) -> list[tuple[str, int]]:
        """(column name, index) of the recognised columns, left to right."""
        return sorted(self.recognised.items(), key=lambda kv: kv[1])

    def problems(self, has_data: set[int]) -> list[Problem]:
        """Every header problem, once it is known which columns hold values (``has_data``)."""
        for ci in sorted(has_data):  # values under an empty header
            if ci not in self.recognised.values() and (ci >= len(self.cells) or blank(self.cells[ci])):
                self.by_column[ci] = self._problem(ci, None, None, "header.blank",
                                                   f"column {col_letter(ci)} has values but no header; it is ignored",
                                                   "give the column a header from the column list, or delete it")
        out = [self.by_column[ci] for ci in sorted(self.by_column)]
        for ci, text, suggestion in self.near:
            if suggestion in self.recognised:
                self.extras[text] = col_letter(ci)
                out.append(self._problem(ci, None, text, "header.unknown",
                                         f"column '{text}' is not an inventory column (it looks like "
                                         f"{suggestion}, which is also present); it is ignored",
                                         "delete the column if it is a leftover copy"))
            else:
                out.append(self._problem(ci, suggestion, text, "header.near_miss",
                                         f"column '{text}' is not a known column; did you mean {suggestion}?",
                                         f"rename the header to {suggestion} exactly"))
        if cols.KEY not in self.recognised and not any(sug == cols.KEY for _, _, sug in self.near):
            out.append(Problem(self.sheet, self.row, cols.KEY, "header" if self.is_csv else f"A{self.row}",
                               None, "header.missing",
                               f"the required column {cols.KEY} is missing from the header row",
                               f"add a {cols.KEY} column (the product's SKU) as in the exported file"))
        return out
