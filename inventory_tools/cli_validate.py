"""``inventory-tools validate FILE``: every problem, at its cell."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from .errors import ExitCode

REPORT_KINDS = (".xlsx", ".json")


def _existing_store(ctx_obj):
    """The store if it exists (validate never creates one); None for a SQLite path not there yet."""
    from .stores import is_remote, store_spec

    spec = store_spec(ctx_obj.store_spec)
    if not is_remote(spec) and not Path(spec).exists():
        return None
    return ctx_obj.store()


def _do_validate(ctx_obj, file: str, report_path: str | None, as_json: bool, strict: bool = False) -> int:
    from .checked_file import validate_file
    from .cli_common import emit_json, say
    from .progress import progress_bar
    from .render.render_validate import summary_lines

    target = None
    if report_path is not None:  # the writers are imported only for a report (start-up: issue 17)
        from .outputs import atomic_write, check_target  # never over the store, FILE, or a file we did not write
        from .validation import write_json
        from .xlsx.report import write_report_noting

        target = check_target(report_path, what="report", reads=[file], store_path=ctx_obj.local_path(),
                              ledger=ctx_obj.ledger(), suffixes=REPORT_KINDS)
    with contextlib.ExitStack() as stack:
        checked, report = validate_file(
            file, store=_existing_store(ctx_obj), strict=strict,
            progress_total=lambda n: stack.enter_context(progress_bar(n, "checking")))
    if as_json:
        emit_json(report.to_json())
    for line in summary_lines(report):
        say(line)
    if report_path is not None:
        out = Path(report_path)
        checked.release_cells(report)
        note = None
        with atomic_write(target, ledger=ctx_obj.ledger(), kind="report") as tmp:
            if out.suffix.lower() == ".json":
                write_json(report, tmp)
            else:
                note = write_report_noting(report, tmp)[1]
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
@click.option("--strict", is_flag=True,
              help="Errors already in the store, in cells the file did not change, block too (by default they "
                   "are reported apart and do not block).")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report to stdout.")
@click.pass_context
def validate_command(ctx: click.Context, file: str, report_path: str | None, strict: bool, as_json: bool) -> None:
    """Check FILE (.xlsx, .ods or .csv) and report every problem at its cell.

    Errors block import; warnings do not. Exit status: 0 valid, 1 invalid, 2 usage error,
    3 file unreadable.

    \b
    Example:
      inventory-tools validate inventory.xlsx --report problems.xlsx
      inventory-tools validate cin7_export.csv --json > report.json
    """
    from .cli_common import handle_errors

    code = handle_errors(_do_validate)(ctx.obj, file, report_path, as_json, strict)
    sys.exit(code)
