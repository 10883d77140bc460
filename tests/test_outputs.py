"""Output paths never destroy data: no command writes over the store, the file it reads, or a file
it did not write (an export we wrote and nobody changed may be replaced; ``--overwrite`` replaces
anything). A target that cannot be written is a clear message with exit 3, found before anything
is applied when it can be; when the results workbook fails after the import committed, the import
is reported as applied first."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest

from tests.helpers import EXAMPLES

SOURCE = EXAMPLES / "inventory-list.csv"


def digest(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def products(store) -> int:
    db = sqlite3.connect(store)
    n = db.execute("SELECT count(*) FROM products").fetchone()[0]
    db.close()
    return n


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part"))


@pytest.fixture
def edited(tmp_path) -> Path:
    path = tmp_path / "edited.csv"
    path.write_bytes(SOURCE.read_bytes().replace(b'"Brass Hinge 75mm"', b'"Brass Hinge 75 mm"'))
    return path


@pytest.fixture
def ex(run, tmp_path):
    run("import", SOURCE, "--yes", "--results", tmp_path / "load-results.xlsx")
    return run


# -- never over the store, the file read, or a file we did not write ---------------------------
@pytest.mark.parametrize("case", ["results_over_the_store", "results_over_the_store_wal",
                                  "dry_run_results_over_the_file_read", "results_not_xlsx"])
def test_results_are_never_written_over_the_store_or_the_file_read(ex, edited, case):
    store = Path(ex.store)
    target = {"results_over_the_store": store, "results_over_the_store_wal": Path(f"{store}-wal"),
              "dry_run_results_over_the_file_read": edited, "results_not_xlsx": edited.with_suffix(".db")}[case]
    store_before, file_before = digest(store), digest(edited)
    args = ["--dry-run"] if case.startswith("dry_run") else ["--yes"]
    result = ex("import", edited, *args, "--results", target, expect=2)
    assert "Traceback" not in result.output
    assert digest(store) == store_before and digest(edited) == file_before
    assert products(store) == 12 and "Brass Hinge 75 mm" not in str(ex.json("list"))


def test_no_command_writes_over_the_store_whatever_it_is_called(tmp_path, edited):
    """A store named like a workbook: export, results and report all refuse to write over it."""
    from tests.helpers import Cli

    store = tmp_path / "catalogue.xlsx"
    run = Cli(str(store), tmp_path)
    run("import", SOURCE, "--yes", "--results", tmp_path / "load.xlsx")
    before = digest(store)
    for args in (["export", store], ["export", store, "--overwrite"], ["import", edited, "--yes", "--results", store],
                 ["import", edited, "--dry-run", "--results", store], ["validate", edited, "--report", store]):
        result = run(*args, expect=2)
        assert "over the store" in " ".join(result.stderr.split()), args
    assert digest(store) == before and products(store) == 12


def test_export_replaces_only_an_unchanged_export_of_ours(ex, tmp_path):
    out = tmp_path / "inventory.xlsx"
    ex("export", out)
    ex("export", out)  # ours, unchanged: replaced without asking
    wb = openpyxl.load_workbook(out)  # the manager's edits, not imported yet
    wb["Inventory List"]["B2"] = "My edit"
    wb.save(out)
    before = digest(out)
    refused = ex("export", out, expect=2)
    assert "not a file inventory-tools wrote" in refused.stderr and "--overwrite" in refused.stderr
    assert digest(out) == before and leftovers(tmp_path) == []
    ex("export", out, "--overwrite")
    assert openpyxl.load_workbook(out)["Inventory List"]["B2"].value != "My edit"


@pytest.mark.parametrize("name", ["notes.xlsx", "cin7.csv"])
def test_export_never_replaces_a_file_we_did_not_write(ex, tmp_path, name):
    target = tmp_path / name
    target.write_bytes(b"someone else's file")
    result = ex("export", target, expect=2)
    assert "left untouched" in result.stderr
    assert target.read_bytes() == b"someone else's file"


def test_export_never_replaces_a_device(ex, tmp_path):
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    result = ex("export", link, "--overwrite", expect=2)
    assert "not a regular file" in result.stderr and Path("/dev/null").is_char_device()


def test_results_never_replace_a_file_we_did_not_write(ex, edited, tmp_path):
    taken = tmp_path / "theirs.xlsx"
    taken.write_bytes(b"not ours")
    result = ex("import", edited, "--yes", "--results", taken, expect=2)
    assert "left untouched" in result.stderr and taken.read_bytes() == b"not ours"
    assert "Brass Hinge 75 mm" not in str(ex.json("list"))  # refused before anything was applied
    # the default name taken by a file that is not ours: the results go beside it, under a free name
    (tmp_path / "edited-results.xlsx").write_bytes(b"not ours either")
    applied = ex.json("import", edited, "--yes")
    assert applied["results"] == str(tmp_path / "edited-results (2).xlsx")
    assert (tmp_path / "edited-results.xlsx").read_bytes() == b"not ours either"
    assert openpyxl.load_workbook(applied["results"])["Results"]["A1"].value == "Result"


def test_validate_report_follows_the_same_rule(ex, tmp_path):
    out = tmp_path / "inventory.xlsx"
    ex("export", out)
    notes = tmp_path / "problems.xlsx"
    notes.write_bytes(b"my own notes")
    refused = ex("validate", out, "--report", notes, expect=2)
    assert "left untouched" in refused.stderr and notes.read_bytes() == b"my own notes"
    ex("validate", out, "--report", out, expect=2)
    assert openpyxl.load_workbook(out)["Inventory List"]["A1"].value == "ProductCode"
    report = tmp_path / "report.json"
    ex("validate", out, "--report", report)
    ex("validate", out, "--report", report)  # ours, unchanged: replaced
    assert leftovers(tmp_path) == []


# -- targets that cannot be written: exit 3, a clear message, nothing half-done -------------------
@contextmanager
def unwritable(folder: Path):
    """A folder nobody may add files to, root included (chattr +i); chmod for other users."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", folder], capture_output=True).returncode:
        pytest.fail("cannot make a folder unwritable for root here (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", folder], check=True)


def test_an_unwritable_folder_is_exit_3_before_anything_is_applied(ex, edited, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    with unwritable(locked):
        for args in (["export", locked / "inv.xlsx"], ["import", edited, "--yes", "--results", locked / "r.xlsx"],
                     ["validate", edited, "--report", locked / "r.json"]):
            result = ex(*args, expect=3)
            assert "could not write" in result.stderr and "Traceback" not in result.output, args
        assert list(locked.iterdir()) == []
    assert "Brass Hinge 75 mm" not in str(ex.json("list"))


def test_long_file_names(ex, edited, tmp_path):
    fits = tmp_path / ("n" * 240 + ".xlsx")  # 245 characters: a legal name, so it is written
    ex("export", fits)
    assert openpyxl.load_workbook(fits)["Inventory List"]["A1"].value == "ProductCode"
    ex("import", edited, "--yes", "--results", tmp_path / ("r" * 240 + ".xlsx"))
    too_long = tmp_path / ("n" * 300 + ".xlsx")
    for args in (["export", too_long], ["import", edited, "--yes", "--results", too_long]):
        result = ex(*args, expect=3)
        assert "too long" in result.stderr and "Traceback" not in result.output
    assert leftovers(tmp_path) == []


@pytest.fixture
def full_disk(tmp_path):
    """A real, tiny file system with almost no room left (tmpfs)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here; test_results_failing_after_the_commit covers the class")
    try:
        with open(mount / "filler", "wb") as fh:
            try:
                fh.write(b"\0" * 60_000)
            except OSError:
                pass
        yield mount
    finally:
        subprocess.run(["umount", mount], check=True)


def test_a_full_disk(ex, edited, full_disk):
    result = ex("export", full_disk / "inv.xlsx", expect=3)
    assert "disk is full" in result.stderr and "Traceback" not in result.output
    result = ex("import", edited, "--yes", "--results", full_disk / "r.xlsx", expect=3)
    applied, error = result.stderr.index("Applied import #2"), result.stderr.index("disk is full")
    assert applied < error and "undo 2" in result.stderr and "nothing was changed" not in result.stderr
    assert "Brass Hinge 75 mm" in str(ex.json("list"))
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_results_failing_after_the_commit(ex, edited, tmp_path, monkeypatch):
    from inventory_tools import importing

    def disk_full(*a, **k):  # in the background copy that writes the workbook
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importing, "write_results", disk_full)
    report = ex.json("import", edited, "--yes", "--results", tmp_path / "r.xlsx", expect=3)
    assert report["applied"] and report["import_id"] == 2 and "disk is full" in report["results_error"]
    assert leftovers(tmp_path) == [] and not (tmp_path / "r.xlsx").exists()


@pytest.mark.parametrize("where", ["just_after_the_commit", "while_the_results_are_written"])
def test_an_interrupt_after_the_commit_says_what_was_applied(ex, edited, tmp_path, monkeypatch, where):
    from inventory_tools import importing
    from inventory_tools.stores.sqlite import SqliteStore

    if where == "just_after_the_commit":
        original = SqliteStore.apply

        def apply(self, *a, **k):
            original(self, *a, **k)
            raise KeyboardInterrupt  # Ctrl-C before apply() could return

        monkeypatch.setattr(SqliteStore, "apply", apply)
    else:
        def finish(*a, **k):
            raise KeyboardInterrupt

        monkeypatch.setattr(importing, "finish", finish)
    result = ex("import", edited, "--yes", "--results", tmp_path / "r.xlsx", expect=130)
    assert "Applied import #2" in result.stderr and "undo 2" in result.stderr
    assert "nothing was changed" not in result.stderr and "nothing further" not in result.stderr
    assert "Brass Hinge 75 mm" in str(ex.json("list"))
    assert leftovers(tmp_path) == [] and not (tmp_path / "r.xlsx").exists()
