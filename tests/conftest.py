"""Shared fixtures: a fresh store file, the real Cin7 sample, and a CLI runner."""
from __future__ import annotations

import os

import pytest

from tests.fakes.cin7_server import FakeCin7
from tests.helpers import EXAMPLES, SAMPLE_CSV, Cli
from tests.helpers.api import point_env_at



@pytest.fixture
def store_path(tmp_path) -> str:
    return str(tmp_path / "inventory.db")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory):
    # Never let a developer's real credentials or store leak into a test.
    for var in list(os.environ):
        if var.startswith(("XERO_", "CIN7_", "INVENTORY_TOOLS_")):
            monkeypatch.delenv(var, raising=False)
    # Each test its own cache of checked files (never the developer's ~/.cache).
    monkeypatch.setenv("INVENTORY_TOOLS_CACHE_DIR", str(tmp_path_factory.mktemp("checked-cache")))


@pytest.fixture
def run(store_path, tmp_path) -> Cli:
    return Cli(store_path, tmp_path)


@pytest.fixture
def ex(run) -> Cli:
    """A store holding the shipped example inventory list (12 products)."""
    run("import", EXAMPLES / "inventory-list.csv", "--yes", "--results", str(run.cwd / "load.xlsx"))
    return run


@pytest.fixture
def loaded(run) -> Cli:
    """A store holding the real Cin7 sample (100 products)."""
    run("import", SAMPLE_CSV, "--yes", "--results", str(run.cwd / "load-results.xlsx"))
    return run


# -- the fake Cin7 Core server (tests/fakes/cin7_server.py) ---------------------------------------
@pytest.fixture
def make_fake(monkeypatch, tmp_path):
    """Start fakes with custom settings; the environment points at the last one started."""
    started = []

    def make(**kw) -> FakeCin7:
        fake = FakeCin7(**kw).start()
        started.append(fake)
        point_env_at(monkeypatch, fake.env())
        monkeypatch.setenv("INVENTORY_TOOLS_STATE_DIR", str(tmp_path / f"state{len(started)}"))
        return fake

    yield make
    for f in started:
        f.stop()
    for f in started:
        assert not f.errors, f.errors[0]


@pytest.fixture
def cin7_server(make_fake):
    """A running fake with a 2 s rate window; the environment points inventory-tools at it."""
    return make_fake()
