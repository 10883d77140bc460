"""Store → inventory list workbook (.xlsx) or Cin7 CSV, with the snapshot a later import diffs against."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import __version__
from . import columns as cols
from . import csvio, values
from .changes import FrameSource
from .errors import UsageError
from .outputs import check_target, finish, remove_quietly, temp_beside, write_error
from .resources import resource_path
from .stores.columnar import Recording, SnapshotColumns
from .stores.state import now_iso
from .xlsx_writer import ColumnSpec, PlainSheet, XlsxWriter, col_letter

DATA_SHEET = "Inventory List"
MANIFEST_SHEET = "_manifest"
LISTS_SHEET = "_lists"
WRAP_COLUMNS = {"Description", "ShortDescription", "InternalNote"}
#: Columns whose dropdown is fed from values in use (free to add new ones: warning, not stop).
OPEN_LISTS = ("DefaultUnitOfMeasure",)
DEFAULT_UNITS = ("Item",)


@dataclass
class ExportResult:
    export_id: str
    path: str
    format: str
    rows: int
    statuses: list[str]
    counts: dict[str, int]
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"export_id": self.export_id, "path": self.path, "format": self.format, "rows": self.rows,
                "statuses": self.statuses, "counts": self.counts, "warnings": self.warnings}


def parse_statuses(given: Iterable[str] | None) -> list[str]:
    out = []
    for s in given or ():
        canon, issue = values.parse_enum(cols.column(cols.STATUS), s)
        if issue:
            raise UsageError(f"--status '{s}' is not a status", f"use one of: {', '.join(cols.statuses())}")
        out.append(canon)
    return list(dict.fromkeys(out))


def output_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".csv"):
        return ext[1:]
    raise UsageError(f"cannot export to '{path.name}': the name must end in .xlsx or .csv",
                     "e.g. inventory-tools export inventory.xlsx")


def export(store, out: str | os.PathLike, *, statuses: Iterable[str] | None = None,
           changes_only: bool = False, progress=None, overwrite: bool = False) -> ExportResult:
    """Write the inventory list and keep its snapshot as the base for a later import.

    ``changes_only`` writes just the products the latest ``import --dry-run`` would change, as
    that plan would leave them: a file for Cin7's own Inventory List import screen (one upload
    instead of thousands of API calls). It is not a base for our import, so no snapshot is kept.

    An existing ``out`` is replaced only with ``overwrite`` or when it is, byte for byte, a file
    this store wrote (see :mod:`inventory_tools.outputs`); the store itself never.
    """
    path = Path(out)
    fmt = output_format(path)
    wanted = parse_statuses(statuses)
    target = check_target(path, what="export", store_path=store.state.path, ledger=store.state, overwrite=overwrite)
    path = target.path
    export_id = store.state.new_export_id()
    with store.state.transaction() as db:
        if changes_only:
            rows = FrameSource(_planned_frame(store, wanted))
        else:
            rows = store.stream(wanted)  # the embedded store streams: memory stays flat at any size
        manifest = {
            "export_id": export_id, "store_id": store.identity(), "store": store.describe(),
            "exported_at": now_iso(), "schema_version": cols.SCHEMA_VERSION, "tool_version": __version__,
            "sheet": DATA_SHEET, "row_count": rows.n, "statuses": wanted, "format": fmt,
            "path": str(path.resolve()),
        }
        # the snapshot, column-wise, collected as the rows are written
        columns = None if changes_only else SnapshotColumns(cols.names())
        if columns is not None:
            columns.bind(db, export_id)
        try:
            tmp = temp_beside(path)
        except OSError as exc:
            raise write_error(exc, path, "export") from None
        warned: list = []
        try:
            if fmt == "xlsx":
                _write_xlsx(tmp, rows, manifest, _dropdown_lists(store, rows), progress, columns)
            else:
                with open(tmp, "wb") as fh:
                    csvio.write_csv(Recording(rows, columns) if columns else rows, fh, progress=progress,
                                    on_chunk=lambda chunk: warned.extend(csvio.formula_warnings(chunk)))
            store.state.record_export(db, manifest, columns=columns)
            # its digest is kept with the export: a later export may replace it while it is unchanged
            finish(tmp, target, ledger=store.state, kind="export", export_id=export_id, db=db)
        except OSError as exc:
            remove_quietly(tmp)
            raise write_error(exc, path, "export") from None
        except BaseException:
            remove_quietly(tmp)
            raise
        counts = rows.status_counts()
    warnings = [f"{w.code} · {w.column} starts like a formula ({w.value!r}); a spreadsheet opening this CSV may run it"
                for w in warned]
    return ExportResult(export_id, str(path), fmt, rows.n, wanted, counts, warnings)


def _planned_frame(store, wanted: list[str]) -> pd.DataFrame:
    from .importing import planned_rows

    frame, source = planned_rows(store)
    if frame.empty:
        raise UsageError("there are no planned changes to export",
                         "run inventory-tools import FILE --dry-run first, then export --changes-only OUT.csv")
    if wanted:
        frame = frame[frame[cols.STATUS].isin(wanted)].reset_index(drop=True)
    return frame


def _dropdown_lists(store, rows) -> dict[str, list[str]]:
    """Values for the open dropdowns (units in use), or a remote store's reference lists."""
    lists: dict[str, list[str]] = {}
    for name in OPEN_LISTS:
        lists[name] = sorted(set(rows.distinct(name)) | set(DEFAULT_UNITS), key=str.casefold)
    for name, items in (store.reference_lists() if store is not None else {}).items():
        if items:
            lists[name] = sorted(set(items), key=str.casefold)
    return lists


def column_specs(lists_ranges: dict[str, str]) -> list[ColumnSpec]:
    specs = []
    for c in cols.columns():
        dropdown = None
        strict = True
        if c.has_dropdown:
            dropdown = list(c.values)
        elif c.name in lists_ranges:
            dropdown, strict = lists_ranges[c.name], False
        specs.append(ColumnSpec(
            name=c.name, kind="number" if c.is_numeric else "text", width=c.width, decimals=c.decimals,
            read_only=c.read_only, wrap=c.name in WRAP_COLUMNS, dropdown=dropdown, dropdown_strict=strict))
    return specs


def _write_xlsx(tmp: str, rows, manifest: dict, lists: dict[str, list[str]], progress, observer=None) -> None:
    list_names = list(lists)
    ranges = {}
    for i, name in enumerate(list_names):
        letter = col_letter(i)
        ranges[name] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(lists[name]) + 1}"
    writer = XlsxWriter(tmp, data_sheet=DATA_SHEET, specs=column_specs(ranges))
    writer.add_sheet(instructions_sheet())
    writer.add_sheet(PlainSheet(MANIFEST_SHEET, manifest_rows(manifest), hidden=True, widths=[18, 60]))
    depth = max((len(v) for v in lists.values()), default=0)
    grid = [list_names] + [[lists[n][r] if r < len(lists[n]) else "" for n in list_names] for r in range(depth)]
    writer.add_sheet(PlainSheet(LISTS_SHEET, grid, hidden=True))
    writer.write(rows, progress=progress, observer=observer)


def manifest_rows(manifest: dict) -> list[list[str]]:
    rows = [["key", "value"]]
    for k, v in manifest.items():
        if isinstance(v, (list, tuple)):
            v = ",".join(v)
        rows.append([k, str(v)])
    return rows


def instructions_sheet() -> PlainSheet:
    rows: list[list[str]] = []
    for line in resource_path("templates", "instructions.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            rows.append([line[2:]])
        elif line.strip() == "#":
            rows.append([])
        else:
            rows.append(["", line])
    return PlainSheet("Instructions", rows, widths=[4, 120], title_first_row=True)
