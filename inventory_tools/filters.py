"""Which products an export holds: ``--status``, ``--category``, ``--brand``, ``--code GLOB`` and
``--changed-since DATE``, combined (AND across options, OR within a repeated option).

A :class:`ProductFilter` is plain data. Stores apply it their own way: the embedded store as
one SQL ``WHERE`` (:meth:`ProductFilter.sql`), any other store on the frame it read
(:meth:`ProductFilter.mask`). Category and brand are matched ignoring case and surrounding
spaces; code globs (``*``, ``?``, ``[...]``) ignore the case of A-Z (two codes that differ only
by case are an error anyway, so nothing is lost).
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from . import columns as cols
from .errors import UsageError
from .values import fold

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: what SQLite's ``lower()`` does, so SQL and pandas agree."""
    return text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class ProductFilter:
    statuses: tuple[str, ...] = ()  # canonical statuses
    categories: tuple[str, ...] = ()  # exact stored names (resolved from what the user typed)
    brands: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # globs
    changed_since: dt.datetime | None = None  # UTC

    @property
    def narrows(self) -> bool:
        """Anything beyond the statuses (which every store has always filtered on)."""
        return bool(self.categories or self.brands or self.codes or self.changed_since)

    def since_text(self) -> str:
        """``changed_since`` as ISO 8601 UTC without zone (``2026-07-01T00:00:00``)."""
        return self.changed_since.strftime("%Y-%m-%dT%H:%M:%S") if self.changed_since else ""

    def describe(self) -> dict[str, str]:
        """The filters as manifest entries (only those given)."""
        out = {}
        for key, vals in (("category", self.categories), ("brand", self.brands), ("code", self.codes)):
            if vals:
                out[key] = " | ".join(vals)
        if self.changed_since:
            out["changed_since"] = self.since_text() + "Z"
        return out

    def sql(self, quote: Callable[[str], str]) -> tuple[str, tuple]:
        """``(" WHERE ...", params)`` over the products table (``""`` when nothing filters).
        ``_changed_at`` is the embedded store's per-product change time (ISO UTC with ``Z``)."""
        clauses, params = [], []
        for column, vals in ((cols.STATUS, self.statuses), ("Category", self.categories), ("Brand", self.brands)):
            if vals:
                clauses.append(f"{quote(column)} IN ({', '.join('?' * len(vals))})")
                params += vals
        if self.codes:
            clauses.append("(" + " OR ".join(f"lower({quote(cols.KEY)}) GLOB ?" for _ in self.codes) + ")")
            params += [ascii_lower(g) for g in self.codes]
        if self.changed_since:
            clauses.append("_changed_at >= ?")
            params.append(self.since_text() + "Z")
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of ``frame`` the filter keeps (statuses, names and globs; not ``changed_since``,
        which a store answers from its own change times)."""
        keep = np.ones(len(frame), dtype=bool)
        for column, vals in ((cols.STATUS, self.statuses), ("Category", self.categories), ("Brand", self.brands)):
            if vals:
                keep &= frame[column].isin(vals).to_numpy()
        if self.codes:
            codes = frame[cols.KEY].map(ascii_lower)
            pattern = "|".join(f"(?:{glob_regex(ascii_lower(g))})" for g in self.codes)
            keep &= codes.str.fullmatch(pattern, flags=re.DOTALL).fillna(False).to_numpy(dtype=bool)
        return keep


def glob_regex(glob: str) -> str:
    """A glob as SQLite's GLOB reads it (``*``, ``?``, ``[...]``, ``[^...]``) → a regex."""
    out, i = [], 0
    while i < len(glob):
        ch = glob[i]
        close = _class_end(glob, i) if ch == "[" else -1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif close > 0:
            body = glob[i + 1:close]
            neg = body.startswith("^")
            body = (body[1:] if neg else body).replace("\\", "\\\\").replace("[", "\\[")
            out.append("[" + ("^" if neg else "") + body + "]")
            i = close
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def _class_end(glob: str, i: int) -> int:
    """Index of the ``]`` closing the class opened at ``i`` (a ``]`` first in it is literal), or -1."""
    j = i + 1
    if glob[j:j + 1] == "^":
        j += 1
    if glob[j:j + 1] == "]":
        j += 1
    return glob.find("]", j)


def parse_changed_since(text: str | None, *, today: dt.date | None = None) -> dt.datetime | None:
    """``YYYY-MM-DD`` (the start of that day, UTC, as ``sync --since``) or an ISO date and time."""
    if text is None or str(text).strip() == "":
        return None
    raw = str(text).strip()
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            when = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
        else:
            when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
            when = when.astimezone(dt.timezone.utc) if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise UsageError(f"--changed-since {raw!r} is not a date",
                         "write it as YYYY-MM-DD (the start of that day, UTC), e.g. --changed-since 2026-07-01") from None
    if when.date() > (today or dt.datetime.now(dt.timezone.utc).date()):
        raise UsageError(f"--changed-since {raw} is in the future", "give a past date, e.g. --changed-since 2026-07-01")
    return when


def resolve_names(option: str, given: Iterable[str], in_use: Iterable[str]) -> tuple[str, ...]:
    """What the user typed for ``--category``/``--brand`` → the names products hold (ignoring
    case and surrounding spaces). A name no product holds is a usage error with a suggestion."""
    by_fold: dict[str, list[str]] = {}
    for name in in_use:
        if name:
            by_fold.setdefault(fold(name), []).append(name)
    out: list[str] = []
    for typed in given:
        hits = by_fold.get(fold(typed))
        if not hits:
            close = difflib.get_close_matches(fold(typed), list(by_fold), n=1, cutoff=0.6)
            hint = (f"did you mean {by_fold[close[0]][0]!r}?" if close else
                    f"names in use: {', '.join(sorted((v[0] for v in by_fold.values()), key=str.casefold)[:12])}"
                    if by_fold else "no product has one yet")
            raise UsageError(f"--{option} {typed!r}: no product has that {option}", hint)
        out += hits
    return tuple(dict.fromkeys(out))


def check_globs(globs: Iterable[str]) -> tuple[str, ...]:
    out = []
    for g in globs:
        g = g.strip()
        if not g:
            raise UsageError("--code needs a pattern", "e.g. --code 'HNG-*' (quote it so the shell leaves * alone)")
        if any(ch == "[" and _class_end(g, i) < 0 for i, ch in enumerate(g)):
            raise UsageError(f"--code {g!r}: an unclosed [ in the pattern", "e.g. --code 'SOCK-[LM]*'")
        out.append(g)
    return tuple(dict.fromkeys(out))
