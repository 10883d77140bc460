"""Stores: where products live. ``open_store`` picks one from ``--store``."""
from __future__ import annotations

import os

from .base import Store

DEFAULT_STORE = "inventory.db"
STORE_ENV = "INVENTORY_TOOLS_STORE"


def open_store(spec: "str | os.PathLike | None" = None) -> Store:
    spec = str(spec or os.environ.get(STORE_ENV) or DEFAULT_STORE)
    if spec.lower() in ("cin7core", "cin7", "dear"):
        from .cin7 import Cin7Store  # imported lazily: needs credentials

        return Cin7Store.from_env()
    from .sqlite import SqliteStore

    return SqliteStore(spec)
