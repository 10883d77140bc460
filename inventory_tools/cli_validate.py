"""``inventory-tools validate FILE``: every problem, at its cell."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import ExitCode, UsageError

REPORT_KINDS = (".xlsx", ".json")


def _lazy_store(ctx_obj):
    """The store, opened only if the file needs it; a SQLite path that does not exist yet is
    treated as an empty store (validate never creates one)."""
    from .stores import DEFAULT_STORE, STORE_ENV

    spec = ctx_obj.store_spec or os.environ.get(STORE_ENV) or DEFAULT_STORE
    if spec.lower() not in ("cin7core", "cin7", "dear") and not Path(spec).exists():
        return None
    return ctx_obj.store


def _release_cells(report) -> None:
    """The report writers need the problems, the cell addresses and each row's ProductCode and
    Name, not the other values: free them (a 100,000-row workbook's values are hundreds of MB)
    before the report reads the file again."""
    import gc

    from . import columns as cols

    report.table.release_cells()
    report.frame = report.frame[[c for c in (cols.KEY, "Name") if c in report.frame.columns]]
    gc.collect()


def _do_validate(ctx_obj, file: str, report_path: str | None, as_json: bool) -> int:
    from .cli import emit_json, say
    from .render.render_validate import summary_lines
    from .validation import write_json
    from .xlsx.report import write_report_noting

    if report_path is not None and Path(report_path).suffix.lower() not in REPORT_KINDS:
        raise UsageError(f"--report must end in .xlsx or .json, not '{Path(report_path).name}'",
                         "for example: --report problems.xlsx")
    if report_path is not None and Path(report_path).resolve() == Path(file).resolve():
        raise UsageError("--report would overwrite the file being checked",
                         "choose another name, for example --report problems.xlsx")
    if report_path is not None and not Path(report_path).resolve().parent.is_dir():
        raise UsageError(f"the folder for --report does not exist: {Path(report_path).parent}",
                         "create it first or choose another path")
    from .progress import progress_bar
    from .validation import prepare, progress_steps

    from . import checked_cache

    # the file as read last time (validate, fix, validate again...) unless its bytes changed
    digest = checked_cache.digest_if_enabled(file)
    entry = checked_cache.load(digest, file) if digest else None
    validation = prepare(file, store=_lazy_store(ctx_obj), table=entry.cells() if entry else None)
    with progress_bar(progress_steps(validation.table), "checking") as advance:
        report = validation.run(advance)
    if digest:  # for the import that follows
        checked_cache.save(digest, report.table, report, store=report.store_identity,
                           base_export_id=report.base_export_id, read_store=report.read_current)
    if as_json:
        emit_json(report.to_json())
    for line in summary_lines(report):
        say(line)
    if report_path is not None:
        out = Path(report_path)
        _release_cells(report)
        note = None
        try:
            if out.suffix.lower() == ".json":
                write_json(report, out)
            else:
                note = write_report_noting(report, out)[1]
        except OSError as exc:
            from .errors import FileReadError

            reason = "permission denied (is it open in Excel?)" if isinstance(exc, PermissionError) \
                else (exc.strerror or str(exc))
            raise FileReadError(f"cannot write the report {out}: {reason}",
                                "close the file or choose another name or folder") from None
        say(f"report written to {out}" + (f"; {note}" if note else ""))
    if report.valid:
        say(click.style("valid", fg="green") + (": warnings do not block import" if report.warnings else ""))
        return int(ExitCode.OK)
    say(click.style("invalid", fg="red", bold=True) + ": fix the errors above, then run validate again")
    return int(ExitCode.DATA)


@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--report", "report_path", metavar="OUT.xlsx|OUT.json",
              help="Also write a report: a copy of the workbook with every problem cell marked and a "
                   "Problems sheet (.xlsx), or the JSON report (.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report to stdout.")
@click.pass_context
def validate_command(ctx: click.Context, file: str, report_path: str | None, as_json: bool) -> None:
    """Check FILE (.xlsx, .ods or .csv) and report every problem at its cell.

    Errors block import; warnings do not. Exit status: 0 valid, 1 invalid, 2 usage error,
    3 file unreadable.

    \b
    Example:
      inventory-tools validate inventory.xlsx --report problems.xlsx
      inventory-tools validate cin7_export.csv --json > report.json
    """
    from .cli import handle_errors

    code = handle_errors(_do_validate)(ctx.obj, file, report_path, as_json)
    sys.exit(code)
