"""Bookkeeping of runs a remote store writes product by product, part of
:class:`~inventory_tools.stores.state.LocalState`: each journal entry's progress (pending, sent,
done, failed), so that a run stopped anywhere resumes without writing anything twice.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable


class RunBookkeeping:
    db: sqlite3.Connection

    def unfinished_operation(self, kind: str, source: str | None) -> dict | None:
        """The interrupted operation a re-run of (kind, source) would resume, if any."""
        row = self.db.execute(
            "SELECT op_id FROM operations WHERE kind=? AND coalesce(source,'')=coalesce(?, '')"
            " AND state IN ('running', 'interrupted') ORDER BY op_id DESC LIMIT 1", (kind, source)).fetchone()
        return self.operation(row[0]) if row else None  # type: ignore[attr-defined]

    def journal_entries(self, op_id: int, states: Iterable[int]) -> list[tuple]:
        """(rowid, code, action, col, old, new, done) of an operation's entries in these states."""
        states = list(states)
        return self.db.execute(
            f"SELECT rowid, code, action, col, old, new, done FROM journal WHERE op_id=? AND done IN"
            f" ({', '.join('?' * len(states))}) ORDER BY rowid", (op_id, *states)).fetchall()

    @staticmethod
    def set_entries_state(db: sqlite3.Connection, rowids: Iterable[int], state: int) -> None:
        db.executemany("UPDATE journal SET done=? WHERE rowid=?", ((state, r) for r in rowids))

    @staticmethod
    def set_entry_old(db: sqlite3.Connection, rowid: int, old: str) -> None:
        db.execute("UPDATE journal SET old=? WHERE rowid=?", (old, rowid))

    @staticmethod
    def drop_entries(db: sqlite3.Connection, op_id: int, state: int) -> None:
        db.execute("DELETE FROM journal WHERE op_id=? AND done=?", (op_id, state))

    @staticmethod
    def reopen_operation(db: sqlite3.Connection, op_id: int, detail: dict) -> None:
        """An interrupted operation running again (a re-run resuming it)."""
        db.execute("UPDATE operations SET state='running', detail=? WHERE op_id=?", (json.dumps(detail), op_id))

    def last_done_ops(self, codes: Iterable[str]) -> dict[str, int | None]:
        """Code → the newest operation with a done entry for it (None: none)."""
        codes = list(codes)
        out: dict[str, int | None] = {c: None for c in codes}
        for i in range(0, len(codes), 500):
            part = codes[i:i + 500]
            out.update(self.db.execute(
                f"SELECT code, max(op_id) FROM journal WHERE done=1 AND code IN ({', '.join('?' * len(part))})"
                " GROUP BY code", part).fetchall())
        return out
