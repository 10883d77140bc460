"""Stores: where products live. ``open_store`` picks one from ``--store``."""
from __future__ import annotations

import os

from .base import Store

DEFAULT_STORE = "inventory.db"
STORE_ENV = "INVENTORY_TOOLS_STORE"


REMOTE_SPECS = ("cin7core", "cin7", "dear")


def store_spec(spec: "str | os.PathLike | None" = None) -> str:
    """``--store`` as given, else ``$INVENTORY_TOOLS_STORE``, else ``inventory.db``."""
    return str(spec or os.environ.get(STORE_ENV) or DEFAULT_STORE)


def is_remote(spec: "str | os.PathLike | None" = None) -> bool:
    return store_spec(spec).lower() in REMOTE_SPECS


def open_store(spec: "str | os.PathLike | None" = None, *, create: str = "now") -> Store:
    """The store ``spec`` names. A SQLite file that does not exist is created ``"now"`` (the
    default), on the first write (``"on_write"``: until then it reads as an empty store and
    nothing is on disk), or ``"never"`` (:class:`~inventory_tools.stores.state.StoreMissing`,
    a clear message naming the path): commands that only read never create a store."""
    spec = store_spec(spec)
    if is_remote(spec):
        from .cin7 import Cin7Store  # imported lazily: needs credentials

        return Cin7Store.from_env(create=create)
    from .sqlite import SqliteStore

    return SqliteStore(spec, create=create)
