"""Validation's driver: runs the steps over a read :class:`~inventory_tools.reading.Table` and
collects every problem at its cell.

1. reading (:mod:`inventory_tools.reading`) — headers, error cells, formulas, encodings;
2. cells (:mod:`.cells`) — each raw value to its canonical text, spreadsheet damage detected;
3. schema (:mod:`.schema`) — pandera over the canonical text (lengths, decimals);
4. rows (:mod:`.crossfield`) — rules across a row, on the product as the import will leave it.

Messages start with the cell: ``G17: Status 'Actvie' is not one of Active, Setup Required,
Deprecated``; rule ids are stable (``schemas/rules.csv``).
"""
from __future__ import annotations

from typing import Callable

from .._lazy import lazy_import
from .. import columns as cols
from ..cellref import col_index
from ..reading import Problem, Table, overlap_with_parse, read_table_with
from ..stores.base import Store
from ..codes import product_keys
from . import preexisting
from .cells import canonical_column
from .crossfield import Rows, align, row_problems, rule_columns
from .report import ValidationReport
from .schema import row_checks, value_problems

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)


def validate(path_or_table, *, store=None, base: pd.DataFrame | None = None, strict: bool = False,
             blank_clears: bool = False, progress: Callable[[int], None] | None = None) -> ValidationReport:
    """Check FILE (path or :class:`Table`) and return a :class:`ValidationReport`.

    ``store``: a Store, or a zero-argument callable returning one (opened only when the file
    needs it: status transitions, blanks to merge, read-only edits). ``base``: the export
    snapshot (canonical frame) the file was made from; if not given and the workbook's manifest
    names an export the store still has, that snapshot is used. ``strict``: errors already in
    the store block too. ``blank_clears``: a file without a base clears values with its blanks.
    """
    if isinstance(path_or_table, Table):
        v = Validator(store, base, strict=strict, blank_clears=blank_clears)
        v.attach(path_or_table)
    else:
        v = prepare(path_or_table, store=store, base=base)
        v.strict, v.blank_clears = strict, blank_clears
    return v.run(progress)


def prepare(path, *, store=None, base: pd.DataFrame | None = None, table: Table | None = None) -> "Validator":
    """Read FILE for :func:`validate`; the export base is loaded from the store meanwhile (while
    the sheet is parsed on another core). ``prepare(path).table`` is the file as read;
    ``.run(progress)`` validates it. ``table``: the file as read already (from the cache)."""
    v = Validator(store, base)
    if table is not None:
        v.attach(table)
        return v

    def load_base(manifest):
        if overlap_with_parse(manifest):  # a big file's base waits until the parsed sheet is freed
            v.load_base(manifest)
        from . import checks  # noqa: F401  (pandera: half a second of imports, taken while the sheet parses)

    table, _ = read_table_with(path, load_base)
    v.attach(table)
    return v


def progress_steps(table: Table) -> int:
    """How many ``progress(1)`` calls :func:`validate` makes for this table."""
    return len(table.columns) + 3


class Validator:
    def __init__(self, store, base: pd.DataFrame | None, *, strict: bool = False, blank_clears: bool = False):
        self.strict = strict
        self.blank_clears = blank_clears
        self._store_arg = store
        self._store = None
        self.base = base
        self.base_export_id = None
        self.used_store = False
        self.read_current = False
        self._base_loaded = False
        self.categorical: dict[str, pd.Categorical] = {}  # canonical columns as categories
        self._file_notes: list[tuple] = []  # file-level problems found before the table is attached

    def attach(self, table: Table) -> None:
        self.table = table
        self.problems: list[Problem] = list(table.problems)
        self.n = len(table.row_numbers)
        # cells already reported as errors (never re-reported by later rules)
        self.bad: dict[str, np.ndarray] = {c: np.zeros(self.n, dtype=bool) for c in table.columns}
        for (pos, name), flag in table.cell_flags.items():
            if flag in ("error", "formula_no_value") and name in self.bad:
                self.bad[name][pos] = True

    # -- store access -------------------------------------------------------------------------
    def store(self):
        """The store, opened on first use (a callable store argument is called once)."""
        if self._store is None and self._store_arg is not None:
            s = self._store_arg
            self._store = s() if callable(s) and not isinstance(s, Store) else s
            self.used_store = True
        return self._store

    # -- problems -----------------------------------------------------------------------------
    def add(self, pos: int | None, column: str | None, value, rule: str, message: str, hint: str,
            at: str | None = None, involves: tuple[str, ...] = ()) -> None:
        t = self.table
        at = at or column
        if pos is None:
            self.problems.append(Problem(t.sheet, None, column, "", value, rule, message, hint))
            return
        if at in t.column_letters:
            ref = t.cell_ref(pos, at)
        elif cols.KEY in t.column_letters:
            ref = t.cell_ref(pos, cols.KEY)
            at = cols.KEY
        else:
            ref = t.cell_ref(pos, "") if t.kind == "csv" else f"row {t.row_numbers[pos]}"
        self.problems.append(Problem(t.sheet, t.row_numbers[pos], column, ref, value, rule,
                                     message, hint, pos, at, involves))

    # -- run ----------------------------------------------------------------------------------
    def run(self, progress: Callable[[int], None] | None = None) -> ValidationReport:
        t = self.table
        tick = progress or (lambda n: None)
        read = {}
        for name in t.columns:
            read[name] = canonical_column(t, name, self.bad[name], self.add)
            tick(1)
        # one frame from all the columns, each kept as it is (inserting a column at a time costs
        # a copy each: 6 s and 0.9 GB at a million rows)
        frame = pd.DataFrame({name: column.values.to_numpy() for name, column in read.items()},
                             index=pd.RangeIndex(self.n), columns=list(read), dtype=object, copy=False)
        self.frame = frame
        value_problems(read, frame, t.cell, self.bad, self.add)
        self.categorical.update({name: column.categorical for name, column in read.items()})
        tick(1)
        if not self._base_loaded:
            self.load_base(t.manifest)
        for args in self._file_notes:
            self.add(None, None, *args)
        tick(1)
        key = ""
        if cols.KEY in frame.columns and self.n:
            rows = self._rows()
            row_problems(rows, row_checks(rows.present))
            self._mark_preexisting(rows)
            key = rows.key
        tick(1)
        frame["_row"] = t.row_numbers
        frame["_key"] = key
        return self._report(frame)

    def _report(self, frame: pd.DataFrame) -> ValidationReport:
        t = self.table
        blocking = [p for p in self.problems if p.severity == "error" and (self.strict or not p.preexisting)]
        errors = len(blocking)
        row_valid = np.ones(self.n, dtype=bool)
        for p in blocking:
            if p.index is not None:
                row_valid[p.index] = False
        letters = {c: col_index(letter) for c, letter in t.column_letters.items()}
        self.problems.sort(key=lambda p: (p.index is not None, p.row or 0,
                                          letters.get(p.at or p.column, -1) if p.column else -1, p.rule))
        n_errors = sum(1 for p in self.problems if p.severity == "error")
        return ValidationReport(valid=errors == 0, errors=errors, warnings=len(self.problems) - n_errors,
                                preexisting=n_errors - errors if not self.strict else
                                sum(1 for p in self.problems if p.preexisting), strict=self.strict,
                                problems=self.problems, frame=frame, table=t, row_valid=row_valid,
                                base_export_id=self.base_export_id, used_store=self.used_store,
                                store_identity=self._store.identity() if self._store is not None else None,
                                read_current=self.read_current, categorical=self.categorical)

    # -- the export base and the store's current rows --------------------------------------------
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
        sid = store.state.store_id
        if man.get("store_id") and man["store_id"] not in {store.identity(), sid, f"sqlite:{sid}"} - {"", "sqlite:"}:
            self._file_notes.append((man.get("store_id"), "manifest.other_store",
                                     f"the workbook was exported from another store "
                                     f"({man.get('store') or man['store_id']}); it is checked without its export "
                                     "base, so blank cells are read as 'unchanged'",
                                     "import it into the store it came from, or export a fresh list from this store"))
            return
        info = store.state.export_info(man["export_id"])
        if not info or info.get("snapshot") in (0, "0", False):
            return
        self.base = store.state.export_snapshot(man["export_id"], columns=rule_columns())  # what the rules read
        self.base_export_id = man["export_id"]

    def _rows(self) -> Rows:
        f = self.frame
        code = f[cols.KEY].astype(object)
        base_al = align(self.base, code) if self.base is not None else None
        in_base = base_al[cols.KEY].to_numpy(dtype=object) != "" if base_al is not None else np.zeros(self.n, dtype=bool)
        has_code = code.to_numpy(dtype=object) != ""
        cur_al, in_store = None, np.zeros(self.n, dtype=bool)
        store = self.store() if self._store_arg is not None else None
        if store is not None:
            # rows the export did not hold (all of them, without a base): the store says whether each
            # is new, and what an existing one holds (its blanks without a base mean "unchanged")
            need = ~in_base & has_code
            if need.any():
                cur_al = align(store.read_by_codes(list(dict.fromkeys(code[need]))), code)
                self.read_current = True
                in_store = cur_al[cols.KEY].to_numpy(dtype=object) != ""
        rows = Rows(frame=f, cell=self.table.cell, bad=self.bad, add=self.add, cell_ref=self.table.cell_ref,
                    base=base_al, base_rows=self.base, current=cur_al, in_base=in_base, in_store=in_store,
                    store_known=store is not None, blank_clears=self.blank_clears)
        if store is not None:
            rows.same_as = self._same_products(store, rows)
        return rows

    @staticmethod
    def _same_products(store, rows: Rows) -> np.ndarray:
        """For each new code, the existing code naming the same product ("" if none)."""
        same = np.full(rows.n, "", dtype=object)
        new = np.flatnonzero(rows.new)
        if not len(new):
            return same
        existing = pd.Series(store.codes(), dtype=object)
        by_key = dict(zip(product_keys(existing), existing)) if len(existing) else {}
        keys = rows.key.to_numpy(dtype=object)
        for pos in new.tolist():
            hit = by_key.get(keys[pos])
            if hit is not None and hit != rows.code.iat[pos]:
                same[pos] = hit
        return same

    def _mark_preexisting(self, rows: Rows) -> None:
        """Errors already in the store, in cells the file did not change (see :mod:`.preexisting`)."""
        if not rows.known.any():
            return
        self._widen(rows, preexisting.problem_columns(self.problems))
        blanked = preexisting.mark(rows, self.problems)
        for c in preexisting.restore(rows, blanked):
            self.categorical[c] = preexisting.categorical(self.frame[c])

    def _widen(self, rows: Rows, names: list[str]) -> None:
        """Give ``rows.base`` and ``rows.current`` the columns ``names`` (they hold the rules' only)."""
        code = rows.code
        if rows.base is not None:
            missing = [c for c in names if c not in rows.base.columns]
            if missing:
                source = self.base if all(c in self.base.columns for c in missing) else \
                    self.store().state.export_snapshot(self.base_export_id, columns=[cols.KEY, *missing])
                rows.base = rows.base.join(align(source, code, [cols.KEY, *missing])[missing])
        if rows.current is not None:
            missing = [c for c in names if c not in rows.current.columns]
            if missing:
                at = rows.in_store & ~rows.in_base
                current = self.store().read_by_codes(list(dict.fromkeys(code[at]))) if at.any() else None
                rows.current = rows.current.join(align(current, code, [cols.KEY, *missing])[missing])
