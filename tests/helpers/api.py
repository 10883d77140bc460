"""Building change sets and pointing the environment at the local fakes."""
from __future__ import annotations

import pandas as pd

from inventory_tools import columns as cols
from inventory_tools.changes import ChangeSet, empty_products


def frame(*rows: dict) -> pd.DataFrame:
    """Products with every column of the table (blank where a row does not say)."""
    if not rows:
        return empty_products()
    full = [{n: r.get(n, "") for n in cols.names()} for r in rows]
    return pd.DataFrame.from_records(full, columns=list(cols.names())).astype(object)


def apply(store, creates=(), updates=(), deletes=(), source="inventory.xlsx", progress=None, on_conflict="abort"):
    """``store.apply`` of an import with these creates (row dicts), updates (CellChange) and deletes."""
    cs = ChangeSet(creates=frame(*creates), updates=list(updates), deletes=list(deletes), on_conflict=on_conflict)
    return store.apply(cs, kind="import", source=source, base_export_id=None,
                       counts={"create": len(creates), "update": len(updates)}, progress=progress)


def point_env_at(monkeypatch, env: dict) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)


def comparable_products(fake) -> dict:
    """A fake Cin7's products without the fields that differ between two equal runs."""
    return {p["SKU"]: {k: v for k, v in p.items() if k not in ("ID", "LastModifiedOn")} for p in fake.products.values()}


def add_products(store, rows: list[dict]) -> None:
    """Products written straight into ``store`` (an import of these rows, every other column blank)."""
    frame = pd.DataFrame([{**{n: "" for n in cols.names()}, **r} for r in rows], columns=list(cols.names()))
    store.apply(ChangeSet(creates=frame.astype(object)), kind="import", source="test", base_export_id=None, counts={})
