"""Store → inventory list workbook (.xlsx) or Cin7 CSV, with the snapshot a later import diffs against."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    import pandas as pd

from . import __version__
from . import column_sets
from . import columns as cols
from . import csvio, filters
from .changes import FrameSource
from .values import parse_statuses
from .errors import UsageError
from .outputs import check_target, finish, remove_quietly, temp_beside, write_error
from .resources import resource_path
from .sheets import DATA_SHEET, INSTRUCTIONS_SHEET, LISTS_SHEET, MANIFEST_SHEET
from .stores.columnar import Recording, SnapshotColumns
from .stores.state import now_iso
from .xlsx import ColumnSpec, PlainSheet, XlsxWriter, col_letter
from .xlsx import writer as xlsx_writer
from .xlsx.cells import header_width, number_width

#: Text that wraps within its column (the row grows to show it); Name too, so no name is cut.
WRAP_COLUMNS = {"Name", "Description", "ShortDescription", "InternalNote"}
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
    columns: list[str] = field(default_factory=list)  # the columns written, in order
    column_set: str = "all"  # "all", a set's name, a set file's path, or "list"
    filters: dict[str, str] = field(default_factory=dict)  # category / brand / code / changed_since given

    def to_json(self) -> dict:
        return {"export_id": self.export_id, "path": self.path, "format": self.format, "rows": self.rows,
                "statuses": self.statuses, "counts": self.counts, "warnings": self.warnings,
                "columns": self.columns, "column_set": self.column_set, "filters": self.filters}


@dataclass(frozen=True)
class Selection:
    """Which products (``match``) and which columns (``choice``) an export writes."""

    match: filters.ProductFilter
    choice: column_sets.ColumnChoice

    def manifest(self) -> dict:
        out = {"column_set": self.choice.set_name}
        if not self.choice.is_all:
            out["columns"] = list(self.choice.names)
        return {**out, **self.match.describe()}


def select(store, fmt: str, *, statuses=None, columns: str | None = None, categories=(), brands=(), codes=(),
           changed_since: str | None = None, changes_only: bool = False) -> Selection:
    """Check and resolve the export's filters and columns (usage errors before anything is read
    in bulk): category and brand names as products hold them, globs, the date, the column set."""
    choice = column_sets.choose(columns)
    if not choice.is_all and (fmt == "csv" or changes_only):
        raise UsageError("--columns is for workbooks: a CSV is Cin7's Inventory List, which needs every column",
                         "export OUT.xlsx --columns ..., or drop --columns for the CSV")
    since = filters.parse_changed_since(changed_since)
    if since is not None and changes_only:
        raise UsageError("--changed-since cannot be used with --changes-only",
                         "--changes-only already holds just the products the planned import changes")
    categories = [c for c in categories or () if c is not None]
    brands = [b for b in brands or () if b is not None]
    match = filters.ProductFilter(
        statuses=tuple(parse_statuses(statuses)),
        categories=filters.resolve_names("category", categories, store.values_in_use("Category")) if categories else (),
        brands=filters.resolve_names("brand", brands, store.values_in_use("Brand")) if brands else (),
        codes=filters.check_globs(codes or ()), changed_since=since)
    return Selection(match, choice)


def output_format(path: Path) -> str:
    ext = path.suffix.lower()
    if ext in (".xlsx", ".csv"):
        return ext[1:]
    raise UsageError(f"cannot export to '{path.name}': the name must end in .xlsx or .csv",
                     "e.g. inventory-tools export inventory.xlsx")


def export(store, out: str | os.PathLike, *, statuses: Iterable[str] | None = None,
           columns: str | None = None, categories: Iterable[str] = (), brands: Iterable[str] = (),
           codes: Iterable[str] = (), changed_since: str | None = None,
           changes_only: bool = False, progress=None, overwrite: bool = False) -> ExportResult:
    """Write the inventory list and keep its snapshot as the base for a later import.

    ``columns``: a column set's name (``templates/columns/``), a set file's path, or a comma list
    of column names (ProductCode and Name always first); every column when None. ``categories``,
    ``brands`` (names, any case), ``codes`` (globs) and ``changed_since`` (``YYYY-MM-DD``) narrow
    the products, combined with ``statuses``. The snapshot always holds whole rows (every
    column), whichever columns the file shows.

    ``changes_only`` writes just the products the latest ``import --dry-run`` would change, as
    that plan would leave them: a file for Cin7's own Inventory List import screen (one upload
    instead of thousands of API calls). It is not a base for our import, so no snapshot is kept.

    An existing ``out`` is replaced only with ``overwrite`` or when it is, byte for byte, a file
    this store wrote (see :mod:`inventory_tools.outputs`); the store itself never.
    """
    path = Path(out)
    fmt = output_format(path)
    chosen = select(store, fmt, statuses=statuses, columns=columns, categories=categories, brands=brands,
                    codes=codes, changed_since=changed_since, changes_only=changes_only)
    wanted = list(chosen.match.statuses)
    target = check_target(path, what="export", store_path=store.state.path, ledger=store.state, overwrite=overwrite)
    path = target.path
    export_id = store.state.new_export_id()
    with store.state.transaction() as db:
        if changes_only:
            rows = FrameSource(_planned_frame(store, chosen.match))
        else:
            rows = store.stream(wanted, chosen.match)  # the embedded store streams: memory stays flat at any size
        manifest = {
            "export_id": export_id, "store_id": store.identity(), "store": store.describe(),
            "exported_at": now_iso(), "schema_version": cols.SCHEMA_VERSION, "tool_version": __version__,
            "sheet": DATA_SHEET, "row_count": rows.n, "statuses": wanted, "format": fmt,
            "path": str(path.resolve()), **chosen.manifest(),
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
                if hasattr(rows, "start"):
                    rows.start(xlsx_writer.CHUNK_ROWS)  # reading the store on the other cores from now on
                lists = _dropdown_lists(store, rows, whole=not chosen.match.narrows and not wanted)
                _write_xlsx(tmp, rows, manifest, lists, progress, columns, chosen.choice)
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
        finally:
            if hasattr(rows, "close"):
                rows.close()
        counts = rows.status_counts()
    warnings = [f"{w.code} · {w.column} starts like a formula ({w.value!r}); a spreadsheet opening this CSV may run it"
                for w in warned]
    return ExportResult(export_id, str(path), fmt, rows.n, wanted, counts, warnings,
                        columns=list(chosen.choice.names), column_set=chosen.choice.set_name,
                        filters=chosen.match.describe())


def _planned_frame(store, match: filters.ProductFilter) -> "pd.DataFrame":
    from .importing import planned_rows

    frame, source = planned_rows(store)
    if frame.empty:
        raise UsageError("there are no planned changes to export",
                         "run inventory-tools import FILE --dry-run first, then export --changes-only OUT.csv")
    return frame[match.mask(frame)].reset_index(drop=True)


def _dropdown_lists(store, rows, *, whole: bool = True) -> dict[str, list[str]]:
    """Values for the open dropdowns (units in use in the whole store, also when the export holds
    only some products: ``whole`` says ``rows`` are all of them), or a remote store's lists."""
    lists: dict[str, list[str]] = {}
    known = {n: items for n, items in (store.reference_lists() if store is not None else {}).items() if items}
    for name in OPEN_LISTS:
        if name not in known:
            in_use = rows.distinct(name) if whole else store.values_in_use(name)
            lists[name] = sorted(set(in_use) | set(DEFAULT_UNITS), key=str.casefold)
    for name, items in known.items():
        lists[name] = sorted(set(items), key=str.casefold)
    return lists


def column_specs(lists_ranges: dict[str, str], names: Iterable[str] | None = None) -> list[ColumnSpec]:
    """How each column is written (``names``: these columns, in this order; default every one):
    the same type, text format, width and dropdown whichever columns an export holds."""
    specs = []
    for c in (cols.column(n) for n in (names or cols.names())):
        dropdown = None
        strict = True
        if c.has_dropdown:
            dropdown = list(c.values)
        elif c.name in lists_ranges:
            dropdown, strict = lists_ranges[c.name], False
        specs.append(ColumnSpec(
            name=c.name, kind="number" if c.is_numeric else "text", width=max(c.width, header_width(c.name), number_width(c.decimals) if c.is_numeric else 0),
            decimals=c.decimals,
            read_only=c.read_only, wrap=c.name in WRAP_COLUMNS, dropdown=dropdown, dropdown_strict=strict))
    return specs


def _write_xlsx(tmp: str, rows, manifest: dict, lists: dict[str, list[str]], progress, observer=None,
                choice: column_sets.ColumnChoice | None = None) -> None:
    choice = choice or column_sets.all_columns()
    list_names = list(lists)
    ranges = {}
    for i, name in enumerate(list_names):
        letter = col_letter(i)
        ranges[name] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(lists[name]) + 1}"
    writer = XlsxWriter(tmp, data_sheet=DATA_SHEET, specs=column_specs(ranges, choice.names))
    if not choice.is_all:
        writer.fit_width = 1  # a chosen set prints one page across
    writer.add_sheet(instructions_sheet(manifest))
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


INSTRUCTIONS_WIDTH = 100  # one column of wrapped text: a comfortable line, one landscape page across


def instructions_sheet(manifest: dict | None = None) -> PlainSheet:
    """``templates/instructions.txt`` as one column of wrapped text (``# `` lines are headings,
    ``#`` alone a blank line), then what this export holds."""
    rows: list[list[str]] = []
    headings: list[int] = []
    for line in resource_path("templates", "instructions.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            if rows:
                headings.append(len(rows))
            rows.append([line[2:]])
        elif line.strip() == "#":
            rows.append([])
        else:
            rows.append([line])
    if manifest:
        rows.append([])
        headings.append(len(rows))
        rows.append(["This export"])
        rows.extend([line] for line in export_summary(manifest))
    return PlainSheet(INSTRUCTIONS_SHEET, rows, widths=[INSTRUCTIONS_WIDTH], title_first_row=True,
                      headings=tuple(headings), orientation="landscape")


def export_summary(manifest: dict) -> list[str]:
    """What the export holds, in words (its filters and columns) for the Instructions sheet.
    ``manifest`` as written, or as read back from a workbook (lists as comma-joined text)."""
    def listed(key: str) -> list[str]:
        v = manifest.get(key) or []
        return [p for p in v.split(",") if p] if isinstance(v, str) else list(v)

    picked = [f"{key.replace('_', ' ')} {manifest[key]}" for key in ("category", "brand", "code", "changed_since")
              if manifest.get(key)]
    if listed("statuses"):
        picked.insert(0, "status " + " | ".join(listed("statuses")))
    lines = [f"Export {manifest.get('export_id', '')} of {manifest.get('store', 'the store')}, "
             f"{manifest.get('exported_at', '')}: {manifest.get('row_count', '?')} products"
             + (f" ({'; '.join(picked)})." if picked else " (all).")]
    chosen = manifest.get("column_set") or "all"
    if chosen == "all":
        lines.append("Every column of Cin7's Inventory List.")
    else:
        shown = chosen if chosen != "list" else "chosen"
        lines.append(f"Only the columns of the {shown} set: {', '.join(listed('columns'))}. "
                     "The columns not in this file are left as they are by the import.")
    return lines
