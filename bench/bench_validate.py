"""Benchmark: ``validate`` vs pandas.read_excel(engine="openpyxl") + the same checks.

    python bench/bench_validate.py [--rows 100000] [--bad 0.01] [--cols 96] [--file /tmp/bench.xlsx]

Writes a product workbook (the first 40 columns of the column table, text cells typed as
strings, numbers as numbers) with a fraction of bad cells, then runs each contender in its own
process and reports wall time and peak RSS. The baseline reads with pandas + openpyxl (dtype
object, as any careful pandas user would, so identifiers keep their zeros) and then runs exactly
the same validation on that frame; the difference is the reader.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# Row faults for make_file(every_rule=True): each breaks one more rule (or, the last ones, must
# pass: spellings and number forms a spreadsheet user types), so a checker that skips a rule or
# canonicalises differently shows up in the per-rule counts.
ROW_FAULTS = (
    {"Status": "Active", "Category": None},                      # active.required
    {"Status": "Active", "Type": None, "FixedAssetType": "Plant"},  # active.required, not also fixed_asset
    {"FixedAssetType": "Plant"},                                  # fixed_asset_type.type (Type Stock)
    {"AssemblyBOM": "Yes", "QuantityToProduce": 0.0},             # assembly.quantity_to_produce
    {"AssemblyBOM": "Yes", "QuantityToProduce": -2.0},            # decimal.negative only
    {"PriceTier1": 1.123456},                                     # decimal.places (4 allowed)
    {"PriceTier2": "-1.123456"},                                  # decimal.negative and decimal.places
    {"PriceTier3": "12.50000", "Weight": " 7 ", "Length": "1e3"},  # valid: trailing zeros, spaces, exponent
    {"Barcode": "4006381333932"},                                 # barcode.check_digit (warning)
    {"Barcode": "1.23457E+12"},                                   # identifier.scientific
    {"Brand": "Acme\u00a0"},                                      # text.spaces (warning)
    {"ProductCode": None},                                        # required.missing
    {"ProductCode": "dup"},                                       # code.duplicate (the row before, folded)
    {"Status": " active ", "Sellable": "TRUE", "DropShip": "always drop ship"},  # valid spellings
)


def make_file(path: Path, rows: int, bad: float, ncols: int = 40, seed: int = 7, every_rule: bool = False) -> int:
    """``every_rule``: also a fraction ``bad`` of rows with one of ROW_FAULTS (cross-field rules,
    duplicates, places, signs, barcodes, spellings that must pass)."""
    import xlsxwriter

    from inventory_tools import columns as cols

    rnd = random.Random(seed)
    columns = list(cols.columns())[:ncols]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("Inventory List")
    for j, c in enumerate(columns):
        ws.write_string(0, j, c.name)
    n_bad = 0
    faults = random.Random(seed + 1)  # its own stream: the plain file stays the same
    for i in range(1, rows + 1):
        fault = faults.choice(ROW_FAULTS) if every_rule and faults.random() < bad else {}
        for j, c in enumerate(columns):
            broken = rnd.random() < bad
            if c.name in fault:
                v = fault[c.name]
                if c.name == "ProductCode" and v == "dup":
                    v = f" sku-{i - 1:07d}"
                if isinstance(v, float):
                    ws.write_number(i, j, v)
                elif v is not None:
                    ws.write_string(i, j, v)
            elif c.name == "ProductCode":
                ws.write_string(i, j, f"SKU-{i:07d}")
            elif broken and c.type == "decimal":
                ws.write_string(i, j, "12,5")
                n_bad += 1
            elif broken and c.type in ("enum", "bool"):
                ws.write_string(i, j, "Actvie")
                n_bad += 1
            elif broken and c.max_length:
                ws.write_string(i, j, "x" * (c.max_length + 1))
                n_bad += 1
            elif c.type == "decimal":
                ws.write_number(i, j, round(rnd.random() * 100, 2))
            elif c.name in ("Type", "AssemblyBOM"):
                ws.write_string(i, j, {"Type": "Stock", "AssemblyBOM": "No"}[c.name])
            elif c.type in ("enum", "bool"):
                ws.write_string(i, j, c.values[i % len(c.values)])
            elif c.name == "FixedAssetType":
                continue
            elif c.identifier:
                ws.write_string(i, j, f"ID-{i:07d}")
            else:
                ws.write_string(i, j, f"{c.name} {i % 97}")
    wb.close()
    return n_bad


def run_ours(path: str) -> dict:
    from inventory_tools.validation import validate

    t0 = time.perf_counter()
    rep = validate(path)
    return {"seconds": time.perf_counter() - t0, "errors": rep.errors, "warnings": rep.warnings,
            "rows": len(rep.frame)}


def run_baseline(path: str) -> dict:
    import pandas as pd

    from inventory_tools.reading import Table, col_letter, match_header
    from inventory_tools.validation import validate

    t0 = time.perf_counter()
    df = pd.read_excel(path, sheet_name="Inventory List", engine="openpyxl", dtype=object)
    names = {}
    for i, h in enumerate(df.columns):
        name, _ = match_header(str(h))
        if name:
            names[h] = (name, col_letter(i))
    raw = df[list(names)].rename(columns={h: n for h, (n, _) in names.items()})
    raw = raw.astype(object).where(raw.notna(), None).reset_index(drop=True)
    table = Table(path=Path(path), kind="xlsx", sheet="Inventory List",
                  row_numbers=list(range(2, len(raw) + 2)), column_letters={n: l for n, l in names.values()})
    table.raw = raw  # (cells as a frame: no factorised columns)
    rep = validate(table)
    return {"seconds": time.perf_counter() - t0, "errors": rep.errors, "warnings": rep.warnings,
            "rows": len(rep.frame)}


def child(which: str, path: str) -> None:
    out = run_ours(path) if which == "ours" else run_baseline(path)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--bad", type=float, default=0.01)
    ap.add_argument("--cols", type=int, default=40, help="how many of the 96 columns (in the table's order)")
    ap.add_argument("--file", help="where to write the workbook (default: a private temp file, deleted after)")
    ap.add_argument("--every-rule", action="store_true", help="also rows that break cross-field rules (ROW_FAULTS)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--child", choices=["ours", "baseline"])
    args = ap.parse_args()
    if args.child:
        child(args.child, args.file)
        return
    tmpdir = None
    if args.file is None:
        import tempfile

        tmpdir = tempfile.mkdtemp(prefix="itools-bench-validate-")
        args.file = os.path.join(tmpdir, f"bench-{args.rows}.xlsx")
    path = Path(args.file)
    t0 = time.perf_counter()
    n_bad = make_file(path, args.rows, args.bad, ncols=args.cols, every_rule=args.every_rule)
    print(f"wrote {path} ({args.rows:,} rows, {n_bad:,} bad cells, {path.stat().st_size / 1e6:.1f} MB) "
          f"in {time.perf_counter() - t0:.1f} s")
    results = {}
    for which in (["ours"] if args.skip_baseline else ["ours", "baseline"]):
        proc = subprocess.run([sys.executable, __file__, "--child", which, "--file", str(path)],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        if proc.returncode != 0:
            print(proc.stderr)
            raise SystemExit(f"{which} failed")
        results[which] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[which]
        print(f"{which:9} {r['seconds']:7.1f} s  peak RSS {r['peak_rss_mb']:7.0f} MB  "
              f"errors {r['errors']:,}  warnings {r['warnings']:,}  rows {r['rows']:,}")
    if "baseline" in results:
        print(f"speed-up: {results['baseline']['seconds'] / results['ours']['seconds']:.1f}x")
    if tmpdir:
        import shutil

        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
