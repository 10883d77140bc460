"""Read an edited inventory list (.xlsx, .ods, .csv) into a :class:`Table`.

The one reader behind ``validate`` and ``import``. Workbooks are read with python-calamine
(fast; numbers come back as float, empty cells as ``''``). Calamine hides two things a
spreadsheet can do to data: formulas without a cached value and error cells (``#N/A``) both
read as ``''``. So, only when the sheet XML contains a formula or an error cell at all, one
streaming parse of that sheet (defusedxml) finds them; our own exports stay on the fast path.

Nothing here judges values; that is :mod:`inventory_tools.validation`. Reading-level problems
(headers, error cells, encodings) are collected in ``Table.problems``; a file that cannot be
read at all raises :class:`~inventory_tools.errors.FileReadError` (exit 3) with a hint.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import functools
import io
import itertools
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from . import columns as cols
from . import factorised
from .errors import FileReadError
from .values import fold

DATA_SHEET = "Inventory List"
MANIFEST_SHEET = "_manifest"
HEADER_SCAN_ROWS = 10  # the header row is looked for in the first rows of a sheet

ERROR_LITERALS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                            "#SPILL!", "#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#UNKNOWN!"})
_ODS_ERROR_RE = re.compile(r"^Err:\d{3}$")

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


# -- results ----------------------------------------------------------------------------------
@dataclass
class Problem:
    """One problem at one place. ``cell`` is ``G17`` (CSV: ``record 5 (line 6)``).

    ``message`` does not repeat the cell: show it as ``f"{p.ref}: {p.message}"``.
    """

    sheet: str | None
    row: int | None
    column: str | None
    cell: str
    value: Any
    rule: str
    severity: str  # "error" | "warning"
    message: str
    hint: str = ""
    index: int | None = None  # position of the row in Table.raw / report.frame (None: file-level)
    at: str | None = None  # the column whose cell is meant, when it differs from ``column``

    def to_json(self) -> dict:
        return self.to_dict()

    def to_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "cell": self.cell,
                "value": _jsonable(self.value), "rule": self.rule, "severity": self.severity,
                "message": self.message, "hint": self.hint}

    @property
    def ref(self) -> str:
        """``Inventory List!G17`` (or just the cell for CSV)."""
        return f"{self.sheet}!{self.cell}" if self.sheet and self.cell else (self.cell or self.sheet or "")


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        if isinstance(value, float) and value != value:
            return None
        return value
    return str(value)


@dataclass
class Table:
    path: Path
    kind: str  # "xlsx" | "ods" | "csv"
    sheet: str | None
    raw: pd.DataFrame
    row_numbers: list[int]
    column_letters: dict[str, str]
    manifest: dict | None = None
    problems: list[Problem] = field(default_factory=list)
    cell_flags: dict[tuple[int, str], str] = field(default_factory=dict)  # (row index, column) -> flag
    line_numbers: list[int] | None = None  # CSV: first physical line of each record
    header_row: int = 1
    sheet_names: list[str] = field(default_factory=list)
    extra_columns: dict[str, str] = field(default_factory=dict)  # header text -> letter (ignored)
    encoding: str | None = None
    # column → (codes, uniques) as pandas.factorize gives them for ``raw`` (blank = -1); lets
    # validation work once per distinct value. Kept in step with ``raw`` by this module.
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def release_cells(self) -> None:
        """Drop the cell values (hundreds of MB for a big sheet) once they have been validated;
        the addresses (rows, letters) stay for reports."""
        self.raw = self.raw.iloc[:0]
        self.factors = {}

    def cell_ref(self, index: int, column: str) -> str:
        """Where row ``index`` / ``column`` is in the file: ``G17`` or ``record 5 (line 6)``."""
        if self.kind == "csv":
            line = self.line_numbers[index] if self.line_numbers else None
            rec = self.row_numbers[index]
            return f"record {rec} (line {line})" if line else f"record {rec}"
        letter = self.column_letters.get(column, "")
        return f"{letter}{self.row_numbers[index]}"

    def sheet_cell(self, index: int, column: str) -> tuple[int, str] | None:
        """(row, letter) in a spreadsheet view of the file (CSV: record N is row N+1)."""
        letter = self.column_letters.get(column)
        if letter is None:
            return None
        return self.row_numbers[index] + (1 if self.kind == "csv" else 0), letter


# -- helpers ----------------------------------------------------------------------------------
from .xlsx_writer import col_letter  # noqa: E402  (one definition, shared with the writer)


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1


_REF_RE = re.compile(r"^([A-Z]+)(\d+)$")


def _cell_kind(v) -> int:
    """0 a value, 1 blank, 2 an error literal (``#N/A``)."""
    if type(v) is not str:
        return 0
    t = v.strip()
    if not t:
        return 1
    if (t[0] == "#" and t in ERROR_LITERALS) or (t[0] == "E" and _ODS_ERROR_RE.match(t)):
        return 2
    return 0


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def _squash(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", fold(text))


@functools.lru_cache(maxsize=None)
def _header_maps() -> tuple[dict[str, str], dict[str, str], list[str]]:
    exact = {fold(n): n for n in cols.names()}
    squashed = {_squash(n): n for n in cols.names()}
    return exact, squashed, list(exact)


def match_header(text: str) -> tuple[str | None, str | None]:
    """Header text → (canonical name, None) | (None, near-miss name) | (None, None)."""
    exact, squashed, folded = _header_maps()
    key = fold(text)
    if key in exact:
        return exact[key], None
    sq = _squash(text)
    if sq in squashed:
        return None, squashed[sq]
    if len(key) >= 4:
        close = difflib.get_close_matches(key, folded, n=1, cutoff=0.85)
        if close:
            return None, exact[close[0]]
    return None, None


# -- entry point ------------------------------------------------------------------------------
def read_table(path, *, encoding: str | None = None) -> Table:
    """Read FILE (.xlsx/.xlsm, .ods or .csv, recognised by content) into a :class:`Table`."""
    return read_table_with(path, None, encoding=encoding)[0]


#: Up to this many exported rows, a caller's work from the store runs while the sheet is parsed
#: (faster); beyond, after the parsed sheet is freed, so the two never take memory at once.
OVERLAP_MAX_ROWS = 250_000


def overlap_with_parse(manifest: dict | None) -> bool:
    """Whether store work for a file with this manifest may run while its sheet is parsed."""
    rows = str((manifest or {}).get("row_count") or "0")
    return not rows.isdigit() or int(rows) <= OVERLAP_MAX_ROWS


def read_table_with(path, alongside: Callable[[dict | None], Any] | None, *,
                    encoding: str | None = None) -> tuple[Table, Any]:
    """:func:`read_table`, plus ``alongside(manifest)`` run while the sheet is parsed.

    python-calamine parses on a worker thread without holding the GIL, so work this thread does
    meanwhile (reading the export snapshot from the store, say) costs no extra wall time on a
    machine with a second core. ``manifest`` is the workbook's ``_manifest`` (None for CSV). A
    file that cannot be read is reported before any error ``alongside`` raises.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(8)
    except FileNotFoundError:
        raise FileReadError("no such file", "check the path (and the current folder)", file=str(path)) from None
    except IsADirectoryError:
        raise FileReadError("this is a folder, not a file", "give the path of a .xlsx, .ods or .csv file",
                            file=str(path)) from None
    except OSError as exc:
        raise FileReadError(f"cannot open the file: {exc.strerror or exc}", "check the file's permissions",
                            file=str(path)) from None
    if size == 0:
        raise FileReadError("the file is empty (0 bytes)",
                            "export the inventory list again, or check that the file finished saving/downloading",
                            file=str(path))
    suffix = path.suffix.lower()
    if head.startswith(_OLE_MAGIC):
        _ole_error(path)
    if head.startswith(b"PK"):
        kind = _zip_kind(path)
        return _read_workbook(path, kind, alongside)
    if suffix in (".xlsx", ".xlsm", ".ods", ".xls"):
        hint = ("if it is really CSV or text, rename it to .csv; otherwise open it in Excel and save it as "
                "Excel Workbook (.xlsx)")
        raise FileReadError(f"this is not an Excel or OpenDocument workbook, although it is named {path.name}",
                            hint, file=str(path))
    table = _read_csv(path, encoding)
    return table, (alongside(None) if alongside else None)


def _ole_error(path: Path):
    data = path.read_bytes()
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise FileReadError("the workbook is password-protected (encrypted), so it cannot be read",
                            "open it in Excel, remove the password (File → Info → Protect Workbook → "
                            "Encrypt with Password → clear it), save, and run again", file=str(path))
    raise FileReadError("this is an old Excel 97-2003 workbook (.xls), which is not supported",
                        "open it in Excel and choose File → Save As → Excel Workbook (.xlsx), "
                        "then run again on the .xlsx file", file=str(path))


def _damaged(path: Path, detail: str = "") -> FileReadError:
    extra = f" ({detail})" if detail else ""
    return FileReadError(f"the workbook is damaged or incomplete and cannot be read{extra}",
                         "if it was downloaded or copied, fetch it again; otherwise open it in Excel "
                         "(which may offer to repair it) and save it again", file=str(path))


#: A genuine workbook at Excel's row limit inflates to a few GB at ratios below ~30:1; a zip bomb
#: declares far more, or far higher ratios. Readers never inflate past an entry's declared size.
MAX_INFLATED_BYTES = 8 * 1024**3
MAX_ENTRY_RATIO = 200  # real sheets: 5-30:1 (formatted empty rows ~25:1); deflate bombs ~1000:1
MAX_ENTRIES = 10_000


def _check_zip_safety(zf: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip bomb before anything is inflated (from the central directory alone)."""
    infos = zf.infolist()
    hint = "this is not a normal workbook; if you expected one, export it again from its source"
    if len(infos) > MAX_ENTRIES:
        raise FileReadError(f"the workbook holds {len(infos):,} parts, far more than any spreadsheet", hint,
                            file=str(path))
    total = sum(i.file_size for i in infos)
    if total > MAX_INFLATED_BYTES:
        raise FileReadError(f"the workbook would inflate to {total / 1024**3:,.1f} GB (refused: over "
                            f"{MAX_INFLATED_BYTES // 1024**3} GB, beyond any real inventory list)", hint, file=str(path))
    for i in infos:
        if i.file_size > 10 * 1024**2 and i.file_size > MAX_ENTRY_RATIO * max(i.compress_size, 1):
            ratio = i.file_size / max(i.compress_size, 1)
            raise FileReadError(f"part {i.filename} would expand {ratio:,.0f} times (a zip bomb?), so it was not "
                                "opened", hint, file=str(path))


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            _check_zip_safety(zf, path)
            names = set(zf.namelist())
            if "mimetype" in names and zf.read("mimetype").strip().startswith(_ODS_MIME):
                return "ods"
            if "content.xml" in names and "xl/workbook.xml" not in names:
                return "ods"
            if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
                return "xlsx"
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise _damaged(path, "the zip container is broken; the file may be truncated") from None
    if "word/document.xml" in names:
        raise FileReadError("this is a Word document, not a workbook", "give the exported .xlsx, .ods or .csv file",
                            file=str(path))
    raise FileReadError("this zip file is not an Excel (.xlsx) or OpenDocument (.ods) workbook",
                        "give the exported .xlsx, .ods or .csv file", file=str(path))


# -- workbooks --------------------------------------------------------------------------------
def _calamine():
    import python_calamine as pc

    return pc


def _calamine_call(path: Path, fn):
    with _calamine_errors(path):
        return fn()


@contextlib.contextmanager
def _calamine_errors(path: Path):
    """python-calamine's errors as the FileReadError a user reads (damaged, password...)."""
    pc = _calamine()
    try:
        yield
    except pc.PasswordError:
        raise FileReadError("the workbook is password-protected (encrypted), so it cannot be read",
                            "open it, remove the password, save, and run again", file=str(path)) from None
    except (pc.ZipError, pc.XmlError, pc.CalamineError) as exc:
        raise _damaged(path, str(exc).splitlines()[0][:120] if str(exc) else "") from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as exc:
        raise _damaged(path, str(exc)[:120]) from None


def _header_row_of(rows: list[list]) -> int | None:
    """Index of the header row: the first of the first rows holding ProductCode (else None)."""
    for i, r in enumerate(rows[:HEADER_SCAN_ROWS]):
        for v in r:
            if isinstance(v, str) and fold(v) == fold(cols.KEY):
                return i
    return None


def _read_workbook(path: Path, kind: str, alongside: Callable[[dict | None], Any] | None) -> tuple[Table, Any]:
    pc = _calamine()
    wb = _calamine_call(path, lambda: pc.load_workbook(str(path)))
    names = list(wb.sheet_names)
    manifest = None
    man_name = next((n for n in names if n.casefold() == MANIFEST_SHEET.casefold()), None)
    if man_name:
        man_rows = _calamine_call(path, lambda: wb.get_sheet_by_name(man_name).to_python(skip_empty_area=False))
        manifest = {}
        for r in man_rows:
            if len(r) >= 1 and isinstance(r[0], str) and r[0].strip():
                v = r[1] if len(r) > 1 else None
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                manifest[r[0].strip()] = "" if v is None else (v if isinstance(v, str) else str(v))
    sheet = next((n for n in names if fold(n) == fold(DATA_SHEET)), None)
    if sheet is None and manifest and manifest.get("sheet") in names:
        sheet = manifest["sheet"]
    if sheet is None:
        candidates = []
        for n in names:
            if n == man_name:
                continue
            probe = _calamine_call(path, lambda n=n: wb.get_sheet_by_name(n).to_python(
                skip_empty_area=False, nrows=HEADER_SCAN_ROWS))
            if _header_row_of(probe) is not None:
                candidates.append(n)
        if len(candidates) == 1:
            sheet = candidates[0]
        elif len(candidates) > 1:
            raise FileReadError(
                f"more than one sheet has a ProductCode header: {', '.join(candidates)}",
                f"rename the sheet to edit to '{DATA_SHEET}' (or delete the others) and run again", file=str(path))
        else:
            raise FileReadError(
                f"no inventory sheet found; the sheets are: {', '.join(names) or '(none)'}",
                f"the data sheet must be named '{DATA_SHEET}' or have a header row with ProductCode",
                file=str(path))
    flags: dict[tuple[int, int], tuple[str, str | None]] = {}
    hidden: list[int] = []
    side, side_error = None, None
    with ThreadPoolExecutor(1, thread_name_prefix="calamine") as pool:
        parsing = pool.submit(_calamine_call, path, lambda: wb.get_sheet_by_name(sheet))
        try:  # meanwhile, on this thread: the formula/error scan and the caller's own work
            if kind == "xlsx":
                flags, hidden = _scan_xlsx(path, sheet)
            elif kind == "ods":
                flags = _scan_ods(path, sheet)
            if alongside is not None:
                side = alongside(manifest)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the parse is joined
            side_error = exc
        data_sheet = parsing.result()
    # The workbook keeps its shared-string table (every distinct text of the file) for as long as
    # it lives; the parsed sheet has its own copies, so let it go before converting the sheet.
    wb.close()
    del wb, parsing
    if side_error is not None:
        raise side_error
    merged = list(getattr(data_sheet, "merged_cell_ranges", None) or [])
    rows = _sheet_rows(path, data_sheet)
    del data_sheet  # only the row generator holds the parsed sheet now: it is freed once read through
    table = _build(path, kind, sheet, rows, flags)
    table.manifest = manifest
    table.sheet_names = names
    _merged_cells(table, merged)
    _hidden_rows(table, hidden)
    return table, side


def _sheet_rows(path: Path, sheet) -> Iterator[list]:
    """The sheet's rows from row 1 and column A (calamine starts rows at the first used column)."""
    pad = [""] * (sheet.start[1] if sheet.start else 0)
    with _calamine_errors(path):
        for row in sheet.iter_rows():
            yield pad + row if pad else row


def _merged_cells(table: Table, ranges) -> None:
    """Merged cells hold one value for several cells: the others would read as blank (= clear)."""
    position = {r: i for i, r in enumerate(table.row_numbers)}
    letters = {v: k for k, v in table.column_letters.items()}
    for (r0, c0), (r1, c1) in ranges:
        first = next((position[r + 1] for r in range(r0, r1 + 1) if r + 1 in position), None)
        if first is None:
            continue  # a merged title above the header, or outside the data
        ref = f"{col_letter(c0)}{r0 + 1}:{col_letter(c1)}{r1 + 1}"
        table.problems.append(Problem(
            sheet=table.sheet, row=r0 + 1, column=letters.get(col_letter(c0)), cell=f"{col_letter(c0)}{r0 + 1}",
            value=ref, rule="cell.merged", severity="error",
            message=f"cells {ref} are merged: only the first holds a value, the others would read as blank",
            hint="unmerge them (Home → Merge & Center → Unmerge Cells) and fill in every cell", index=first))


def _hidden_rows(table: Table, hidden: list[int]) -> None:
    """Rows hidden in the sheet are imported like any other: say so, since nobody can see them."""
    position = {r: i for i, r in enumerate(table.row_numbers)} if hidden else {}
    for r in hidden:
        if r in position:
            table.problems.append(Problem(
                sheet=table.sheet, row=r, column=None, cell=f"A{r}", value=None, rule="row.hidden",
                severity="warning", message=f"row {r} is hidden; it was read and will be imported like the others",
                hint="unhide the rows (select all → right-click → Unhide) to see what will be imported",
                index=position[r]))


#: Rows converted from the reader's Python lists at a time (bounded memory for any sheet size).
CHUNK_ROWS = 5_000


def chunks(rows: Iterable, size: int) -> Iterator[list]:
    """``rows`` as lists of at most ``size`` items."""
    rows = iter(rows)
    while True:
        chunk = list(itertools.islice(rows, size))
        if not chunk:
            return
        yield chunk


class _ColumnsBuilder:
    """Factorises the wanted columns chunk by chunk; notes which rows and columns hold anything.

    Per chunk, each wanted column becomes (codes, uniques) with blank cells as -1; at the end the
    chunks' uniques are factorised once more into one table per column. Only distinct values and
    int32 codes outlive a chunk.
    """

    def __init__(self, wanted: set[int]):
        self.wanted = wanted
        self.parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {ci: [] for ci in wanted}
        self.kept: list[np.ndarray] = []  # per chunk: positions (in the whole sheet) of non-blank rows
        self.has_data: set[int] = set()  # column indexes holding a value somewhere
        self.offset = 0

    def add(self, chunk: list[list]) -> None:
        n = len(chunk)
        width = max((len(r) for r in chunk), default=0)
        if any(len(r) != width for r in chunk):
            chunk = [list(r) + [None] * (width - len(r)) for r in chunk]
        grid = np.empty((n, width), dtype=object)
        if width:
            grid[:, :] = chunk  # one C-level copy; columns are then views
        del chunk
        nonblank = np.zeros(n, dtype=bool)
        local: dict[int, tuple] = {}
        for ci in range(width):
            arr = grid[:, ci]
            if ci in self.wanted:
                codes, uniq = pd.factorize(arr, use_na_sentinel=True)
                kind_u = np.array([_cell_kind(u) for u in uniq] + [1], dtype=np.int8)[codes]
                blank, err = kind_u == 1, kind_u == 2
                local[ci] = (np.where(blank, -1, codes), np.asarray(uniq, dtype=object), err)
            else:
                blank = (arr == "") | (arr == None)  # noqa: E711 - elementwise
            if not blank.all():
                self.has_data.add(ci)
                nonblank |= ~blank
        keep = np.flatnonzero(nonblank)
        for ci in self.wanted:
            if ci in local:
                codes, uniq, err = local[ci]
                self.parts[ci].append((codes[keep].astype(np.int32), uniq, np.flatnonzero(err[keep])))
            else:  # a short CSV record: the column is blank here
                self.parts[ci].append((np.full(len(keep), -1, dtype=np.int32), np.empty(0, dtype=object),
                                       np.empty(0, dtype=np.int64)))
        self.kept.append(keep + self.offset)
        self.offset += n

    def kept_rows(self) -> np.ndarray:
        return np.concatenate(self.kept) if self.kept else np.empty(0, dtype=np.int64)

    def column(self, ci: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes into uniques, blank = -1; uniques; positions of error-literal cells)."""
        parts = self.parts.pop(ci)
        if not parts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=object), np.empty(0, dtype=np.int64)
        codes, uniques = factorised.merge([(c, u) for c, u, _ in parts])
        starts = np.cumsum([0] + [len(c) for c, _, _ in parts[:-1]])
        errors = np.concatenate([err + row0 for (_, _, err), row0 in zip(parts, starts)])
        return codes, uniques, errors


def _build(path: Path, kind: str, sheet: str | None, rows: Iterable[list],
           flags: dict[tuple[int, int], tuple[str, str | None]], *, line_numbers: list[int] | None = None,
           record_numbers: list[int] | None = None) -> Table:
    """Rows (header included) → Table. ``flags``: (sheet row, col idx) → (kind, cached text).

    ``rows`` is consumed once, :data:`CHUNK_ROWS` at a time: each chunk's cells are factorised
    per column and dropped, so a million-row sheet never exists as Python lists all at once.
    """
    problems: list[Problem] = []
    is_csv = kind == "csv"
    it = iter(rows)
    head = list(itertools.islice(it, HEADER_SCAN_ROWS))
    hdr_i = _header_row_of(head)
    if hdr_i is None:
        hdr_i = next((i for i, r in enumerate(head) if any(not _blank(v) for v in r)), 0)
    header = list(head[hdr_i]) if head else []
    header_row = hdr_i + 1

    def where(ci: int) -> str:
        return f"{col_letter(ci)}{header_row}" if not is_csv else f"header column {ci + 1} (line 1)"

    recognised: dict[str, int] = {}
    extras: dict[str, str] = {}
    near: list[tuple[int, str, str]] = []
    by_column: dict[int, Problem] = {}  # header problems, in column order once blank headers are known
    for ci, h in enumerate(header):
        if _blank(h):
            continue
        text = h if isinstance(h, str) else str(h)
        name, suggestion = match_header(text)
        if name is not None:
            if name in recognised:
                first = recognised[name]
                by_column[ci] = Problem(sheet, header_row, name, where(ci), text, "header.duplicate", "error",
                                        f"column {name} appears twice (also column {col_letter(first)})",
                                        "delete one of the two columns")
                continue
            recognised[name] = ci
        elif suggestion is not None:
            near.append((ci, text, suggestion))
        else:
            extras[text] = col_letter(ci)
            by_column[ci] = Problem(sheet, header_row, None, where(ci), text, "header.unknown", "warning",
                                    f"column '{text}' is not an inventory column; it is ignored",
                                    "leave it if it is your own note column; otherwise check the spelling against "
                                    "the exported header")

    ordered = sorted(recognised.items(), key=lambda kv: kv[1])
    wanted = {ci for _, ci in ordered}
    columns = _ColumnsBuilder(wanted)
    for chunk in chunks(itertools.chain(head[hdr_i + 1:], it), CHUNK_ROWS):
        columns.add(chunk)
    del head

    for ci in sorted(columns.has_data):  # values under an empty header
        if ci not in wanted and (ci >= len(header) or _blank(header[ci])):
            by_column[ci] = Problem(sheet, header_row, None, where(ci), None, "header.blank", "warning",
                                    f"column {col_letter(ci)} has values but no header; it is ignored",
                                    "give the column a header from the column list, or delete it")
    problems.extend(by_column[ci] for ci in sorted(by_column))
    for ci, text, suggestion in near:
        if suggestion in recognised:
            extras[text] = col_letter(ci)
            problems.append(Problem(sheet, header_row, None, where(ci), text, "header.unknown", "warning",
                                    f"column '{text}' is not an inventory column (it looks like "
                                    f"{suggestion}, which is also present); it is ignored",
                                    "delete the column if it is a leftover copy"))
        else:
            problems.append(Problem(sheet, header_row, suggestion, where(ci), text, "header.near_miss", "error",
                                    f"column '{text}' is not a known column; did you mean {suggestion}?",
                                    f"rename the header to {suggestion} exactly"))
    if cols.KEY not in recognised and not any(sug == cols.KEY for _, _, sug in near):
        problems.append(Problem(sheet, header_row, cols.KEY, f"{'A' if not is_csv else 'header'}{header_row if not is_csv else ''}",
                                None, "header.missing", "error",
                                f"the required column {cols.KEY} is missing from the header row",
                                f"add a {cols.KEY} column (the product's SKU) as in the exported file"))

    keep = columns.kept_rows()
    data: dict[str, np.ndarray] = {}
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    err_cells: list[tuple[str, np.ndarray]] = []
    for name, ci in ordered:
        codes, uniq, err = columns.column(ci)
        # each cell points at its column's one copy of the value: a million "0.0000" cost one object
        data[name] = np.append(uniq, None)[codes]
        factors[name] = (codes, uniq)
        if len(err):
            err_cells.append((name, err))
    del columns
    raw = pd.DataFrame({n: pd.Series(v, dtype=object) for n, v in data.items()}) if data else \
        pd.DataFrame(index=pd.RangeIndex(len(keep)))
    del data
    keep = keep.tolist()
    if is_csv:
        row_numbers = [record_numbers[hdr_i + 1 + i] for i in keep] if record_numbers else [i + 1 for i in keep]
        lines = [line_numbers[hdr_i + 1 + i] for i in keep] if line_numbers else None
    else:
        row_numbers = [header_row + 1 + i for i in keep]
        lines = None
    letters = {name: col_letter(ci) for name, ci in ordered}
    table = Table(path=path, kind=kind, sheet=sheet, raw=raw, row_numbers=row_numbers, column_letters=letters,
                  problems=problems, line_numbers=lines, header_row=header_row, extra_columns=extras,
                  factors=factors)

    # error cells and formulas: from the XML scan (xlsx) and error literals (any kind)
    by_row = {rn: pos for pos, rn in enumerate(row_numbers)} if flags else {}
    col_of = {ci: name for name, ci in ordered}
    for (rn, ci), (flag, cached) in sorted(flags.items()):
        pos = by_row.get(rn)
        name = col_of.get(ci)
        if pos is None or name is None:
            continue
        ref = f"{col_letter(ci)}{rn}"
        if flag == "formula":
            table.cell_flags[(pos, name)] = "formula"
        elif flag == "formula_no_value":
            table.cell_flags[(pos, name)] = "formula_no_value"
            _blank_cell(table, pos, name)
            problems.append(Problem(sheet, rn, name, ref, f"={cached}" if cached else None, "cell.formula_no_value",
                                    "error", f"{name} is a formula with no saved value",
                                    "open the file in Excel or LibreOffice, let it calculate, and save it; or "
                                    "replace the formula with the value itself", pos))
        elif flag == "error":
            _error_cell(table, pos, name, ref, cached or "#ERROR")
    # CSV has no error cells: a spreadsheet that saved one as CSV wrote its text (#N/A). Such text
    # is kept (it may be real) but warned about. (Workbooks mark real error cells; see the scans.)
    for name, positions in err_cells if is_csv else ():
        for pos in positions.tolist():
            v = raw.iat[pos, raw.columns.get_loc(name)]
            ref = table.cell_ref(pos, name)
            problems.append(Problem(sheet, row_numbers[pos], name, ref, v, "cell.error_text", "warning",
                                    f"{name} '{str(v).strip()}' looks like a spreadsheet error value; it is read "
                                    "as text", "if a formula failed before the CSV was saved, fix it in the "
                                    "workbook and save the CSV again", pos))
    return table


def _blank_cell(table: Table, pos: int, name: str) -> None:
    table.raw.iat[pos, table.raw.columns.get_loc(name)] = None
    if name in table.factors:
        table.factors[name][0][pos] = -1


def _error_cell(table: Table, pos: int, name: str, ref: str, text: str) -> None:
    table.cell_flags[(pos, name)] = "error"
    _blank_cell(table, pos, name)
    table.problems.append(Problem(table.sheet, table.row_numbers[pos], name, ref, str(text).strip(), "cell.error",
                                  "error", f"{name} is an error cell ({str(text).strip()})",
                                  "fix the formula that produced the error (often a VLOOKUP that found nothing) "
                                  "or type the value in", pos))


# -- raw XML scan (xlsx) ------------------------------------------------------------------------
_NEEDLES = (b"<f", b't="e"')  # a formula or an error cell (unprefixed XML, as every writer we know)
_PREFIXED_NEEDLES = (b":f>", b":f ", b":f/", b't="e"')
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _sheet_part(zf: zipfile.ZipFile, sheet: str) -> str | None:
    from defusedxml import ElementTree as ET

    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rid = None
    for el in wb.iter(f"{{{_NS_MAIN}}}sheet"):
        if el.get("name") == sheet:
            rid = el.get(f"{{{_NS_REL}}}id")
            break
    if rid is None:
        return None
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    for el in rels.iter(f"{{{_NS_PKG_REL}}}Relationship"):
        if el.get("Id") == rid:
            target = el.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return str(PurePosixPath("xl") / target)
    return None


def _has_needle(zf: zipfile.ZipFile, part: str, needles: tuple[bytes, ...] = _NEEDLES) -> bool:
    tail = b""
    first = True
    with zf.open(part) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                return False
            if first and needles is _NEEDLES and re.search(rb"<\w+:worksheet[\s>]", chunk[:4096]):
                needles = _NEEDLES + _PREFIXED_NEEDLES  # namespace-prefixed sheet XML (<x:c>, <x:f>)
            first = False
            buf = tail + chunk
            if any(n in buf for n in needles):
                return True
            tail = chunk[-16:]


def _scan_xlsx(path: Path, sheet: str) -> tuple[dict[tuple[int, int], tuple[str, str | None]], list[int]]:
    """(row, col idx) → ("formula" | "formula_no_value" | "error", formula or error text), and
    the numbers of hidden rows.

    One streaming pass over the sheet XML that looks only at cells holding a formula (``<f>``) or
    an error (``t="e"``): each such cell's own bytes are read (reference, type, formula, cached
    value). No XML parser runs over the sheet, so nothing in it can expand; a sheet without
    formulas or errors costs one decompression and a byte search.
    """
    out: dict[tuple[int, int], tuple[str, str | None]] = {}
    hidden: list[int] = []
    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet)
            if part is None or part not in zf.namelist():
                return out, hidden
            with zf.open(part) as f:
                _scan_cells(f, out, hidden)
    except (zipfile.BadZipFile, EOFError, KeyError, OSError) as exc:
        raise _damaged(path, str(exc)[:120]) from None
    except Exception as exc:  # defusedxml refusals and XML syntax errors (workbook.xml, rels)
        if exc.__class__.__name__ in ("ParseError", "DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            raise _damaged(path, f"the workbook XML is not valid: {exc}") from None
        raise
    return out, hidden


def _xml_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    from xml.sax.saxutils import unescape

    return unescape(raw.decode("utf-8", "replace"), {"&quot;": '"', "&apos;": "'"})


def _scan_cells(f, out: dict, hidden: list[int]) -> None:
    head = f.read(1 << 16)
    m = re.search(rb"<(\w+:)?worksheet[\s>]", head)
    pfx = m.group(1) if m and m.group(1) else b""
    q = re.escape(pfx)
    needle = re.compile(rb"<" + q + rb"f[\s>/]|\st=\"e\"")
    cell_open, cell_close, row_close = b"<" + pfx + b"c ", b"</" + pfx + b"c>", b"</" + pfx + b"row>"
    quick = (b"<" + pfx + b"f>", b"<" + pfx + b"f ", b"<" + pfx + b"f/", b't="e"')
    f_re = re.compile(rb"<" + q + rb"f(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"f>)", re.S)
    v_re = re.compile(rb"<" + q + rb"v(?:\s[^>]*?)?(?:/>|>(.*?)</" + q + rb"v>)", re.S)
    ref_re = re.compile(rb'\sr="([A-Z]+)(\d+)"')
    t_re = re.compile(rb'\st="(\w+)"')
    hidden_re = re.compile(rb"<" + q + rb'row [^>]*?r="(\d+)"[^>]*?hidden="(?:1|true)"')
    carry = head
    done = False
    while not done:
        chunk = f.read(4 << 20)
        buf = carry + chunk
        if chunk:
            cut = buf.rfind(row_close)
            if cut < 0:
                carry = buf
                continue
            cut += len(row_close)
            work, carry = buf[:cut], buf[cut:]
        else:
            work, carry, done = buf, b"", True
        end_data = work.find(b"</" + pfx + b"sheetData>")
        if end_data >= 0:
            work, done = work[:end_data], True
        if b'hidden="' in work:
            hidden.extend(int(m) for m in hidden_re.findall(work))
        if not any(q_ in work for q_ in quick):  # byte search first: most chunks have no formula
            continue
        seen = -1
        for hit in needle.finditer(work):
            start = work.rfind(cell_open, 0, hit.start() + 1)
            if start < 0 or start <= seen:
                continue
            seen = start
            tag_end = work.find(b">", start)
            tag = work[start:tag_end + 1]
            if tag.endswith(b"/>"):
                body = b""
            else:
                close = work.find(cell_close, tag_end)
                body = work[tag_end + 1:close if close >= 0 else len(work)]
            rm = ref_re.search(tag)
            if not rm:
                continue
            key = (int(rm.group(2)), col_index(rm.group(1).decode()))
            tm = t_re.search(tag)
            t = tm.group(1).decode() if tm else None
            fm = f_re.search(body)
            vm = v_re.search(body)
            v = None if vm is None else (vm.group(1) or b"")
            if t == "e":
                out[key] = ("error", _xml_text(v))
            elif fm is not None:
                if v is None or (v == b"" and t != "str"):
                    out[key] = ("formula_no_value", _xml_text(fm.group(1)))
                else:
                    out[key] = ("formula", _xml_text(fm.group(1)))


_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
_ODS_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
_ODS_CALCEXT = "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0"
_ODS_NEEDLES = (b'value-type="error"',)


def _scan_ods(path: Path, sheet: str) -> dict[tuple[int, int], tuple[str, str | None]]:
    """Error cells in an .ods sheet (calamine reads them as blank); LibreOffice marks them
    ``calcext:value-type="error"``. Rows and cells may be repeated (``number-*-repeated``)."""
    from defusedxml import ElementTree as ET

    out: dict[tuple[int, int], tuple[str, str | None]] = {}
    t_table, t_row, t_cell = f"{{{_ODS_TABLE}}}table", f"{{{_ODS_TABLE}}}table-row", f"{{{_ODS_TABLE}}}table-cell"
    t_cov = f"{{{_ODS_TABLE}}}covered-table-cell"
    a_name, a_rrep = f"{{{_ODS_TABLE}}}name", f"{{{_ODS_TABLE}}}number-rows-repeated"
    a_crep, a_vt = f"{{{_ODS_TABLE}}}number-columns-repeated", f"{{{_ODS_CALCEXT}}}value-type"
    try:
        with zipfile.ZipFile(path) as zf:
            if "content.xml" not in zf.namelist() or not _has_needle(zf, "content.xml", _ODS_NEEDLES):
                return out
            with zf.open("content.xml") as f:
                in_sheet = False
                row = 0
                for event, el in ET.iterparse(f, events=("start", "end")):
                    if el.tag == t_table:
                        if event == "start":
                            in_sheet = el.get(a_name) == sheet
                            row = 0
                        else:
                            in_sheet = False
                            el.clear()
                        continue
                    if not in_sheet or event != "end" or el.tag != t_row:
                        continue
                    reps = int(el.get(a_rrep) or 1)
                    col = 0
                    for cell in el:
                        if cell.tag not in (t_cell, t_cov):
                            continue
                        creps = int(cell.get(a_crep) or 1)
                        if cell.get(a_vt) == "error":
                            text = "".join(cell.itertext()).strip() or "#ERROR"
                            for r in range(reps):
                                for c in range(creps):
                                    out[(row + r + 1, col + c)] = ("error", text)
                        col += creps
                    row += reps
                    el.clear()
    except (zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise _damaged(path, str(exc)[:120]) from None
    except Exception as exc:  # defusedxml refusals and XML syntax errors
        if exc.__class__.__name__ in ("ParseError", "DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
            raise _damaged(path, f"the sheet XML is not valid: {exc}") from None
        raise
    return out


# -- CSV --------------------------------------------------------------------------------------
def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str, list[Problem]]:
    problems: list[Problem] = []
    if encoding:
        try:
            return data.decode(encoding), encoding, problems
        except (UnicodeDecodeError, LookupError) as exc:
            raise FileReadError(f"the file cannot be read as {encoding}: {exc}",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig", problems
        except UnicodeDecodeError:
            raise FileReadError("the file says it is UTF-8 but contains bytes that are not",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16"), "utf-16", problems
        except UnicodeDecodeError:
            raise FileReadError("the file is UTF-16 text but is damaged (odd number of bytes or bad characters)",
                                "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)",
                                file=str(path)) from None
    if b"\x00" in data[:4096]:
        raise FileReadError("the file looks like UTF-16 text without a byte-order mark (or is not text at all)",
                            "save it again as CSV UTF-8 (Excel: File → Save As → CSV UTF-8)", file=str(path))
    try:
        return data.decode("utf-8"), "utf-8", problems
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    problems.append(Problem(None, None, None, "", None, "encoding.windows_1252", "warning",
                            "the file is not UTF-8; it was read as Windows-1252 (Excel's default 'CSV' on many PCs)",
                            "check accented letters and symbols in the report; next time save as CSV UTF-8"))
    return text, "cp1252", problems


def _csv_records(text: str):
    """(non-empty record, its first physical line) for each record; a quoted cell may span lines."""
    sample = text[:65536]
    dialect = None
    if "," not in sample.split("\n", 1)[0]:
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = None
    reader = csv.reader(io.StringIO(text, newline=""), dialect or "excel")
    prev_end = 0
    try:
        for r in reader:
            start = prev_end + 1
            prev_end = reader.line_num
            if r:
                yield r, start
    except csv.Error as exc:
        raise csv.Error(f"near line {reader.line_num}: {exc}") from None


def _read_csv(path: Path, encoding: str | None) -> Table:
    data = path.read_bytes()
    text, used, problems = _decode(path, data, encoding)
    if text.strip() == "":
        raise FileReadError("the file is empty (no header row)",
                            "export the inventory list again, or check that the file finished saving",
                            file=str(path))
    rows: list[list] = []
    starts: list[int] = []
    records: list[int] = []
    try:
        for rec, (r, start) in enumerate(_csv_records(text)):
            rows.append(r)
            starts.append(start)
            records.append(rec)
    except csv.Error as exc:
        raise FileReadError(f"the CSV is malformed: {exc}",
                            "check for an unclosed quote (\") in that line and the ones before it",
                            file=str(path)) from None
    table = _build(path, "csv", None, rows, {}, line_numbers=starts, record_numbers=records)
    table.problems[:0] = problems
    table.encoding = used
    return table


__all__ = ["Problem", "Table", "read_table", "read_table_with", "col_letter", "col_index", "match_header", "DATA_SHEET",
           "MANIFEST_SHEET", "ERROR_LITERALS"]
