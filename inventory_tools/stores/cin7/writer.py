"""Applying a change set to Cin7 Core: product by product, journaled, resumable.

For each product: one GET of it exactly as Cin7 holds it now (with its supplier, reorder and
bill-of-materials lines), then one write: POST for a new product, PUT of that fresh read with only
the planned cells applied (so the write is right whether Cin7's PUT merges or replaces, and a
change someone made in Cin7 during the run is kept). At most 2 calls per product.

* A planned cell Cin7 now holds differently from what the plan saw is a conflict, handled by the
  change set's ``on_conflict``: ``abort`` leaves the product untouched, ``skip`` writes its other
  cells, ``overwrite`` writes the file's value. Either way it is reported.
* A product Cin7 refuses (a validation error, or a 5xx on every retry) is recorded as failed with
  Cin7's message and the run goes on. Three products in a row failing with 5xx mean Cin7 itself is
  failing: the run stops (resumable) rather than grind through the catalogue.
* If Cin7 refuses ``Status: "Setup required"`` on create, that is said once (a notice) and no
  further product is sent with it; none is ever created under another status.
* Journal (``journal.done``): 1 applied, 2 sent but unconfirmed (settled against Cin7's fresh read
  on the next run), 0 pending or failed (the reason in the operation's ``detail["failed"]``).
  Ctrl-C, a crash or a network loss leaves the operation ``interrupted``; re-running the same
  (kind, source) adopts it. A create whose answer was lost is looked up by SKU, never re-sent blind.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from ... import columns as cols
from ...changes import ApplyOutcome, ChangeSet
from ...errors import RemoteError, StoreError
from ...values import fold
from ...http import MaybeSentError, ServerError
from .client import Cin7NotJson, Cin7Refused
from .fields import (CREATE_DEFAULTS, SETUP_REQUIRED_WIRE, create_body, is_setup_required, is_writable, product_to_row,
                     put_body, same, unwritable_reason)
from .references import RULES

log = logging.getLogger("inventory_tools.cin7")

PENDING, SENT, DONE, FAILED = 0, 2, 1, 0
#: Products failing in a row with 5xx before the run stops (Cin7 itself is failing, not one product).
SERVER_FAILURES_IN_A_ROW = 3
CREATE_TRIES = 3
SETUP_REQUIRED_REFUSED = "setup_required_refused"


@dataclass
class Entry:
    rowid: int
    code: str
    action: str  # create | update | delete
    col: str | None
    old: str
    new: str
    done: int


@dataclass
class _Run:
    op_id: int
    policy: str
    failed: dict[str, str] = field(default_factory=dict)
    notices: list[dict] = field(default_factory=list)
    setup_refused_by: str | None = None  # the product whose create Cin7 refused for its status
    server_failures: int = 0
    #: code → the product as the undo planned to remove it: changed since, it is not deprecated
    delete_expected: dict[str, dict[str, str]] = field(default_factory=dict)


def _mentions_status(exc: Cin7Refused) -> bool:
    return "status" in exc.answer.casefold() or "setup required" in exc.answer.casefold()


class Cin7Writer:
    def __init__(self, store):
        self.store = store
        self.client = store.client
        self.state = store.state
        self.db = store.db

    # -- the run ------------------------------------------------------------------------------------
    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None, counts: dict,
              progress=None, undo_of: int | None = None, detail: dict | None = None) -> ApplyOutcome:
        resume = self.store.unfinished_operation(kind, source)
        op_id = self._open(changes, resume, kind=kind, source=source, base_export_id=base_export_id,
                           counts=counts, undo_of=undo_of, detail=detail)
        run = _Run(op_id, changes.on_conflict,
                   delete_expected=(self.state.operation(op_id) or {}).get("detail", {}).get("delete_expected", {}))
        pending = self._pending(op_id)
        total, done_n = len(pending), 0
        state = "interrupted"
        try:
            for code, entries in pending.items():
                reason = self._product(run, code, entries)
                if reason:
                    run.failed[code] = reason
                done_n += 1
                if progress is not None:  # the project's advance(n) (see inventory_tools.progress)
                    progress(1)
            state = "applied"
        except RemoteError as exc:  # network, auth, a limit that ends the day: the journal is kept
            exc.hint = (f"{done_n} of {total} products were handled before it stopped (operation #{op_id}); "
                        "re-run the same command to resume: nothing is written twice")
            raise
        finally:
            self._finish(run, state, counts)
        created, updated, deleted = self._done_codes(op_id)
        return ApplyOutcome(op_id=op_id, created=created, updated=updated, deleted=deleted, failed=run.failed,
                            notices=run.notices)

    def _open(self, changes: ChangeSet, resume: dict | None, *, kind, source, base_export_id, counts, undo_of,
              detail) -> int:
        entries = []
        if not changes.creates.empty:
            for code in changes.creates[cols.KEY].tolist():
                entries.append((str(code).strip(), "create", None, None, None))
        for ch in changes.updates:
            entries.append((ch.code, "update", ch.column, ch.old, ch.new))
        for code in changes.deletes:
            entries.append((code, "delete", cols.STATUS, "", cols.DEPRECATED))  # old: filled from the fresh read
        create_rows = {}
        if not changes.creates.empty:
            for rec in changes.creates[list(cols.names())].to_dict("records"):
                create_rows[str(rec[cols.KEY]).strip()] = {k: ("" if v is None else str(v)) for k, v in rec.items()}
        with self.state.transaction() as db:
            if resume:
                op_id = resume["op_id"]
                # Entries never sent are dropped: the re-planned change set says what is still needed.
                # Sent ones stay: the product's fresh read settles them.
                self.state.drop_entries(db, op_id, PENDING)
                have = {(c, a, col, new) for c, a, col, _old, new, d in self.state.journal(op_id) if d in (DONE, SENT)}
                entries = [e for e in entries if (e[0], e[1], e[2], e[4]) not in have]
                prior = resume["detail"].get("create_rows", {})
                det = {**resume["detail"], "create_rows": {**prior, **create_rows},
                       "delete_expected": {**resume["detail"].get("delete_expected", {}), **changes.delete_expected},
                       "resumed": resume["detail"].get("resumed", 0) + 1}
                self.state.reopen_operation(db, op_id, det)
            else:
                det = {**(detail or {}), "store": self.store.identity(), "create_rows": create_rows,
                       "delete_expected": changes.delete_expected}
                op_id = self.state.begin_operation(db, kind=kind, source=source, base_export_id=base_export_id,
                                                   counts=counts, state="running", undo_of=undo_of, detail=det)
            self.state.journal_add(db, op_id, entries, done=PENDING)
        return op_id

    def _pending(self, op_id: int) -> dict[str, list[Entry]]:
        rows = self.state.journal_entries(op_id, (PENDING, SENT))
        out: dict[str, list[Entry]] = {}
        for r in rows:
            out.setdefault(r[1], []).append(Entry(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6]))
        return out

    def _mark(self, rowids, done: int) -> None:
        rowids = list(rowids)
        if rowids:
            with self.state.transaction() as db:
                self.state.set_entries_state(db, rowids, done)

    def _fail(self, entries: list[Entry], reason: str) -> str:
        self._mark((e.rowid for e in entries), FAILED)
        return reason

    # -- one product ------------------------------------------------------------------------------
    def _product(self, run: _Run, code: str, entries: list[Entry]) -> str | None:
        """Write one product; journal it. Returns a failure reason, or None when applied."""
        try:
            if any(e.action == "create" for e in entries):
                reason = self._create(run, code, entries)
            else:
                reason = self._update(run, code, entries)
        except Cin7Refused as exc:
            return self._fail(entries, exc.message)
        except ServerError as exc:
            return self._server_failed(run, entries, exc.message)
        run.server_failures = 0
        return reason

    def _server_failed(self, run: _Run, entries: list[Entry], message: str) -> str:
        reason = self._fail(entries, message)
        run.server_failures += 1
        if run.server_failures >= SERVER_FAILURES_IN_A_ROW:
            run.failed[entries[0].code] = reason
            raise RemoteError(f"Cin7 Core failed with server errors for {run.server_failures} products in a row "
                              f"(last: {message}); stopped")
        return reason

    def _reference_problems(self, row: dict[str, str]) -> list[str]:
        """Cin7's reference rules for the names ``row`` sets (Cin7's own defaults need no look-up)."""
        touched = {c: v for c, v in row.items() if c in RULES and v.strip()
                   and fold(v) != fold(CREATE_DEFAULTS.get(c, ""))}
        if not touched:
            return []
        frame = pd.DataFrame([{cols.KEY: row.get(cols.KEY, ""), "Type": row.get("Type", ""), **touched}])
        return [p["message"] for p in self.store.reference_books().check(frame)]

    def _update(self, run: _Run, code: str, entries: list[Entry]) -> str | None:
        fresh = self.client.find_sku(code, fresh=True)
        if fresh is None:
            return self._fail(entries, f"{code} is not in Cin7 Core (deleted or renamed since the plan)")
        row = product_to_row(fresh)
        changes: dict[str, str] = {}
        applied: list[tuple[int, str]] = []  # (journal row, column) written by the PUT
        there, problems, skipped = [], [], []
        moved = [e for e in entries if e.action == "delete" and self._moved_since(run, code, row)]
        if moved and run.policy != "overwrite":  # an undo must not remove what was changed since
            return self._fail(moved, f"{code} changed in Cin7 Core since it was created "
                                     f"({', '.join(self._moved_since(run, code, row))}); it was not deprecated")
        for e in entries:
            column = cols.column(e.col)
            if e.action == "delete" and not e.old:
                self._record_old(e, row[e.col])
            current = row[e.col]
            if same(column, current, e.new):
                there.append(e.rowid)  # already so (a resumed or repeated run, or someone did it)
                continue
            if e.action != "delete" and not same(column, current, e.old):
                text = f"{e.col} changed in Cin7 Core during the run (the plan saw '{e.old}', now '{current}')"
                if run.policy == "skip":
                    skipped.append((e.rowid, text))
                    continue
                if run.policy != "overwrite":
                    problems.append(text)
                    continue
            if e.col == "Type":
                problems.append("Type cannot be changed once a product exists in Cin7 Core")
            elif not is_writable(column):
                problems.append(unwritable_reason(column))
            else:
                changes[e.col] = e.new
                applied.append((e.rowid, e.col))
        problems += self._reference_problems({cols.KEY: code, "Type": row.get("Type", ""), **changes}) if changes else []
        if problems:
            self._mark(there, DONE)
            return self._fail([e for e in entries if e.rowid not in there], "; ".join(problems))
        self._mark([r for r, _ in skipped], FAILED)
        if changes:
            self._mark((r for r, _ in applied), SENT)
            try:
                saved = self.client.update(put_body(fresh, changes))
            except Cin7NotJson as exc:
                self._mark(there, DONE)
                return self._settle_unclear(code, [e for e in entries if e.rowid not in there], exc.message)
            not_kept = self._not_kept(saved, changes)
            self._mark((r for r, c in applied if c not in not_kept), DONE)
            if not_kept:
                self._mark((r for r, c in applied if c in not_kept), FAILED)
                skipped.append((None, "Cin7 Core answered without the change to " + ", ".join(not_kept)))
        self._mark(there, DONE)
        if skipped:
            return "; ".join(t for _, t in skipped) + ("; its other changes were written" if changes else "")
        return None

    @staticmethod
    def _moved_since(run: _Run, code: str, row: dict[str, str]) -> list[str]:
        """Columns of ``code`` whose fresh value differs from what the undo planned against."""
        expected = run.delete_expected.get(code) or {}
        return [c for c, v in expected.items() if c in row and c != cols.STATUS and is_writable(cols.column(c))
                and not same(cols.column(c), row[c], v)]

    @staticmethod
    def _not_kept(saved: dict, changes: dict[str, str]) -> list[str]:
        """Changed columns the saved product (Cin7's answer) shows with another value."""
        out = []
        row = product_to_row(saved)
        for name in changes:
            c = cols.column(name)
            if c.api_field in saved and not same(c, row[name], changes[name]):
                out.append(name)
        return out

    def _record_old(self, e: Entry, old: str) -> None:
        e.old = old
        with self.state.transaction() as db:
            self.state.set_entry_old(db, e.rowid, old)

    def _create(self, run: _Run, code: str, entries: list[Entry]) -> str | None:
        row = self._create_row(run.op_id, code)
        if row is None:
            return self._fail(entries, f"{code}: the product's values were not kept in the journal; "
                                       "run the import again")
        body, why = create_body(row)
        if body is None:
            return self._fail(entries, why)
        if is_setup_required(body) and run.setup_refused_by:
            return self._fail(entries, f"not sent: Cin7 Core would not create {run.setup_refused_by} with "
                                       f"Status '{SETUP_REQUIRED_WIRE}' (see the notice)")
        problems = self._reference_problems(row)
        if problems:
            return self._fail(entries, "; ".join(problems))
        fresh = self.client.find_sku(code)
        if fresh is not None:
            if any(e.done == SENT for e in entries):  # our own create, whose answer was lost
                self._mark((e.rowid for e in entries), DONE)
                return None
            return self._fail(entries, f"{code} already exists in Cin7 Core (created since the plan); "
                                       "nothing was changed")
        self._mark((e.rowid for e in entries), SENT)
        try:
            self._post(code, body)
        except Cin7NotJson as exc:
            return self._settle_unclear(code, entries, exc.message)
        except Cin7Refused as exc:
            if is_setup_required(body) and _mentions_status(exc):
                return self._setup_refused(run, code, entries, exc)
            raise
        self._mark((e.rowid for e in entries), DONE)
        return None

    def _post(self, code: str, body: dict) -> dict:
        """POST once; after an answer that may hide a saved product, look the SKU up before any retry."""
        last: MaybeSentError | None = None
        for _ in range(CREATE_TRIES):
            try:
                return self.client.create(body)
            except MaybeSentError as exc:
                last = exc
                found = self.client.find_sku(code)  # never re-create before checking
                if found is not None:
                    return found
        if last is not None and last.status is not None:  # Cin7 answered 5xx every time: this product
            err = ServerError(f"Cin7 Core answered HTTP {last.status} to creating {code} on every try "
                              f"({CREATE_TRIES}): {last.message}")
            err.status = last.status
            raise err
        raise RemoteError(f"Cin7 Core kept dropping the answer to creating {code}",
                          "check the network and re-run the same command; it checks before creating again")

    def _setup_refused(self, run: _Run, code: str, entries: list[Entry], exc: Cin7Refused) -> str:
        run.setup_refused_by = code
        run.notices.append({"kind": SETUP_REQUIRED_REFUSED, "code": code, "answer": exc.answer,
                            "message": f"Cin7 Core refused Status '{SETUP_REQUIRED_WIRE}' on create: {exc.answer}"})
        return self._fail(entries, f"Cin7 Core would not create it with Status '{SETUP_REQUIRED_WIRE}': {exc.answer} "
                                   "(no further product is sent with that status, and none under another)")

    def _create_row(self, op_id: int, code: str) -> dict[str, str] | None:
        op = self.state.operation(op_id)
        return (op["detail"].get("create_rows") or {}).get(code) if op else None

    def _settle_unclear(self, code: str, entries: list[Entry], reason: str) -> str | None:
        """A write got an unreadable answer: look the product up once and journal what really happened."""
        found = self.client.find_sku(code)  # a RemoteError here leaves the entries SENT for the next run
        applied = found is not None
        if found is not None:
            row = product_to_row(found)
            for e in entries:
                if e.action != "create" and not same(cols.column(e.col), row[e.col], e.new):
                    applied = False
        if applied:
            self._mark((e.rowid for e in entries), DONE)
            return None
        return self._fail(entries, reason + " (checked: the change was not saved)")

    # -- the end ----------------------------------------------------------------------------------
    def _finish(self, run: _Run, state: str, counts: dict) -> None:
        try:
            with self.state.transaction() as db:
                op = self.state.operation(run.op_id) or {"detail": {}, "counts": {}}
                done_now = {r[0] for r in self.state.journal(run.op_id) if r[5] == DONE}
                earlier = {c: r for c, r in op["detail"].get("failed", {}).items() if c not in done_now}
                det = {**op["detail"], "failed": {**earlier, **run.failed}}
                if run.notices:
                    det["notices"] = run.notices
                if state == "applied":  # kept, their set cells only: an undo tells what was edited since
                    det["create_rows"] = {code: {k: v for k, v in row.items() if v}
                                          for code, row in det.get("create_rows", {}).items()}
                new_counts = {**(counts or {})}
                if det["failed"]:
                    new_counts["failed"] = len(det["failed"])
                self.state.finish_operation(db, run.op_id, state=state, counts=new_counts, detail=det)
                if state == "applied" and op.get("undo_of"):
                    self.state.finish_operation(db, op["undo_of"], state="undone")
        except StoreError:
            log.warning("could not record the end of operation %s", run.op_id)

    def _done_codes(self, op_id: int) -> tuple[list[str], list[str], list[str]]:
        created, updated, deleted = {}, {}, {}
        for code, action, _col, _old, _new, done in self.state.journal(op_id):
            if done != DONE:
                continue
            {"create": created, "update": updated, "delete": deleted}[action][code] = None
        return list(created), [c for c in updated if c not in created], list(deleted)


__all__ = ["Cin7Writer", "PENDING", "SENT", "DONE", "FAILED", "SETUP_REQUIRED_REFUSED"]
