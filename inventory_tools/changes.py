"""What an import, sync or undo writes, as plain values shared by the plan and every store.

No I/O and no store code here: ``import inventory_tools.plan`` loads this, never SQLite.
Products travel as pandas DataFrames with exactly the column table's columns (in order), every
value a canonical ``str`` and blank as ``""`` (see :mod:`inventory_tools.values`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ._lazy import lazy_import
from . import columns as cols

pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)


@dataclass(slots=True)  # a 100,000-product edit plans ~100,000 of them
class CellChange:
    """One cell to write: ``old`` is what the plan saw in the store, ``new`` what to write."""

    code: str
    column: str
    old: str
    new: str


@dataclass
class ChangeSet:
    """What to write: whole new products plus cell-level updates (with the values they replace).

    ``CellChange.old`` is also what the store must still hold when the change is applied
    (optimistic concurrency: someone else's write in between stops the apply).
    """

    creates: pd.DataFrame
    updates: list[CellChange] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # only undo deletes (SQLite); Cin7 deprecates
    #: A remote store writing for minutes finds cells changed during the run: abort (leave that
    #: product untouched), skip (write its other cells) or overwrite (write the file's value).
    on_conflict: str = "abort"
    #: code → the product (every column) as the plan saw it before deleting it: the apply
    #: refuses if it changed since, as for ``CellChange.old`` (a code not here is not checked)
    delete_expected: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.creates.empty and not self.updates and not self.deletes


@dataclass
class ApplyOutcome:
    op_id: int
    created: list[str]
    updated: list[str]
    deleted: list[str]
    failed: dict[str, str] = field(default_factory=dict)  # code -> reason (remote stores)
    #: Facts about the whole run, said once: {"kind", "message", ...} (e.g. a status the store refuses).
    notices: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class WriteEstimate:
    """How long a remote store's API takes to write some products (the CLI words it)."""

    products: int
    calls: int
    seconds: float
    calls_per_minute: int


class FrameSource:
    """Products already in memory, shaped like a store's stream (``n``, ``chunks``, ``distinct``)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.n = len(frame)

    def chunks(self, size: int):
        for start in range(0, self.n, size):
            yield self.frame.iloc[start:start + size]

    def distinct(self, column: str) -> list[str]:
        return [v for v in pd.unique(self.frame[column]) if v] if self.n else []

    def status_counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.frame[cols.STATUS].value_counts().items()} if self.n else {}


def empty_products() -> pd.DataFrame:
    """A product frame with every column of the table and no rows."""
    return pd.DataFrame({n: pd.Series(dtype=object) for n in cols.names()})
