"""``list``: the products at a glance, with counts by status and the last sync.

Plain rows from the store (:meth:`~inventory_tools.stores.base.Store.list_rows`): on a local store
the command imports neither pandas nor numpy, so it starts in a fraction of the time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from . import columns as cols
from .values import parse_statuses

SHOWN = (cols.KEY, "Name", cols.STATUS, "Category")


@dataclass
class ProductList:
    rows: list[tuple[str, ...]]  # the SHOWN columns, in the store's order
    counts: dict[str, int]  # by status, whole store
    last_sync: dict | None

    @property
    def products(self):
        """The rows as a DataFrame with the SHOWN columns (imports pandas)."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(SHOWN), dtype=object)

    def to_json(self) -> dict:
        return {
            "products": [dict(zip(("code", "name", "status", "category"), r)) for r in self.rows],
            "counts": self.counts,
            "total": int(sum(self.counts.values())),
            "last_sync": self.last_sync,
        }


def status_counts(statuses: Iterable[str]) -> dict[str, int]:
    """Products by status: the canonical statuses first (in their order, 0 when none), then any
    other value found, most frequent first (ties: first seen first)."""
    seen: dict[str, int] = {}
    for s in statuses:
        seen[s] = seen.get(s, 0) + 1
    ordered = {s: seen.get(s, 0) for s in cols.statuses()}
    ordered.update({s: n for s, n in sorted(seen.items(), key=lambda kv: -kv[1]) if s not in ordered})
    return ordered


def list_products(store, statuses: Iterable[str] | None = None) -> ProductList:
    wanted = set(parse_statuses(statuses))
    everything = store.list_rows(SHOWN)
    status = SHOWN.index(cols.STATUS)
    rows = [r for r in everything if r[status] in wanted] if wanted else everything
    last_sync = next((op for op in store.state.operations() if op["kind"] == "sync"), None)
    return ProductList(rows, status_counts(r[status] for r in everything), last_sync)
