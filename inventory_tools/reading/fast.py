""".xlsx workbooks through fastexcel into Arrow, column by column: text columns as text, number
columns as numbers, with every text cell marked (:mod:`.sst`) so a typed number, boolean or date
is never taken for text or the other way round. The result is the :class:`Table` the
python-calamine reader (:mod:`.workbook`) gives for the same file, or :class:`~.arrowcols.NotExact`
when what was read cannot say it exactly (a number or a date in a text column, text in a number
column, booleans or dates where numbers are read, a package laid out so it cannot be copied...):
then the caller reads the file with python-calamine.

Steps: the shared strings are marked in a copy of the package (the other parts copied as stored);
the first rows are read from the sheet XML (:mod:`.head`) to find the header, which says how each
column is read; fastexcel parses the sheet on a worker thread (without the GIL) while this thread
scans the sheet's bytes (:mod:`.scan`: formulas, errors, hidden rows, merged cells, cells counted
by type) and runs the caller's ``alongside``. A sheet written with inline strings (openpyxl,
xlsxwriter's constant memory, very large exports of ours) is copied with those marked too, by the
scan, before it is parsed.
"""
from __future__ import annotations

import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from .. import columns as cols
from ..sheets import DATA_SHEET, MANIFEST_SHEET
from ..values import fold
from .arrowcols import Column, NotExact, number_column, resolve_numbers, resolve_texts, text_column
from .build import assemble_table, manifest_of, mark_hidden, mark_merged
from .head import Head, read_head
from .headers import Header, find_header_row
from .package import READABLE_SHEET_TYPES, Package, calamine_changes
from .scan import CannotMark, SheetScan, scan_xlsx
from .styles import dates_possible
from .sst import CannotMarkStrings, marked_stream, strings_at
from .table import Table
from .zipcopy import CannotCopy, package_copy, remove
from .._lazy import lazy_import

np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

MAX_COLUMNS = 16_384  # Excel's last column is XFD
MANIFEST_ROWS = 1_000  # a manifest has a dozen rows
STRINGS_MAX_RATIO = 2  # shared strings (bytes) per byte of sheet beyond which python-calamine reads
NOT_RUN = object()


class Fallback(Exception):
    """Read the file with python-calamine instead; ``side`` is ``alongside``'s result if it ran."""

    def __init__(self, reason: str, side: Any = NOT_RUN, side_error: BaseException | None = None):
        super().__init__(reason)
        self.reason, self.side, self.side_error = reason, side, side_error


def read_xlsx(path: Path, alongside: Callable[[dict | None], Any] | None) -> tuple[Table, Any]:
    """The data sheet of an .xlsx as a Table (exactly as python-calamine reads it), plus
    ``alongside(manifest)``'s result; :class:`Fallback` when it cannot be read exactly this way."""
    try:
        import fastexcel
    except ImportError:
        raise Fallback("fastexcel is not installed") from None
    prep = _Prepared.of(path)
    names = prep.sheet_names
    man_name = next((n for n in names if n.casefold() == MANIFEST_SHEET.casefold()), None)
    sheet = next((n for n in names if fold(n) == fold(DATA_SHEET)), None)
    manifest = None
    if sheet is None:  # the manifest names the sheet: read it first
        manifest = prep.manifest(man_name) if man_name else None
        sheet = _data_sheet(names, manifest)
        man_name = None
    head, header, hdr_i = prep.header(sheet)
    reading = _Reading(path, sheet, header, hdr_i, head, manifest, names)
    reading.dates = prep.dates
    # otherwise it is read on this thread while the sheet is parsed (it waits for no one)
    reading.manifest_from = (lambda: prep.manifest(man_name)) if man_name else None
    copies: list[str] = []
    try:
        return reading.run(fastexcel, prep, copies, alongside)
    finally:
        for c in copies:
            remove(c)


def _data_sheet(names: list[str], manifest: dict | None) -> str:
    """``Inventory List``, else the sheet the manifest names (as :func:`.workbook._data_sheet`)."""
    sheet = next((n for n in names if fold(n) == fold(DATA_SHEET)), None)
    if sheet is None and manifest and manifest.get("sheet") in names:
        sheet = manifest["sheet"]
    if sheet is None:
        raise Fallback("the data sheet is found by its header")
    return sheet


class _Prepared:
    """The package as python-calamine would need it changed (:func:`.package.calamine_changes`);
    copies of it with the shared strings marked."""

    def __init__(self, path: Path, changes, dates: bool, sheets: list):
        self.path, self.changes, self.dates, self.sheets = path, changes, dates, sheets
        self.sheet_names = [s.name for s in sheets if s.kind in READABLE_SHEET_TYPES]

    @classmethod
    def of(cls, path: Path) -> "_Prepared":
        try:
            with zipfile.ZipFile(path) as zf:
                changes = calamine_changes(zf)
                if changes is None:
                    raise Fallback("the package cannot be understood")
                _worth_it(zf, changes)
                dates = dates_possible(zf, changes.styles)
                sheets = Package.of(zf).sheets()
        except (zipfile.BadZipFile, OSError, KeyError, EOFError):
            raise Fallback("the zip cannot be read") from None
        except Fallback:
            raise
        except Exception:  # noqa: BLE001 - package XML refused or broken: python-calamine's path says why
            raise Fallback("the package cannot be understood") from None
        return cls(path, changes, dates, sheets)

    def manifest(self, name: str) -> dict:
        """The manifest sheet (key, value rows), read from its XML as :func:`.workbook._manifest`
        reads python-calamine's rows (it is small)."""
        part = next((s.part for s in self.sheets if s.name == name), None)
        if part is None:
            raise Fallback("the manifest's part is not found")
        try:
            with zipfile.ZipFile(self.path) as zf:
                head = read_head(zf, part, lambda wanted: strings_at(zf, self.changes.strings, wanted),
                                 nrows=MANIFEST_ROWS)
        except Exception as exc:  # noqa: BLE001 - damaged or unusual: python-calamine's path says why
            raise Fallback(f"the manifest cannot be read ({type(exc).__name__})") from None
        # the sheet XML's rows start at column A; python-calamine's at the first used column
        first = min((ci for row in head.rows for ci, v in enumerate(row) if v != ""), default=0)
        return manifest_of(row[first:] for row in head.rows)

    def copy(self, **more) -> str:
        """A copy with the shared strings marked (streamed), plus ``more`` replaced members."""
        try:
            with zipfile.ZipFile(self.path) as zf:
                replace = dict(self.changes.replace)
                if self.changes.strings is not None:
                    replace[self.changes.strings] = marked_stream(zf, self.changes.strings)
                replace.update(more)
                return package_copy(self.path, replace=replace, rename=self.changes.rename)
        except (CannotCopy, CannotMarkStrings, zipfile.BadZipFile, OSError, EOFError, KeyError) as exc:
            raise Fallback(f"the package cannot be copied ({exc})") from None

    def header(self, sheet: str) -> tuple[Head, Header, int]:
        try:
            with zipfile.ZipFile(self.path) as zf:
                part = Package.of(zf).sheet_part(sheet)
                if part is None:
                    raise Fallback("the sheet's part is not found")
                head = read_head(zf, part, lambda wanted: strings_at(zf, self.changes.strings, wanted))
        except Fallback:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged or unusual: python-calamine's path says why
            raise Fallback(f"the first rows cannot be read ({type(exc).__name__})") from None
        hdr_i = find_header_row(head.rows)
        header = Header(list(head.rows[hdr_i]) if head.rows else [], hdr_i + 1, sheet, False).match()
        return head, header, hdr_i


def _worth_it(zf: zipfile.ZipFile, changes) -> None:
    """Marking the shared strings costs a pass over them: a workbook of few cells and long texts
    (a shared-string table much bigger than its biggest sheet) is read faster by python-calamine."""
    if changes.strings is None:
        return
    strings = zf.getinfo(changes.strings).file_size
    sheets = [zf.getinfo(s.part).file_size for s in Package.of(zf).sheets() if s.part]
    if strings > (32 << 20) and strings > STRINGS_MAX_RATIO * max(sheets, default=0):
        raise Fallback("shared strings much bigger than the sheet")


def _open(fastexcel, copy: str):
    try:
        return fastexcel.read_excel(copy)
    except Exception as exc:  # noqa: BLE001 - any refusal: python-calamine's path says what is wrong
        raise Fallback(f"fastexcel cannot open it ({type(exc).__name__})") from None


class _Reading:
    """One data sheet read through fastexcel: the parse, the scan, the columns, the Table."""

    def __init__(self, path: Path, sheet: str, header: Header, hdr_i: int, head: Head, manifest, names):
        self.path, self.sheet, self.header, self.hdr_i, self.head = path, sheet, header, hdr_i, head
        self.manifest, self.names = manifest, names
        self.decimal = {ci for name, ci in header.ordered if cols.column(name).type == "decimal"}
        self.data_from = head.data_from(hdr_i + 1)
        self.dates = True
        self.manifest_from = None  # reads the manifest, when it is read during the parse
        self.fastexcel = None
        self.copy: str | None = None  # the copy parsed (read again when cells must be resolved)
        self.second_readings = 0
        self.rows = 0
        self.copied = threading.Event()  # set once the worker's copy of the package is made (or failed)

    def _read_manifest(self) -> None:
        if self.manifest_from is not None:
            read, self.manifest_from = self.manifest_from, None
            self.manifest = read()

    def _load(self, fastexcel, prep: _Prepared, copies: list[str], **more) -> list:
        """On the worker thread: the package copied with its strings marked (``more``: other parts
        replaced), opened, and the data rows parsed into Arrow arrays, (absolute column index,
        array) each; the reader (and the shared strings it holds) is let go once they are read."""
        try:
            copies.append(prep.copy(**more))
        finally:
            self.copied.set()
        self.copy = copies[-1]
        reader = _open(fastexcel, self.copy)
        if list(reader.sheet_names) != self.names:
            raise Fallback("the sheets are named otherwise than the workbook part says")
        dtypes = {i: ("float" if i in self.decimal else "string") for i in range(MAX_COLUMNS)}
        absolute: dict[str, int] = {}

        def pick(column) -> bool:
            absolute[column.name] = column.absolute_index
            return True
        batch = reader.load_sheet(self.sheet, header_row=None, skip_rows=self.hdr_i + 1, dtypes=dtypes,
                                  use_columns=pick, eager=True)
        del reader
        self.rows = batch.num_rows
        return [[absolute[name], arr] for name, arr in zip(batch.schema.names, batch.columns)]

    def run(self, fastexcel, prep: _Prepared, copies: list[str], alongside) -> tuple[Table, Any]:
        side, side_error = NOT_RUN, None
        self.fastexcel = fastexcel
        if not self.head.inline:
            with ThreadPoolExecutor(1, thread_name_prefix="fastexcel") as pool:
                parsing = pool.submit(self._load, fastexcel, prep, copies)
                scan = None
                try:  # meanwhile, on this thread: the manifest, the byte scan and the caller's own work
                    # the copy is Python's work as much as these: one at a time, the copy first
                    # (both at once take as long as one after the other, and the parse waits)
                    self.copied.wait()
                    self._read_manifest()
                    scan = scan_xlsx(self.path, self.sheet, data_from=self.data_from, count_values=self.dates)
                    side = None  # from here on, alongside has run (even if it raises)
                    side = alongside(self.manifest) if alongside is not None else None
                except BaseException as exc:  # noqa: BLE001 - re-raised once the parse is joined
                    side_error = exc
                arrays = self._joined(parsing, side, side_error)
            if scan is None:  # the scan could not read the sheet: python-calamine's path says why
                raise Fallback("the sheet cannot be scanned", side, side_error)
            if side_error is not None:
                raise side_error
            try:
                return self._table(arrays, scan, inline=False), side
            except NotExact as exc:
                if not scan.counts["inlineStr"]:
                    raise Fallback(str(exc), side) from None
            del arrays  # inline strings that look like numbers: read again with them marked
        return self._marked_run(fastexcel, prep, copies, alongside, side)

    def _marked_run(self, fastexcel, prep: _Prepared, copies: list[str], alongside, side) -> tuple[Table, Any]:
        """The sheet copied with its inline strings marked (the scan writes the copy, on this
        thread, before the copy is parsed), then read as by :meth:`run`."""
        scans: list[SheetScan] = []

        def produce(write) -> None:
            scans.append(scan_xlsx(self.path, self.sheet, data_from=self.data_from, sink=write, mark_inline=True,
                                   count_values=self.dates))
        side_error = None
        with ThreadPoolExecutor(1, thread_name_prefix="fastexcel") as pool:
            parsing = pool.submit(self._load, fastexcel, prep, copies, **{self.head.part: produce})
            if side is NOT_RUN:  # meanwhile, on this thread, the caller's own work
                try:
                    self._read_manifest()
                    side = None
                    side = alongside(self.manifest) if alongside is not None else None
                except BaseException as exc:  # noqa: BLE001 - re-raised once the parse is joined
                    side_error = exc
            arrays = self._joined(parsing, side, side_error)
        if side_error is not None:
            raise side_error
        try:
            return self._table(arrays, scans[0], inline=True), side
        except NotExact as exc:
            raise Fallback(str(exc), side) from None

    @staticmethod
    def _joined(parsing, side, side_error):
        """The parse's arrays; any failure is a Fallback carrying ``alongside``'s outcome."""
        try:
            return parsing.result()
        except CannotMark as exc:  # (inline strings in a form the mark cannot be given to)
            raise Fallback(str(exc), side, side_error) from None
        except Fallback as fb:
            raise Fallback(fb.reason, side, side_error) from None
        except Exception as exc:  # noqa: BLE001 - fastexcel refused the sheet: python-calamine's path
            raise Fallback(f"fastexcel cannot read the sheet ({type(exc).__name__})", side, side_error) from None

    def _resolve(self, columns: dict[int, Column], counts, inline: bool) -> None:
        """Cells the first reading cannot say exactly are read again, those columns only, the
        other way: numbers in text columns as numbers, number columns as text."""
        if not inline and counts["is"]:
            self._inline_texts(columns, counts)
        want = {ci: "float" for ci, col in columns.items() if col.unresolved}
        texts_missing = _texts_missing(counts, columns, self.decimal, inline)
        if texts_missing:
            want.update({ci: "string" for ci in columns if ci in self.decimal})
        found = 0
        if want:
            for ci, view in self._view(want).items():
                if want[ci] == "float":
                    resolve_numbers(columns[ci], view)
                else:
                    found += resolve_texts(columns[ci], view)
        _check_counts(counts, columns, self.decimal, inline, self.dates, found)

    def _inline_texts(self, columns: dict[int, Column], counts) -> None:
        """Unmarked inline strings that look like numbers (a big export of ours writes its
        mostly-unique columns inline, barcodes among them): read those columns again as booleans,
        which a text cell never gives; any other cell sends the file to a marked copy."""
        text = [col for ci, col in columns.items() if ci not in self.decimal]
        if sum(col.unmarked_text + len(col.unresolved) for col in text) != counts["is"]:
            raise NotExact("inline strings not all read as text")
        want = {ci: "boolean" for ci, col in columns.items() if col.unresolved}
        for ci, view in (self._view(want) if want else {}).items():
            col = columns[ci]
            if view.is_valid().to_numpy(zero_copy_only=False)[np.asarray(col.unresolved)].any():
                raise NotExact("numbers among inline strings in a text column")
            col.unmarked_text += len(col.unresolved)
            col.unresolved = []

    def _view(self, want: dict[int, str]) -> dict:
        """The columns ``want`` names read again, each as the type given (a second parse)."""
        if self.copy is None or self.fastexcel is None:
            raise NotExact("no copy to read again")
        reader = _open(self.fastexcel, self.copy)
        absolute: dict[str, int] = {}

        def pick(column) -> bool:
            absolute[column.name] = column.absolute_index
            return column.absolute_index in want
        try:
            batch = reader.load_sheet(self.sheet, header_row=None, skip_rows=self.hdr_i + 1, dtypes=want,
                                      use_columns=pick, eager=True)
        except Exception:  # noqa: BLE001
            raise NotExact("the second reading failed") from None
        self.second_readings += 1
        return {absolute[name]: arr for name, arr in zip(batch.schema.names, batch.columns)}

    def _table(self, arrays: list, scan: SheetScan, *, inline: bool) -> Table:
        first = self.hdr_i + 2  # the sheet row of the batch's first row
        known: dict[int, dict[int, str]] = {}
        for (row, ci), t in scan.typed.items():
            if row >= first:
                known.setdefault(ci, {})[row - first] = t
        def convert(item) -> tuple[int, Column]:  # each column's Arrow memory goes once it is converted
            ci, k = item[0], known.get(item[0], {})
            return ci, number_column(item, k) if ci in self.decimal else text_column(item, k)
        # two at a time: Arrow's kernels (most of the work) let go of the GIL
        with ThreadPoolExecutor(2, thread_name_prefix="columns") as pool:
            columns: dict[int, Column] = dict(pool.map(convert, arrays))
        self._resolve(columns, scan.counts, inline)
        n = self.rows
        nonblank = np.zeros(n, dtype=bool)
        has_data = set()
        for ci, col in columns.items():
            filled = col.codes >= 0
            if filled.any():
                has_data.add(ci)
                nonblank |= filled
        keep = np.flatnonzero(nonblank)
        every_row = len(keep) == n  # (no blank row between the data: the codes are kept as they are)
        empty = (np.full(len(keep), -1, dtype=np.int32), np.empty(0, dtype=object))
        factors = {ci: ((columns[ci].codes if every_row else columns[ci].codes[keep], columns[ci].uniques)
                        if ci in columns else empty)
                   for _, ci in self.header.ordered}
        del columns
        problems = self.header.problems(has_data)
        row_numbers = (keep + first).tolist()
        table = assemble_table(self.path, "xlsx", self.sheet, self.header, factors, problems, row_numbers, scan.flags)
        table.manifest = self.manifest
        table.sheet_names = self.names
        table.reader = "fastexcel" + (" (some columns read twice)" if self.second_readings else "")
        mark_merged(table, scan.merged)
        mark_hidden(table, scan.hidden)
        return table


def _texts_missing(counts, columns: dict[int, Column], decimal: set[int], inline: bool) -> bool:
    """Whether text cells were read as empty in number columns: the text cells the scan counted
    (shared strings, and inline ones when marked) are more than the text columns hold."""
    if counts["other"] or counts["d"]:
        raise NotExact("cells of a type the reader does not read exactly")
    marked = sum(col.marked for ci, col in columns.items() if ci not in decimal)
    unmarked = sum(col.unmarked_text for ci, col in columns.items() if ci not in decimal)
    if unmarked != (0 if inline else counts["is"]):
        raise NotExact("inline strings not all read as text")
    expected = counts["s"] + (counts["is"] if inline else 0)
    if marked > expected:
        raise NotExact("more text cells read than written")
    return marked < expected


def _check_counts(counts, columns: dict[int, Column], decimal: set[int], inline: bool, dates: bool,
                  texts_in_numbers: int) -> None:
    """What was read must account for every cell the scan counted: text cells all read as text
    (in text columns, or found in number columns), number cells all read as numbers (a date in a
    number column reads as empty: counted only where some style is a date format)."""
    marked = sum(col.marked for ci, col in columns.items() if ci not in decimal) + texts_in_numbers
    if marked != counts["s"] + (counts["is"] if inline else 0):
        raise NotExact("text cells not all read as text")
    numbers = counts["v"] - counts["s"] - counts["b"] - counts["e"] - counts["str"] - counts["d"]
    if dates and numbers != sum(col.numbers for col in columns.values()):
        raise NotExact("number cells not all read as numbers")
