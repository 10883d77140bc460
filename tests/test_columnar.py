"""Export snapshots kept column-wise: read back exactly as the rows were exported, or not at all."""

import numpy as np
import pandas as pd
import pytest

from inventory_tools import columns as cols
from inventory_tools.xlsx import writer as xlsx_writer
from inventory_tools.exporting import export
from inventory_tools.stores import columnar, open_store
from inventory_tools.changes import ChangeSet

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


def rows_snapshot(store, statuses=None) -> pd.DataFrame:
    """The products as they are (nothing changed since the export): what its snapshot must hold."""
    return store.read_products(statuses)


@pytest.mark.parametrize("n", [0, 1, 70_000])
def test_encode_decode_round_trip(n):
    values = np.array([ODD_TEXTS[i % len(ODD_TEXTS)] + str(i % (n // 2 + 1)) for i in range(n)], dtype=object)
    codes, uniques = pd.factorize(values)
    back_codes, back_uniques = columnar.decode(*columnar.encode(codes, np.asarray(uniques, dtype=object)))
    assert list(back_uniques[back_codes]) == list(values)


def test_exported_snapshot_reads_back_column_wise_exactly_as_its_rows(store_path, tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_writer, "CHUNK_ROWS", 700)  # many chunks: a stored part each ...
    monkeypatch.setattr(columnar, "_PARTS_HELD", 200)  # ... stored while the export goes on
    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(5_000)), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    parts = store.state.db.execute("SELECT count(DISTINCT part) FROM export_columns WHERE export_id=?",
                                   (export_id,)).fetchone()[0]
    assert parts == 8
    fast = store.state.export_snapshot(export_id)
    pd.testing.assert_frame_equal(fast, rows_snapshot(store))
    some = ["Description", cols.KEY]
    pd.testing.assert_frame_equal(store.state.export_snapshot(export_id, columns=some), rows_snapshot(store)[some])
    assert store.state.db.execute("SELECT count(*) FROM export_rows").fetchone()[0] == 0  # no second copy
    store.close()


def test_csv_exports_and_status_filters_keep_columns_too(store_path, tmp_path):
    store = open_store(store_path)
    frame = products(300)
    frame.loc[::3, "Status"] = "Deprecated"
    store.apply(ChangeSet(creates=frame), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.csv", statuses=["Active"]).export_id
    fast = store.state.export_snapshot(export_id)
    assert len(fast) == 200 and set(fast["Status"]) == {"Active"}
    pd.testing.assert_frame_equal(fast, rows_snapshot(store, ["Active"]))
    store.close()


@pytest.mark.parametrize("damage", [
    "UPDATE export_columns SET codes = x'01' || substr(codes, 2) WHERE name = 'Name'",  # wrong width
    "UPDATE export_columns SET uniques = x'00ff' WHERE name = 'Description'",  # not deflated JSON
    "DELETE FROM export_columns WHERE name = 'Status'",  # a column missing
    "DELETE FROM export_columns",
])
def test_a_damaged_snapshot_is_an_error_never_a_wrong_base(store_path, tmp_path, damage):
    from inventory_tools.errors import StoreError

    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(400)), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    store.state.db.execute(damage)
    assert columnar.read(store.state.db, export_id, list(cols.names()), 400) is None
    with pytest.raises(StoreError, match="damaged") as caught:
        store.state.export_snapshot(export_id)
    assert "export a fresh list" in caught.value.hint
    store.close()


def test_an_export_made_before_version_2_is_read_from_its_rows(store_path, tmp_path):
    """Older exports kept rows only: their snapshot and the changes since them still work."""
    from inventory_tools.changes import CellChange
    from inventory_tools.stores.state import qi

    store = open_store(store_path)
    store.apply(ChangeSet(creates=products(30)), kind="import", source="t", base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    db = store.state.db
    names = ", ".join(qi(n) for n in cols.names())
    db.execute(f"INSERT INTO export_rows (export_id, {names}) SELECT ?, {names} FROM products ORDER BY rowid",
               (export_id,))
    db.execute("DELETE FROM export_columns")
    db.execute("UPDATE exports SET last_op = NULL")
    before = store.read_products()
    pd.testing.assert_frame_equal(store.state.export_snapshot(export_id), before)
    store.apply(ChangeSet(creates=products(0), updates=[CellChange("00003", "Name", "Product 3", "Renamed")]),
                kind="import",
                source="t", base_export_id=None, counts={})
    assert store.state.touched_since(export_id) is None
    got = store.read_by_codes_since(["00003", "00004"], export_id, before)
    assert dict(zip(got[cols.KEY], got["Name"])) == {"00003": "Renamed", "00004": "Product 4"}
    store.close()


def test_a_version_1_store_is_migrated_and_pruning_removes_columns(store_path, tmp_path, monkeypatch):
    from inventory_tools.stores import state

    with monkeypatch.context() as m:  # a store as the first release made it
        m.setattr(state, "MIGRATIONS", state.MIGRATIONS[:1])
        m.setattr(state, "SCHEMA_VERSION", 1)
        store = open_store(store_path)
        store.apply(ChangeSet(creates=products(50)), kind="import", source="t", base_export_id=None, counts={})
        store.close()
    monkeypatch.setattr(state, "SNAPSHOTS_KEPT", 1)
    store = open_store(store_path)  # migrated to the current version on open
    assert store.state.db.execute("PRAGMA user_version").fetchone()[0] == state.SCHEMA_VERSION
    first = export(store, tmp_path / "a.xlsx").export_id
    second = export(store, tmp_path / "b.xlsx").export_id
    kept = {r[0] for r in store.state.db.execute("SELECT DISTINCT export_id FROM export_columns")}
    assert kept == {second} and first != second
    pd.testing.assert_frame_equal(store.state.export_snapshot(second), store.read_products())
    store.close()
