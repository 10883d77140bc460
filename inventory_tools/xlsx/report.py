"""``validate --report OUT.xlsx``: a workbook a person reads without help.

* A ``Problems`` sheet at the front: one row per problem, sorted by row then column, with the
  product's ProductCode and Name beside it, the rule's plain-language title (``schemas/rules.csv``),
  the message and the fix wrapped in wide columns, the rule id in a narrow one, a link to the
  cell; the header frozen and filterable.
* The user's data sheet: every problem cell filled (red error, yellow warning) and commented,
  and the first cell of each row with a problem filled the same way, so filtering column A by
  colour shows only those rows.

An .xlsx of up to :data:`COPY_LIMIT` cells (its own and the Problems sheet's) is copied with openpyxl (formatting and other sheets
kept: :mod:`.report_copy`); larger files, .ods, .csv, and any workbook openpyxl cannot copy
(Strict OOXML, pivot tables, XML entities, characters it refuses...) are rebuilt from their
values (:mod:`.report_rebuilt`), so a report is written for every file ``validate`` can read.
Never writes a formula; the file appears under its name only once complete.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path


from .report_problems import PROBLEMS_HEAD

COPY_LIMIT = 400_000  # cells (file + Problems sheet): up to this, an .xlsx report is an openpyxl copy


def write_report(report, out) -> Path:
    """Write the report workbook to ``out``; see the module's description."""
    return write_report_noting(report, out)[0]


def write_report_noting(report, out) -> tuple[Path, str | None]:
    """:func:`write_report`, plus a note for the user when the workbook could not be copied
    as it is (then the report is rebuilt from the file's values)."""
    from . import report_copy, report_rebuilt

    out = Path(out)
    t = report.table
    # openpyxl's work: the file's cells and the Problems sheet's (one row of cells per problem)
    cells = len(t.row_numbers) * max(len(t.column_letters) + len(t.extra_columns), 1) + \
        len(report.problems) * len(PROBLEMS_HEAD)
    note = None
    if t.kind == "xlsx" and cells <= COPY_LIMIT:
        try:
            with _atomic(out) as tmp:
                report_copy.write(report, tmp)
            return out, None
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - openpyxl fails on many real files; the values remain
            note = (f"the workbook's formatting could not be copied ({_why(exc)}), so the report shows its "
                    "values on a plain sheet")
    with _atomic(out) as tmp:
        report_rebuilt.write(report, tmp)
    return out, note


def _why(exc: Exception) -> str:
    causes = [exc]
    while causes[-1].__context__ is not None and len(causes) < 5:
        causes.append(causes[-1].__context__)
    if any(type(c).__name__ in ("EntitiesForbidden", "DTDForbidden", "ExternalReferenceForbidden") for c in causes):
        return "a part of it declares XML entities"
    if type(exc).__name__ == "IllegalCharacterError":
        return "it holds characters openpyxl refuses"
    return "openpyxl cannot read or write everything it holds"


@contextlib.contextmanager
def _atomic(out: Path):
    """A temporary name beside ``out``, renamed to it on success, removed on failure."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
