"""The interface every product store implements (the embedded SQLite file, Cin7 Core).

Callers outside ``stores/`` call these methods; they never ask a store what it can do with
``hasattr``. The optional parts have defaults here that are right for a store without the
capability (no incremental reads, no reference lists, no resumable runs...).

Products travel as pandas DataFrames with exactly the column table's columns (in order), every
value a canonical ``str`` and blank as ``""`` (see :mod:`inventory_tools.values`). Local
bookkeeping (export snapshots, operations journal, sync state) lives in a
:class:`~inventory_tools.stores.state.LocalState`, a SQLite file, for every kind of store.
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Iterable

from .._lazy import lazy_import
from .. import columns as cols
from ..changes import ApplyOutcome, CellChange, ChangeSet, FrameSource, WriteEstimate

pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

if TYPE_CHECKING:
    from ..filters import ProductFilter
    from .state import LocalState


class Store(abc.ABC):
    kind: str  # "sqlite" | "cin7core"
    state: "LocalState"

    #: An apply is one transaction: all of it or nothing (else: journaled, product by product).
    atomic: bool = False
    #: ``sync`` pushes this store's products to Xero (Cin7 Core does that itself).
    pushes_to_xero: bool = True
    #: Counting products costs nothing (no API call), so an export can show a progress total.
    counts_cheaply: bool = False
    #: Setup fields the store requires on create, with the value it fills a blank with ({}: none).
    create_defaults: dict[str, str] = {}

    # -- identity -----------------------------------------------------------------------------
    @abc.abstractmethod
    def identity(self) -> str:
        """A stable id for this store (a workbook's manifest names it)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Human words for where the products are."""

    @abc.abstractmethod
    def close(self) -> None:
        ...

    # -- reads --------------------------------------------------------------------------------
    @abc.abstractmethod
    def read_products(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        """Every product (optionally only some canonical statuses), in a stable order."""

    @abc.abstractmethod
    def read_by_codes(self, codes: Iterable[str]) -> pd.DataFrame:
        """The products with exactly these codes (missing codes are simply absent)."""

    def read_by_codes_since(self, codes: Iterable[str], export_id: str, snapshot: pd.DataFrame) -> pd.DataFrame:
        """:meth:`read_by_codes`, allowed to reuse export ``export_id``'s ``snapshot`` (already in
        memory) for products that have not changed since that export."""
        return self.read_by_codes(codes)

    def stream(self, statuses: Iterable[str] | None = None, match: "ProductFilter | None" = None):
        """The products to export: ``n``, ``chunks(size)``, ``distinct(column)``, ``status_counts()``.

        ``match`` (export's ``--category``, ``--brand``, ``--code``, ``--changed-since``; its
        statuses are ``statuses``) narrows them. This default reads the products and filters them
        in memory; ``changed_since`` needs :meth:`read_modified_since`."""
        if match is not None and match.changed_since is not None:
            frame = self.read_modified_since(match.since_text())
        else:
            frame = self.read_products(list(statuses or []) or None)
        if match is not None:
            frame = frame[match.mask(frame)].reset_index(drop=True)
        return FrameSource(frame)

    def read_modified_since(self, since: str) -> pd.DataFrame:
        """Products created or changed since ``since`` (ISO 8601 UTC, ``yyyy-MM-ddTHH:mm:ss``)."""
        from ..errors import UsageError

        raise UsageError(f"--changed-since is not supported by {self.describe()}: it records no change dates",
                         "filter by --status, --category, --brand or --code instead")

    def values_in_use(self, column: str) -> list[str]:
        """The distinct non-blank values of ``column`` across every product (dropdowns, filters)."""
        return FrameSource(self.read_products()).distinct(column)

    def codes(self) -> list[str]:
        return list(self.read_products()[cols.KEY])

    def list_rows(self, columns: Iterable[str]) -> list[tuple[str, ...]]:
        """Every product's values of ``columns`` as plain tuples, in :meth:`read_products`' order
        (``list``: a store that can answer without a DataFrame spares the command pandas)."""
        return list(self.read_products()[list(columns)].itertuples(index=False, name=None))

    def status_counts(self) -> dict[str, int]:
        return FrameSource(self.read_products()).status_counts()

    def state_token(self) -> str | None:
        """A token that changes whenever the products may have changed (None: cannot tell, e.g. a
        remote store others write to): a verdict reached on the store is reused only while it holds."""
        return None

    def last_ops(self, codes: Iterable[str]) -> dict[str, int | None]:
        """The last operation of ours that wrote each code (None: not known)."""
        return {}

    # -- references (names a product points at: Category, units, tax rules, accounts...) -------
    def reference_lists(self) -> dict[str, list[str]]:
        """Column → the names the store accepts (for dropdowns); {} when any name is accepted."""
        return {}

    def check_references(self, frame: pd.DataFrame, lists: dict[str, list[str]] | None = None) -> list[dict]:
        """Problems for names the store does not know, before any write (see Cin7Store)."""
        return []

    # -- writes -------------------------------------------------------------------------------
    @abc.abstractmethod
    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None,
              counts: dict, progress=None, undo_of: int | None = None,
              detail: dict | None = None) -> ApplyOutcome:
        """Apply a change set and journal it as one operation (history / undo)."""

    def unfinished_operation(self, kind: str, source: str | None) -> dict | None:
        """The interrupted operation a re-run of (kind, source) would resume, if any."""
        return None

    def write_estimate(self, n_products: int) -> WriteEstimate | None:
        """How long writing ``n_products`` takes at the store's API pace (None: no pace to keep)."""
        return None


# the value types live in inventory_tools.changes; named here too for code written before they moved
__all__ = ["Store", "ApplyOutcome", "CellChange", "ChangeSet"]
