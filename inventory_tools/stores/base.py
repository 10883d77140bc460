"""The Store interface every product store implements (SQLite, Cin7 Core).

Products travel as pandas DataFrames with exactly the column table's columns (in order), every
value a canonical ``str`` and blank as ``""`` (see :mod:`inventory_tools.values`).
Local bookkeeping (export snapshots, operations journal, sync state) lives in a
:class:`~inventory_tools.stores.state.LocalState`, a SQLite file, for every kind of store.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol, runtime_checkable

import pandas as pd

from .state import LocalState


@dataclass
class CellChange:
    code: str
    column: str
    old: str
    new: str


@dataclass
class ChangeSet:
    """What to write: whole new products plus cell-level updates (with the values they replace).

    ``expected`` holds, per updated cell, the value the store must still hold when the change
    is applied (optimistic concurrency: someone else's write in between aborts the apply).
    """

    creates: pd.DataFrame
    updates: list[CellChange] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # only undo deletes (SQLite); Cin7 deprecates

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


@runtime_checkable
class Store(Protocol):
    kind: str  # "sqlite" | "cin7core"
    state: LocalState

    def identity(self) -> str:
        """A stable id for this store (a workbook's manifest names it)."""

    def describe(self) -> str:
        """Human words for where the products are."""

    def read_products(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        """Every product (optionally only some canonical statuses), in a stable order."""

    def read_by_codes(self, codes: Iterable[str]) -> pd.DataFrame:
        """The products with exactly these codes (missing codes are simply absent)."""

    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None,
              counts: dict, progress=None) -> ApplyOutcome:
        """Apply a change set and journal it as one operation (history / undo)."""

    def close(self) -> None:
        ...
