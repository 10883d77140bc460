"""Step 4 of validation: rules across the cells of a row, judged on the product as it will be
after the import (the file's cells, and for the columns it does not hold or leaves blank without
a base, the export base's or the store's current values).

Each rule is a small named function over a :class:`Rows` context; :data:`ROW_RULES` lists them in
the order they run (a cell one rule reports is not reported again by a later one).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from .. import columns as cols
from ..codes import product_keys
from ..plan import same_value
from .cells import AddProblem

FIXED_ASSET = "Fixed Asset"
#: The columns the row rules read from the export base and the store (nothing else is loaded).
_RULE_EXTRA = ("Type", "FixedAssetType", "AssemblyBOM", "QuantityToProduce")


def required_when_active() -> tuple[str, ...]:
    """What an Active product must have, besides its code and status (``required`` in the column table)."""
    return tuple(n for n in cols.required_when_active() if n not in (cols.KEY, cols.STATUS))


def rule_columns() -> list[str]:
    """The store/base columns the row rules read (others are never loaded into the merge)."""
    wanted = {cols.KEY, cols.STATUS, *required_when_active(), *_RULE_EXTRA}
    wanted |= {c.name for c in cols.columns() if c.read_only or c.identifier}
    return [n for n in cols.names() if n in wanted]


def align(df: pd.DataFrame | None, code: pd.Series, names: list[str] | None = None) -> pd.DataFrame:
    """The rule columns (or ``names``, with the key) of ``df`` (canonical) matched to the file's
    codes; missing rows and columns → ""."""
    names = names or rule_columns()
    if df is None or len(df) == 0:
        return pd.DataFrame({n: pd.Series("", index=code.index, dtype=object) for n in names})
    have = [n for n in names if n in df.columns]
    d = df[have].drop_duplicates(cols.KEY).set_index(cols.KEY, drop=False)
    out = d.reindex(code.to_numpy())
    out.index = code.index
    out = out.astype(object).where(out.notna(), "")
    for n in names:
        if n not in out.columns:
            out[n] = ""
    return out[names]


@dataclass
class Rows:
    """The file's checked rows with what the rules need to judge them.

    ``base``/``current``: the export snapshot's and the store's rows aligned to the file's rows
    ("" where absent); ``in_base``/``in_store`` say where they are present. ``store_known``: the
    store was consulted, so a row in neither is a new product. ``same_as``: for a new code, the
    existing code that names the same product ("" if none). ``blank_clears``: a blank cell of a
    file without a base clears the value (else it leaves it unchanged).
    """

    frame: pd.DataFrame
    raw: pd.DataFrame
    bad: dict[str, np.ndarray]
    add: AddProblem
    cell_ref: Callable[[int, str], str]
    base: pd.DataFrame | None
    base_rows: pd.DataFrame | None  # the whole base snapshot (for leading zeros)
    current: pd.DataFrame | None
    in_base: np.ndarray
    in_store: np.ndarray
    store_known: bool = False
    blank_clears: bool = False
    same_as: np.ndarray | None = None
    code: pd.Series = field(init=False)
    key: pd.Series = field(init=False)  # the code as the same product (codes.product_key)
    present: set[str] = field(init=False)
    rows_ok: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.code = self.frame[cols.KEY].astype(object)
        self.key = product_keys(self.code)
        self.present = set(self.frame.columns)
        self.rows_ok = (self.code != "").to_numpy()

    @property
    def n(self) -> int:
        return len(self.frame)

    @property
    def has_base(self) -> bool:
        return self.base is not None

    @property
    def known(self) -> np.ndarray:
        return self.in_store | self.in_base

    @property
    def new(self) -> np.ndarray:
        """Rows that create a product (only known once the store was consulted)."""
        return self.rows_ok & ~self.known if self.store_known else np.zeros(self.n, dtype=bool)

    def after(self, c: str) -> pd.Series:
        """Column ``c`` as the import will leave it."""
        f = self.frame
        if c in self.present:
            v = f[c]
            if not self.has_base and self.current is not None and not self.blank_clears:
                v = v.where(v != "", self.current[c])
        else:
            v = pd.Series("", index=f.index, dtype=object)  # a column not in the file is unchanged
            if self.has_base:
                v = v.where(~self.in_base, self.base[c])
            if self.current is not None:
                v = v.where(~self.in_store, self.current[c])
        if c == cols.STATUS and self.store_known:  # a new product's blank Status: the default
            v = v.where(~(self.new & (v == "").to_numpy()), cols.NEW_PRODUCT_STATUS)
        return v

    def determined(self, c: str) -> np.ndarray:
        """Where :meth:`after` is what the import leaves (a blank cell of a file without a base
        leaves the store's value, unknown unless the store was consulted)."""
        out = self.in_base | self.in_store | self.new
        if c in self.present:
            out = out | (self.frame[c] != "").to_numpy() | self.blank_clears
        return out

    def changed(self, pos: int, c: str, value) -> bool:
        """Whether the file changes cell (``pos``, ``c``): against the export base, or (without one)
        the store. ``value``: the cell as read, for a cell whose canonical text was refused."""
        if c not in self.present:
            return False
        text = self.frame[c].iat[pos]
        if text == "" and value is not None and not (isinstance(value, str) and value.strip() == ""):
            text = str(value).strip()  # refused by the checks: compare what the file holds
        if self.in_base[pos]:
            return not same_value(cols.column(c), text, self.base[c].iat[pos])
        if text == "" and not self.blank_clears:
            return False  # blank: unchanged
        return self.current is None or not self.in_store[pos] or \
            not same_value(cols.column(c), text, self.current[c].iat[pos])

    def before(self, c: str) -> pd.Series:
        """Column ``c`` before the file: the export's value, else the store's ("" for new rows)."""
        prior = pd.Series("", index=self.frame.index, dtype=object)
        if self.current is not None:
            prior = prior.where(~self.in_store, self.current[c])
        if self.has_base:
            prior = prior.where(~self.in_base, self.base[c])
        return prior

    def not_bad(self, c: str) -> np.ndarray:
        return ~self.bad[c] if c in self.bad else np.ones(self.n, dtype=bool)


# -- the rules ------------------------------------------------------------------------------------
def blank_or_repeated_codes(r: Rows) -> None:
    """Every row needs its code, once (codes differing only by case or spaces are one product)."""
    code, key = r.code, r.key
    blank = (code == "").to_numpy() & ~r.bad[cols.KEY]
    for pos in np.flatnonzero(blank):
        r.add(pos, cols.KEY, None, "required.missing", "ProductCode is blank; every row needs its product's code",
              "enter the product's code (SKU), or delete the row")
    dup = (key.duplicated(keep="first") & (key != "")).to_numpy()
    if not dup.any():
        return
    first = pd.Series(np.arange(r.n), index=r.frame.index).groupby(key.to_numpy()).transform("first").to_numpy()
    for pos in np.flatnonzero(dup):
        fp = int(first[pos])
        r.add(pos, cols.KEY, code.iat[pos], "code.duplicate",
              f"ProductCode '{code.iat[pos]}' is already used at {r.cell_ref(fp, cols.KEY)}"
              + (f" ('{code.iat[fp]}')" if code.iat[fp] != code.iat[pos] else "")
              + " (codes differing only by case or spaces are the same product)",
              "each product must appear once: delete or merge the duplicate rows")


def same_product_as_existing(r: Rows) -> None:
    """A new code that an existing product's code equals as a person reads it (case, accents'
    encoding, spaces) is that product typed another way: never a second product."""
    if r.same_as is None:
        return
    for pos in np.flatnonzero(r.same_as != ""):
        existing = r.same_as[pos]
        r.add(pos, cols.KEY, r.code.iat[pos], "code.same_product",
              f"ProductCode '{r.code.iat[pos]}' is the product '{existing}' already in the store, typed another way "
              "(codes are compared regardless of case, accents' encoding and spaces)",
              f"use the existing code exactly ('{existing}'), or choose a code that really differs")
        r.bad[cols.KEY][pos] = True


def required_always(r: Rows) -> None:
    """Name and Status (``required: always`` in the column table) are never blank after an import,
    whatever the columns of the file and the flags (a new product's blank Status is Active)."""
    active = (r.after(cols.STATUS) == cols.ACTIVE).to_numpy()
    for c in (n for n in cols.required_always() if n != cols.KEY):
        miss = r.rows_ok & r.determined(c) & (r.after(c) == "").to_numpy() & r.not_bad(c)
        if c in required_when_active():
            miss &= ~active  # reported by active_has_setup
        at = c if c in r.present else cols.KEY
        for pos in np.flatnonzero(miss):
            new = bool(r.new[pos])
            r.add(pos, c, None, "required.missing",
                  f"{c} is required for a new product" if new else f"{c} cannot be blank: every product has one",
                  f"enter the product's {c}" if new or c not in r.present else f"fill in {c} again", at=at)
            if c in r.bad:
                r.bad[c][pos] = True


def into_setup_required(r: Rows) -> None:
    """Only sync creates Setup Required products: no product is changed into it."""
    if cols.STATUS not in r.present:
        return
    prior = r.before(cols.STATUS)
    into = (r.frame[cols.STATUS] == cols.SETUP_REQUIRED).to_numpy() & (prior != "").to_numpy() \
        & (prior != cols.SETUP_REQUIRED).to_numpy() & r.rows_ok
    for pos in np.flatnonzero(into):
        r.add(pos, cols.STATUS, r.raw[cols.STATUS].iat[pos], "status.into_setup_required",
              f"Status cannot be changed into Setup Required (the product is {prior.iat[pos]})",
              f"keep it {prior.iat[pos]} (or set Deprecated to retire it); only sync creates Setup Required products")


def active_has_setup(r: Rows) -> None:
    """An Active product has every column the table requires when Active."""
    needed = required_when_active()
    if not r.new.any():
        if not any(c in r.present for c in (cols.STATUS,) + needed):
            return
        if cols.STATUS not in r.present and r.current is None and not r.has_base:
            return
    # without a base or the store, a blank cell is judged as blank (nothing to merge it with)
    active = (r.after(cols.STATUS) == cols.ACTIVE).to_numpy() & r.rows_ok
    for c in needed:
        miss = active & (r.after(c) == "").to_numpy() & r.not_bad(c)
        at = c if c in r.present else cols.STATUS
        for pos in np.flatnonzero(miss):
            r.add(pos, c, None, "active.required", f"{c} is required for an Active product",
                  f"fill in {c}, or leave the product's Status as it was until setup is complete", at=at,
                  involves=(cols.STATUS, c))
        if c in r.present:
            r.bad[c][miss] = True


def fixed_asset_type_needs_type(r: Rows) -> None:
    if "FixedAssetType" not in r.present and "Type" not in r.present:
        return
    fat, typ = r.after("FixedAssetType"), r.after("Type")
    wrong = r.rows_ok & (fat != "").to_numpy() & (typ != FIXED_ASSET).to_numpy() \
        & r.not_bad("FixedAssetType") & r.not_bad("Type")
    for pos in np.flatnonzero(wrong):
        r.add(pos, "FixedAssetType", fat.iat[pos], "fixed_asset_type.type",
              f"FixedAssetType '{fat.iat[pos]}' is only allowed when Type is Fixed Asset "
              f"(Type is {typ.iat[pos] or 'blank'})", "clear FixedAssetType, or set Type to Fixed Asset",
              at="FixedAssetType" if "FixedAssetType" in r.present else "Type")


def assembly_has_quantity(r: Rows) -> None:
    if "AssemblyBOM" not in r.present and "QuantityToProduce" not in r.present:
        return
    bom, qty = r.after("AssemblyBOM"), r.after("QuantityToProduce")
    positive = (qty != "") & (qty != "0") & ~qty.astype(str).str.startswith("-")
    wrong = r.rows_ok & (bom == "Yes").to_numpy() & ~positive.to_numpy() \
        & r.not_bad("QuantityToProduce") & r.not_bad("AssemblyBOM")
    for pos in np.flatnonzero(wrong):
        r.add(pos, "QuantityToProduce", qty.iat[pos], "assembly.quantity_to_produce",
              f"QuantityToProduce must be more than 0 when AssemblyBOM is Yes (it is {qty.iat[pos] or 'blank'})",
              "enter how many units one assembly produces (usually 1), or set AssemblyBOM to No",
              at="QuantityToProduce" if "QuantityToProduce" in r.present else "AssemblyBOM",
              involves=("AssemblyBOM", "QuantityToProduce"))


def barcode_check_digit(r: Rows) -> None:
    """EAN-8, UPC-A and EAN-13 barcodes end in a check digit: a wrong one is a typing error (warning)."""
    if "Barcode" not in r.present:
        return
    bc = r.frame["Barcode"]
    codes_, uniq = pd.factorize(bc)
    badcd = ~gtin_ok(uniq)
    if not badcd.any():
        return
    cells = (codes_ >= 0) & badcd[np.where(codes_ >= 0, codes_, 0)] & r.not_bad("Barcode")
    bc_arr, raw_arr = bc.to_numpy(dtype=object), r.raw["Barcode"].to_numpy(dtype=object)
    for pos in np.flatnonzero(cells).tolist():
        v = bc_arr[pos]
        kind = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}[len(v)]
        r.add(pos, "Barcode", raw_arr[pos], "barcode.check_digit",
              f"Barcode {v} looks like an {kind} code but its check digit is wrong (expected {gtin_digit(v[:-1])})",
              "check the barcode for a typing error", severity="warning")


def read_only_edits(r: Rows) -> None:
    """Read-only columns (computed by Cin7): an edit is reported and ignored (warning)."""
    for c in (x.name for x in cols.columns() if x.read_only and x.name in r.present):
        ref = pd.Series(None, index=r.frame.index, dtype=object)
        if r.current is not None:
            ref = ref.where(~r.in_store, r.current[c])
        if r.has_base:
            ref = ref.where(~r.in_base, r.base[c])
        f = r.frame[c]
        ch = (f != "").to_numpy() & ref.notna().to_numpy() & (f != ref).to_numpy() & r.not_bad(c)
        fa, ra, rawa = f.to_numpy(dtype=object), ref.to_numpy(dtype=object), r.raw[c].to_numpy(dtype=object)
        for pos in np.flatnonzero(ch).tolist():
            r.add(pos, c, rawa[pos], "read_only.ignored",
                  f"{c} is read-only; the change from {ra[pos] or 'blank'} to {fa[pos]} is ignored",
                  f"{c} is calculated by Cin7 Core; undo the edit to silence this warning", severity="warning")


def leading_zeros_lost(r: Rows) -> None:
    """Identifiers that lost their leading zeros (``00123`` → ``123``), compared with the export."""
    if not r.has_base:
        return
    base_codes = set(r.base_rows[cols.KEY])
    stripped: dict[str, str] = {}
    for bcode in base_codes:
        if bcode.startswith("0") and bcode.lstrip("0"):
            stripped.setdefault(bcode.lstrip("0"), bcode)
    for pos in np.flatnonzero(r.rows_ok & ~r.in_base & r.not_bad(cols.KEY)):
        c0 = r.code.iat[pos]
        if c0 in stripped and c0 not in base_codes:
            _zeros(r, pos, cols.KEY, stripped[c0])
    for c in (x.name for x in cols.columns() if x.identifier and x.name != cols.KEY and x.name in r.present):
        b = r.base[c].to_numpy(dtype=object)
        fv = r.frame[c].to_numpy(dtype=object)
        changed = np.flatnonzero(r.in_base & (fv != "") & (fv != b) & r.not_bad(c)).tolist()
        for pos in changed:  # only the cells the file changed: usually few
            bv = b[pos]
            if bv.startswith("0") and bv.lstrip("0") == fv[pos]:
                _zeros(r, pos, c, bv)


def _zeros(r: Rows, pos: int, c: str, base_value: str) -> None:
    raw = r.raw[c].iat[pos]
    r.add(pos, c, raw, "identifier.leading_zeros", f"{c} {raw!r} lost its leading zeros (the export had '{base_value}')",
          f"format the {c} column as Text and re-enter '{base_value}'")
    r.bad[c][pos] = True


#: The row rules, in the order they run.
ROW_RULES: tuple[Callable[[Rows], None], ...] = (
    blank_or_repeated_codes, same_product_as_existing, into_setup_required, active_has_setup, required_always,
    fixed_asset_type_needs_type, assembly_has_quantity, barcode_check_digit, read_only_edits, leading_zeros_lost)


# -- GTIN check digits ------------------------------------------------------------------------------
def gtin_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def gtin_ok(values) -> np.ndarray:
    """Per value: False for an 8/12/13-digit code whose check digit is wrong, else True."""
    ok = np.ones(len(values), dtype=bool)
    if not len(values):
        return ok
    lens = np.fromiter((len(v) if type(v) is str and v.isascii() and v.isdigit() else 0 for v in values),
                       dtype=np.int64, count=len(values))
    for n in (8, 12, 13):
        idx = np.flatnonzero(lens == n)
        if not len(idx):
            continue
        digits = np.frombuffer("".join(values[i] for i in idx).encode("ascii"), dtype=np.uint8).reshape(-1, n) - 48
        weights = np.where(np.arange(n - 1)[::-1] % 2 == 0, 3, 1)  # from the right: 3, 1, 3, ...
        check = (10 - (digits[:, :-1] * weights).sum(axis=1) % 10) % 10
        ok[idx] = check == digits[:, -1]
    return ok
