"""``import``: validate → plan → (confirm) → apply, all or nothing; plus ``history`` and ``undo``."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import columns as cols
from .errors import DataError, ExitCode, UsageError
from .plan import ACTIONS, POLICIES, Conflict, ImportPlan, make_plan
from .changes import CellChange, ChangeSet, WriteEstimate, empty_products


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

    @property
    def counts(self) -> dict[str, int]:
        if self.plan:
            return self.plan.counts()
        counts = {a: 0 for a in ACTIONS}
        counts["invalid"] = len(self.invalid_codes)
        return counts

    @property
    def exit_code(self) -> ExitCode:
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
            "stopped": self.stopped_reason,
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
            raise DataError(f"{source} was exported from another store ({manifest.get('store') or their})",
                            f"import it into that store, or export a fresh list from {store.describe()}")
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

    def base_for(manifest):  # the export snapshot is read from the store while the sheet is parsed
        return resolve_base(store, manifest, base_export_id, source, load=overlap_with_parse(manifest))

    checked, side, fresh = open_checked(path, base_for)
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


def _unknown_references(store, plan: ImportPlan, report) -> list:
    """A remote store checks names (Category, UOM, tax rules...) against its own lists up front,
    so a typo fails in seconds, not forty minutes into a run of API calls."""
    if plan.empty:
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
                          rule=item.get("rule", "reference.unknown"), severity=item.get("severity", "error"),
                          message=item["message"], hint=item.get("hint", ""), index=i)
        problem.code = item["code"]
        problems.append(problem)
    return problems


def import_file(store, path: str, *, dry_run: bool = False, on_conflict: str = "abort",
                skip_invalid: bool = False, base_export_id: str | None = None, blank_clears: bool = False,
                results: str | None = None, confirm: Callable[[ImportPlan], bool] | None = None,
                progress=None, strict: bool = False) -> ImportResult:
    source = str(path)
    report, plan, base_id, invalid = plan_import(store, path, base_export_id=base_export_id,
                                                  blank_clears=blank_clears, on_conflict=on_conflict, strict=strict,
                                                  skip_invalid=skip_invalid, keep_checked=dry_run)
    result = ImportResult(None, False, plan, report, source, base_id, dry_run=dry_run, invalid_codes=invalid)
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
        if results and plan is not None:
            result.results_path = write_results(results, report, plan, applied=False)
        return result
    resuming = store.unfinished_operation("import", source)
    if plan.empty and not resuming:
        result.results_path = write_results(results or default_results_path(path), report, plan, applied=True) \
            if results else None
        return result
    if confirm is not None and not confirm(plan):
        result.stopped_reason = "cancelled: nothing was applied"
        return result
    counts = plan.counts()
    counts["invalid"] = len(invalid)
    out = results or default_results_path(path)

    def apply():
        return store.apply(plan.change_set(), kind="import", source=source, base_export_id=base_id,
                           counts=counts, progress=progress)

    written = False
    if store.atomic:  # all or nothing: the results are known before the apply
        outcome, written = _apply_while_writing(apply, lambda tmp: write_results(out, report, plan, applied=True,
                                                                                 part=tmp), out)
    else:  # a remote store's per-product failures belong in the results
        outcome = apply()
    result.import_id = outcome.op_id
    result.applied = True
    save_planned_rows(store, None, source)  # an applied import makes any earlier dry-run plan stale
    result.failed = dict(outcome.failed)
    for code in result.failed:
        plan.outcome[code] = "failed"
        plan.messages[code] = result.failed[code]
    if not written:
        write_results(out, report, plan, applied=True)
    result.results_path = out
    return result


def _apply_while_writing(apply, write, out: str):
    """Run ``apply()`` while a forked copy of this process writes the results workbook (two
    cores: the workbook costs no extra time). The workbook takes its real name only once the
    apply has succeeded; if the apply fails, the copy is stopped and its file removed. Where
    fork does not exist (Windows), the caller writes the workbook afterwards.

    Returns (the apply's outcome, whether the workbook was written)."""
    import signal

    if not hasattr(os, "fork"):
        return apply(), False
    tmp = f"{out}.{os.getpid()}.part"
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the copy: write, then leave without running any of the parent's cleanup
        code = 1
        try:
            write(tmp)
            code = 0
            if os.getppid() != parent:  # the import was killed: leave nothing behind
                os.remove(tmp)
        except BaseException:  # noqa: BLE001 - reported through the exit code
            pass
        finally:
            os._exit(code)
    try:
        outcome = apply()
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        _remove(tmp)
        raise
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) == 0 and os.path.exists(tmp):
        os.replace(tmp, out)
        return outcome, True
    _remove(tmp)  # the caller writes it again, in this process, and reports any error
    return outcome, False


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass


PLANNED = "__planned__"


def save_planned_rows(store, plan: ImportPlan | None, source: str) -> None:
    """Keep the products as the latest dry-run plan would leave them, for ``export --changes-only``
    (``plan=None`` forgets them)."""
    if plan is None:
        with store.state.transaction() as db:
            db.execute("DELETE FROM export_rows WHERE export_id=?", (PLANNED,))
        return
    touched = sorted({c.code for c in plan.changes})
    if plan.current is not None:  # the rows the plan already read: no second pass over the store
        before = plan.current[plan.current[cols.KEY].isin(touched)]
    else:
        before = store.read_by_codes(touched)
    after = with_changes(before, plan.changes) if touched else plan.creates.iloc[0:0]
    rows = pd.concat([after, plan.creates], ignore_index=True)
    with store.state.transaction() as db:
        db.execute("DELETE FROM export_rows WHERE export_id=?", (PLANNED,))
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('planned_source', ?)", (source,))
        store.state.insert_rows(db, PLANNED, rows)


def planned_rows(store) -> tuple[pd.DataFrame, str | None]:
    return store.state.export_snapshot(PLANNED), store.state.meta("planned_source")


def default_results_path(path: str) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}-results.xlsx"))


# -- results workbook --------------------------------------------------------------------------
OUTCOME_WORDS = {"create": "created", "update": "updated", "unchanged": "unchanged", "conflict": "conflict",
                 "invalid": "invalid", "skipped": "skipped", "failed": "failed"}


def write_results(out: str, report, plan: ImportPlan, *, applied: bool, part: str | None = None) -> str:
    """Every row of the file with its outcome and reason; changed cells highlighted.

    Written to a temporary name and renamed to ``out``; with ``part``, left under that name
    (the caller renames it when the import it describes has been applied)."""
    from .xlsx import CodedColumn, ColumnSpec, PlainSheet, XlsxWriter

    frame = report.frame.reset_index(drop=True)
    present = [c for c in cols.names() if c in frame.columns]
    outcome = frame[cols.KEY].map(lambda c: plan.outcome.get(c, "invalid"))
    def word(action: str) -> str:
        text = OUTCOME_WORDS.get(action, action)
        return f"would be {text}" if not applied and action in ("create", "update") else text

    words = outcome.map(word)
    row_of = {code: i for i, code in enumerate(frame[cols.KEY])}
    parts: dict[int, list[str]] = {}  # most rows have no message: fill only those that do
    for code, text in plan.messages.items():
        if text and code in row_of:
            parts.setdefault(row_of[code], []).append(text)
    for i, texts in _row_messages(report).items():
        parts.setdefault(i, []).extend(texts)
    messages = np.full(len(frame), "", dtype=object)
    for i, texts in parts.items():
        messages[i] = "; ".join(texts)
    out_frame = pd.DataFrame({"Result": words.to_numpy(dtype=object), "Message": messages})
    # validation's columns as categories: each value's cell is built once, not once per chunk
    coded = {c: CodedColumn(np.asarray(cat.codes), cat.categories) for c, cat in
             getattr(report, "categorical", {}).items()
             if c in present and len(cat) == len(frame) and not (np.asarray(cat.codes) < 0).any()}
    for c in present:
        if c not in coded:
            out_frame[c] = frame[c].to_numpy(dtype=object)
    highlight: dict[str, np.ndarray] = {}
    comments: list[tuple[int, int, str]] = []
    col_of = {c: j + 2 for j, c in enumerate(present)}  # after Result and Message
    notes = [(ch.code, ch.column, f"{_note(ch.old)} → {_note(ch.new)}") for ch in plan.changes] + \
        [(c.code, c.column, f"conflict: exported {_note(c.base)}, your file {_note(c.file)}, "
                            f"store now {_note(c.current)}") for c in plan.conflicts]
    for code, column, text in notes:
        if column in col_of and code in row_of:
            if column not in highlight:
                highlight[column] = np.zeros(len(frame), dtype=bool)
            highlight[column][row_of[code]] = True
            comments.append((row_of[code], col_of[column], text))
    specs = [ColumnSpec("Result", "text", width=14), ColumnSpec("Message", "text", width=50)]
    for c in present:
        col = cols.column(c)
        specs.append(ColumnSpec(c, "number" if col.is_numeric else "text", width=col.width, decimals=col.decimals,
                                read_only=col.read_only))
    writer = XlsxWriter(out, data_sheet="Results", specs=specs)
    change_rows = [["ProductCode", "Column", "Old (store)", "New (file)"]] + \
        [[c.code, c.column, c.old, c.new] for c in plan.changes[:100_000]]
    writer.add_sheet(PlainSheet("Changes", change_rows, widths=[20, 20, 40, 40]))
    conflict_rows = [["ProductCode", "Column", "Base (export)", "File", "Current (store)"]] + \
        [[c.code, c.column, c.base, c.file, c.current] for c in plan.conflicts[:100_000]]
    writer.add_sheet(PlainSheet("Conflicts", conflict_rows, widths=[20, 20, 30, 30, 30]))
    tmp = part or out + ".part"
    writer.path = tmp
    writer.write(out_frame, highlight=highlight, comments=comments, coded=coded)
    if part is None:
        os.replace(tmp, out)
    return out


def _note(value: str) -> str:
    return "(blank)" if value == "" else (value if len(value) <= 200 else value[:199] + "…")


def _row_messages(report) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    index_of_row = getattr(report, "index_of_row", None)
    for p in getattr(report, "problems", []):
        if getattr(p, "severity", "error") != "error":
            continue
        idx = getattr(p, "index", None)
        if idx is None and index_of_row is not None:
            idx = index_of_row(p.row)
        if idx is not None:
            out.setdefault(int(idx), []).append(f"{p.cell}: {p.message}")
    return out


# -- history and undo ---------------------------------------------------------------------------
def history(store, limit: int | None = 50) -> list[dict]:
    return store.state.operations(limit)


@dataclass
class UndoPlan:
    op: dict
    changes: list[CellChange]
    deletes: list[str]
    conflicts: list[Conflict]


def plan_undo(store, op_id: int | None, *, on_conflict: str = "abort") -> UndoPlan:
    ops = [o for o in store.state.operations() if o["kind"] in ("import", "sync") and o["state"] == "applied"]
    if op_id is None:
        if not ops:
            raise UsageError("there is nothing to undo", "see inventory-tools history")
        op = ops[0]
    else:
        op = store.state.operation(op_id)
        if op is None:
            raise UsageError(f"no import or sync #{op_id}", "see inventory-tools history for ids")
        if op["kind"] not in ("import", "sync"):
            raise UsageError(f"#{op_id} is an {op['kind']}, which cannot be undone")
        if op["state"] != "applied":
            raise UsageError(f"#{op_id} is {op['state']}, not applied: nothing to undo")
    entries = store.state.journal(op["op_id"])
    touched = list(dict.fromkeys(e[0] for e in entries))
    current = store.read_by_codes(touched).set_index(cols.KEY)
    last_ops = store.last_ops(touched)
    changes: list[CellChange] = []
    deletes: list[str] = []
    conflicts: list[Conflict] = []
    for code, action, column, old, new, done in entries:
        if not done:
            continue
        if action == "create":
            if code not in current.index:
                continue  # already gone
            if last_ops.get(code, op["op_id"]) != op["op_id"]:
                conflicts.append(Conflict(code, "(product)", "(created by this import)", "(remove)",
                                          "(changed since)"))
                if on_conflict != "overwrite":
                    continue
            deletes.append(code)
        elif action == "update":
            if code not in current.index:
                continue
            now = current.at[code, column]
            if now == old:
                continue
            if now != new:
                conflicts.append(Conflict(code, column, new, old, now))
                if on_conflict != "overwrite":
                    continue
            changes.append(CellChange(code, column, now, old))
    return UndoPlan(op, changes, deletes, conflicts)


@dataclass
class UndoResult:
    undo_id: int | None
    applied: bool
    plan: UndoPlan
    policy: str = "abort"

    def to_json(self) -> dict:
        p = self.plan
        return {
            "import_id": self.undo_id, "undo_of": p.op["op_id"], "applied": self.applied,
            "counts": {"create": 0, "update": len({c.code for c in p.changes}), "unchanged": 0,
                       "conflict": len({c.code for c in p.conflicts}), "invalid": 0, "skipped": 0, "failed": 0,
                       "delete": len(p.deletes)},
            "changes": [{"code": c.code, "column": c.column, "old": c.old, "new": c.new} for c in p.changes],
            "deletes": p.deletes,
            "conflicts": [{"code": c.code, "column": c.column, "base": c.base, "file": c.file, "current": c.current}
                          for c in p.conflicts],
            "problems": [],
        }

    @property
    def exit_code(self) -> ExitCode:
        unresolved = self.plan.conflicts and self.policy != "overwrite"
        return ExitCode.DATA if unresolved else ExitCode.OK


def undo(store, op_id: int | None = None, *, on_conflict: str = "abort", dry_run: bool = False) -> UndoResult:
    if on_conflict not in POLICIES:
        raise UsageError(f"--on-conflict must be one of {', '.join(POLICIES)}")
    up = plan_undo(store, op_id, on_conflict=on_conflict)
    if dry_run or (up.conflicts and on_conflict == "abort"):
        return UndoResult(None, False, up, on_conflict)
    changes = ChangeSet(creates=empty_products(), updates=up.changes, deletes=up.deletes)
    counts = {"update": len({c.code for c in up.changes}), "delete": len(up.deletes), "conflict": len(up.conflicts)}
    # The store marks the undone operation in the same transaction as the undo itself.
    outcome = store.apply(changes, kind="undo", source=f"undo #{up.op['op_id']}", base_export_id=None,
                          counts=counts, undo_of=up.op["op_id"])
    return UndoResult(outcome.op_id, True, up, on_conflict)
