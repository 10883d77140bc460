"""The CLI surface: every command documented with an example; errors never show a traceback."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inventory_tools.cli import cli
from tests.helpers import edit, export_xlsx

COMMANDS = sorted(cli.commands)


def test_the_contract_commands_exist():
    assert {"sync", "export", "validate", "import", "list", "history", "undo"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_with_an_example(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"inventory-tools {name}" in result.output


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "inventory_tools", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "inventory-tools" in out.stdout


def test_usage_errors_exit_2(run):
    result = run("import", "/no/such/file.xlsx", expect=2)
    assert "does not exist" in result.output
    run("frobnicate", expect=2)


def test_every_command_is_a_library_function():
    import inventory_tools

    for name in inventory_tools.__all__:
        assert callable(getattr(inventory_tools, name)), name


@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_commands_run_with_their_output_streams_closed(ex, closed):
    """Started with stdout and/or stderr closed (a service, `cmd >&-`): each command does its work
    and says so by its exit status, never a traceback (Python has no stream object then)."""
    import shlex

    from inventory_tools import checked_cache

    out, _ = export_xlsx(ex)
    edit(out, {("00123", "Status"): "Actvie"})  # an error: validate and import exit 1
    base = [sys.executable, "-m", "inventory_tools", "--store", ex.store]
    for args, code in ((["--help"], 0), (["list"], 0), (["validate", str(out)], 1), (["validate", str(out), "--json"], 1),
                       (["import", str(out), "--yes"], 1)):
        line = " ".join(map(shlex.quote, base + args)) + f" {closed}"  # what is left open is captured
        done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=120, cwd=ex.cwd)
        assert done.returncode == code, (args, closed, done.returncode, done.stdout, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
    checked_cache.settle()
    assert len(list(checked_cache.cache_dir().glob("*.checked"))) == 1  # validate still kept the file it read
