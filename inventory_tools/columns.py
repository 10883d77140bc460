"""The one column table, loaded from ``schemas/columns.csv``.

Nothing else in the package types a column list: ask this module.
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from .resources import resource_path

SCHEMA_VERSION = 1
KEY = "ProductCode"
STATUS = "Status"
ACTIVE, SETUP_REQUIRED, DEPRECATED = "Active", "Setup Required", "Deprecated"
#: The status of a new product whose Status cell is blank.
NEW_PRODUCT_STATUS = ACTIVE
#: The Type a product with a FixedAssetType must have.
FIXED_ASSET = "Fixed Asset"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | decimal | bool | enum | account
    required: str  # always | active | ""
    values: tuple[str, ...]
    max_length: int | None
    read_only: bool
    identifier: bool
    decimals: int | None
    csv_quoted: bool
    api_field: str
    xero_field: str
    xero_direction: str
    width: float
    index: int

    @property
    def is_numeric(self) -> bool:
        return self.type == "decimal"

    @property
    def has_dropdown(self) -> bool:
        return self.type in ("enum", "bool")


def _load(path: Path) -> tuple[Column, ...]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cols = []
    for i, r in enumerate(rows):
        cols.append(
            Column(
                name=r["name"],
                type=r["type"],
                required=r["required"],
                values=tuple(v for v in r["values"].split("|") if v),
                max_length=int(r["max_length"]) if r["max_length"] else None,
                read_only=r["read_only"] == "yes",
                identifier=r["identifier"] == "yes",
                decimals=int(r["decimals"]) if r["decimals"] else None,
                csv_quoted=r["csv_quoted"] == "yes",
                api_field=r["api_field"],
                xero_field=r["xero_field"],
                xero_direction=r["xero_direction"],
                width=float(r["width"]) if r["width"] else max(10.0, min(len(r["name"]) + 3.0, 28.0)),
                index=i,
            )
        )
    return tuple(cols)


@functools.lru_cache(maxsize=None)
def columns() -> tuple[Column, ...]:
    return _load(resource_path("schemas", "columns.csv"))


@functools.lru_cache(maxsize=None)
def names() -> tuple[str, ...]:
    return tuple(c.name for c in columns())


@functools.lru_cache(maxsize=None)
def by_name() -> dict[str, Column]:
    return {c.name: c for c in columns()}


def column(name: str) -> Column:
    return by_name()[name]


def of_type(*types: str) -> tuple[Column, ...]:
    return tuple(c for c in columns() if c.type in types)


def required_always() -> tuple[str, ...]:
    """Never blank after an import (a new product's blank Status becomes NEW_PRODUCT_STATUS)."""
    return tuple(c.name for c in columns() if c.required == "always")


def setup_columns() -> tuple[str, ...]:
    """What an Active product must have besides its code and status: the setup a Setup Required
    product is waiting for."""
    return tuple(n for n in required_when_active() if n not in (KEY, STATUS))


def required_when_active() -> tuple[str, ...]:
    return tuple(c.name for c in columns() if c.required in ("always", "active"))


def statuses() -> tuple[str, ...]:
    return column(STATUS).values
