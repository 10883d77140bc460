"""Start-up guard (issue 17): which modules the quick commands import, by name, never by time.

Each command runs as ``python -m inventory_tools`` does, in a process of its own, which writes down
the modules it imported when it ends. ``--help`` (the group's and every command's) and ``list`` on a
local store must not import pandas, numpy or any file, network or validation library: a new
module-level ``import pandas`` on their path fails here (import it inside the function that needs
it, or ``pd = lazy_import("pandas", globals())``: ``inventory_tools/_lazy.py``). ``validate`` of a
small workbook needs pandas and pandera, but not the writers, the network or pandera's optional
test tools.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from inventory_tools.cli import cli
from tests.helpers import export_xlsx

#: Runs the CLI as ``python -m inventory_tools ARGS`` and writes the names of the modules it
#: imported (argv[1]) on its way out, however it exits (the CLI leaves through ``os._exit``).
DRIVER = r"""
import atexit, json, os, runpy, sys

out = sys.argv.pop(1)
command = os.getpid()  # (a child it forks for work after exit inherits this hook: it must not write)

def dump():
    if os.getpid() != command:
        return
    with open(out, "w") as f:
        json.dump(sorted(m for m, v in sys.modules.items() if v is not None), f)

real_exit = os._exit

def exit_after_dump(code):
    dump()
    real_exit(code)

os._exit = exit_after_dump
atexit.register(dump)
runpy.run_module("inventory_tools", run_name="__main__", alter_sys=True)
"""

#: Never needed to show help or to list a local store.
HEAVY = ("pandas", "numpy", "pandera", "pyarrow", "polars", "pydantic", "typeguard", "hypothesis",
         "openpyxl", "xlsxwriter", "python_calamine", "defusedxml", "requests", "urllib3", "ssl")
#: Ours, equally not needed for them (each imports some of HEAVY).
OURS_HEAVY = ("inventory_tools.exporting", "inventory_tools.reading", "inventory_tools.validation",
              "inventory_tools.xlsx", "inventory_tools.importing", "inventory_tools.http",
              "inventory_tools.xero", "inventory_tools.stores.cin7", "inventory_tools.checked_file")
#: validate needs pandas and pandera, but for a small workbook and no --report not these.
NOT_FOR_VALIDATE = ("openpyxl", "xlsxwriter", "requests", "urllib3", "polars", "hypothesis",
                    "inventory_tools.xlsx.report", "inventory_tools.http", "inventory_tools.xero",
                    "inventory_tools.stores.cin7", "inventory_tools.importing", "inventory_tools.exporting")


def imported_by(tmp_path, store: str, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(out), "--store", store, *args],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return set(json.loads(out.read_text()))


def offenders(modules: set[str], names) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("command", [None, *sorted(cli.commands)])
def test_help_imports_nothing_heavy(tmp_path, command):
    modules = imported_by(tmp_path, str(tmp_path / "none.db"), *([command] if command else []), "--help")
    assert offenders(modules, HEAVY + OURS_HEAVY) == []


@pytest.mark.parametrize("args", [(), ("--json",), ("--status", "active"), ("--status", "deprecated", "--json")])
def test_list_of_a_local_store_imports_nothing_heavy(ex, tmp_path, args):
    modules = imported_by(tmp_path, ex.store, "list", *args)
    assert "inventory_tools.listing" in modules and "sqlite3" in modules  # it really listed
    assert offenders(modules, HEAVY + OURS_HEAVY) == []


def test_validate_of_a_small_workbook_imports_only_what_it_uses(ex, tmp_path):
    path, _ = export_xlsx(ex)
    modules = imported_by(tmp_path, ex.store, "validate", str(path))
    assert {"pandas", "pandera", "inventory_tools.validation"} <= modules  # it really validated
    assert offenders(modules, NOT_FOR_VALIDATE) == []


def test_an_import_of_a_file_validated_before_does_not_load_the_checks(ex, tmp_path):
    """The verdict comes from the cache of checked files: pandera (half a second) is not imported."""
    from inventory_tools import checked_cache

    path, _ = export_xlsx(ex)
    imported_by(tmp_path, ex.store, "validate", str(path))
    checked_cache.settle()
    modules = imported_by(tmp_path, ex.store, "import", str(path), "--dry-run")
    assert "inventory_tools.importing" in modules and "inventory_tools.plan" in modules  # it really planned
    assert offenders(modules, ("pandera", "inventory_tools.validation.checks")) == []


def test_a_lazy_module_becomes_the_module_on_first_use():
    from inventory_tools._lazy import lazy_import

    namespace: dict = {}
    namespace["j"] = lazy_import("json", namespace)
    assert "lazy module" in repr(namespace["j"])
    assert namespace["j"].dumps([1]) == "[1]"
    assert namespace["j"] is json  # replaced: later uses cost nothing


def test_validate_starts_parsing_before_numpy_and_pandas_are_imported():
    """What runs before a sheet's parse starts (the CLI, the cache, the reader, the validator's
    modules) imports neither numpy nor pandas: those load while the sheet parses."""
    code = ("import sys; import inventory_tools.cli, inventory_tools.cli_validate, inventory_tools.checked_file, "
            "inventory_tools.checked_cache, inventory_tools.reading.fast, inventory_tools.stores.sqlite, "
            "inventory_tools.validation.validator, inventory_tools.importing, inventory_tools.plan; "
            "print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
