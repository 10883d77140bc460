"""Two readings of one workbook compared (``IT_READER_CHECK=1``, see :mod:`.workbook`): the fastexcel reader
must give what the python-calamine reader gives, value for value and type for type."""
from __future__ import annotations

import math

from .._lazy import lazy_import

np = lazy_import("numpy", globals())  # imported on first use (issue 17)


class ReadersDiffer(AssertionError):
    """The two readers disagree about a workbook."""


def _same_value(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _cells(table, name: str) -> list:
    codes, uniques = table.factors[name]
    return np.append(np.asarray(uniques, dtype=object), None)[codes].tolist()


def same_tables(fast, slow) -> None:
    """Raise :class:`ReadersDiffer` naming the first difference between two Tables of one file."""
    for attr in ("kind", "sheet", "row_numbers", "column_letters", "header_row", "extra_columns", "manifest",
                 "sheet_names", "cell_flags"):
        if getattr(fast, attr) != getattr(slow, attr):
            raise ReadersDiffer(f"{attr}: {getattr(fast, attr)!r} != {getattr(slow, attr)!r}")
    a = [p.to_dict() | {"index": p.index, "at": p.at} for p in fast.problems]
    b = [p.to_dict() | {"index": p.index, "at": p.at} for p in slow.problems]
    if a != b:
        raise ReadersDiffer(f"problems: {a!r} != {b!r}")
    if list(fast.raw.columns) != list(slow.raw.columns) or list(fast.factors) != list(slow.factors):
        raise ReadersDiffer(f"columns: {list(fast.raw.columns)} != {list(slow.raw.columns)}")
    for name in fast.raw.columns:
        for source, x, y in (("raw", fast.raw[name].tolist(), slow.raw[name].tolist()),
                             ("factors", _cells(fast, name), _cells(slow, name))):
            if len(x) != len(y):
                raise ReadersDiffer(f"{source} {name}: {len(x)} cells != {len(y)}")
            for i, (u, v) in enumerate(zip(x, y)):
                if not _same_value(u, v):
                    raise ReadersDiffer(f"{source} {name} row {fast.row_numbers[i]}: {u!r} != {v!r}")
