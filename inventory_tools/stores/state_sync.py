"""Xero sync bookkeeping, part of :class:`~inventory_tools.stores.state.LocalState`: the
per-organisation cursor and item links.

Tables (``state.py`` migration 1): ``sync_state(tenant_id, enabled_at, cursor, updated_at, detail)``
and ``xero_links(tenant_id, code, item_id, tracked, pushed_hash, pushed_at, linked_at)``;
``pushed_hash`` holds the values last pushed (JSON, see :func:`inventory_tools.sync_push.fingerprint`;
a store written before that holds a hash there, read as "values unknown"). Write methods take the
connection of an open :meth:`LocalState.transaction`.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Iterable

from .timestamps import now_iso


class SyncBookkeeping:
    db: sqlite3.Connection

    def sync_state(self, tenant_id: str) -> dict | None:
        """The organisation's sync state: when sync was enabled, the cursor, details."""
        row = self.db.execute("SELECT tenant_id, enabled_at, cursor, updated_at, detail FROM sync_state"
                              " WHERE tenant_id=?", (tenant_id,)).fetchone()
        if not row:
            return None
        d = dict(zip(("tenant_id", "enabled_at", "cursor", "updated_at", "detail"), row))
        d["detail"] = json.loads(d["detail"] or "{}")
        return d

    @staticmethod
    def save_sync_state(db: sqlite3.Connection, tenant_id: str, *, enabled_at: str, cursor: str | None,
                        detail: dict) -> None:
        db.execute(
            "INSERT INTO sync_state (tenant_id, enabled_at, cursor, updated_at, detail) VALUES (?,?,?,?,?)"
            " ON CONFLICT(tenant_id) DO UPDATE SET cursor=excluded.cursor, updated_at=excluded.updated_at,"
            " detail=excluded.detail",
            (tenant_id, enabled_at, cursor, now_iso(), json.dumps(detail)))

    def xero_links(self, tenant_id: str) -> dict[str, dict]:
        """Code → its Xero item (ItemID, tracked, what was last pushed and when)."""
        rows = self.db.execute(
            "SELECT code, item_id, tracked, pushed_hash, pushed_at, linked_at FROM xero_links WHERE tenant_id=?",
            (tenant_id,)).fetchall()
        keys = ("code", "item_id", "tracked", "pushed_hash", "pushed_at", "linked_at")
        return {r[0]: dict(zip(keys, r)) for r in rows}

    @staticmethod
    def upsert_xero_links(db: sqlite3.Connection, tenant_id: str, rows: Iterable[tuple[str, str | None, bool]]) -> None:
        """(code, item_id, tracked): a changed ItemID forgets what was pushed (the item is new to Xero)."""
        stamp = now_iso()
        db.executemany(
            "INSERT INTO xero_links (tenant_id, code, item_id, tracked, linked_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(tenant_id, code) DO UPDATE SET"
            "  pushed_hash = CASE WHEN xero_links.item_id IS excluded.item_id THEN xero_links.pushed_hash END,"
            "  pushed_at = CASE WHEN xero_links.item_id IS excluded.item_id THEN xero_links.pushed_at END,"
            "  linked_at = CASE WHEN xero_links.item_id IS excluded.item_id THEN xero_links.linked_at"
            "                   ELSE excluded.linked_at END,"
            "  item_id = excluded.item_id, tracked = excluded.tracked",
            ((tenant_id, code, item_id, int(bool(tracked)), stamp) for code, item_id, tracked in rows))

    @staticmethod
    def record_pushed(db: sqlite3.Connection, tenant_id: str, rows: Iterable[tuple[str, str | None, str]]) -> None:
        """(code, item_id, pushed values) for items Xero accepted and kept."""
        stamp = now_iso()
        db.executemany(
            "INSERT INTO xero_links (tenant_id, code, item_id, tracked, pushed_hash, pushed_at, linked_at)"
            " VALUES (?,?,?,0,?,?,?) ON CONFLICT(tenant_id, code) DO UPDATE SET"
            "  item_id = coalesce(excluded.item_id, xero_links.item_id), tracked = 0,"
            "  pushed_hash = excluded.pushed_hash, pushed_at = excluded.pushed_at,"
            "  linked_at = coalesce(xero_links.linked_at, excluded.linked_at)",
            ((tenant_id, code, item_id, h, stamp, stamp) for code, item_id, h in rows))
