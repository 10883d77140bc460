"""Heavy libraries imported on first use, so that commands that never need them start fast.

``pd = lazy_import("pandas", globals())`` at the top of a module stands for ``import pandas as pd``:
the name is a stand-in until some code of that module first reads an attribute of it
(``pd.DataFrame``), which imports pandas and puts the real module in the stand-in's place in the
module's globals, so later uses cost nothing. ``inventory-tools --help`` and ``list`` on a local
store never import pandas or numpy this way (``tests/test_startup_imports.py`` keeps it so).

Only for names used inside functions: a module-level use (a default argument, a class attribute)
imports the library at once, which is correct but defeats the purpose.
"""
from __future__ import annotations

import importlib


class LazyModule:
    """Stands for a module not imported yet (see the module's docstring)."""

    __slots__ = ("_name", "_namespace")

    def __init__(self, name: str, namespace: dict):
        self._name = name
        self._namespace = namespace

    def _load(self):
        module = importlib.import_module(self._name)  # the import lock: one import however many threads ask
        for alias in [k for k, v in self._namespace.items() if v is self]:
            self._namespace[alias] = module
        return module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_import(name: str, namespace: dict) -> LazyModule:
    """A stand-in for module ``name`` in the module whose ``globals()`` is ``namespace``."""
    return LazyModule(name, namespace)
