"""``history`` and ``undo``: every import, sync and undo can be taken back, cell by cell.

An undo restores the before-values its operation journaled. A product it created is removed
(on Cin7 Core, which has no delete: set to Deprecated); the removed product's values are
journaled, so undoing the undo creates it again. Cells (and products) changed since the
operation are conflicts, handled by ``--on-conflict`` as for an import, and the apply checks
once more that nothing moved between the plan and the write.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from . import columns as cols
from .changes import CellChange, ChangeSet, empty_products
from .errors import ExitCode, UsageError
from .plan import same_value, POLICIES, Conflict
from ._lazy import lazy_import

pd = lazy_import("pandas", globals())  # imported on first use (issue 17)

UNDOABLE = ("import", "sync", "undo")


def history(store, limit: int | None = 50) -> list[dict]:
    return store.state.operations(limit)


@dataclass
class UndoPlan:
    op: dict
    changes: list[CellChange]  # cells to restore (old: the store now, new: the value to restore)
    deletes: list[str]  # products the operation created, to remove
    conflicts: list[Conflict]
    recreates: pd.DataFrame = field(default_factory=empty_products)  # products an undo removed, to create again
    delete_expected: dict[str, dict[str, str]] = field(default_factory=dict)  # each as the plan saw it

    @property
    def empty(self) -> bool:
        return not self.changes and not self.deletes and self.recreates.empty

    def change_set(self) -> ChangeSet:
        return ChangeSet(creates=self.recreates, updates=list(self.changes), deletes=list(self.deletes),
                         delete_expected=dict(self.delete_expected))


def _target(store, op_id: int | None) -> dict:
    if op_id is None:
        ops = [o for o in store.state.operations() if o["kind"] in UNDOABLE and o["state"] == "applied"]
        if not ops:
            raise UsageError("there is nothing to undo", "see inventory-tools history")
        return ops[0]
    op = store.state.operation(op_id)
    if op is None:
        raise UsageError(f"no import, sync or undo #{op_id}", "see inventory-tools history for ids")
    if op["kind"] not in UNDOABLE:
        raise UsageError(f"#{op_id} is an {op['kind']}, which cannot be undone")
    if op["state"] != "applied":
        raise UsageError(f"#{op_id} is {op['state']}, not applied: nothing to undo")
    return op


class _Planner:
    """Turns an operation's journal into an :class:`UndoPlan` against the store as it is now."""

    def __init__(self, store, op: dict, on_conflict: str):
        self.op, self.overwrite = op, on_conflict == "overwrite"
        self.entries = [e for e in store.state.journal(op["op_id"]) if e[5]]  # done entries only
        touched = list(dict.fromkeys(e[0] for e in self.entries))
        self.current = store.read_by_codes(touched).set_index(cols.KEY, drop=False)
        self.last_ops = store.last_ops(touched)
        self.plan = UndoPlan(op, [], [], [])
        self.recreated: list[dict[str, str]] = []
        self.redone_by = _redone_by(store.state.operations(), op["op_id"])

    def run(self) -> UndoPlan:
        for code, action, column, old, new, _done in self.entries:
            if action == "create":
                self._remove(code)
            elif action == "delete" and column is None:  # a product deleted with its values: create it again
                self._recreate(code, json.loads(old) if old else None)
            else:  # an update, or a deprecation standing in for a delete (Cin7 Core)
                self._restore(code, column, old, new)
        if self.recreated:
            self.plan.recreates = pd.DataFrame(self.recreated, columns=list(cols.names())).astype(object)
        return self.plan

    def _conflict(self, code: str, column: str, wrote: str, restore: str, now: str) -> bool:
        """Record a conflict; True if the undo goes on with this item anyway (overwrite)."""
        self.plan.conflicts.append(Conflict(code, column, wrote, restore, now))
        return self.overwrite

    def _row(self, code: str) -> dict[str, str] | None:
        if code not in self.current.index:
            return None
        return {n: self.current.at[code, n] for n in cols.names()}

    def _remove(self, code: str) -> None:
        row = self._row(code)
        if row is None:
            return  # already gone
        changed = self.last_ops.get(code, self.op["op_id"]) not in self.redone_by or self._edited_elsewhere(code, row)
        if changed and not self._conflict(code, "(product)", "(created by this operation)", "(remove)",
                                          "(changed since)"):
            return
        self.plan.deletes.append(code)
        self.plan.delete_expected[code] = row

    def _edited_elsewhere(self, code: str, row: dict[str, str]) -> bool:
        """A product created by a remote store's run (its rows are kept with the operation) that now
        holds another value in a cell the run set: edited since, outside this tool."""
        created = (self.op.get("detail") or {}).get("create_rows", {}).get(code) or {}
        return any(value and name != cols.STATUS and name in row and not same_value(cols.column(name), row[name], value)
                   for name, value in created.items())

    def _recreate(self, code: str, values: dict | None) -> None:
        if values is None:
            return
        values = {n: str(values.get(n) or "") for n in cols.names()}
        row = self._row(code)
        if row is None:
            self.recreated.append(values)
            return
        if row == values:
            return  # already back as it was
        if self._conflict(code, "(product)", "(removed by this undo)", "(create again)", "(created again since)"):
            for name in cols.names():
                if row[name] != values[name]:
                    self.plan.changes.append(CellChange(code, name, row[name], values[name]))

    def _restore(self, code: str, column: str, old: str | None, new: str | None) -> None:
        row = self._row(code)
        if row is None:
            return
        now, old, new = row[column], old or "", new or ""
        if now == old:
            return
        if now != new and not self._conflict(code, column, new, old, now):
            return
        self.plan.changes.append(CellChange(code, column, now, old))


def _redone_by(ops: list[dict], op_id: int) -> set[int]:
    """``op_id`` and every undo of an undo of it (a redo, which wrote the same values again)."""
    undo_of = {o["op_id"]: o["undo_of"] for o in ops if o["kind"] == "undo" and o["undo_of"] is not None}
    same = {op_id}
    for op in sorted(undo_of):  # a redo comes after what it redoes
        if undo_of.get(undo_of[op]) in same:
            same.add(op)
    return same


def plan_undo(store, op_id: int | None, *, on_conflict: str = "abort") -> UndoPlan:
    """What undoing ``op_id`` (default: the latest applied import, sync or undo) would write."""
    return _Planner(store, _target(store, op_id), on_conflict).run()


@dataclass
class UndoResult:
    undo_id: int | None
    applied: bool
    plan: UndoPlan
    policy: str = "abort"
    dry_run: bool = False
    consent: str | None = None  # "declined" or "no answer" when asked and not told yes

    @property
    def blocked(self) -> bool:
        return bool(self.plan.conflicts) and self.policy == "abort"

    def to_json(self) -> dict:
        p = self.plan
        return {
            "import_id": self.undo_id, "undo_of": p.op["op_id"], "applied": self.applied, "dry_run": self.dry_run,
            "counts": {"create": len(p.recreates), "update": len({c.code for c in p.changes}), "unchanged": 0,
                       "conflict": len({c.code for c in p.conflicts}), "invalid": 0, "skipped": 0, "failed": 0,
                       "delete": len(p.deletes)},
            "changes": [{"code": c.code, "column": c.column, "old": c.old, "new": c.new} for c in p.changes],
            "deletes": p.deletes,
            "creates": list(p.recreates[cols.KEY]),
            "conflicts": [{"code": c.code, "column": c.column, "base": c.base, "file": c.file, "current": c.current}
                          for c in p.conflicts],
            "problems": [],
            "consent": self.consent,
        }

    @property
    def exit_code(self) -> ExitCode:
        if self.consent == "no answer":
            return ExitCode.USAGE
        if self.consent == "declined":
            return ExitCode.DATA
        return ExitCode.DATA if self.blocked else ExitCode.OK


def undo(store, op_id: int | None = None, *, on_conflict: str = "abort", dry_run: bool = False,
         confirm: Callable[[UndoPlan], bool | None] | None = None) -> UndoResult:
    """Undo an operation. ``confirm(plan)`` is asked before anything is written: True applies,
    False (declined) and None (no answer) do not. Without ``confirm`` the caller's call is the yes."""
    if on_conflict not in POLICIES:
        raise UsageError(f"--on-conflict must be one of {', '.join(POLICIES)}")
    up = plan_undo(store, op_id, on_conflict=on_conflict)
    result = UndoResult(None, False, up, on_conflict, dry_run=dry_run)
    if dry_run or result.blocked:
        return result
    if confirm is not None:
        answer = confirm(up)
        if answer is not True:
            result.consent = "declined" if answer is False else "no answer"
            return result
    counts = {"create": len(up.recreates), "update": len({c.code for c in up.changes}), "delete": len(up.deletes),
              "conflict": len({c.code for c in up.conflicts})}
    # The store marks the undone operation in the same transaction as the undo itself.
    outcome = store.apply(up.change_set(), kind="undo", source=f"undo #{up.op['op_id']}", base_export_id=None,
                          counts=counts, undo_of=up.op["op_id"])
    result.undo_id, result.applied = outcome.op_id, True
    return result
