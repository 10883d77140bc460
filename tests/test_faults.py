"""Faults: kill -9 during an import, two imports at once. The store is always all-old or all-new.

The kill lands at a known point of the apply: the CLI runs with hooks that stop it there (inside
the INSERT statement itself, through SQLite's progress handler) and say so, and only then is it
killed — so the test proves the kill came during the apply, not before or after it.
"""
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from inventory_tools.csvio import read_records

ROOT = Path(__file__).resolve().parent.parent
ROWS = 2_000


def cli(store, *args):
    return [sys.executable, "-m", "inventory_tools", "--store", str(store), *map(str, args)]


def count(store) -> tuple[int, int]:
    db = sqlite3.connect(store)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    out = (db.execute("SELECT count(*) FROM products").fetchone()[0],
           db.execute("SELECT count(*) FROM operations").fetchone()[0])
    db.close()
    return out


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """ROWS valid products: the example list's rows over and over, each with its own code."""
    import csv

    header, records, _ = read_records((ROOT / "examples" / "inventory-list.csv").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("faults") / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\r\n")
        out.writerow(header)
        for i in range(ROWS):
            rec = list(records[i % len(records)])
            rec[0] = f"K-{i:06d}"
            out.writerow(rec)
    return path


# Run the real CLI, stopped at one point of the apply: the hook says where, then waits to be killed.
STOPPED = r"""
import os, sys, time
from inventory_tools.stores import sqlite as store_module
from inventory_tools.stores import state as state_module

PHASE = os.environ["STOP_AT"]


def stop():
    sys.stderr.write(f"@@stopped at {PHASE}\n")
    sys.stderr.flush()
    time.sleep(600)


def after(owner, name, phase):
    original = getattr(owner, name)

    def hooked(*a, **k):
        out = original(*a, **k)
        if PHASE == phase:
            stop()
        return out
    setattr(owner, name, hooked)


after(state_module.LocalState, "begin_operation", "transaction_begun")
after(state_module.LocalState, "finish_operation", "all_written_not_committed")
after(store_module.SqliteStore, "apply", "committed")
original_insert = store_module.SqliteStore._insert


def insert(self, db, *a, **k):  # stop inside the INSERT statement, rows half written
    calls = []

    def progress():
        calls.append(1)
        if len(calls) == 50 and PHASE == "inside_the_insert":
            stop()
        return 0
    db.set_progress_handler(progress, 1000)
    try:
        return original_insert(self, db, *a, **k)
    finally:
        db.set_progress_handler(None, 0)


store_module.SqliteStore._insert = insert
from inventory_tools.cli import main
main()
"""

EXPECTED = {"transaction_begun": (0, 0), "inside_the_insert": (0, 0), "all_written_not_committed": (0, 0),
            "committed": (ROWS, 1)}


@pytest.mark.parametrize("phase", list(EXPECTED))
def test_kill_9_at_any_point_of_an_import_then_a_rerun_converges(tmp_path, big_csv, phase):
    store = tmp_path / "s.db"
    args = ["--store", store, "import", big_csv, "--yes", "--results", tmp_path / "r.xlsx"]
    proc = subprocess.Popen([sys.executable, "-c", STOPPED, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "STOP_AT": phase})
    seen = []
    for line in proc.stderr:  # the CLI's own words, then the hook's
        seen.append(line)
        if line.startswith("@@stopped at"):
            break
    assert seen and seen[-1].strip() == f"@@stopped at {phase}", "".join(seen)[-3000:]
    proc.send_signal(signal.SIGKILL)  # the apply is under way, held at a known point
    proc.wait()
    proc.stderr.close()
    assert count(store) == EXPECTED[phase]  # all old, or (committed) all new: never a part
    rerun = subprocess.run(cli(store, "import", big_csv, "--yes", "--results", tmp_path / "r.xlsx"),
                           capture_output=True, text=True, cwd=ROOT)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert count(store) == (ROWS, 1)


def test_two_imports_at_once_never_interleave(tmp_path):
    store = tmp_path / "s.db"
    subprocess.run(cli(store, "import", ROOT / "examples" / "inventory-list.csv", "--yes", "--results",
                       tmp_path / "r0.xlsx"), check=True, capture_output=True, cwd=ROOT)
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    subprocess.run(cli(store, "export", a), check=True, capture_output=True, cwd=ROOT)
    subprocess.run(cli(store, "export", b), check=True, capture_output=True, cwd=ROOT)
    # Each file edits the same cell differently: whoever is second sees a conflict or a moved store.
    import openpyxl

    for path, price in ((a, 111), (b, 222)):
        wb = openpyxl.load_workbook(path)
        wb["Inventory List"]["AB2"] = price  # PriceTier1 of the first product
        wb.save(path)
    procs = [subprocess.Popen(cli(store, "import", p, "--yes", "--json", "--results", tmp_path / f"{p.stem}-r.xlsx"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) for p in (a, b)]
    outs = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    codes = sorted(o[2] for o in outs)
    assert codes[0] == 0 and codes[1] in (1, 3), outs  # one applied; the other refused, never both
    db = sqlite3.connect(store)
    price = db.execute('SELECT "PriceTier1" FROM products ORDER BY rowid LIMIT 1').fetchone()[0]
    applied = [o for o in outs if o[2] == 0][0]
    assert price == ("111" if '"111"' in applied[0] else "222")
    db.close()
