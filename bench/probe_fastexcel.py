"""Prototype for issue 17: could our reader take fastexcel (calamine → Arrow) instead of
python-calamine's Python lists? Two parts:

    python bench/probe_fastexcel.py semantics          # what fastexcel returns for the traps
    python bench/probe_fastexcel.py speed EDITED.xlsx  # read times, each in its own process

``semantics`` writes a small workbook with the cells that matter to us (numbers and text mixed in
a decimal column, codes as text and as numbers, dates, booleans, error cells, formulas) and prints
what python-calamine (ours today), fastexcel with every column as text, and fastexcel with decimal
columns as float (``to_arrow_with_errors``) return for each.

``speed`` reads the bench's edited workbook the ways a reader could, each in a fresh process (wall
time and peak RSS from wait4):

- ``calamine_lists``: python-calamine ``iter_rows`` (Python lists: ours' reader core today);
- ``ours_read``: ours' whole ``reading.read_table`` (lists → per-column codes, the formula scan);
- ``fastexcel_arrow``: fastexcel, every column as text, eager into one Arrow batch;
- ``fastexcel_codes``: the same, then every column dictionary-encoded in Arrow into what ours'
  validation consumes (``Table.factors``: int32 codes with -1 for blank + an object array of the
  distinct values): only distinct values ever become Python objects;
- ``fastexcel_typed``: decimal columns as float, the rest as text, with the cell errors list.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHEET = "Inventory List"


# -- semantics ----------------------------------------------------------------------------------
def write_traps(path: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
    ws = wb.add_worksheet(SHEET)
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    head = ["PriceTier1 (decimal)", "ProductCode (code)", "Barcode (code)", "Sellable (bool)", "Name (text)"]
    # rows 2-7 below; row 8: error cells and a formula with a cached text
    ws.write_row(0, 0, head)
    rows = [  # one trap per row and column
        [12.5, "00123", "0123456789012", "Yes", "plain"],
        ["n/a", 123.0, 1.5, True, "=HYPERLINK(1)"],
        ["12,5", 4006381333931.0, 123456789012345678.0, False, 42.0],
        [0.1 + 0.2, "1.23457E+12", dt.datetime(2024, 1, 2), 1.0, dt.datetime(2024, 1, 2, 13, 5)],
        [1e-7, dt.datetime(2024, 3, 4), None, "maybe", True],
        [True, None, None, None, None],
    ]
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is None:
                continue
            if isinstance(v, dt.datetime):
                ws.write_datetime(r, c, v, date)
            elif isinstance(v, str):
                ws.write_string(r, c, v)
            else:
                ws.write(r, c, v)
    ws.write_formula(7, 0, "=NA()", None, "#N/A")
    ws.write_formula(7, 1, "=1/0", None, "#DIV/0!")
    ws.write_formula(7, 4, '="a"&"b"', None, "ab")
    wb.close()


def semantics() -> None:
    import fastexcel
    import python_calamine

    path = Path(os.environ.get("TMPDIR", "/tmp")) / "probe-fastexcel-traps.xlsx"
    write_traps(path)
    print("python-calamine (ours today), rows as Python values:")
    for row in python_calamine.load_workbook(str(path)).get_sheet_by_name(SHEET).to_python()[1:]:
        print("  ", row)
    reader = fastexcel.read_excel(str(path))
    text = reader.load_sheet(SHEET, dtypes="string")
    batch, errors = text.to_arrow_with_errors()
    print("\nfastexcel dtypes='string' (every column as text), by column:")
    for name in batch.schema.names:
        print(f"   {name:<22} {batch.column(name).to_pylist()}")
    print("   cell errors:", [(e.offset_position, e.detail) for e in (errors.errors if errors else [])])
    typed = reader.load_sheet(SHEET, dtypes={"PriceTier1 (decimal)": "float", "ProductCode (code)": "string",
                                             "Barcode (code)": "float", "Sellable (bool)": "string",
                                             "Name (text)": "string"})
    batch, errors = typed.to_arrow_with_errors()
    print("\nfastexcel with the decimal column (and Barcode) as float:")
    for name in ("PriceTier1 (decimal)", "Barcode (code)"):
        print(f"   {name:<22} {batch.column(name).to_pylist()}")
    print("   cell errors (row, col) detail:")
    for e in errors.errors if errors else []:
        print(f"     {e.offset_position} {e.detail}")
    guessed = reader.load_sheet(SHEET).to_arrow()
    print("\nfastexcel with guessed dtypes:", {f.name: str(f.type) for f in guessed.schema})
    print("   PriceTier1:", guessed.column(0).to_pylist())


# -- speed --------------------------------------------------------------------------------------
def calamine_lists(path: str) -> int:
    import python_calamine

    n = 0
    for _ in python_calamine.load_workbook(path).get_sheet_by_name(SHEET).iter_rows():
        n += 1
    return n


def ours_read(path: str) -> int:
    sys.path.insert(0, str(HERE.parent))
    from inventory_tools.reading import read_table

    return len(read_table(path).raw)


def _fastexcel_batch(path: str):
    import fastexcel

    return fastexcel.read_excel(path).load_sheet(SHEET, dtypes="string", eager=True)


def fastexcel_arrow(path: str) -> int:
    return _fastexcel_batch(path).num_rows


def codes_of(column) -> tuple:
    """An Arrow column → (int32 codes, blank = -1; object array of its distinct values): the
    shape of ours' ``Table.factors``; Python objects only for distinct values."""
    import numpy as np
    import pyarrow.compute as pc

    enc = pc.dictionary_encode(column)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, np.asarray(enc.dictionary.to_pylist(), dtype=object)


def fastexcel_codes(path: str) -> int:
    batch = _fastexcel_batch(path)
    factors = {name: codes_of(batch.column(name)) for name in batch.schema.names}
    return len(next(iter(factors.values()))[0])


def fastexcel_typed(path: str) -> int:
    import fastexcel

    sys.path.insert(0, str(HERE.parent))
    from inventory_tools import columns as cols

    dtypes = {c.name: ("float" if c.type == "decimal" else "string") for c in cols.columns()}
    batch, errors = fastexcel.read_excel(path).load_sheet(SHEET, dtypes=dtypes).to_arrow_with_errors()
    return batch.num_rows


WAYS = ("calamine_lists", "ours_read", "fastexcel_arrow", "fastexcel_codes", "fastexcel_typed")


def child(way: str, path: str) -> None:
    t = time.perf_counter()
    rows = globals()[way](path)
    print(json.dumps({"rows": rows, "inner_seconds": round(time.perf_counter() - t, 3)}))


def speed(path: str, runs: int = 2) -> None:
    print(f"# {path} · load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for _ in range(runs):
        for way in WAYS:
            start = time.perf_counter()
            proc = subprocess.Popen([sys.executable, __file__, "--child", way, path], stdout=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            out = json.loads(proc.stdout.read().decode().strip().splitlines()[-1])
            proc.stdout.close()
            print(f"  {way:<16} {wall:6.2f} s wall ({out['inner_seconds']:5.2f} s inside)  "
                  f"{usage.ru_maxrss / 1024:7.0f} MB  {out['rows']:,} rows")


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "semantics":
        semantics()
    elif sys.argv[1] == "speed":
        speed(sys.argv[2])
    else:
        raise SystemExit(__doc__)
