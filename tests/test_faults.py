"""Faults: kill -9 during an import, two imports at once. The store is always all-old or all-new."""
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.data import make_frame
from inventory_tools import csvio

ROOT = Path(__file__).resolve().parent.parent


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
    path = tmp_path_factory.mktemp("faults") / "big.csv"
    with path.open("wb") as fh:
        csvio.write_csv(make_frame(8_000, seed=3), fh)
    return path


@pytest.mark.parametrize("delay", [0.8, 1.8, 3.0])
def test_kill_9_at_any_point_of_an_import_then_a_rerun_converges(tmp_path, big_csv, delay):
    store = tmp_path / "s.db"
    proc = subprocess.Popen(cli(store, "import", big_csv, "--yes", "--results", tmp_path / "r.xlsx"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if store.exists():
        products, ops = count(store)
        assert (products, ops) in ((0, 0), (8_000, 1))
    rerun = subprocess.run(cli(store, "import", big_csv, "--yes", "--results", tmp_path / "r.xlsx"),
                           capture_output=True, text=True, cwd=ROOT)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert count(store)[0] == 8_000


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
