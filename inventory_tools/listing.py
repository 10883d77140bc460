"""``list``: the products at a glance, with counts by status and the last sync."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from . import columns as cols
from .exporting import parse_statuses

SHOWN = (cols.KEY, "Name", cols.STATUS, "Category")


@dataclass
class ProductList:
    products: pd.DataFrame  # the SHOWN columns
    counts: dict[str, int]  # by status, whole store
    last_sync: dict | None

    def to_json(self) -> dict:
        return {
            "products": [dict(zip(("code", "name", "status", "category"), r))
                         for r in self.products.itertuples(index=False, name=None)],
            "counts": self.counts,
            "total": int(sum(self.counts.values())),
            "last_sync": self.last_sync,
        }


def list_products(store, statuses: Iterable[str] | None = None) -> ProductList:
    wanted = parse_statuses(statuses)
    frame = store.read_products(wanted or None)
    everything = frame if not wanted else store.read_products()
    counts = {s: int(n) for s, n in everything[cols.STATUS].value_counts().items()}
    ordered = {s: counts.get(s, 0) for s in cols.statuses()}
    ordered.update({s: n for s, n in counts.items() if s not in ordered})
    last_sync = next((op for op in store.state.operations() if op["kind"] == "sync"), None)
    return ProductList(frame[list(SHOWN)].reset_index(drop=True), ordered, last_sync)
