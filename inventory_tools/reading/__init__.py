"""Read an edited inventory list (.xlsx, .ods, .csv) into a :class:`Table`.

The one reader behind ``validate`` and ``import``. What a file is comes from its bytes
(:mod:`.sniff`); .xlsx sheets are read by fastexcel straight into Arrow, column by column, into
per-column codes into distinct values (:mod:`.fast`, :mod:`.arrowcols`: text cells marked so a
typed number, boolean or date is never taken for text); what that cannot read exactly, and .ods,
by python-calamine (:mod:`.workbook`: numbers come back as float, empty cells as ``''``; rows
become codes chunk by chunk, :mod:`.build`). Both give the same :class:`Table`, value for value.
A byte-level scan of the sheet XML finds what the libraries hide: formulas without a cached
value, error cells, hidden rows, merged cells, and counts the cells by type (:mod:`.scan`). CSV is
read by :mod:`.csvfile`.

Nothing here judges values; that is :mod:`inventory_tools.validation`. Reading-level problems
(headers, error cells, encodings) are collected in ``Table.problems``; a file that cannot be
read at all raises :class:`~inventory_tools.errors.FileReadError` (exit 3) with a hint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..cellref import col_index, col_letter
from ..errors import FileReadError
from ..sheets import DATA_SHEET, MANIFEST_SHEET
from .build import CHUNK_ROWS, ERROR_LITERALS, chunks
from .headers import match_header
from .csvfile import read_csv
from .sniff import OLE_MAGIC, ole_error, text_kind, zip_kind
from .table import Problem, Table
from .workbook import read_workbook


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

    fastexcel (or python-calamine) parses on a worker thread without holding the GIL, so work this
    thread does meanwhile (reading the export snapshot from the store, say) costs no extra wall time on a
    machine with a second core. ``manifest`` is the workbook's ``_manifest`` (None for CSV). A
    file that cannot be read is reported before any error ``alongside`` raises.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(16)
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
    if head.startswith(OLE_MAGIC):
        ole_error(path)
    if head.startswith(b"PK"):
        kind = zip_kind(path)
        return read_workbook(path, kind, alongside)
    text_kind(path, _head(path), size)  # PDF, HTML, Excel 2003 XML, JSON... refused by their names
    if suffix in (".xlsx", ".xlsm", ".ods", ".xls"):
        hint = ("if it is really CSV or text, rename it to .csv; otherwise open it in Excel and save it as "
                "Excel Workbook (.xlsx)")
        raise FileReadError(f"this is not an Excel or OpenDocument workbook, although it is named {path.name}",
                            hint, file=str(path))
    table = read_csv(path, encoding)
    table.reader = "csv"
    return table, (alongside(None) if alongside else None)


def _head(path: Path, size: int = 1 << 16) -> bytes:
    with path.open("rb") as f:
        return f.read(size)


__all__ = ["Problem", "Table", "read_table", "read_table_with", "overlap_with_parse", "OVERLAP_MAX_ROWS",
           "col_letter", "col_index", "match_header", "chunks", "CHUNK_ROWS", "DATA_SHEET", "MANIFEST_SHEET",
           "ERROR_LITERALS"]
