"""Export snapshots kept column-wise: read back exactly as the rows were exported, or not at all."""
import sqlite3

import numpy as np
import pandas as pd
import pytest

from inventory_tools import columns as cols
from inventory_tools import xlsx_writer
from inventory_tools.exporting import export
from inventory_tools.stores import columnar, open_store
from inventory_tools.stores.base import ChangeSet

ODD_TEXTS = ["", "0", "00123", "a\r\nb\nc", "naïve ☃ \u00a0x", '"quoted", [json]', "\\", "=1+1", "x" * 5000]


def products(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    data = {name: [""] * n for name in cols.names()}
    data[cols.KEY] = [f"{i:05d}" for i in range(n)]  # leading zeros
    data["Name"] = [f"Product {i}" for i in range(n)]  # unique: needs 2- or 4-byte codes
    data["Status"] = ["Active"] * n
    data["Description"] = [ODD_TEXTS[i] for i in rng.integers(0, len(ODD_TEXTS), n)]
    data["PriceTier1"] = [str(v) for v in rng.integers(0, 300, n)]  # > 255 distinct values
    return pd.DataFrame(data, columns=list(cols.names())).astype(object)


def rows_snapshot(store, export_id: str) -> pd.DataFrame:
    """The same snapshot as stored row by row (what an import read before columns existed)."""
    from inventory_tools.stores.state import frame_from_cursor, select_list

    cur = store.state.db.execute(f"SELECT {select_list()} FROM export_rows WHERE export_id=? ORDER BY rowid",
                                 (export_id,))
    return frame_from_cursor(cur)


@pytest.mark.parametrize("n", [0, 1, 70_000])
def test_encode_decode_round_trip(n):
    values = np.array([ODD_TEXTS[i % len(ODD_TEXTS)] + str(i % (n // 2 + 1)) for i in range(n)], dtype=object)
    codes, uniques = pd.factorize(values)
    back_codes, back_uniques = columnar.decode(*columnar.encode(codes, np.asarray(uniques, dtype=object)))
    assert list(back_uniques[back_codes]) == list(values)


def test_exported_snapshot_reads_back_column_wise_exactly_as_its_rows(store_path, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_writer, "CHUNK_ROWS", 700)  # many chunks ...
    monkeypatch.setattr(columnar, "PART_ROWS", 2_000)  # ... and several stored parts
    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(5_000)), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    parts = store.state.db.execute("SELECT count(DISTINCT part) FROM export_columns WHERE export_id=?",
                                   (export_id,)).fetchone()[0]
    assert parts == 3
    fast = store.state.export_snapshot(export_id)
    pd.testing.assert_frame_equal(fast, rows_snapshot(store, export_id))
    some = ["Description", cols.KEY]
    pd.testing.assert_frame_equal(store.state.export_snapshot(export_id, columns=some),
                                  rows_snapshot(store, export_id)[some])
    store.close()


def test_csv_exports_and_status_filters_keep_columns_too(store_path, tmp_path):
    store = open_store(store_path)
    frame = products(300)
    frame.loc[::3, "Status"] = "Deprecated"
    store.apply(ChangeSet(creates=frame), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.csv", statuses=["Active"]).export_id
    fast = store.state.export_snapshot(export_id)
    assert len(fast) == 200 and set(fast["Status"]) == {"Active"}
    pd.testing.assert_frame_equal(fast, rows_snapshot(store, export_id))
    store.close()


@pytest.mark.parametrize("damage", [
    "UPDATE export_columns SET codes = x'01' || substr(codes, 2) WHERE name = 'Name'",  # wrong width
    "UPDATE export_columns SET uniques = x'00ff' WHERE name = 'Description'",  # not deflated JSON
    "DELETE FROM export_columns WHERE name = 'Status'",  # a column missing
    "DELETE FROM export_columns",  # an export made before columns were kept
])
def test_a_damaged_or_missing_column_copy_falls_back_to_the_rows(store_path, tmp_path, damage):
    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(400)), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    store.state.db.execute(damage)
    assert columnar.read(store.state.db, export_id, list(cols.names()), 400) is None
    pd.testing.assert_frame_equal(store.state.export_snapshot(export_id), rows_snapshot(store, export_id))
    store.close()


def test_a_version_1_store_is_migrated_and_pruning_removes_columns(store_path, tmp_path, monkeypatch):
    from inventory_tools.stores import state

    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(50)), kind="import", source="t", base_export_id=None, counts={})
    store.close()
    db = sqlite3.connect(store_path)
    db.execute("DROP TABLE export_columns")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    monkeypatch.setattr(state, "SNAPSHOTS_KEPT", 1)
    store = open_store(store_path)  # migrated to the current version on open
    first = export(store, tmp_path / "a.xlsx").export_id
    second = export(store, tmp_path / "b.xlsx").export_id
    kept = {r[0] for r in store.state.db.execute("SELECT DISTINCT export_id FROM export_columns")}
    assert kept == {second} and first != second
    store.close()
