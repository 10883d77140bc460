"""Validate an edited inventory list: every problem, at its cell, in one pass.

The steps (reading, cells, schema, rows) are described in :mod:`.validator`; rule ids and their
titles are listed once in ``schemas/rules.csv`` (:mod:`.rules`). Reports: the
:class:`ValidationReport` itself (JSON), and ``validate --report OUT.xlsx``
(:mod:`inventory_tools.xlsx.report`).
"""
from ..reading import Problem
from .report import ValidationReport, write_json
from .rules import rules
from .schema import build_schema
from .validator import Validator, prepare, progress_steps, validate


def write_xlsx(report: ValidationReport, out):
    """The report workbook (see :mod:`inventory_tools.xlsx.report`)."""
    from ..xlsx.report import write_report

    return write_report(report, out)


__all__ = ["ValidationReport", "Problem", "Validator", "validate", "prepare", "progress_steps", "write_json",
           "write_xlsx", "build_schema", "rules"]
