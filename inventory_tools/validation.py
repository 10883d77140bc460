"""Validate an edited inventory list: every problem, at its cell, in one pass.

Pipeline (all vectorised over unique values or whole columns; nothing is capped):

1. :func:`~inventory_tools.reading.read_table` — headers, error cells, formulas, encodings.
2. Spreadsheet-damage detectors on the raw values (scientific-notation identifiers, codes that
   became dates or lost digits, non-breaking/trailing spaces) and canonicalisation through
   :func:`inventory_tools.values.canonicalize` (types, enums, booleans). A cell that fails here
   is reported once and blanked, so later checks never hide or repeat it.
3. A pandera schema built from the column table checks the canonical text frame (max lengths,
   decimals ≥ 0, decimal places, enum words) lazily; nothing is coerced by pandera.
4. Cross-field rules on the product as it will be after the import (file merged with the
   store's current row; blank means "unchanged" unless the file has an export base).

Rule ids are stable (see :data:`RULES`); messages start with the cell: ``G17: Status 'Actvie' is
not one of Active, Setup Required, Deprecated``.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from . import columns as cols
from .reading import Problem, Table, chunks, col_index, overlap_with_parse, read_table_with
from .values import canonical, plain_float_texts
from .xlsx_writer import col_letter, xml_text

RULES = {
    # reading
    "header.unknown": "a column that is not an inventory column (ignored)",
    "header.near_miss": "a misspelt inventory column header",
    "header.missing": "the ProductCode column is missing",
    "header.duplicate": "a column appears twice",
    "header.blank": "values under an empty header (ignored)",
    "cell.error": "an error cell such as #N/A or #REF!",
    "cell.formula_no_value": "a formula with no saved value",
    "cell.merged": "merged cells in the data (all but the first read as blank)",
    "row.hidden": "a hidden row (read and imported like the others)",
    "reference.unknown": "a name Cin7 does not know (Category, Brand, unit, tax rule, account, location)",
    "cell.error_text": "CSV text that looks like a spreadsheet error (#N/A), kept as text",
    "encoding.windows_1252": "CSV read as Windows-1252",
    # cells
    "type.decimal": "not a number", "type.text": "not text",
    "enum.value": "not one of the allowed values", "enum.bool": "not Yes/No",
    "identifier.digits_lost": "a code the spreadsheet rounded",
    "identifier.scientific": "a code in scientific notation",
    "identifier.date": "a code that became a date",
    "identifier.leading_zeros": "a code that lost its leading zeros",
    "text.spaces": "non-breaking or leading/trailing spaces (removed)",
    "text.too_long": "longer than the column allows",
    "decimal.negative": "a negative number", "decimal.places": "too many decimal places",
    # rows
    "code.duplicate": "ProductCode repeated in the file",
    "required.missing": "a required value is blank",
    "active.required": "an Active product lacks a required value",
    "status.into_setup_required": "a product changed into Setup Required",
    "fixed_asset_type.type": "FixedAssetType without Type Fixed Asset",
    "assembly.quantity_to_produce": "AssemblyBOM Yes without QuantityToProduce > 0",
    "barcode.check_digit": "a barcode with a wrong check digit",
    "read_only.ignored": "an edit to a read-only column (ignored)",
    "manifest.other_store": "the workbook was exported from another store",
    "manifest.schema_version": "the workbook was written by a newer version",
}

_SCI_RE = re.compile(r"^[+-]?\d(?:[.,]\d+)?[eE][+-]\d{1,3}$")  # how a spreadsheet shows 1.23457E+12
_WS_RE = re.compile(r"\s+")
_FIXED_ASSET = "Fixed Asset"
_REQUIRED_ACTIVE = ("Name", "Category", "Type", "CostingMethod", "DefaultUnitOfMeasure")


@dataclass
class ValidationReport:
    valid: bool
    errors: int
    warnings: int
    problems: list[Problem]
    frame: pd.DataFrame
    table: Table
    row_valid: np.ndarray
    base_export_id: str | None = None
    used_store: bool = False
    store_identity: str | None = None  # the store the checks opened, if any
    read_current: bool = False  # the checks read current products: the verdict depends on them
    # each checked column of ``frame`` as categories (the same values, held once per distinct value)
    categorical: dict[str, pd.Categorical] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict:
        return {
            "valid": self.valid, "errors": self.errors, "warnings": self.warnings,
            "file": str(self.table.path), "sheet": self.table.sheet, "rows": int(len(self.frame)),
            "problems": [p.to_dict() for p in self.problems],
        }

    def counts(self) -> tuple[Counter, Counter]:
        """(problems by column, problems by rule)."""
        return (Counter(p.column or "(file)" for p in self.problems), Counter(p.rule for p in self.problems))


# -- entry point ------------------------------------------------------------------------------
def validate(path_or_table, *, store=None, base: pd.DataFrame | None = None,
             progress: Callable[[int], None] | None = None) -> ValidationReport:
    """Check FILE (path or :class:`Table`) and return a :class:`ValidationReport`.

    ``store``: a Store, or a zero-argument callable returning one (opened only when the file
    needs it: status transitions, blanks to merge, read-only edits). ``base``: the export
    snapshot (canonical frame) the file was made from; if not given and the workbook's manifest
    names an export the store still has, that snapshot is used.
    """
    if isinstance(path_or_table, Table):
        v = _Validator(store, base)
        v.attach(path_or_table)
    else:
        v = prepare(path_or_table, store=store, base=base)
    v.progress = progress
    return v.run()


def prepare(path, *, store=None, base: pd.DataFrame | None = None, table: Table | None = None) -> "_Validator":
    """Read FILE for :func:`validate`; the export base is loaded from the store meanwhile (while
    the sheet is parsed on another core). ``prepare(path).table`` is the file as read;
    ``.run(progress)`` validates it. ``table``: the file as read already (from the cache)."""
    v = _Validator(store, base)
    if table is not None:
        v.attach(table)
        return v

    def load_base(manifest):
        if overlap_with_parse(manifest):  # a big file's base waits until the parsed sheet is freed
            v.load_base(manifest)
        import pandera.pandas  # noqa: F401  (half a second of imports, taken while the sheet parses)

    table, _ = read_table_with(path, load_base)
    v.attach(table)
    return v


def progress_steps(table: Table) -> int:
    """How many ``progress(1)`` calls :func:`validate` makes for this table."""
    return len(table.raw.columns) + 3


class _Validator:
    def __init__(self, store, base: pd.DataFrame | None):
        self._store_arg = store
        self._store = None
        self.base = base
        self.base_export_id = None
        self.used_store = False
        self.read_current = False
        self._key: pd.Series | None = None
        self.progress: Callable[[int], None] | None = None
        self._base_loaded = False
        self.categorical: dict[str, pd.Categorical] = {}  # canonical columns as categories
        self._file_notes: list[tuple] = []  # file-level problems found before the table is attached

    @property
    def table(self) -> Table:
        return self.t

    def attach(self, table: Table) -> None:
        self.t = table
        self.problems: list[Problem] = list(table.problems)
        self.n = len(table.raw)
        # cells already reported as errors (never re-reported by later rules)
        self.bad: dict[str, np.ndarray] = {c: np.zeros(self.n, dtype=bool) for c in table.raw.columns}
        for (pos, name), flag in table.cell_flags.items():
            if flag in ("error", "formula_no_value") and name in self.bad:
                self.bad[name][pos] = True

    # -- store access -------------------------------------------------------------------------
    def store(self):
        if self._store is None and self._store_arg is not None:
            s = self._store_arg
            self._store = s() if callable(s) and not hasattr(s, "read_by_codes") else s
            self.used_store = True
        return self._store

    # -- problem helpers ----------------------------------------------------------------------
    def add(self, pos: int | None, column: str | None, value, rule: str, message: str, hint: str,
            severity: str = "error", at: str | None = None) -> None:
        t = self.t
        at = at or column
        if pos is None:
            self.problems.append(Problem(t.sheet, None, column, "", value, rule, severity, message, hint))
            return
        if at in t.column_letters:
            ref = t.cell_ref(pos, at)
        elif cols.KEY in t.column_letters:
            ref = t.cell_ref(pos, cols.KEY)
            at = cols.KEY
        else:
            ref = t.cell_ref(pos, "") if t.kind == "csv" else f"row {t.row_numbers[pos]}"
        self.problems.append(Problem(t.sheet, t.row_numbers[pos], column, ref, value, rule, severity,
                                     message, hint, pos, at))

    # -- run ----------------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> ValidationReport:
        t = self.t
        self.progress = progress or self.progress
        tick = self.progress or (lambda n: None)
        frame = pd.DataFrame(index=t.raw.index)
        for name in t.raw.columns:
            frame[name] = self.canonical_column(name)
            tick(1)
        self.frame = frame
        self.schema_checks()
        tick(1)
        if not self._base_loaded:
            self.load_base(t.manifest)
        for args in self._file_notes:
            self.add(None, None, *args, severity="warning")
        tick(1)
        self.rows()
        tick(1)
        frame["_row"] = t.row_numbers
        frame["_key"] = self._key if self._key is not None else (
            _code_key(frame[cols.KEY]) if cols.KEY in frame else "")
        errors = sum(1 for p in self.problems if p.severity == "error")
        warnings = len(self.problems) - errors
        row_valid = np.ones(self.n, dtype=bool)
        for p in self.problems:
            if p.severity == "error" and p.index is not None:
                row_valid[p.index] = False
        letters = {c: col_index(l) for c, l in t.column_letters.items()}
        self.problems.sort(key=lambda p: (p.index is not None, p.row or 0,
                                          letters.get(p.at or p.column, -1) if p.column else -1, p.rule))
        return ValidationReport(valid=errors == 0, errors=errors, warnings=warnings, problems=self.problems,
                                frame=frame, table=t, row_valid=row_valid, base_export_id=self.base_export_id,
                                used_store=self.used_store,
                                store_identity=_identity(self._store) if self._store is not None else None,
                                read_current=self.read_current, categorical=self.categorical)

    # -- step 2: cells ------------------------------------------------------------------------
    def canonical_column(self, name: str) -> pd.Series:
        """Detectors + :func:`values.canonical`, once per distinct raw value of the column."""
        col = cols.column(name)
        raw = self.t.raw[name]
        raw_arr = raw.to_numpy(dtype=object)
        bad = self.bad[name]
        codes, uniq = self.t.factors.get(name, (None, None))
        if codes is None or len(codes) != len(raw_arr):
            codes, uniq = pd.factorize(raw_arr, use_na_sentinel=True)
        nu = len(uniq)
        vals_u = np.empty(nu + 1, dtype=object)
        vals_u[nu] = ""  # blank (code -1)
        issue_u: list = [None] * (nu + 1)
        spaced_u = np.zeros(nu + 1, dtype=bool)
        sci_u = np.zeros(nu + 1, dtype=bool)
        text_like = col.type in ("text", "account")
        others = range(nu)
        if text_like and nu:
            # Text read as text (nearly every value) is its own canonical form once the spaces a
            # spreadsheet adds are trimmed: done in bulk, only other types go through canonical().
            uniq_arr = np.asarray(uniq, dtype=object)
            is_str = np.fromiter((type(u) is str for u in uniq_arr), dtype=bool, count=nu)
            at = np.flatnonzero(is_str)
            trimmed = np.array([u.replace("\u00a0", " ").strip() for u in uniq_arr[at]], dtype=object)
            spaced_u[at] = trimmed != uniq_arr[at]
            vals_u[at] = trimmed
            if col.identifier:
                sci = np.fromiter((_SCI_RE.match(t) is not None for t in trimmed), dtype=bool, count=len(at))
                sci_u[at[sci]] = True
                spaced_u[at[sci]] = False
                vals_u[at[sci]] = ""
            others = np.flatnonzero(~is_str).tolist()
        elif col.type == "decimal" and nu:
            # Numbers read as numbers (nearly every value): their text in one pass, the same as
            # canonical() gives; anything else (text, bools, odd floats) goes through canonical().
            uniq_arr = np.asarray(uniq, dtype=object)
            at = np.flatnonzero(np.fromiter((type(u) is float for u in uniq_arr), dtype=bool, count=nu))
            texts = np.array(plain_float_texts(uniq_arr[at].tolist()) + [None], dtype=object)[:-1]
            done = texts != None  # noqa: E711 - elementwise
            vals_u[at[done]] = texts[done]
            rest = np.ones(nu, dtype=bool)
            rest[at[done]] = False
            others = np.flatnonzero(rest).tolist()
        for i in others:
            v, issue = canonical(col, uniq[i])
            vals_u[i] = "" if v is None else v
            issue_u[i] = issue
        has_u = np.fromiter((x is not None for x in issue_u), dtype=bool, count=nu + 1)
        c = np.where(codes < 0, nu, codes)
        sci_cells = sci_u[c] & ~bad
        issue_cells = has_u[c]
        space_cells = spaced_u[c] & ~bad & ~issue_cells
        for pos in np.flatnonzero(sci_cells).tolist():
            v = raw_arr[pos]
            self.add(pos, name, v, "identifier.scientific",
                     f"{name} '{v}' is in scientific notation: the digits of the code were lost",
                     f"format the {name} column as Text and re-enter the full code")
        for pos in np.flatnonzero(space_cells).tolist():
            v = raw_arr[pos]
            self.add(pos, name, v, "text.spaces",
                     f"{name} {v!r} has non-breaking or leading/trailing spaces; they were removed",
                     "nothing to do (the value is read without them); retype it to silence this warning",
                     severity="warning")
        for pos in np.flatnonzero(issue_cells & ~bad).tolist():
            issue = issue_u[c[pos]]
            self.add(pos, name, raw_arr[pos], issue.rule, issue.message, issue.hint, issue.severity)
        bad |= sci_cells | issue_cells
        vals = vals_u[c]
        # the same column as categories (for the schema: its checks then run once per category)
        cat_of_u, categories = pd.factorize(vals_u)
        cells = cat_of_u[c]
        if bad.any():
            vals[bad] = ""
            cells[bad] = cat_of_u[nu]  # vals_u[nu] is ""
        self.categorical[name] = pd.Categorical.from_codes(cells, categories=np.asarray(categories, dtype=object))
        return pd.Series(vals, index=raw.index, dtype=object)

    # -- step 3: pandera ----------------------------------------------------------------------
    def schema_checks(self) -> None:
        import pandera.pandas as pa

        frame = self.frame
        schema = build_schema(frame.columns)
        if schema is None:
            return
        checked = pd.DataFrame({n: self.categorical[n] for n in schema.columns if n in self.categorical},
                               index=frame.index)
        try:
            schema.validate(checked, lazy=True)
        except pa.errors.SchemaErrors as exc:
            fc = exc.failure_cases
            fc = fc[fc["index"].notna()]
            arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for name, rule, pos in zip(fc["column"], fc["check"], fc["index"]):
                pos = int(pos)
                col = cols.column(name)
                if name not in arrays:
                    arrays[name] = (frame[name].to_numpy(dtype=object), self.t.raw[name].to_numpy(dtype=object))
                text, raw = arrays[name][0][pos], arrays[name][1][pos]
                if rule == "text.too_long":
                    self.add(pos, name, raw, rule,
                             f"{name} is {len(text)} characters long; at most {col.max_length} are allowed",
                             f"shorten it to {col.max_length} characters")
                elif rule == "decimal.negative":
                    self.add(pos, name, raw, rule, f"{name} {text} is negative",
                             "enter 0 or a positive number")
                elif rule == "decimal.places":
                    self.add(pos, name, raw, rule,
                             f"{name} {text} has {_places_one(text)} decimal places; at most {col.decimals} are kept",
                             f"round it to {col.decimals} decimal places")
                else:
                    self.add(pos, name, raw, rule, f"{name} '{text}' is not one of {', '.join(col.values)}",
                             f"choose one of: {', '.join(col.values)}")
                self.bad[name][pos] = True

    # -- step 4: rows -------------------------------------------------------------------------
    def load_base(self, manifest: dict | None) -> None:
        """The export snapshot the workbook's manifest names (only the columns the rules read)."""
        self._base_loaded = True
        man = manifest or {}
        version = str(man.get("schema_version") or "")
        if version.isdigit() and int(version) > cols.SCHEMA_VERSION:
            self._file_notes.append((version, "manifest.schema_version",
                                     f"the workbook was written by a newer inventory-tools (column schema {version}, "
                                     f"this one knows {cols.SCHEMA_VERSION}); unknown columns are ignored",
                                     "upgrade inventory-tools before importing this file"))
        if self.base is not None or not man.get("export_id") or self._store_arg is None:
            return
        store = self.store()
        if store is None:
            return
        state = getattr(store, "state", None)
        sid = str(getattr(state, "store_id", "") or "")
        mine = {_identity(store), sid, f"sqlite:{sid}"} - {"", "sqlite:"}
        if man.get("store_id") and man["store_id"] not in mine:
            self._file_notes.append((man.get("store_id"), "manifest.other_store",
                                     f"the workbook was exported from another store "
                                     f"({man.get('store') or man['store_id']}); it is checked without its export "
                                     "base, so blank cells are read as 'unchanged'",
                                     "import it into the store it came from, or export a fresh list from this store"))
            return
        info = state.export_info(man["export_id"]) if state is not None else None
        if not info:
            return
        if info.get("snapshot") in (0, "0", False):
            return
        self.base = state.export_snapshot(man["export_id"], columns=_rule_columns())  # only what the rules read
        self.base_export_id = man["export_id"]

    def rows(self) -> None:
        f = self.frame
        n = self.n
        if cols.KEY not in f.columns or n == 0:
            return
        code = f[cols.KEY].astype(object)
        key = self._key = _code_key(code)  # also the frame's _key column
        present = set(f.columns)

        # ProductCode blank / duplicates
        blank_code = (code == "").to_numpy() & ~self.bad[cols.KEY]
        for pos in np.flatnonzero(blank_code):
            self.add(pos, cols.KEY, None, "required.missing", "ProductCode is blank; every row needs its product's code",
                     "enter the product's code (SKU), or delete the row")
        dup = (key.duplicated(keep="first") & (key != "")).to_numpy()
        if dup.any():
            first = pd.Series(np.arange(n), index=f.index).groupby(key.to_numpy()).transform("first").to_numpy()
            for pos in np.flatnonzero(dup):
                fp = int(first[pos])
                self.add(pos, cols.KEY, code.iat[pos], "code.duplicate",
                         f"ProductCode '{code.iat[pos]}' is already used at {self.t.cell_ref(fp, cols.KEY)}"
                         + (f" ('{code.iat[fp]}')" if code.iat[fp] != code.iat[pos] else "")
                         + " (codes differing only by case or spaces are the same product)",
                         "each product must appear once: delete or merge the duplicate rows")

        # base (export snapshot) and current (store) rows, aligned to the file's rows
        has_base = self.base is not None
        base_al = _align(self.base, code) if has_base else None
        in_base = base_al[cols.KEY].ne("").to_numpy() if has_base else np.zeros(n, dtype=bool)

        relevant = [c for c in ("Status", *_REQUIRED_ACTIVE, "Type", "FixedAssetType", "AssemblyBOM",
                                "QuantityToProduce") if c in present]
        ro_cols = [c.name for c in cols.columns() if c.read_only and c.name in present]
        # Rows whose earlier state must come from the store: with an export base, only rows the
        # export did not hold (the base says what the file changed); without one, rows whose
        # blank cells mean "unchanged", and status changes.
        fresh = ~in_base
        need = np.zeros(n, dtype=bool)
        if "Status" in present:
            need |= (f["Status"] == cols.SETUP_REQUIRED).to_numpy() & fresh
        if "Name" in present:
            need |= (f["Name"] == "").to_numpy() & fresh
        for c in set(_REQUIRED_ACTIVE + ("Status", "Type", "FixedAssetType", "AssemblyBOM", "QuantityToProduce")):
            if c not in present:
                need |= bool(relevant) & fresh
            elif not has_base:
                need |= (f[c] == "").to_numpy()
        for c in ro_cols:  # read-only edits compare with the base, else with the store
            need |= (f[c] != "").to_numpy() & fresh
        need &= (code != "").to_numpy()
        cur_al = None
        in_store = np.zeros(n, dtype=bool)
        if need.any() and self._store_arg is not None:
            store = self.store()
            if store is not None:
                current = store.read_by_codes(list(dict.fromkeys(code[need])))
                self.read_current = True
                cur_al = _align(current, code)
                del current
                in_store = cur_al[cols.KEY].ne("").to_numpy()

        def after(c: str) -> pd.Series:
            if c in present:
                v = f[c]
                if not has_base and cur_al is not None:
                    v = v.where(v != "", cur_al[c])
                return v
            v = pd.Series("", index=f.index, dtype=object)  # a column not in the file is unchanged
            if has_base:
                v = v.where(~in_base, base_al[c])
            if cur_al is not None:
                v = v.where(~in_store, cur_al[c])
            return v

        def not_bad(c: str) -> np.ndarray:
            return ~self.bad[c] if c in self.bad else np.ones(n, dtype=bool)

        known = in_store | in_base
        rows_ok = (code != "").to_numpy()

        # Status transitions: into Setup Required (only sync creates it)
        status_after = after("Status")
        if "Status" in present:
            # before the file: the export's status (the file changes it only if it differs), else the store's
            prior = pd.Series("", index=f.index, dtype=object)
            if cur_al is not None:
                prior = prior.where(~in_store, cur_al["Status"])
            if has_base:
                prior = prior.where(~in_base, base_al["Status"])
            into = (f["Status"] == cols.SETUP_REQUIRED).to_numpy() & (prior != "").to_numpy() \
                & (prior != cols.SETUP_REQUIRED).to_numpy() & rows_ok
            for pos in np.flatnonzero(into):
                self.add(pos, "Status", self.t.raw["Status"].iat[pos], "status.into_setup_required",
                         f"Status cannot be changed into Setup Required (the product is {prior.iat[pos]})",
                         f"keep it {prior.iat[pos]} (or set Deprecated to retire it); only sync creates "
                         "Setup Required products")

        # Active products need the setup columns
        if any(c in present for c in ("Status",) + _REQUIRED_ACTIVE) and (
                "Status" in present or cur_al is not None or has_base):
            active = (status_after == cols.ACTIVE).to_numpy() & rows_ok
            for c in _REQUIRED_ACTIVE:
                miss = active & (after(c) == "").to_numpy() & not_bad(c)
                at = c if c in present else "Status"
                for pos in np.flatnonzero(miss):
                    self.add(pos, c, None, "active.required",
                             f"{c} is required for an Active product",
                             f"fill in {c}, or leave the product's Status as it was until setup is complete",
                             at=at)
                if c in present:
                    self.bad[c][miss] = True

        # Name is always required: a new product must have one
        if cur_al is not None and "Name" in present:
            new = rows_ok & ~known & (f["Name"] == "").to_numpy() & not_bad("Name")
            if "Status" in present:
                new &= ~((status_after == cols.ACTIVE).to_numpy())  # already reported above
            for pos in np.flatnonzero(new):
                self.add(pos, "Name", None, "required.missing", "Name is required for a new product",
                         "enter the product's name")

        # FixedAssetType only with Type Fixed Asset
        if "FixedAssetType" in present or "Type" in present:
            fat, typ = after("FixedAssetType"), after("Type")
            wrong = rows_ok & (fat != "").to_numpy() & (typ != _FIXED_ASSET).to_numpy() \
                & not_bad("FixedAssetType") & not_bad("Type")
            for pos in np.flatnonzero(wrong):
                self.add(pos, "FixedAssetType", fat.iat[pos], "fixed_asset_type.type",
                         f"FixedAssetType '{fat.iat[pos]}' is only allowed when Type is Fixed Asset "
                         f"(Type is {typ.iat[pos] or 'blank'})",
                         "clear FixedAssetType, or set Type to Fixed Asset",
                         at="FixedAssetType" if "FixedAssetType" in present else "Type")

        # AssemblyBOM Yes needs QuantityToProduce > 0
        if "AssemblyBOM" in present or "QuantityToProduce" in present:
            bom, qty = after("AssemblyBOM"), after("QuantityToProduce")
            positive = (qty != "") & (qty != "0") & ~qty.astype(str).str.startswith("-")
            wrong = rows_ok & (bom == "Yes").to_numpy() & ~positive.to_numpy() \
                & not_bad("QuantityToProduce") & not_bad("AssemblyBOM")
            for pos in np.flatnonzero(wrong):
                self.add(pos, "QuantityToProduce", qty.iat[pos], "assembly.quantity_to_produce",
                         f"QuantityToProduce must be more than 0 when AssemblyBOM is Yes "
                         f"(it is {qty.iat[pos] or 'blank'})",
                         "enter how many units one assembly produces (usually 1), or set AssemblyBOM to No",
                         at="QuantityToProduce" if "QuantityToProduce" in present else "AssemblyBOM")

        # Barcode check digits (warning)
        if "Barcode" in present:
            bc = f["Barcode"]
            codes_, uniq = pd.factorize(bc)
            badcd = ~_gtin_ok_all(uniq)
            if badcd.any():
                cells = (codes_ >= 0) & badcd[np.where(codes_ >= 0, codes_, 0)] & not_bad("Barcode")
                bc_arr, raw_arr = bc.to_numpy(dtype=object), self.t.raw["Barcode"].to_numpy(dtype=object)
                for pos in np.flatnonzero(cells).tolist():
                    v = bc_arr[pos]
                    kind = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}[len(v)]
                    self.add(pos, "Barcode", raw_arr[pos], "barcode.check_digit",
                             f"Barcode {v} looks like an {kind} code but its check digit is wrong "
                             f"(expected {_gtin_digit(v[:-1])})",
                             "check the barcode for a typing error", severity="warning")

        # read-only columns: edits are ignored
        for c in ro_cols:
            ref = pd.Series(None, index=f.index, dtype=object)
            if cur_al is not None:
                ref = ref.where(~in_store, cur_al[c])
            if has_base:
                ref = ref.where(~in_base, base_al[c])
            ch = (f[c] != "").to_numpy() & ref.notna().to_numpy() & (f[c] != ref).to_numpy() & not_bad(c)
            fa, ra, rawa = f[c].to_numpy(dtype=object), ref.to_numpy(dtype=object), self.t.raw[c].to_numpy(dtype=object)
            for pos in np.flatnonzero(ch).tolist():
                self.add(pos, c, rawa[pos], "read_only.ignored",
                         f"{c} is read-only; the change from {ra[pos] or 'blank'} to {fa[pos]} is ignored",
                         f"{c} is calculated by Cin7 Core; undo the edit to silence this warning",
                         severity="warning")

        # identifiers that lost leading zeros (compared with the export base)
        if has_base:
            base_codes = set(self.base[cols.KEY])
            stripped = {}
            for bcode in base_codes:
                if bcode.startswith("0") and bcode.lstrip("0"):
                    stripped.setdefault(bcode.lstrip("0"), bcode)
            for pos in np.flatnonzero(rows_ok & ~in_base & not_bad(cols.KEY)):
                c0 = code.iat[pos]
                if c0 in stripped and c0 not in base_codes:
                    self._zeros(pos, cols.KEY, stripped[c0])
            for c in (x.name for x in cols.columns() if x.identifier and x.name != cols.KEY and x.name in present):
                b = base_al[c].to_numpy(dtype=object)
                fv = f[c].to_numpy(dtype=object)
                changed = np.flatnonzero(in_base & (fv != "") & (fv != b) & not_bad(c)).tolist()
                for pos in changed:  # only the cells the file changed: usually few
                    bv = b[pos]
                    if bv.startswith("0") and bv.lstrip("0") == fv[pos]:
                        self._zeros(pos, c, bv)

    def _zeros(self, pos: int, c: str, base_value: str) -> None:
        raw = self.t.raw[c].iat[pos]
        self.add(pos, c, raw, "identifier.leading_zeros",
                 f"{c} {raw!r} lost its leading zeros (the export had '{base_value}')",
                 f"format the {c} column as Text and re-enter '{base_value}'")
        self.bad[c][pos] = True


# -- helpers ----------------------------------------------------------------------------------
def build_schema(names=None):
    """The pandera schema of the column table (lengths, decimals, enum words) for the given
    columns (default: all). Nothing is coerced: values are canonical text already."""
    import pandera.pandas as pa

    columns = {}
    for name in (names if names is not None else cols.names()):
        if name not in cols.by_name():
            continue
        col = cols.column(name)
        checks = []
        if col.max_length and col.type in ("text", "account"):
            checks.append(pa.Check(_per_unique(lambda u, m=col.max_length: len(u) <= m), name="text.too_long"))
        if col.type == "decimal":
            checks.append(pa.Check(_per_unique(lambda u: not u.startswith("-")), name="decimal.negative"))
            if col.decimals is not None:
                checks.append(pa.Check(_per_unique(lambda u, d=col.decimals: _places_one(u) <= d),
                                       name="decimal.places"))
        if col.type in ("enum", "bool"):
            allowed = frozenset(col.values) | {""}
            checks.append(pa.Check(_per_unique(lambda u, a=allowed: u in a), name="enum.value"))
        if checks:
            columns[name] = pa.Column(None, checks, nullable=True, required=False, coerce=False)
    return pa.DataFrameSchema(columns, coerce=False, strict=False) if columns else None


def _identity(store) -> str:
    try:
        return store.identity()
    except Exception:  # noqa: BLE001 - a remote identity lookup must not break validation
        return ""


def _code_key(code: pd.Series) -> pd.Series:
    return code.astype(str).str.replace(_WS_RE, "", regex=True).str.casefold()


def _rule_columns() -> list[str]:
    """The store/base columns the row rules read (others are never loaded into the merge)."""
    wanted = {cols.KEY, "Status", *_REQUIRED_ACTIVE, "Type", "FixedAssetType", "AssemblyBOM", "QuantityToProduce"}
    wanted |= {c.name for c in cols.columns() if c.read_only or c.identifier}
    return [n for n in cols.names() if n in wanted]


def _align(df: pd.DataFrame | None, code: pd.Series) -> pd.DataFrame:
    """The rule columns of ``df`` (canonical) matched to the file's codes; missing rows → ""."""
    names = _rule_columns()
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


def _per_unique(fn: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    """A vectorised pandera check that evaluates ``fn`` once per distinct value."""
    def check(s: pd.Series) -> pd.Series:
        if isinstance(s.dtype, pd.CategoricalDtype):  # validate() passes categories: no factorising
            codes, uniq = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
        else:
            codes, uniq = pd.factorize(s, use_na_sentinel=True)
        ok = np.fromiter((fn(u) for u in uniq), dtype=bool, count=len(uniq))
        ok = np.append(ok, True)
        return pd.Series(ok[codes], index=s.index)
    return check


def _places_one(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def _gtin_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        total += int(ch) * (3 if i % 2 == 0 else 1)
    return (10 - total % 10) % 10


def _gtin_ok_all(values) -> np.ndarray:
    """Vectorised :func:`_gtin_ok` (True for anything that is not an 8/12/13-digit code)."""
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


def _gtin_ok(v) -> bool:
    if not isinstance(v, str) or len(v) not in (8, 12, 13) or not v.isascii() or not v.isdigit():
        return True
    return _gtin_digit(v[:-1]) == int(v[-1])


# -- reports ----------------------------------------------------------------------------------
def write_json(report: ValidationReport, out) -> Path:
    out = Path(out)
    from .render.render_json import json_text

    out.write_text(json_text(report.to_json()), encoding="utf-8")
    return out


COMMENT_LIMIT = 10_000
COPY_LIMIT = 400_000  # cells: up to this, an .xlsx report is an openpyxl copy (keeps formatting)
PROBLEMS_HEAD = ["Cell", "Column", "Value", "Rule", "Severity", "Message", "Fix"]
PROBLEMS_WIDTHS = (26, 22, 22, 26, 9, 70, 60)
ERROR_FILL, WARNING_FILL = "FFC7CE", "FFEB9C"


def _marks(report: ValidationReport) -> tuple[dict[tuple[int, str], str], dict[tuple[int, str], str]]:
    """(row, letter) → severity (error wins) and → comment text (first COMMENT_LIMIT cells)."""
    sev: dict[tuple[int, str], str] = {}
    notes: dict[tuple[int, str], str] = {}
    for p in report.problems:
        loc = _sheet_loc(report.table, p)
        if loc is None:
            continue
        if sev.get(loc) != "error":
            sev[loc] = p.severity
        text = f"{p.severity}: {p.message}" + (f"\nfix: {p.hint}" if p.hint else "")
        if loc in notes:
            notes[loc] = (notes[loc] + "\n\n" + text)[:30000]
        elif len(notes) < COMMENT_LIMIT:
            notes[loc] = text[:30000]
    return sev, notes


def _problem_rows(report: ValidationReport, data_name: str):
    for p in report.problems:
        loc = _sheet_loc(report.table, p)
        cell_text = f"{data_name}!{loc[1]}{loc[0]}" if loc else (p.cell or "(file)")
        target = f"'{data_name}'!{loc[1]}{loc[0]}" if loc else None
        yield target, [cell_text, p.column or "", "" if p.value is None else str(p.value), p.rule, p.severity,
                       p.message, p.hint]


def write_xlsx(report: ValidationReport, out) -> Path:
    """The user's workbook with every problem cell filled and commented (comments: first 10,000
    cells), plus a ``Problems`` sheet at the front with a link to each cell. Never writes a formula.

    An .xlsx of up to COPY_LIMIT cells is copied with openpyxl (formatting and other sheets kept);
    larger files, .ods and .csv are rebuilt from their values with xlsxwriter in constant memory.
    """
    out = Path(out)
    t = report.table
    cells = len(t.row_numbers) * max(len(t.column_letters) + len(t.extra_columns), 1)
    if t.kind == "xlsx" and cells <= COPY_LIMIT:
        return _write_xlsx_copy(report, out)
    return _write_xlsx_rebuilt(report, out)


def _write_xlsx_copy(report: ValidationReport, out: Path) -> Path:
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.hyperlink import Hyperlink

    t = report.table
    wb = openpyxl.load_workbook(t.path)
    data_name = t.sheet
    ws = wb[data_name]
    fills = {"error": PatternFill("solid", fgColor=ERROR_FILL), "warning": PatternFill("solid", fgColor=WARNING_FILL)}
    sev, notes = _marks(report)
    for (row, letter), severity in sev.items():
        cell = ws[f"{letter}{row}"]
        cell.fill = fills[severity]
        if (row, letter) in notes:
            cm = Comment(notes[(row, letter)], "inventory-tools")
            cm.width, cm.height = 320, 140
            cell.comment = cm
    ps = wb.create_sheet("Problems", 0)
    ps.append(PROBLEMS_HEAD)
    for c in ps[1]:
        c.font = Font(bold=True)
    ps.freeze_panes = "A2"
    link_font = Font(color="0563C1", underline="single")
    for r, (target, vals) in enumerate(_problem_rows(report, data_name), start=2):
        for ci, v in enumerate(vals, start=1):
            c = ps.cell(row=r, column=ci)
            c.value = v
            c.data_type = "s"  # text, even when it starts with "="
        if target:
            c = ps.cell(row=r, column=1)
            c.hyperlink = Hyperlink(ref=c.coordinate, location=target)
            c.font = link_font
    for letter, w in zip("ABCDEFG", PROBLEMS_WIDTHS):
        ps.column_dimensions[letter].width = w
    if ps.max_row > 1:
        ps.auto_filter.ref = f"A1:G{ps.max_row}"
    wb.active = 0
    for s in wb.worksheets:
        s.sheet_view.tabSelected = s is ps
    wb.save(out)
    return out


def _write_xlsx_rebuilt(report: ValidationReport, out: Path) -> Path:
    import xlsxwriter

    t = report.table
    data_name = (t.sheet or "Inventory List")[:31]
    wb = xlsxwriter.Workbook(str(out), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    wb.use_zip64()
    bold = wb.add_format({"bold": True})
    link = wb.add_format({"font_color": "#0563C1", "underline": 1})
    fills = {k: wb.add_format({"bg_color": "#" + c, "pattern": 1}) for k, c in
             (("error", ERROR_FILL), ("warning", WARNING_FILL))}
    date_fmt = {k: wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss", **({"bg_color": "#" + c, "pattern": 1} if c else {})})
                for k, c in ((None, ""), ("error", ERROR_FILL), ("warning", WARNING_FILL))}

    ps = wb.add_worksheet("Problems")
    ds = wb.add_worksheet(data_name)
    ps.activate()
    ps.freeze_panes(1, 0)
    ps.write_row(0, 0, PROBLEMS_HEAD, bold)
    links = 0
    r = 0
    for r, (target, vals) in enumerate(_problem_rows(report, data_name), start=1):
        for ci, v in enumerate(vals):
            if ci == 0 and target and links < 65_000:  # Excel's limit on links per sheet
                ps.write_url(r, 0, f"internal:{target}", link, string=v)
                links += 1
            else:
                ps.write_string(r, ci, v)
    for ci, w in enumerate(PROBLEMS_WIDTHS):
        ps.set_column(ci, ci, w)
    if r:
        ps.autofilter(0, 0, r, len(PROBLEMS_HEAD) - 1)

    sev, notes = _marks(report)
    ds.freeze_panes(1, 0)
    # Every format the cells use is registered by one placeholder cell (the whole sheetData is
    # replaced after closing, by rows rendered a column at a time: xlsxwriter's cell-by-cell
    # writing costs ~5 µs a cell, half a minute for 100,000 products).
    styles = {("text", None): bold, ("text", "error"): fills["error"], ("text", "warning"): fills["warning"],
              ("date", None): date_fmt[None], ("date", "error"): date_fmt["error"],
              ("date", "warning"): date_fmt["warning"]}
    for ci, fmt in enumerate(styles.values()):
        ds.write_blank(0, ci, None, fmt)
    note_opts = {"author": "inventory-tools", "x_scale": 2.5, "y_scale": 2}
    for (row, letter), text in sorted(notes.items(), key=lambda kv: (kv[0][0], col_index(kv[0][1]))):
        ds.write_comment(row - 1, col_index(letter), text, note_opts)
    wb.close()
    xf = {key: fmt.xf_index or 0 for key, fmt in styles.items()}
    _replace_sheet_data(out, "xl/worksheets/sheet2.xml", _report_rows(t, sev, xf))
    return out


REPORT_CHUNK_ROWS = 5_000


def _report_rows(t: Table, sev: dict[tuple[int, str], str], xf: dict) -> Iterable[str]:
    """The data sheet's ``<row>`` elements: the file's values as typed cells (text never a formula),
    problem cells filled by severity; the header row bold."""
    marks: dict[int, dict[int, int]] = {}
    for (row, letter), severity in sev.items():
        marks.setdefault(row, {})[col_index(letter)] = 2 if severity == "error" else 1
    levels = (None, "warning", "error")
    first = 1
    for chunk in chunks(_all_rows(t), REPORT_CHUNK_ROWS):
        marked = {r - first: marks[r] for r in range(first, first + len(chunk)) if r in marks}
        width = max([len(row) for row in chunk] + [max(m) + 1 for m in marked.values()])
        level = np.zeros((len(chunk), width), dtype=np.int8)  # 0 none, 1 warning, 2 error
        for i, by_column in marked.items():
            for ci, lv in by_column.items():
                level[i, ci] = lv
        numbers = np.arange(first, first + len(chunk)).astype(str).astype(object)
        grid = np.full((len(chunk), 3 * width + 2), "", dtype=object)
        grid[:, 0] = '<row r="' + numbers + '">'
        grid[:, -1] = "</row>"
        values_grid = np.empty((len(chunk), width), dtype=object)
        values_grid[:, :] = [list(row) + [None] * (width - len(row)) for row in chunk]
        for ci in range(width):
            values = values_grid[:, ci]
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            if any(type(u) is bool for u in uniques):  # factorize takes True for 1.0: each cell alone
                codes, uniques = np.arange(len(values)), values
            used = np.unique(level[:, ci])
            tails = [np.array([_report_tail(u, levels[lv], xf) for u in uniques] + [None], dtype=object)
                     if lv in used or lv == 0 else None for lv in range(3)]
            cells = tails[0][codes] if len(used) == 1 and used[0] == 0 else \
                np.choose(level[:, ci], [t[codes] if t is not None else tails[0][codes] for t in tails])
            blank = np.fromiter((t is None for t in tails[0]), dtype=bool, count=len(tails[0]))[codes]
            if first == 1:  # the header row: bold unless it has a problem
                head = values[0]
                cells[0] = _report_tail(head, levels[level[0, ci]] if level[0, ci] else "header", xf)
                blank[0] = cells[0] is None
            marked_blank = blank & (level[:, ci] > 0)
            if marked_blank.any():
                cells[marked_blank] = np.where(level[marked_blank, ci] == 2, f'" s="{xf[("text", "error")]}"/>',
                                               f'" s="{xf[("text", "warning")]}"/>')
                blank &= ~marked_blank
            keep = ~blank
            grid[keep, 1 + 3 * ci] = f'<c r="{col_letter(ci)}'
            grid[keep, 2 + 3 * ci] = numbers[keep]
            grid[keep, 3 + 3 * ci] = cells[keep]
        first += len(chunk)
        yield "".join(grid.ravel().tolist())


def _report_tail(value, level: str | None, xf: dict) -> str | None:
    """A cell's XML after its reference, for one value at one severity (None: a blank cell)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    style = xf[("text", None if level == "header" else level)] if level else 0  # ("text", None): bold
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        style = xf[("date", level if level in ("error", "warning") else None)]
        return f'" s="{style}"><v>{_excel_serial(value)!r}</v></c>'
    attr = f' s="{style}"' if style else ""
    if isinstance(value, bool):
        return f'"{attr} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f'"{attr}><v>{value!r}</v></c>'
    return f'"{attr} t="inlineStr"><is><t xml:space="preserve">{xml_text(str(value))}</t></is></c>'


def _excel_serial(value) -> float:
    epoch = _dt.datetime(1899, 12, 30)
    if isinstance(value, _dt.timedelta):
        return value.total_seconds() / 86400
    if isinstance(value, _dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    if not isinstance(value, _dt.datetime):
        value = _dt.datetime(value.year, value.month, value.day)
    return (value.replace(tzinfo=None) - epoch).total_seconds() / 86400


def _replace_sheet_data(path: Path, part: str, rows: Iterable[str]) -> None:
    """Rewrite the workbook at ``path`` with ``part``'s sheetData replaced by ``rows`` (streamed)."""
    import os
    import zipfile

    from .xlsx_writer import Deflater

    tmp = Path(f"{path}.rows.part")
    try:
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1,
                                                           allowZip64=True) as zout:
            for info in zin.infolist():
                data = zin.read(info.filename)
                if info.filename != part:
                    zout.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
                    continue
                xml = data.decode("utf-8")
                m = re.search(r"<sheetData>.*?</sheetData>|<sheetData/>", xml, re.S)
                head, tail = xml[:m.start()], xml[m.end():]
                head = re.sub(r"<dimension [^>]*/>", "", head)  # xlsxwriter's covers the placeholders only
                with zout.open(info.filename, "w", force_zip64=True) as fh, Deflater(fh) as sink:
                    sink.write((head + "<sheetData>").encode("utf-8"))
                    for piece in rows:
                        sink.write(piece.encode("utf-8"))
                    sink.write(("</sheetData>" + tail).encode("utf-8"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _strip_ref(p: Problem) -> str:
    return p.message


def _sheet_loc(t: Table, p: Problem) -> tuple[int, str] | None:
    """(row, letter) of the problem's cell in the report workbook (CSV: record N → row N+1)."""
    m = re.match(r"^([A-Z]+)(\d+)$", p.cell or "")
    if t.kind != "csv" and m:
        return int(m.group(2)), m.group(1)
    if p.index is not None:
        col = p.at or p.column
        if col not in t.column_letters:
            col = cols.KEY if cols.KEY in t.column_letters else None
        return t.sheet_cell(p.index, col) if col else None
    return None


def _all_rows(t: Table):
    """Every row of the file's data sheet (header first), one at a time, for the rebuilt report."""
    if t.kind == "csv":
        from .reading import _csv_records, _decode

        text, _, _ = _decode(t.path, t.path.read_bytes(), t.encoding if t.encoding != "utf-8-sig" else None)
        for record, _line in _csv_records(text):
            yield record
        return
    import python_calamine as pc

    sheet = pc.load_workbook(str(t.path)).get_sheet_by_name(t.sheet)
    pad = [None] * (sheet.start[1] if sheet.start else 0)  # rows come whole; columns from the first used one
    for row in sheet.iter_rows():
        yield pad + list(row) if pad else row


# -- terminal summary -------------------------------------------------------------------------
def summary_lines(report: ValidationReport, first: int = 20) -> list[str]:
    t = report.table
    where = f"{t.path.name}" + (f" › {t.sheet}" if t.sheet else "")
    n = len(report.frame)
    lines = [f"{where}: {n:,} row{'s' * (n != 1)} checked — "
             f"{report.errors:,} error{'s' * (report.errors != 1)}, "
             f"{report.warnings:,} warning{'s' * (report.warnings != 1)}"]
    if report.base_export_id:
        lines.append(f"compared with export {report.base_export_id}")
    if not report.problems:
        lines.append("no problems found")
        return lines
    by_col, by_rule = report.counts()
    lines.append("by column: " + ", ".join(f"{c} {n:,}" for c, n in by_col.most_common(12))
                 + (" …" if len(by_col) > 12 else ""))
    lines.append("by rule:   " + ", ".join(f"{r} {n:,}" for r, n in by_rule.most_common(12))
                 + (" …" if len(by_rule) > 12 else ""))
    shown = sorted(report.problems, key=lambda p: p.severity != "error")[:first]
    lines.append(f"first {len(shown)} of {len(report.problems):,}:" if len(report.problems) > first else "problems:")
    for p in shown:
        loc = p.ref or "(file)"
        lines.append(f"  {p.severity:<7} {loc}: {_strip_ref(p)}")
        if p.hint:
            lines.append(f"          fix: {p.hint}")
    return lines


__all__ = ["ValidationReport", "Problem", "validate", "prepare", "write_json", "write_xlsx", "summary_lines", "RULES"]
