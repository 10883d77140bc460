"""Human text for a validation report (the terminal summary of ``validate``)."""
from __future__ import annotations

def summary_lines(report, first: int = 20) -> list[str]:
    t = report.table
    where = f"{t.path.name}" + (f" › {t.sheet}" if t.sheet else "")
    n = len(report.frame)
    lines = [f"{where}: {n:,} row{'s' * (n != 1)} checked — "
             f"{report.errors:,} error{'s' * (report.errors != 1)}, "
             f"{report.warnings:,} warning{'s' * (report.warnings != 1)}"]
    if report.base_export_id:
        lines.append(f"compared with export {report.base_export_id}")
    if not report.problems:
        lines.append("no problems found")
        return lines
    by_col, by_rule = report.counts()
    lines.append("by column: " + ", ".join(f"{c} {n:,}" for c, n in by_col.most_common(12))
                 + (" …" if len(by_col) > 12 else ""))
    lines.append("by rule:   " + ", ".join(f"{r} {n:,}" for r, n in by_rule.most_common(12))
                 + (" …" if len(by_rule) > 12 else ""))
    shown = sorted(report.problems, key=lambda p: p.severity != "error")[:first]
    lines.append(f"first {len(shown)} of {len(report.problems):,}:" if len(report.problems) > first else "problems:")
    for p in shown:
        loc = p.ref or "(file)"
        lines.append(f"  {p.severity:<7} {loc}: {p.message}")
        if p.hint:
            lines.append(f"          fix: {p.hint}")
    return lines
