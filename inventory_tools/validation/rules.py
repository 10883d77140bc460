"""The rule ids every problem carries: stable, listed once in ``schemas/rules.csv`` with the stage
that finds it, its severity and a plain-language title.

Stages: ``reading`` (the file and its cells as a reader sees them), ``cells`` (one cell read as its
column's type: the damage a spreadsheet does to data), ``values`` and ``rows`` (the rules proper:
named pandera checks, :mod:`.checks`, listed in ``schemas/validation.yaml``), ``store`` (names the
store must know, checked before an import writes).
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass

from ..resources import resource_path


@dataclass(frozen=True)
class Rule:
    id: str
    stage: str
    severity: str  # "error" | "warning"
    title: str


@functools.lru_cache(maxsize=None)
def table() -> dict[str, Rule]:
    with resource_path("schemas", "rules.csv").open(newline="", encoding="utf-8") as fh:
        return {r["id"]: Rule(r["id"], r["stage"], r["severity"], r["title"]) for r in csv.DictReader(fh)}


def rules() -> dict[str, str]:
    """Rule id → its plain-language title, in the table's order."""
    return {rid: rule.title for rid, rule in table().items()}


def title(rule: str) -> str:
    found = table().get(rule)  # (once per problem in a report: no dict built per call)
    return found.title if found else rule


def severity(rule: str) -> str:
    return table()[rule].severity
