"""Human text for a validation report (the terminal summary of ``validate``)."""
from __future__ import annotations


def _n(count: int, word: str) -> str:
    return f"{count:,} {word}{'s' * (count != 1)}"


def summary_lines(report, first: int = 20) -> list[str]:
    t = report.table
    where = f"{t.path.name}" + (f" › {t.sheet}" if t.sheet else "")
    head = f"{where}: {_n(len(report.frame), 'row')} checked — {_n(report.errors, 'error')}"
    if report.preexisting:
        head += f" ({report.preexisting:,} more already in the store)" if not report.strict else \
            f" ({report.preexisting:,} of them already in the store)"
    lines = [head + f", {_n(report.warnings, 'warning')}"]
    if report.base_export_id:
        lines.append(f"compared with export {report.base_export_id}")
    if report.preexisting and not report.strict:
        lines.append(f"{report.preexisting:,} already in the store: errors in cells your file did not change; they "
                     "do not block the import (--strict to make them block)")
    if not report.problems:
        lines.append("no problems found")
        return lines
    by_col, by_rule = report.counts()
    lines.append("by column: " + ", ".join(f"{c} {n:,}" for c, n in by_col.most_common(12))
                 + (" …" if len(by_col) > 12 else ""))
    lines.append("by rule:   " + ", ".join(f"{r} {n:,}" for r, n in by_rule.most_common(12))
                 + (" …" if len(by_rule) > 12 else ""))
    order = {"blocking": 0, "preexisting": 1, "warning": 2}
    shown = sorted(report.problems, key=lambda p: order[_kind(p, report.strict)])[:first]
    lines.append(f"first {len(shown)} of {len(report.problems):,}:" if len(report.problems) > first else "problems:")
    for p in shown:
        kind = _kind(p, report.strict)
        label = "error" if kind == "blocking" else ("in store" if kind == "preexisting" else p.severity)
        lines.append(f"  {label:<8} {p.ref or '(file)'}: {p.message}")
        if p.hint:
            lines.append(f"           fix: {p.hint}")
    return lines


def _kind(p, strict: bool) -> str:
    """blocking, preexisting (an error already in the store that does not block) or warning."""
    if p.severity != "error":
        return "warning"
    return "preexisting" if p.preexisting and not strict else "blocking"
