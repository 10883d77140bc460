"""Problems that were there before do not block the manager's edits (issue #16 §2).

An error in cells the file did not change (against its export base, or the store when it has
none) is data already in the store — a legacy BOM without QuantityToProduce, an old account —
and is reported apart ("already in the store") without blocking the import. An error in a cell
the file changed, in a new row, or in a cross-field rule that involves a changed cell blocks as
before; so do problems of the file itself (headers, error cells, merged cells, repeated codes).
``strict`` makes every error block.
"""
from __future__ import annotations

from .._lazy import lazy_import
from .. import columns as cols
from .. import factorised
from ..reading import Problem
from .crossfield import Rows

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)

#: Problems of the file itself: never data already in the store.
FILE_RULES = frozenset({"cell.error", "cell.formula_no_value", "cell.merged", "code.duplicate", "code.same_product",
                        "status.into_setup_required", "identifier.scientific", "identifier.date",
                        "identifier.digits_lost", "identifier.leading_zeros"})


def mark(rows: Rows, problems: list[Problem]) -> list[tuple[int, str]]:
    """Set ``preexisting`` on each error that is already in the store; returns the (row, column)
    cells whose value the checks refused and left blank, to be read as unchanged."""
    blanked: list[tuple[int, str]] = []
    for p in problems:
        if not _candidate(rows, p):
            continue
        involved = p.involves or (p.column,)
        if any(rows.changed(p.index, c, p.value if c == p.column else None) for c in involved):
            continue
        p.preexisting = True
        if p.column in rows.present and rows.frame[p.column].iat[p.index] == "":
            blanked.append((p.index, p.column))
    return blanked


def _candidate(rows: Rows, p: Problem) -> bool:
    return (p.severity == "error" and p.index is not None and p.column in cols.by_name()
            and p.rule not in FILE_RULES and not p.rule.startswith("header.")
            and bool(rows.known[p.index]) and rows.rows_ok[p.index])


def restore(rows: Rows, blanked: list[tuple[int, str]]) -> set[str]:
    """A refused cell the file did not change keeps the value it has (the export's, or the store's):
    the import must not read its blank as "clear it". Returns the columns changed."""
    touched: set[str] = set()
    for pos, c in blanked:
        if rows.in_base[pos] and c in rows.base.columns:
            value = rows.base[c].iat[pos]
        elif rows.current is not None and rows.in_store[pos] and c in rows.current.columns:
            value = rows.current[c].iat[pos]
        else:
            continue
        if value != "":
            rows.frame.iat[pos, rows.frame.columns.get_loc(c)] = value
            touched.add(c)
    return touched


def problem_columns(problems: list[Problem]) -> list[str]:
    """The columns whose export-base values :func:`mark` compares (the error cells' and every column
    a cross-field rule involves)."""
    wanted = {cols.KEY}
    for p in problems:
        if p.severity == "error" and p.index is not None:
            wanted.update(c for c in (p.involves or (p.column,)) if c in cols.by_name())
    return [n for n in cols.names() if n in wanted]


def categorical(values: pd.Series) -> pd.Categorical:
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return factorised.categorical(codes, uniques)
