"""A short terminal summary of validation problems (the report files hold all of them)."""
from __future__ import annotations

from collections import Counter

FIRST = 20


def problems_text(report) -> str:
    problems = list(getattr(report, "problems", []))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    lines = [f"{errors} error(s), {warnings} warning(s)"]
    by_rule = Counter((p.column or "-", p.rule) for p in problems)
    if by_rule:
        lines.append("  by column and rule: " + ", ".join(f"{c}/{r} {n}" for (c, r), n in by_rule.most_common(8)))
    for p in problems[:FIRST]:
        where = f"{p.sheet}!{p.cell}" if getattr(p, "sheet", None) else str(p.cell)
        lines.append(f"  {p.severity}: {where}: {p.message}")
    if len(problems) > FIRST:
        lines.append(f"  … and {len(problems) - FIRST} more (use --report OUT.xlsx or --json for all)")
    return "\n".join(lines)
