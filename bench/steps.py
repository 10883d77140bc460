"""The pandas + openpyxl baseline, one timed step per process (peak RSS never falls within a
process). Run by bench/run.py; the export floor is bench/floor.py, the strong peer bench/peer.py."""
from __future__ import annotations

import sqlite3
import sys

import numpy as np
import pandas as pd

from inventory_tools import columns as cols


def _store_frame(store: str) -> pd.DataFrame:
    from inventory_tools.stores import open_store

    s = open_store(store)
    df = s.read_products()
    s.close()
    return df


def export_baseline(store: str, out: str) -> None:
    """The obvious way: DataFrame.to_excel with openpyxl (numbers as floats)."""
    df = _store_frame(store)
    for c in cols.of_type("decimal"):
        df[c.name] = pd.to_numeric(df[c.name].replace("", np.nan))
    df.to_excel(out, engine="openpyxl", index=False, sheet_name="Inventory List")


def read_baseline(path: str) -> pd.DataFrame:
    return pd.read_excel(path, engine="openpyxl", dtype=str, sheet_name="Inventory List").fillna("")


def validate_baseline(path: str) -> None:
    """pandas.read_excel (openpyxl) + the same pandera schema."""
    from inventory_tools.validation import build_schema

    df = read_baseline(path)
    try:
        build_schema().validate(df, lazy=True)
    except Exception:  # SchemaErrors: the failure cases are the result
        pass


def import_baseline(path: str, store: str) -> None:
    """read_excel + schema + a pandas merge diff + SQLite updates in one transaction."""
    from inventory_tools.validation import build_schema

    df = read_baseline(path)
    try:
        build_schema().validate(df, lazy=True)
    except Exception:
        pass
    current = _store_frame(store)
    merged = df.merge(current, on=cols.KEY, how="left", suffixes=("", "__cur"), indicator=True)
    db = sqlite3.connect(store)
    with db:
        for name in cols.names():
            if name == cols.KEY:
                continue
            diff = merged[(merged["_merge"] == "both") & (merged[name] != merged[name + "__cur"])]
            db.executemany(f'UPDATE products SET "{name}"=? WHERE "{cols.KEY}"=?',
                           list(zip(diff[name], diff[cols.KEY])))
    db.close()


if __name__ == "__main__":
    step, *args = sys.argv[1:]
    globals()[step](*args)
