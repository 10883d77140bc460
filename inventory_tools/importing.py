"""``import``: validate → plan → (confirm) → apply, all or nothing.

``history`` and ``undo`` live in :mod:`inventory_tools.undoing`, the results workbook in
:mod:`inventory_tools.results`, where files may be written in :mod:`inventory_tools.outputs`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import background
from . import columns as cols
from .changes import ApplyOutcome, CellChange, WriteEstimate
from .errors import DataError, ExitCode, UsageError
from .outputs import Target, finish, remove_quietly, temp_beside, write_error
from .plan import ACTIONS, POLICIES, ImportPlan, make_plan
from .results import WHAT as RESULTS, results_target, write_results
from .undoing import UndoPlan, UndoResult, history, plan_undo, undo  # noqa: F401 - the library's names
from ._lazy import lazy_import

pd = lazy_import("pandas", globals())  # imported on first use: while a sheet parses, not before (issue 17)
np = lazy_import("numpy", globals())

__all__ = ["ImportResult", "import_file", "plan_import", "resolve_base", "with_changes", "save_planned_rows",
           "planned_rows", "history", "undo", "plan_undo", "UndoPlan", "UndoResult"]
log = logging.getLogger(__name__)

#: ``confirm(plan)`` answers: True applies; these words say why nothing was applied otherwise.
DECLINED, NO_ANSWER = "declined", "no answer"


@dataclass
class ImportResult:
    import_id: int | None
    applied: bool
    plan: ImportPlan | None
    report: object  # validation.ValidationReport
    source: str
    base_export_id: str | None
    dry_run: bool = False
    results_path: str | None = None
    invalid_codes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    stopped_reason: str | None = None  # why nothing was applied
    estimate: WriteEstimate | None = None  # a remote store: how long its API will take
    consent: str | None = None  # DECLINED or NO_ANSWER: asked, and not told yes
    results_error: str | None = None  # applied, but the results workbook could not be written
    interrupted: bool = False  # applied, then interrupted (Ctrl-C) before the end
    blank_clears: bool = False  # without a base, blank cells clear values (the plan's words say so)

    @property
    def counts(self) -> dict[str, int]:
        if self.plan:
            return self.plan.counts()
        counts = {a: 0 for a in ACTIONS}
        counts["invalid"] = len(self.invalid_codes)
        return counts

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.results_error:
            return ExitCode.FAILED
        if self.consent == NO_ANSWER:
            return ExitCode.USAGE  # run where nobody can answer: --yes is missing
        if self.stopped_reason or self.invalid_codes or self.failed:
            return ExitCode.DATA
        if self.plan and self.plan.conflicts and self.plan.policy != "overwrite":
            return ExitCode.DATA  # conflicting cells were not applied: reported
        return ExitCode.OK

    def to_json(self) -> dict:
        plan = self.plan
        return {
            "import_id": self.import_id,
            "applied": self.applied,
            "dry_run": self.dry_run,
            "source": self.source,
            "base_export_id": self.base_export_id,
            "counts": self.counts,
            "changes": [{"code": c.code, "column": c.column, "old": c.old, "new": c.new}
                        for c in (plan.changes if plan else [])],
            "creates": list(plan.creates[cols.KEY]) if plan else [],
            "conflicts": [{"code": c.code, "column": c.column, "base": c.base, "file": c.file, "current": c.current}
                          for c in (plan.conflicts if plan else [])],
            "ignored": [{"code": i.code, "column": i.column, "file": i.file, "current": i.current,
                         "message": i.reason} for i in (plan.ignored if plan else [])],
            "failed": [{"code": k, "message": v} for k, v in self.failed.items()],
            "problems": [p.to_json() if hasattr(p, "to_json") else p for p in getattr(self.report, "problems", [])],
            "results": self.results_path,
            "results_error": self.results_error,
            "stopped": self.stopped_reason,
            "consent": self.consent,
            "interrupted": self.interrupted,
            "estimate": _estimate_json(self.estimate),
        }


def _estimate_json(estimate: WriteEstimate | None) -> str | None:
    from .render.render_import import estimate_text

    return estimate_text(estimate) if estimate is not None else None


def resolve_base(store, manifest: dict | None, base_export_id: str | None, source: str, *, load: bool = True):
    """The export snapshot to diff against: from the workbook's manifest or --base.

    Returns (export id, snapshot); with ``load=False`` only the checks run (snapshot None)."""
    export_id = base_export_id or (manifest or {}).get("export_id")
    if not export_id:
        return None, None
    if manifest and not base_export_id:
        their = manifest.get("store_id")
        if their and their != store.identity():
            raise DataError(f"{source} was exported from another store ({manifest.get('store') or their}), "
                            f"not from this one ({store.describe()})",
                            "import it into the store it came from (--store), or export a fresh list from this one")
    info = store.state.export_info(export_id)
    if info is None:
        raise DataError(f"export {export_id} is unknown to {store.describe()}",
                        "import into the store it was exported from, or export a fresh list")
    if not info.get("snapshot"):
        raise DataError(f"export {export_id} is too old: its snapshot was pruned",
                        "export a fresh list, copy your edits into it, and import that")
    return export_id, (store.state.export_snapshot(export_id) if load else None)


def plan_import(store, path: str, *, base_export_id: str | None = None, blank_clears: bool = False,
                on_conflict: str = "abort", skip_invalid: bool = False, keep_checked: bool = False,
                strict: bool = False):
    """Validate and plan without writing anything. Returns (report, plan | None, base_id, invalid codes).

    ``keep_checked``: leave the file as read and checked in the cache (``import --dry-run``:
    the import that follows need not read it again)."""
    if on_conflict not in POLICIES:
        raise UsageError(f"--on-conflict must be one of {', '.join(POLICIES)}")
    report, base_id, base = _checked(store, path, base_export_id, keep_checked, strict=strict,
                                     blank_clears=blank_clears)
    report.table.release_cells()
    frame = report.frame
    invalid_codes: list[str] = []
    if cols.KEY not in frame.columns:  # no ProductCode column (validation says so): nothing to plan
        return report, None, base_id, invalid_codes
    if report.errors:
        row_valid = np.asarray(report.row_valid, dtype=bool)
        invalid_codes = [c for c in frame.loc[~row_valid, cols.KEY] if c]
        if not skip_invalid or not row_valid.any() and len(frame):
            return report, None, base_id, invalid_codes
        frame = frame.loc[row_valid]
    codes = list(frame[cols.KEY])
    current = store.read_by_codes_since(codes, base_id, base) if base is not None else store.read_by_codes(codes)
    plan = make_plan(frame, current, base, blank_clears=blank_clears, policy=on_conflict)
    unknown = _unknown_references(store, plan, report)
    if unknown:
        report.problems.extend(unknown)
        report.errors += len(unknown)
        report.valid = False
        bad = {p.code for p in unknown}
        invalid_codes = list(dict.fromkeys(invalid_codes + sorted(bad)))
        if not skip_invalid:
            return report, None, base_id, invalid_codes
        plan = make_plan(frame[~frame[cols.KEY].isin(bad)], current, base, blank_clears=blank_clears,
                         policy=on_conflict)
    for code in invalid_codes:
        plan.outcome[code] = "invalid"
    return report, plan, base_id, invalid_codes


def _checked(store, path: str, base_export_id: str | None, keep: bool, *, strict: bool = False,
             blank_clears: bool = False):
    """(validation report, base export id, base snapshot): the file as ``validate`` (or a dry run)
    left it when these bytes were checked before, else read and checked now."""
    from .checked_file import CheckKey, open_checked
    from .reading import overlap_with_parse

    source = Path(path).name

    def base_for(manifest):
        return resolve_base(store, manifest, base_export_id, source, load=overlap_with_parse(manifest))

    def while_parsing(manifest):  # the export snapshot is read from the store while the sheet is parsed
        found = base_for(manifest)
        from .validation import checks  # noqa: F401  (pandera's imports, taken while the sheet parses)
        return found

    # (a file taken from the cache with its verdict is not checked again: pandera is not needed)
    checked, side, fresh = open_checked(path, while_parsing)
    base_id, base = side if fresh else base_for(checked.table.manifest)
    if base_id is not None and base is None:
        base = store.state.export_snapshot(base_id)
    options = CheckKey.options_for(strict=strict, blank_clears=blank_clears and base is None)
    report = checked.check(CheckKey.of(store, base_id, options), store=store, base=base, options=options)
    if keep:
        checked.keep()
    return report, base_id, base


def with_changes(frame: pd.DataFrame, changes: list[CellChange]) -> pd.DataFrame:
    """A copy of ``frame`` with the cell changes applied (the products as the plan leaves them)."""
    out = frame.reset_index(drop=True).copy()
    row_of = pd.Series(np.arange(len(out)), index=out[cols.KEY].to_numpy())
    by_column: dict[str, list[CellChange]] = {}
    for ch in changes:
        by_column.setdefault(ch.column, []).append(ch)
    for column, items in by_column.items():
        rows = row_of.reindex([c.code for c in items]).to_numpy()
        known = ~pd.isna(rows)
        values = out[column].to_numpy(dtype=object).copy()
        values[rows[known].astype(int)] = np.array([c.new for c in items], dtype=object)[known]
        out[column] = values
    return out


def _checks_references(store) -> bool:
    """Whether the store checks names against lists of its own (the embedded store does not: the
    products it would check need not even be built)."""
    from .stores.base import Store

    return type(store).check_references is not Store.check_references


def _unknown_references(store, plan: ImportPlan, report) -> list:
    """A remote store checks names (Category, UOM, tax rules...) against its own lists up front,
    so a typo fails in seconds, not forty minutes into a run of API calls."""
    if plan.empty or not _checks_references(store):
        return []
    touched = {c.code for c in plan.changes}
    before = plan.current[plan.current[cols.KEY].isin(touched)] if plan.current is not None else \
        store.read_by_codes(sorted(touched))
    after = pd.concat([plan.creates, with_changes(before, plan.changes)], ignore_index=True)
    from .reading import Problem

    table = report.table
    position = {code: i for i, code in enumerate(report.frame[cols.KEY])}
    problems = []
    for item in store.check_references(after):
        i = position.get(item["code"])
        row = int(table.row_numbers[i]) if i is not None else None
        letter = table.column_letters.get(item["column"], "")
        cell = f"{letter}{row}" if (row and letter and table.kind != "csv") else (
            f"record {row}" if row else item["code"])
        problem = Problem(sheet=table.sheet, row=row, column=item["column"], cell=cell, value=item["value"],
                          rule=item.get("rule", "reference.unknown"),
                          message=item["message"], hint=item.get("hint", ""), index=i)
        problem.code = item["code"]
        problems.append(problem)
    return problems


def import_file(store, path: str, *, dry_run: bool = False, on_conflict: str = "abort",
                skip_invalid: bool = False, base_export_id: str | None = None, blank_clears: bool = False,
                results: str | None = None, confirm: Callable[[ImportPlan], bool | None] | None = None,
                progress=None, strict: bool = False) -> ImportResult:
    """Validate, plan and (unless ``dry_run``) apply ``path``.

    ``confirm(plan)`` is asked before anything is written: True applies; False (declined) and
    None (no answer) leave everything as it was. Without ``confirm`` the caller's call is the yes.
    The results workbook goes to ``results`` (default FILE-results.xlsx; a dry run writes one only
    when asked); where it may go is checked before anything else is done. ``strict``: errors
    already in the store block too."""
    source = str(path)
    target = results_target(results, source, store) if results is not None or not dry_run else None
    report, plan, base_id, invalid = plan_import(store, path, base_export_id=base_export_id,
                                                  blank_clears=blank_clears, on_conflict=on_conflict, strict=strict,
                                                  skip_invalid=skip_invalid, keep_checked=dry_run)
    result = ImportResult(None, False, plan, report, source, base_id, dry_run=dry_run, invalid_codes=invalid,
                          blank_clears=blank_clears)
    if plan is not None and not plan.empty:
        result.estimate = store.write_estimate(plan.products_to_write)
    if plan is None:
        result.stopped_reason = "the file has invalid cells: nothing was applied"
    elif plan.blocked:
        result.stopped_reason = (f"{len(plan.conflicts)} conflicting cell(s): nothing was applied "
                                 "(--on-conflict skip or overwrite to go on)")
    if plan is not None and dry_run:
        save_planned_rows(store, plan, source)
    if dry_run or result.stopped_reason:
        if results is not None and plan is not None:
            _write_now(result, target, store, applied=False)
        return result
    if plan.empty and not store.unfinished_operation("import", source):
        if results is not None:
            _write_now(result, target, store, applied=True)
        return result
    if confirm is not None:
        answer = confirm(plan)
        if answer is not True:
            result.consent = DECLINED if answer is False else NO_ANSWER
            result.stopped_reason = ("the answer was not yes: nothing was applied" if answer is False else
                                     "no answer to the question (stdin closed, empty or not a terminal): "
                                     "nothing was applied")
            return result
    return _apply(store, result, target, progress)


def _write_now(result: ImportResult, target: Target, store, *, applied: bool) -> None:
    """The results workbook of an import that writes nothing to the store (a dry run, a refused
    plan, nothing to change): an error in writing it is the command's error."""
    tmp = _temp(target)
    try:
        write_results(tmp, result.report, result.plan, applied=applied)
        finish(tmp, target, ledger=store.state, kind="results")
    except OSError as exc:
        raise write_error(exc, target.path, RESULTS) from None
    finally:
        remove_quietly(tmp)
    result.results_path = str(target.path)


def _temp(target: Target) -> str:
    try:
        return temp_beside(target.path)
    except OSError as exc:
        raise write_error(exc, target.path, RESULTS) from None


def _apply(store, result: ImportResult, target: Target, progress) -> ImportResult:
    """Apply the plan; meanwhile (two cores) the results workbook is written under a temporary
    name, which takes the target's name only once the apply has committed. A failed apply leaves
    no workbook; a workbook that fails after the commit is reported after the applied import."""
    plan, report, source = result.plan, result.report, result.source
    counts = plan.counts()
    counts["invalid"] = len(result.invalid_codes)
    before = store.state.last_op_id()
    tmp = _temp(target)  # nothing is applied if even this fails
    # a remote store's per-product failures belong in the results: written after its apply
    task = background.beside(lambda: write_results(tmp, report, plan, applied=True),
                             on_orphan=lambda: remove_quietly(tmp), parallel=store.atomic)
    try:
        try:
            outcome = store.apply(plan.change_set(), kind="import", source=source, base_export_id=result.base_export_id,
                                  counts=counts, progress=progress)
        except KeyboardInterrupt:
            outcome = _committed_anyway(store, before, source)
            if outcome is None:
                raise
            result.interrupted = True
        _record(store, result, outcome)
        if not result.interrupted:
            _finish_results(store, result, task, tmp, target)
    except KeyboardInterrupt:
        if not result.applied:
            raise
        result.interrupted = True
    finally:
        task.cancel()
        remove_quietly(tmp)
    if result.interrupted and not result.results_path:
        result.results_error = "interrupted before the results workbook was written"
    return result


def _committed_anyway(store, before: int, source: str) -> ApplyOutcome | None:
    """After an interrupt inside ``apply``: the import, if it committed all the same (an
    embedded store commits at once; the interrupt may come just after)."""
    if not store.atomic:
        return None
    for op in store.state.operations(5):
        if op["op_id"] > before and op["kind"] == "import" and op["source"] == source and op["state"] == "applied":
            return ApplyOutcome(op_id=op["op_id"], created=[], updated=[], deleted=[])
    return None


def _record(store, result: ImportResult, outcome: ApplyOutcome) -> None:
    result.import_id, result.applied = outcome.op_id, True
    result.failed = dict(outcome.failed)
    for code, reason in result.failed.items():
        result.plan.outcome[code] = "failed"
        result.plan.messages[code] = reason
    save_planned_rows(store, None, result.source)  # an applied import makes any earlier dry-run plan stale


def _finish_results(store, result: ImportResult, task, tmp: str, target: Target) -> None:
    try:
        task.result()
        finish(tmp, target, ledger=store.state, kind="results")
        result.results_path = str(target.path)
    except OSError as exc:
        result.results_error = str(write_error(exc, target.path, RESULTS))
    except Exception as exc:  # noqa: BLE001 - the import is applied: say so, then why the workbook is missing
        log.debug("results workbook", exc_info=True)
        result.results_error = f"could not write the results workbook {target.path}: {exc}"


def save_planned_rows(store, plan: ImportPlan | None, source: str) -> None:
    """Keep the products as the latest dry-run plan would leave them, for ``export --changes-only``
    (``plan=None`` forgets them)."""
    if plan is None:
        store.state.save_planned(None)
        return
    touched = sorted({c.code for c in plan.changes})
    if plan.current is not None:  # the rows the plan already read: no second pass over the store
        before = plan.current[plan.current[cols.KEY].isin(touched)]
    else:
        before = store.read_by_codes(touched)
    after = with_changes(before, plan.changes) if touched else plan.creates.iloc[0:0]
    store.state.save_planned(pd.concat([after, plan.creates], ignore_index=True), source)


def planned_rows(store) -> tuple[pd.DataFrame, str | None]:
    """The products the latest dry run planned, as it would leave them (empty: none planned).
    Refused when the store changed since that dry run: its rows could bring back undone values."""
    frame, source, as_of = store.state.planned()
    if not frame.empty and as_of is not None and store.state.last_op_id() != as_of:
        raise UsageError(f"the store changed since the dry run of {source} (an import, sync or undo ran since): "
                         "its planned rows are out of date",
                         f"run inventory-tools import {source} --dry-run again, then export --changes-only")
    return frame, source
