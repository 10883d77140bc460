"""``list``: rows, counts by status and the last sync, from plain store rows (no pandas)."""
from __future__ import annotations

import sqlite3

from inventory_tools import columns as cols
from inventory_tools.listing import SHOWN, list_products, status_counts
from inventory_tools.stores import open_store
from inventory_tools.stores.base import Store


def set_status(store_path: str, codes: list[str], status: str | None) -> None:
    db = sqlite3.connect(store_path)
    db.executemany('UPDATE products SET "Status" = ? WHERE "ProductCode" = ?', [(status, c) for c in codes])
    db.commit()
    db.close()


def test_json_keys_rows_and_counts(ex):
    out = ex.json("list")
    assert list(out) == ["products", "counts", "total", "last_sync"]
    assert all(list(p) == ["code", "name", "status", "category"] for p in out["products"])
    assert list(out["counts"])[:3] == list(cols.statuses())
    assert out["total"] == len(out["products"]) == sum(out["counts"].values()) == 12


def test_a_status_filter_narrows_the_rows_not_the_counts(ex):
    everything = ex.json("list")
    active = ex.json("list", "--status", "ACTIVE")
    assert active["counts"] == everything["counts"] and active["total"] == everything["total"]
    assert [p for p in everything["products"] if p["status"] == "Active"] == active["products"]


def test_other_statuses_follow_the_known_ones_most_frequent_first(ex):
    codes = [p["code"] for p in ex.json("list")["products"]]
    set_status(ex.store, codes[:1], "Legacy")
    set_status(ex.store, codes[1:3], "Archived")
    set_status(ex.store, codes[3:4], None)  # NULL reads as blank, as everywhere else
    counts = ex.json("list")["counts"]
    assert list(counts) == [*cols.statuses(), "Archived", "Legacy", ""]
    assert (counts["Archived"], counts["Legacy"], counts[""]) == (2, 1, 1)
    assert status_counts(["b", "a", "b", "a", "c"]) == {**{s: 0 for s in cols.statuses()}, "b": 2, "a": 2, "c": 1}


def test_the_table_and_the_library_result(ex):
    text = ex("list").stdout
    assert text.splitlines()[0].split() == ["Code", "Name", "Status", "Category"]
    assert "12 products:" in text and "Last sync: never" in text
    store = open_store(ex.store)
    try:
        result = list_products(store, ["deprecated"])
        frame = result.products
        assert list(frame.columns) == list(SHOWN)
        assert list(frame.itertuples(index=False, name=None)) == result.rows
        assert all(r[2] == "Deprecated" for r in result.rows)
        # the light read of the SQLite store equals the interface's default (from read_products)
        assert store.list_rows(SHOWN) == Store.list_rows(store, SHOWN)
    finally:
        store.close()
