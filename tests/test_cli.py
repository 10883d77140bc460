"""The CLI surface: every command documented with an example; errors never show a traceback."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from inventory_tools.cli import cli

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
