"""The cache of checked files: validate → import reads the workbook once, and only ever reuses what
still holds (same bytes, same code, same store and base, no store-dependent verdict)."""
import json
import os
import pickle

import openpyxl
import pytest

from inventory_tools import checked_cache, reading
from tests.helpers import Cli
from tests.helpers import edit, export_xlsx, product


@pytest.fixture
def reads(monkeypatch):
    """How many times a workbook was parsed in this process."""
    calls = []
    real = reading.read_workbook

    def counted(*args, **kwargs):
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(reading, "read_workbook", counted)
    return calls


def entries():
    return sorted(checked_cache.cache_dir().glob("*.checked"))


def without_cache(run, *args, expect=0):
    os.environ[checked_cache.CACHE_ENV] = "off"
    try:
        return run.json(*args, expect=expect)
    finally:
        del os.environ[checked_cache.CACHE_ENV]


def plan_keys(report):
    return {k: report[k] for k in ("counts", "changes", "conflicts", "ignored", "problems", "creates")}


def test_import_after_validate_reads_the_file_once_and_plans_exactly_the_same(ex, reads):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 7.5, ("00124", "Name"): "  Spaced name ", ("NEW-1", "Name"): "New one"})
    edit(out, {("NEW-1", "Status"): "Active", ("NEW-1", "Category"): "Accessories", ("NEW-1", "Type"): "Stock",
               ("NEW-1", "CostingMethod"): "FIFO", ("NEW-1", "DefaultUnitOfMeasure"): "Item"})
    ex("validate", out, expect=None)
    assert len(entries()) == 1 and len(reads) == 1
    cached = ex.json("import", out, "--dry-run", expect=None)
    assert len(reads) == 1  # not read again
    fresh = without_cache(ex, "import", out, "--dry-run", expect=None)
    assert len(reads) == 2
    assert plan_keys(cached) == plan_keys(fresh)
    assert cached["counts"]["create"] == 1 and cached["counts"]["update"] == 2
    assert any(c["column"] == "PriceTier1" and c["new"] == "7.5" for c in cached["changes"])
    ex("import", out, "--yes", expect=None)
    assert product(ex, "00123")["PriceTier1"] == "7.5"


def test_invalid_cells_found_by_validate_still_block_the_import(ex, reads):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "Status"): "Actvie"})
    ex("validate", out, expect=1)
    report = ex.json("import", out, "--yes", expect=1)
    assert len(reads) == 1
    assert not report["applied"] and report["counts"]["invalid"] == 1
    assert [p["cell"] for p in report["problems"] if p["severity"] == "error"] == \
        [p["cell"] for p in without_cache(ex, "validate", out, expect=1)["problems"] if p["severity"] == "error"]


def test_any_change_to_the_bytes_is_a_different_file(ex, reads):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 1})
    ex("validate", out)
    stat = out.stat()
    edit(out, {("00123", "PriceTier1"): 2})
    os.utime(out, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same time, same size: still a new file
    report = ex.json("import", out, "--dry-run")
    assert len(reads) == 2
    assert [(c["column"], c["new"]) for c in report["changes"]] == [("PriceTier1", "2")]


def test_a_verdict_that_read_the_store_is_checked_again(ex, tmp_path, reads):
    # A sheet without a manifest: a new code may be created as Setup Required, but an existing
    # Active product may not be turned into one. Validate sees no such product ...
    header = ["ProductCode", "Name", "Status", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure"]

    def sheet(name, row):
        wb = openpyxl.Workbook()
        wb.active.title = "Inventory List"
        wb.active.append(header)
        wb.active.append(row)
        wb.save(tmp_path / name)
        return tmp_path / name

    setup = sheet("hand-made.xlsx", ["HM-1", "Hand made", "Setup Required"])
    ex("validate", setup)
    _, verdicts = checked_cache.load(checked_cache.file_digest(setup), setup)
    assert [report.read_current for report in verdicts.values()] == [True]
    # ... then someone creates it, Active, before the import runs
    ex("import", sheet("other.xlsx", ["HM-1", "Hand made", "Active", "Accessories", "Stock", "FIFO", "Item"]), "--yes")
    assert product(ex, "HM-1")["Status"] == "Active"
    report = ex.json("import", setup, "--yes", expect=1)
    assert any(p["rule"] == "status.into_setup_required" for p in report["problems"])
    assert product(ex, "HM-1")["Status"] == "Active"


def test_another_base_or_store_checks_again_from_the_cached_cells(ex, tmp_path, reads, monkeypatch):
    import dataclasses

    from inventory_tools.checked_file import CheckedFile
    from inventory_tools.validation import Validator

    out, export_id = export_xlsx(ex)
    ex("validate", out)
    table, verdicts = checked_cache.load(checked_cache.file_digest(out), out)
    ((key, report),) = verdicts.items()
    assert key.base_export_id == export_id and key.store.startswith("sqlite:") and key.store_state
    runs = []
    real_run = Validator.run
    monkeypatch.setattr(Validator, "run", lambda self, *a: runs.append(1) or real_run(self, *a))
    checked = CheckedFile(str(out), table, None, dict(verdicts))
    assert checked.check(key) is report and runs == []
    for other in (dataclasses.replace(key, base_export_id="exp-other"), dataclasses.replace(key, store="sqlite:another"),
                  dataclasses.replace(key, store_state="op:999"), dataclasses.replace(key, store_state=None),
                  dataclasses.replace(key, options=("blank_clears",))):
        checked.verdicts = dict(verdicts)
        assert checked.check(other) is not report
    assert len(runs) == 5
    monkeypatch.undo()
    other = Cli(str(tmp_path / "other.db"), tmp_path)
    result = other("import", out, "--yes", expect=1)  # the manifest still names the first store
    assert "exported from another store" in result.stderr
    assert len(reads) == 1


def test_an_unsafe_folder_is_neither_read_nor_written(ex, reads):
    out, _ = export_xlsx(ex)
    folder = checked_cache.cache_dir()
    os.chmod(folder, 0o777)
    ex("validate", out)
    assert entries() == []
    os.chmod(folder, 0o700)
    ex("validate", out)
    assert len(entries()) == 1
    os.chmod(folder, 0o777)  # an entry someone else could have planted is not loaded
    ex("import", out, "--dry-run")
    assert len(reads) == 3


@pytest.mark.parametrize("damage", ["truncate", "foreign", "code"])
def test_a_damaged_foreign_or_outdated_entry_is_a_miss(ex, reads, monkeypatch, damage):
    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 3})
    ex("validate", out)
    (path,) = entries()
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "foreign":
        with open(path, "wb") as fh:
            pickle.dump((checked_cache.FORMAT, checked_cache.code_digest(), "0" * 64), fh)
            pickle.dump({"not": "an entry"}, fh)
    else:
        monkeypatch.setattr(checked_cache, "code_digest", lambda: "an upgraded inventory-tools")
    report = ex.json("import", out, "--yes")
    assert len(reads) == 2
    assert report["applied"] and product(ex, "00123")["PriceTier1"] == "3"


def test_off_keeps_nothing_and_old_entries_are_pruned(ex, monkeypatch):
    out, _ = export_xlsx(ex)
    monkeypatch.setenv(checked_cache.CACHE_ENV, "off")
    ex("validate", out)
    assert checked_cache.cache_dir() is None
    monkeypatch.undo()
    monkeypatch.setenv(checked_cache.CACHE_ENV, str(out.parent / "cache"))
    for price in range(checked_cache.KEEP_ENTRIES + 2):
        edit(out, {("00123", "PriceTier1"): price})
        ex("validate", out)
    assert len(entries()) == checked_cache.KEEP_ENTRIES
    monkeypatch.setattr(checked_cache, "MAX_ROWS", 5)  # the example has 12 products
    edit(out, {("00123", "PriceTier1"): 99})
    ex("validate", out)
    assert checked_cache.load(checked_cache.file_digest(out), out) is None


def test_a_dry_run_leaves_the_check_for_the_import(ex, reads):
    out, _ = export_xlsx(ex)
    edit(out, {("00124", "PriceTier1"): 4})
    plan = ex.json("import", out, "--dry-run")
    applied = ex.json("import", out, "--yes")
    assert len(reads) == 1
    assert applied["changes"] == plan["changes"] and product(ex, "00124")["PriceTier1"] == "4"
    assert json.dumps(applied["problems"]) == json.dumps(plan["problems"])


def test_the_cached_report_is_the_report(ex, tmp_path):
    """Every kind of cell (edits, spaces, bad values, blanks, a new row) survives the cache exactly."""
    from inventory_tools.stores import open_store
    from inventory_tools.validation import validate

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): "abc", ("00124", "Name"): "\u00a0Spaced ", ("00125", "Barcode"): "",
               ("NEW-9", "Name"): "New", ("00126", "Status"): "Actvie", ("00127", "Description"): "two\nlines"})
    ex("validate", out, expect=1)
    table, verdicts = checked_cache.load(checked_cache.file_digest(out), out)
    ((cached,),) = [list(verdicts.values())]
    store = open_store(ex.store)
    fresh = validate(str(out), store=store)
    store.close()
    import pandas as pd

    pd.testing.assert_frame_equal(cached.frame, fresh.frame)
    assert [p.to_dict() for p in cached.problems] == [p.to_dict() for p in fresh.problems]
    assert list(cached.row_valid) == list(fresh.row_valid)
    pd.testing.assert_frame_equal(table.raw, fresh.table.raw)


def test_a_verdict_reached_without_the_store_is_not_trusted_by_an_import_into_it(ex, tmp_path, reads):
    """validate in a folder with no store said "valid"; the import into the real store must judge
    again: an Active product may not be turned into Setup Required."""
    header = ["ProductCode", "Name", "Status"]
    wb = openpyxl.Workbook()
    wb.active.title = "Inventory List"
    wb.active.append(header)
    wb.active.append(["00123", "Renamed", "Setup Required"])
    wb.save(tmp_path / "hand-made.xlsx")
    assert product(ex, "00123")["Status"] == "Active"
    nowhere = Cli(str(tmp_path / "missing" / "none.db"), tmp_path)
    assert nowhere.json("validate", tmp_path / "hand-made.xlsx")["valid"]
    report = ex.json("import", tmp_path / "hand-made.xlsx", "--yes", expect=1)
    assert not report["applied"] and any(p["rule"] == "status.into_setup_required" for p in report["problems"])
    assert product(ex, "00123")["Status"] == "Active" and len(reads) == 1


# -- from the CLI the entry is written after the command has exited -------------------------------
def test_from_the_cli_the_entry_is_written_after_exit_and_the_next_command_uses_it(ex, reads):
    """`validate` run as the command leaves the writing of its entry to a child (the caller gets the
    output and the exit status at once, through a pipe here); the import that follows finds it."""
    import subprocess
    import sys

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "PriceTier1"): 7.5})
    done = subprocess.run([sys.executable, "-m", "inventory_tools", "--store", ex.store, "validate", str(out),
                           "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and json.loads(done.stdout)["valid"]
    planned = ex.json("import", out, "--dry-run")  # in this process: `reads` counts its parses
    assert reads == [] and planned["counts"]["update"] == 1
    assert len(entries()) == 1 and not list(checked_cache.cache_dir().glob(".*.part"))


def test_a_reader_waits_for_the_writer_that_holds_the_entry(ex, reads):
    """The lock is taken before the command exits and let go once the entry is in place: a reader
    that finds no entry while it is held waits, and then reads the entry."""
    import threading

    out, _ = export_xlsx(ex)
    ex("validate", out)
    digest = checked_cache.file_digest(out)
    entry = checked_cache._entry_path(checked_cache.cache_dir(), digest)
    held = entry.with_name("held")
    entry.rename(held)  # as if still being written
    lock = checked_cache._writer_lock(checked_cache.cache_dir(), digest)
    assert lock is not None
    found = []
    reader = threading.Thread(target=lambda: found.append(checked_cache.load(digest, out)))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive() and not found  # waiting, not a miss
    held.rename(entry)
    checked_cache._release(lock)
    reader.join(30)
    assert found and found[0] is not None and len(found[0][0].row_numbers) == 12


def test_a_writer_that_died_holding_nothing_is_not_waited_for(ex, reads):
    """A lock file left by a writer that is gone (no process holds it) costs no wait: a miss."""
    out, _ = export_xlsx(ex)
    digest = checked_cache.file_digest(out)
    checked_cache._release(checked_cache._writer_lock(checked_cache.cache_dir(), digest))
    waited = []
    real_sleep = checked_cache.time.sleep
    checked_cache.time.sleep = lambda s: waited.append(s) or real_sleep(s)
    try:
        assert checked_cache.load(digest, out) is None
    finally:
        checked_cache.time.sleep = real_sleep
    assert waited == []


def test_a_folder_without_locks_costs_no_wait(ex, reads, monkeypatch):
    """Where the file system has no locks (flock fails with ENOLCK, some network homes), nothing
    waits for a writer: the entry is written without the lock and read at once."""
    import errno
    import fcntl

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    waited = []
    monkeypatch.setattr(checked_cache.time, "sleep", lambda s: waited.append(s))
    out, _ = export_xlsx(ex)
    digest = checked_cache.file_digest(out)
    assert checked_cache.load(digest, out) is None  # a miss, at once
    ex("validate", out)
    assert checked_cache.load(digest, out) is not None and waited == []
    assert not list(checked_cache.cache_dir().glob(".*.lock"))
