"""The embedded store: created on first use, refuses what is not ours, all-or-nothing writes."""
import os
import signal
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from inventory_tools import columns as cols
from inventory_tools.errors import StoreError
from inventory_tools.stores import open_store
from inventory_tools.changes import CellChange, ChangeSet
from inventory_tools.stores.state import SCHEMA_VERSION


def frame(codes, **values):
    rows = [{n: "" for n in cols.names()} | {cols.KEY: c, "Name": f"Product {c}", "Status": "Active"} | values
            for c in codes]
    return pd.DataFrame(rows, columns=list(cols.names())).astype(object)


def test_created_on_first_use_with_version_and_identity(store_path):
    store = open_store(store_path)
    assert store.read_products().empty
    ident = store.identity()
    store.close()
    db = sqlite3.connect(store_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.close()
    again = open_store(store_path)
    assert again.identity() == ident
    again.close()


def test_values_are_kept_exactly(store_path):
    store = open_store(store_path)
    store.apply(ChangeSet(creates=frame(["00123"], PriceTier1="0.1", Description="a\r\nb", Barcode="0012")),
                kind="import", source="t", base_export_id=None, counts={})
    got = store.read_by_codes(["00123"]).iloc[0]
    assert (got[cols.KEY], got["PriceTier1"], got["Description"], got["Barcode"]) == ("00123", "0.1", "a\r\nb", "0012")
    store.close()


@pytest.mark.parametrize("content,message", [
    (b"hello, I am a text file", "not a SQLite file"),
    (None, "not an inventory-tools store"),
])
def test_foreign_files_are_refused_and_left_untouched(tmp_path, content, message):
    path = tmp_path / "other.db"
    if content is None:
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.commit()
        db.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StoreError) as err:
        open_store(str(path))
    assert message in str(err.value)
    assert path.read_bytes() == before


def test_newer_store_version_is_refused(store_path):
    open_store(store_path).close()
    db = sqlite3.connect(store_path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError) as err:
        open_store(store_path)
    assert "newer inventory-tools" in str(err.value)


def test_cli_reports_store_errors_with_exit_3(tmp_path):
    from tests.helpers import Cli

    bad = tmp_path / "notes.db"
    bad.write_text("not a database")
    result = Cli(str(bad), tmp_path)("list", expect=3)
    assert "not an inventory-tools store" in result.stderr and "Traceback" not in result.output


def test_apply_refuses_when_the_store_moved_since_the_plan(store_path):
    store = open_store(store_path)
    store.apply(ChangeSet(creates=frame(["A"], PriceTier1="1")), kind="import", source="t", base_export_id=None,
                counts={})
    stale = ChangeSet(creates=frame([]), updates=[CellChange("A", "PriceTier1", "2", "3")])
    with pytest.raises(StoreError):
        store.apply(stale, kind="import", source="t", base_export_id=None, counts={})
    assert store.read_by_codes(["A"]).iloc[0]["PriceTier1"] == "1"
    assert len(store.state.operations()) == 1  # the failed apply left no trace
    store.close()


@pytest.mark.parametrize("sqlite_version", ["now", (3, 31, 1)])  # without UPDATE ... FROM (before 3.33)
def test_cell_updates_are_checked_written_and_journaled_as_one_set(store_path, monkeypatch, sqlite_version):
    """The set-based apply: every old value checked (a missing product, a moved cell: the first one
    named), blanks written as NULL, bookkeeping set on the rows changed only, journal in order."""
    if sqlite_version != "now":
        monkeypatch.setattr(sqlite3, "sqlite_version_info", sqlite_version)
    store = open_store(store_path)
    store.apply(ChangeSet(creates=frame(["A", "B", "C"], PriceTier1="1", Brand="X")), kind="import", source="t",
                base_export_id=None, counts={})
    for stale, named in (([CellChange("B", "Brand", "X", "Y"), CellChange("Z", "Brand", "", "Y")], "Z · Brand"),
                         ([CellChange("A", "Brand", "X", "Y"), CellChange("C", "PriceTier1", "9", "2"),
                           CellChange("B", "PriceTier1", "8", "2")], "C · PriceTier1")):
        with pytest.raises(StoreError, match=named):
            store.apply(ChangeSet(creates=frame([]), updates=stale), kind="import", source="t", base_export_id=None,
                        counts={})
    assert store.state.db.execute("SELECT count(*) FROM journal WHERE action='update'").fetchone()[0] == 0
    updates = [CellChange("C", "Brand", "X", ""), CellChange("A", "PriceTier1", "1", "3"),
               CellChange("A", "Brand", "X", "Y")]
    outcome = store.apply(ChangeSet(creates=frame([]), updates=updates), kind="import", source="t",
                          base_export_id=None, counts={})
    assert outcome.updated == ["C", "A"]
    rows = {r[0]: r[1:] for r in store.state.db.execute(
        'SELECT "ProductCode", "PriceTier1", "Brand", _last_op FROM products')}
    assert rows == {"A": ("3", "Y", outcome.op_id), "B": ("1", "X", 1), "C": ("1", None, outcome.op_id)}
    assert store.state.journal(outcome.op_id) == [("C", "update", "Brand", "X", "", 1),
                                                  ("A", "update", "PriceTier1", "1", "3", 1),
                                                  ("A", "update", "Brand", "X", "Y", 1)]
    store.close()


def test_a_locked_store_waits_then_fails_clearly(store_path, monkeypatch):
    store = open_store(store_path)
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    store.db.execute("PRAGMA busy_timeout=200")
    with pytest.raises(StoreError) as err:
        store.apply(ChangeSet(creates=frame(["A"])), kind="import", source="t", base_export_id=None, counts={})
    assert "busy" in str(err.value)
    blocker.execute("ROLLBACK")
    blocker.close()
    store.close()


KILLER = r"""
import sys, time
import pandas as pd
from inventory_tools import columns as cols
from inventory_tools.changes import CellChange, ChangeSet
from inventory_tools.stores import open_store
from inventory_tools.stores import sqlite as store_module
from inventory_tools.stores import state as state_module

path, n, phase = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def stop(at):  # say where the apply is held, then wait for the kill
    if at == phase:
        print(f"stopped at {at}", flush=True)
        time.sleep(600)


for owner, name, at in ((state_module.LocalState, "begin_operation", "transaction_begun"),
                        (state_module.LocalState, "finish_operation", "all_written_not_committed")):
    def hooked(*a, _original=getattr(owner, name), _at=at, **k):
        out = _original(*a, **k)
        stop(_at)
        return out
    setattr(owner, name, hooked)


def held_inside(name, at, after):  # held inside the method's SQL statement itself, after some steps
    original = getattr(store_module.SqliteStore, name)

    def method(self, db, *a, **k):
        calls = []

        def progress():
            calls.append(1)
            if len(calls) == after:
                stop(at)
            return 0
        db.set_progress_handler(progress, 1000)
        try:
            return original(self, db, *a, **k)
        finally:
            db.set_progress_handler(None, 0)
    setattr(store_module.SqliteStore, name, method)


held_inside("_insert", "inside_the_insert", 50)  # rows half written
held_inside("_update", "inside_the_update", 20)  # the set-based UPDATE, some rows rewritten

store = open_store(path)
if phase == "inside_the_update":  # an import of cell changes (the seeded products' Name and Brand)
    codes = [r[0] for r in store.db.execute('SELECT "ProductCode" FROM products WHERE "ProductCode" <> \'SEED\'')]
    changes = [CellChange(c, col, old, "new " + c) for c in codes for col, old in (("Name", "x" * 200), ("Brand", ""))]
    store.apply(ChangeSet(creates=pd.DataFrame(), updates=changes), kind="import", source="kill",
                base_export_id=None, counts={})
else:
    rows = [{c: "" for c in cols.names()} | {cols.KEY: f"K{i:06d}", "Name": "x" * 200, "Status": "Active"}
            for i in range(n)]
    store.apply(ChangeSet(creates=pd.DataFrame(rows).astype(object)), kind="import", source="kill",
                base_export_id=None, counts={})
stop("committed")
"""


@pytest.mark.parametrize("phase, after", [("transaction_begun", "old"), ("inside_the_insert", "old"),
                                          ("inside_the_update", "old"), ("all_written_not_committed", "old"),
                                          ("committed", "new")])
def test_kill_9_mid_apply_leaves_all_old_or_all_new(tmp_path, phase, after):
    path = str(tmp_path / "k.db")
    n = 5_000
    store = open_store(path)
    seed = ["SEED"] + ([f"U{i:06d}" for i in range(n)] if phase == "inside_the_update" else [])
    store.apply(ChangeSet(creates=frame(seed, Name="x" * 200)), kind="import", source="seed", base_export_id=None,
                counts={})
    store.close()
    proc = subprocess.Popen([sys.executable, "-c", KILLER, path, str(n), phase], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == f"stopped at {phase}"  # the kill lands there, during the apply
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    count = db.execute("SELECT count(*) FROM products").fetchone()[0]
    ops = db.execute("SELECT count(*) FROM operations").fetchone()[0]
    edited = db.execute("SELECT count(*) FROM products WHERE \"Name\" LIKE 'new %' OR \"Brand\" IS NOT NULL"
                        " OR _last_op <> 1").fetchone()[0]
    journal = db.execute("SELECT count(*) FROM journal WHERE op_id > 1").fetchone()[0]
    db.close()
    if phase == "inside_the_update":
        assert (count, ops, edited, journal) == (n + 1, 1, 0, 0)  # every cell as it was, nothing journaled
    else:
        assert (count, ops) == ((1, 1) if after == "old" else (n + 1, 2))


def test_a_read_only_store_fails_clearly_and_is_unchanged(tmp_path):
    """chattr +i makes the file read-only even for root (plain chmod does not stop root)."""
    import shutil

    from tests.helpers import EXAMPLES, Cli

    cli = Cli(str(tmp_path / "ro.db"), tmp_path)
    cli("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", str(tmp_path / "r.xlsx"))
    edited = tmp_path / "edited.csv"
    edited.write_bytes((EXAMPLES / "inventory-list.csv").read_bytes().replace(b'"Brass Hinge 75mm"',
                                                                              b'"Brass Hinge 75 mm"'))
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", cli.store], capture_output=True).returncode:
        pytest.skip("cannot make a file immutable here (chattr)")
    try:
        before = (tmp_path / "ro.db").read_bytes()
        result = cli("import", edited, "--yes", "--results", str(tmp_path / "r2.xlsx"), expect=3)
        assert "read-only" in result.stderr and "Traceback" not in result.output
        assert (tmp_path / "ro.db").read_bytes() == before
    finally:
        subprocess.run(["chattr", "-i", cli.store])


def test_read_by_codes_since_an_export_reuses_the_snapshot_but_sees_every_later_change(store_path, tmp_path):
    from inventory_tools.exporting import export

    store = open_store(store_path)
    store.apply(ChangeSet(creates=frame(["A", "B", "C", "D"], PriceTier1="1")), kind="import", source="t",
                base_export_id=None, counts={})
    export_id = export(store, tmp_path / "x.xlsx").export_id
    snapshot = store.state.export_snapshot(export_id)
    # after the export: B edited, C deleted, E created (D and A untouched)
    store.apply(ChangeSet(creates=frame(["E"], PriceTier1="5"), updates=[CellChange("B", "PriceTier1", "1", "2")],
                          deletes=["C"]), kind="import", source="t", base_export_id=None, counts={})
    wanted = ["A", "B", "C", "E", "Z"]
    got = store.read_by_codes_since(wanted, export_id, snapshot)
    plain = store.read_by_codes(wanted)
    key = lambda f: f.sort_values(cols.KEY).reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(key(got), key(plain))
    assert dict(zip(got[cols.KEY], got["PriceTier1"])) == {"A": "1", "B": "2", "E": "5"}
    store.close()


# -- commands that only read never create a store; what is not a store file says what it is ------
def _in_empty_folder(tmp_path, monkeypatch, *args, input=None):
    from click.testing import CliRunner

    from inventory_tools.cli import cli

    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(cli, [*map(str, args)], input=input, catch_exceptions=False)


@pytest.mark.parametrize("args", [["list"], ["history"], ["export", "inv.xlsx"], ["undo", "--yes"],
                                  ["list", "--json"]])
def test_read_only_commands_never_create_a_store(tmp_path, monkeypatch, args):
    result = _in_empty_folder(tmp_path, monkeypatch, *args)
    assert result.exit_code == 3, result.output
    assert f"no store at {tmp_path / 'inventory.db'}" in result.stderr
    assert "inventory-tools import FILE" in result.stderr and "inventory-tools sync" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ["dry_run", "invalid_file", "declined", "validate"])
def test_a_plan_that_is_not_applied_creates_no_store(tmp_path, monkeypatch, case):
    from tests.helpers import EXAMPLES

    src = tmp_path / "in.csv"
    text = (EXAMPLES / "inventory-list.csv").read_bytes()
    src.write_bytes(text.replace(b',ACTIVE,', b',Actvie,', 1) if case == "invalid_file" else text)
    args = {"dry_run": ["import", src, "--dry-run"], "invalid_file": ["import", src, "--yes"],
            "declined": ["import", src], "validate": ["validate", src]}[case]
    result = _in_empty_folder(tmp_path, monkeypatch, *args, input="n\n")
    assert result.exit_code == (0 if case in ("dry_run", "validate") else 1), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_a_store_path_that_is_not_a_file_says_what_it_is(tmp_path, kind):
    from tests.helpers import EXAMPLES, Cli

    path = {"device": "/dev/null", "fifo": str(tmp_path / "pipe"), "folder": str(tmp_path)}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    words = {"device": "a character device", "fifo": "a named pipe", "folder": "is a folder"}[kind]
    for args in (["list"], ["import", EXAMPLES / "inventory-list.csv", "--yes", "--results", tmp_path / "r.xlsx"]):
        result = Cli(path, tmp_path)(*args, expect=3)
        assert words in result.stderr and "Traceback" not in result.output
        assert "rollback" not in result.stderr
    assert not (tmp_path / "r.xlsx").exists()


def test_a_version_2_store_keeps_its_dry_run_plan_in_its_own_table(tmp_path):
    """Stores written before version 3 kept the planned rows as a fake export "__planned__"."""
    from inventory_tools.stores import state

    path = tmp_path / "v2.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN")
    for step in state.MIGRATIONS[:2]:
        step(db)
    db.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("store_id", "abc"), ("planned_source", "e.xlsx")])
    names = ", ".join(f'"{n}"' for n in cols.names())
    db.executemany(f'INSERT INTO export_rows (export_id, {names}) VALUES (?, {", ".join("?" * len(cols.names()))})',
                   [("__planned__", *frame([c]).iloc[0]) for c in ("P2", "P1")])
    db.execute(f"PRAGMA application_id={state.APPLICATION_ID}")
    db.execute("PRAGMA user_version=2")
    db.execute("COMMIT")
    db.close()
    store = open_store(str(path))
    rows, source, _ = store.state.planned()
    assert list(rows[cols.KEY]) == ["P2", "P1"] and source == "e.xlsx"
    assert store.db.execute("SELECT count(*) FROM export_rows").fetchone()[0] == 0
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    store.close()
