"""Realistic bench data, modelled on the real Cin7 export (tests/data/samples): its fill rates and
value shapes (many zero decimals, blank text, multi-line descriptions, leading-zero codes, long
barcodes), scaled to any number of products."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from inventory_tools import columns as cols
from inventory_tools import csvio, values

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "samples" / \
    "dear_inventorylist_export_live_2026-07-03.csv"


def sample_frame() -> pd.DataFrame:
    header, records, _ = csvio.read_records(SAMPLE.read_text(encoding="utf-8"))
    df = pd.DataFrame(records, columns=header, dtype=object)
    for c in cols.columns():
        df[c.name], _ = values.canonicalize(c, df[c.name])
    return df


def make_frame(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sample = sample_frame()
    pick = rng.integers(0, len(sample), n)
    df = sample.iloc[pick].reset_index(drop=True).copy()
    idx = np.arange(n)
    codes = pd.Series("SKU-" + pd.Series(idx).astype(str).str.zfill(7), dtype=object)
    zeros = rng.random(n) < 0.10  # leading-zero numeric codes, the classic Excel victim
    codes[zeros] = "00" + pd.Series(idx[zeros]).astype(str).str.zfill(6).to_numpy()
    df[cols.KEY] = codes.to_numpy(dtype=object)
    df["Name"] = (df["Name"] + " #" + pd.Series(idx).astype(str)).to_numpy(dtype=object)
    price = np.round(rng.gamma(2.0, 15.0, n), rng.choice([2, 3, 4], n).max())
    df["PriceTier1"] = pd.Series(price).map(lambda x: values.parse_decimal(float(x))[0]).to_numpy(dtype=object)
    has_barcode = rng.random(n) < 0.35
    body = rng.integers(10**10, 10**11, n)  # 12-digit EAN-13 bodies with a leading zero
    digits = (body[:, None] // 10 ** np.arange(10, -1, -1)) % 10
    weights = np.where(np.arange(11)[::-1] % 2 == 0, 3, 1)
    check = (10 - (digits * weights).sum(axis=1) % 10) % 10
    wrong = rng.random(n) < 0.35  # as in the real export: about a third fail their check digit
    check = np.where(wrong, (check + rng.integers(1, 10, n)) % 10, check)
    barcodes = pd.Series(body * 10 + check).astype(str).str.zfill(12).radd("0")
    df["Barcode"] = np.where(has_barcode, barcodes, "").astype(object)
    multi = rng.random(n) < 0.10
    desc = "Line one of a longer description.\r\nLine two: " + pd.Series(idx).astype(str)
    df["Description"] = np.where(multi, desc, df["Description"]).astype(object)
    statuses = rng.choice(["Active", "Setup Required", "Deprecated"], n, p=[0.85, 0.1, 0.05])
    df["Status"] = statuses.astype(object)
    setup = statuses == "Setup Required"
    for c in ("Category", "Type", "CostingMethod", "DefaultUnitOfMeasure"):
        df.loc[setup, c] = ""
    return df.astype(object)


EDITABLE_TEXT = ("Name", "Brand", "Category", "ShortDescription", "StockLocator", "CommaDelimitedTags")
EDITABLE_DECIMAL = ("PriceTier1", "PriceTier2", "Weight", "Length", "MinimumBeforeReorder")


def edit_frame(df: pd.DataFrame, fraction: float = 0.01, seed: int = 11) -> tuple[pd.DataFrame, int]:
    """A copy with ``fraction`` of all cells edited the way a manager would (valid new values)."""
    rng = np.random.default_rng(seed)
    out = df.copy()
    n_cells = int(len(df) * len(cols.names()) * fraction)
    editable = EDITABLE_TEXT + EDITABLE_DECIMAL
    rows = rng.integers(0, len(df), n_cells)
    which = rng.integers(0, len(editable), n_cells)
    for name_i, name in enumerate(editable):
        r = rows[which == name_i]
        if name in EDITABLE_DECIMAL:
            new = pd.Series(np.round(rng.uniform(1, 500, len(r)), 2)).map(
                lambda x: values.parse_decimal(float(x))[0])
        else:
            new = pd.Series(["edited " + str(v) for v in rng.integers(0, 10**6, len(r))])
        out.loc[r, name] = new.to_numpy(dtype=object)
    return out, n_cells
