"""inventory-tools: export, validate, import and sync Cin7 Core inventory lists with Xero.

The library API mirrors the CLI; every function returns a value object the CLI only renders::

    from inventory_tools import open_store, export, validate, import_file, undo, sync
"""
__version__ = "0.1.0"

# name -> module; imported on first use so that `inventory-tools --help` stays fast.
_API = {
    "open_store": "stores",
    "export": "exporting",
    "list_products": "listing",
    "validate": "validation",
    "read_table": "reading",
    "import_file": "importing",
    "plan_import": "importing",
    "history": "undoing",
    "undo": "undoing",
    "make_plan": "plan",
    "sync": "syncing",
}
__all__ = sorted(_API)


def __getattr__(name):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'inventory_tools' has no attribute {name!r}")
