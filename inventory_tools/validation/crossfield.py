"""Step 4 of validation: rules across the cells of a row, judged on the product as it will be
after the import (the file's cells, and for the columns it does not hold or leaves blank without
a base, the export base's or the store's current values).

The rules are named pandera checks (:mod:`.checks`, listed by :func:`.schema.row_checks`) over
the aligned frame :meth:`Rows.aligned` builds; :func:`words` says what each rule says at a row,
and :func:`row_problems` runs them in order (a cell one rule reports is not judged again).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .._lazy import lazy_import
from .. import columns as cols
from ..codes import product_keys
from ..plan import same_value
from .cells import AddProblem

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

#: The columns the row rules read from the export base and the store (nothing else is loaded).
_RULE_EXTRA = ("Type", "FixedAssetType", "AssemblyBOM", "QuantityToProduce")


def rule_columns() -> list[str]:
    """The store/base columns the row rules read (others are never loaded into the merge)."""
    wanted = {cols.KEY, cols.STATUS, *cols.setup_columns(), *_RULE_EXTRA}
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
    cell: Callable[[str, int], Any]  # a cell's value as read: (column, row index) → value
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
        self.rows_ok = self.code.to_numpy(dtype=object) != ""

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
            v = v.where(~(self.new & (v.to_numpy(dtype=object) == "")), cols.NEW_PRODUCT_STATUS)
        return v

    def determined(self, c: str) -> np.ndarray:
        """Where :meth:`after` is what the import leaves (a blank cell of a file without a base
        leaves the store's value, unknown unless the store was consulted)."""
        out = self.in_base | self.in_store | self.new
        if c in self.present:
            out = out | (self.frame[c].to_numpy(dtype=object) != "") | self.blank_clears
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

    def before(self, c: str, new: str | None = "") -> pd.Series:
        """Column ``c`` before the file: the export's value, else the store's, else ``new`` (a row
        neither holds)."""
        prior = pd.Series(new, index=self.frame.index, dtype=object)
        if self.current is not None:
            prior = prior.where(~self.in_store, self.current[c])
        if self.has_base:
            prior = prior.where(~self.in_base, self.base[c])
        return prior

    def judges_active(self) -> bool:
        """Whether the file says enough to judge the Active rule: it creates products, or holds
        Status or a setup column and there is something to merge its blanks with. (Without a base
        or the store, a blank cell is judged as blank: nothing to merge it with.)"""
        if self.new.any():
            return True
        if not any(c in self.present for c in (cols.STATUS,) + cols.setup_columns()):
            return False
        return cols.STATUS in self.present or self.current is not None or self.has_base

    # -- the aligned frame the row checks judge ------------------------------------------------------
    def aligned(self) -> pd.DataFrame:
        """One row per file row: each rule column as the import will leave it, what the file holds
        where a rule reads it (``<column>@file``), and what the rules need beside it (``@ok``,
        ``@new``, ``@key``, ``@same_as``, ``@prior_status``, ``<column>@determined``,
        ``<column>@ref`` for read-only columns, ``<column>@zeros`` for identifiers)."""
        idx = self.frame.index
        data: dict[str, object] = {c: self.after(c) for c in rule_columns()}
        data[f"{cols.KEY}@file"] = self.code
        data[f"{cols.STATUS}@file"] = self.frame[cols.STATUS] if cols.STATUS in self.present else \
            pd.Series("", index=idx, dtype=object)
        data["@ok"] = pd.Series(self.rows_ok, index=idx)
        data["@new"] = pd.Series(self.new, index=idx)
        data["@key"] = self.key
        data["@first"] = self._first_rows(idx)
        data["@same_as"] = pd.Series(self.same_as if self.same_as is not None else "", index=idx, dtype=object)
        data["@prior_status"] = self.before(cols.STATUS)
        for c in cols.required_always():
            data[f"{c}@determined"] = pd.Series(self.determined(c), index=idx)
        for c in (x.name for x in cols.columns() if x.read_only and x.name in self.present):
            data[f"{c}@file"] = self.frame[c]
            data[f"{c}@ref"] = self.before(c, new=None)  # what a read-only cell held before
        for c in (x.name for x in cols.columns() if x.identifier and x.name in self.present):
            data[f"{c}@zeros"] = self._zeros_lost(c)
        return pd.DataFrame(data, index=idx)

    def _first_rows(self, idx) -> pd.Series:
        """Each row's first row with the same product key (itself, unless the code repeats): a
        group-by only when some code does (0.8 s at a million rows)."""
        rows = pd.Series(np.arange(self.n), index=idx)
        if not self.key.duplicated().any():
            return rows
        return rows.groupby(self.key.to_numpy()).transform("first")

    def _zeros_lost(self, c: str) -> pd.Series:
        """The export's value where the file holds it without its leading zeros ("" elsewhere)."""
        out = np.full(self.n, "", dtype=object)
        if not self.has_base:
            return pd.Series(out, index=self.frame.index, dtype=object)
        fv = self.frame[c].to_numpy(dtype=object)
        if c == cols.KEY:  # a code the export did not hold, which is an exported code without its zeros
            unknown = np.flatnonzero(self.rows_ok & ~self.in_base).tolist()
            if not unknown:  # (the usual file: every code exported, nothing to look up)
                return pd.Series(out, index=self.frame.index, dtype=object)
            base_codes = set(self.base_rows[cols.KEY])
            stripped: dict[str, str] = {}
            for bcode in base_codes:
                if bcode.startswith("0") and bcode.lstrip("0"):
                    stripped.setdefault(bcode.lstrip("0"), bcode)
            for pos in unknown:
                if fv[pos] in stripped and fv[pos] not in base_codes:
                    out[pos] = stripped[fv[pos]]
        else:  # only the cells the file changed: usually few
            b = self.base[c].to_numpy(dtype=object)
            for pos in np.flatnonzero(self.in_base & (fv != "") & (fv != b)).tolist():
                if b[pos].startswith("0") and b[pos].lstrip("0") == fv[pos]:
                    out[pos] = b[pos]
        return pd.Series(out, index=self.frame.index, dtype=object)


# -- what each row rule says at a row ----------------------------------------------------------------
#: a rule's words at one row: (the column judged, the cell pointed at, value, message, hint, involves)
Words = tuple[str, str, object, str, str, tuple[str, ...]]


def _where(r: Rows, column: str, fallback: str) -> str:
    return column if column in r.present else fallback


def words(r: Rows, a: pd.DataFrame, rule: str, stats: dict, pos: int) -> Words:
    """What the row rule ``rule`` (with the check's ``stats``) says about row ``pos``."""
    if rule == "required.missing":
        return _required_words(r, stats["column"], pos)
    if rule == "code.duplicate":
        return _duplicate_words(r, a, pos)
    if rule == "code.same_product":
        existing, code = a["@same_as"].iat[pos], r.code.iat[pos]
        return (cols.KEY, cols.KEY, code,
                f"ProductCode '{code}' is the product '{existing}' already in the store, typed another way "
                "(codes are compared regardless of case, accents' encoding and spaces)",
                f"use the existing code exactly ('{existing}'), or choose a code that really differs", (cols.KEY,))
    if rule == "status.into_setup_required":
        prior = a["@prior_status"].iat[pos]
        return (cols.STATUS, cols.STATUS, r.cell(cols.STATUS, pos),
                f"Status cannot be changed into Setup Required (the product is {prior})",
                f"keep it {prior} (or set Deprecated to retire it); only sync creates Setup Required products",
                (cols.STATUS,))
    if rule == "active.required":
        c = stats["column"]
        return (c, _where(r, c, cols.STATUS), None, f"{c} is required for an Active product",
                f"fill in {c}, or leave the product's Status as it was until setup is complete", (cols.STATUS, c))
    if rule == "fixed_asset_type.type":
        fat, typ = a["FixedAssetType"].iat[pos], a["Type"].iat[pos]
        return ("FixedAssetType", _where(r, "FixedAssetType", "Type"), fat,
                f"FixedAssetType '{fat}' is only allowed when Type is Fixed Asset (Type is {typ or 'blank'})",
                "clear FixedAssetType, or set Type to Fixed Asset", ("FixedAssetType", "Type"))
    if rule == "assembly.quantity_to_produce":
        qty = a["QuantityToProduce"].iat[pos]
        return ("QuantityToProduce", _where(r, "QuantityToProduce", "AssemblyBOM"), qty,
                f"QuantityToProduce must be more than 0 when AssemblyBOM is Yes (it is {qty or 'blank'})",
                "enter how many units one assembly produces (usually 1), or set AssemblyBOM to No",
                ("AssemblyBOM", "QuantityToProduce"))
    if rule == "read_only.ignored":
        c = stats["column"]
        return (c, c, r.cell(c, pos),
                f"{c} is read-only; the change from {a[f'{c}@ref'].iat[pos] or 'blank'} to {a[f'{c}@file'].iat[pos]} "
                "is ignored", f"{c} is calculated by Cin7 Core; undo the edit to silence this warning", (c,))
    c = stats["column"]  # identifier.leading_zeros
    raw, was = r.cell(c, pos), a[f"{c}@zeros"].iat[pos]
    return (c, c, raw, f"{c} {raw!r} lost its leading zeros (the export had '{was}')",
            f"format the {c} column as Text and re-enter '{was}'", (c,))


def _required_words(r: Rows, c: str, pos: int) -> Words:
    if c == cols.KEY:
        return (cols.KEY, cols.KEY, None, "ProductCode is blank; every row needs its product's code",
                "enter the product's code (SKU), or delete the row", (cols.KEY,))
    new = bool(r.new[pos])
    return (c, _where(r, c, cols.KEY), None,
            f"{c} is required for a new product" if new else f"{c} cannot be blank: every product has one",
            f"enter the product's {c}" if new or c not in r.present else f"fill in {c} again", (c,))


def _duplicate_words(r: Rows, a: pd.DataFrame, pos: int) -> Words:
    first = int(a["@first"].iat[pos])
    code, fcode = r.code.iat[pos], r.code.iat[first]
    return (cols.KEY, cols.KEY, code,
            f"ProductCode '{code}' is already used at {r.cell_ref(first, cols.KEY)}"
            + (f" ('{fcode}')" if fcode != code else "") + " (codes differing only by case or spaces are the same "
            "product)", "each product must appear once: delete or merge the duplicate rows", (cols.KEY,))


#: Rules whose error refuses the cell for the rules after them (a missing value is not also
#: "wrong"; a code that is another product's is not judged further).
_REFUSES_CELL = frozenset({"active.required", "required.missing", "code.same_product", "identifier.leading_zeros"})


def row_problems(r: Rows, checks: Iterable) -> None:
    """Judge every row rule (:func:`.schema.row_checks`) over the aligned frame, in order. A row is
    not judged by a rule whose cells an earlier rule already refused."""
    from .checks import RULE_OF, passes

    a = r.aligned()
    for check in checks:
        rule = RULE_OF[check.name]
        if rule == "active.required" and not r.judges_active():
            continue
        failing = np.flatnonzero(~passes(check, a))
        for pos in failing.tolist():
            column, at, value, message, hint, involves = words(r, a, rule, check.statistics, pos)
            if any(r.bad[c][pos] for c in involves if c in r.bad):  # a cell refused before
                continue
            r.add(pos, column, value, rule, message, hint, at=at,
                  involves=involves if len(involves) > 1 else ())
            if rule in _REFUSES_CELL and column in r.bad:
                r.bad[column][pos] = True
