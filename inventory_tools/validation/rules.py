"""The rule ids every problem carries: stable, listed once in ``schemas/rules.csv`` (id, the stage
that finds it, a plain-language title)."""
from __future__ import annotations

import csv
import functools

from ..resources import resource_path


@functools.lru_cache(maxsize=None)
def rules() -> dict[str, str]:
    """Rule id → its plain-language title, in the table's order."""
    with resource_path("schemas", "rules.csv").open(newline="", encoding="utf-8") as fh:
        return {r["id"]: r["title"] for r in csv.DictReader(fh)}


def title(rule: str) -> str:
    return rules().get(rule, rule)
