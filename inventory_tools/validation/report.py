"""The result of validating a file: every problem, the checked values, which rows are valid."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .._lazy import lazy_import
from ..reading import Problem, Table

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)


@dataclass
class ValidationReport:
    valid: bool
    errors: int  # errors that block the import
    warnings: int
    problems: list[Problem]
    frame: pd.DataFrame
    table: Table
    row_valid: np.ndarray
    base_export_id: str | None = None
    used_store: bool = False
    store_identity: str | None = None  # the store the checks opened, if any
    read_current: bool = False  # the checks read current products: the verdict depends on them
    # each checked column of ``frame`` as categories (the same values, held once per distinct value)
    categorical: dict[str, pd.Categorical] = field(default_factory=dict, repr=False)
    preexisting: int = 0  # errors already in the store, in cells the file did not change
    strict: bool = False  # errors already in the store block too

    def to_json(self) -> dict:
        return {
            "valid": self.valid, "errors": self.errors, "warnings": self.warnings,
            "preexisting": self.preexisting, "strict": self.strict,
            "file": str(self.table.path), "sheet": self.table.sheet, "rows": int(len(self.frame)),
            "problems": [p.to_dict() for p in self.problems],
        }

    def counts(self) -> tuple[Counter, Counter]:
        """(problems by column, problems by rule)."""
        return (Counter(p.column or "(file)" for p in self.problems), Counter(p.rule for p in self.problems))


def write_json(report: ValidationReport, out) -> Path:
    out = Path(out)
    from ..render.render_json import json_text

    out.write_text(json_text(report.to_json()), encoding="utf-8")
    return out
