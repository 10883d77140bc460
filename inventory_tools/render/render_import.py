"""Human text for import plans, results and undo."""
from __future__ import annotations

from typing import Callable

import click

from ..plan import ImportPlan

FIRST_CHANGES = 15


def estimate_text(estimate) -> str:
    """``1,240 products to write (2,480 calls at 60/min) ≈ 42 min`` for a
    :class:`~inventory_tools.changes.WriteEstimate` (``... to write at 60/min`` when calls = products)."""
    secs = estimate.seconds
    span = f"{max(1, round(secs))} s" if secs < 90 else f"{round(secs / 60):,} min"
    pace = (f"at {estimate.calls_per_minute}/min" if estimate.calls == estimate.products
            else f"({estimate.calls:,} calls at {estimate.calls_per_minute}/min)")
    return f"{estimate.products:,} products to write {pace} ≈ {span}"


def _short(v: str, n: int = 40) -> str:
    v = v.replace("\r", "").replace("\n", "⏎")
    return "(blank)" if v == "" else (v if len(v) <= n else v[: n - 1] + "…")


def plan_text(plan: ImportPlan) -> str:
    c = plan.counts()
    lines = [click.style("Plan", bold=True) + f": {c['create']} to create · {c['update']} to update · "
             f"{c['unchanged']} unchanged · {c['conflict']} conflict · {c['invalid']} invalid"]
    if not plan.has_base:
        lines.append("  (no export manifest: blank cells leave values unchanged)")
    trans = plan.status_transitions()
    for (old, new), n in trans.items():
        lines.append(f"  {n} product{'s' if n != 1 else ''} {old} → {new}")
    by_col = plan.column_counts()
    if by_col:
        lines.append("  cells by column: " + ", ".join(f"{k} {v}" for k, v in list(by_col.items())[:12])
                     + (" …" if len(by_col) > 12 else ""))
    for ch in plan.changes[:FIRST_CHANGES]:
        lines.append(f"  {ch.code} · {ch.column}: {_short(ch.old)} → {_short(ch.new)}")
    if len(plan.changes) > FIRST_CHANGES:
        lines.append(f"  … and {len(plan.changes) - FIRST_CHANGES} more cell changes")
    if not plan.creates.empty:
        shown = ", ".join(list(plan.creates["ProductCode"][:8]))
        more = f" … (+{len(plan.creates) - 8})" if len(plan.creates) > 8 else ""
        lines.append(f"  new products: {shown}{more}")
    if plan.conflicts:
        lines.append(click.style(f"  {len(plan.conflicts)} conflict(s)", fg="red") +
                     " (changed in the store since the export):")
        for cf in plan.conflicts[:FIRST_CHANGES]:
            lines.append(f"    {cf.code} · {cf.column}: export {_short(cf.base)} | file {_short(cf.file)} | "
                         f"store now {_short(cf.current)}")
    for ig in plan.ignored[:5]:
        lines.append(click.style("  warning: ", fg="yellow") + f"{ig.code} · {ig.reason}")
    if len(plan.ignored) > 5:
        lines.append(f"  … and {len(plan.ignored) - 5} more ignored read-only edits")
    return "\n".join(lines)


def summary(result, say: Callable[[str], None]) -> None:
    from .render_problems import problems_text

    report = result.report
    if getattr(report, "problems", None):
        say(problems_text(report))
    if result.plan is not None and (result.dry_run or result.stopped_reason or not result.applied):
        if not result.applied:
            say(plan_text(result.plan))
            if result.estimate:
                say(f"  {estimate_text(result.estimate)} (for large edits, see export --changes-only)")
    if result.invalid_codes:
        say(f"{len(result.invalid_codes)} invalid row(s)" +
            (" skipped" if result.plan is not None else ""))
    if result.stopped_reason:
        say(click.style("Not applied: ", fg="red", bold=True) + result.stopped_reason)
    elif result.dry_run:
        say("Dry run: nothing was changed.")
    elif result.applied:
        c = result.counts
        say(click.style(f"Applied import #{result.import_id}", fg="green", bold=True) +
            f": {c['create']} created, {c['update']} updated, {c['unchanged']} unchanged" +
            (f", {c['conflict']} with conflicts kept" if c["conflict"] else "") +
            (f", {c['failed']} failed" if c["failed"] else "") +
            f". Undo with: inventory-tools undo {result.import_id}")
        for code, why in list(result.failed.items())[:FIRST_CHANGES]:
            say(click.style("  failed ", fg="red") + f"{code}: {why}")
        if len(result.failed) > FIRST_CHANGES:
            say(f"  … and {len(result.failed) - FIRST_CHANGES} more failed (see --json or the results workbook)")
    elif result.plan is not None and result.plan.empty:
        say("Nothing to change: the store already matches the file.")
    if result.results_path:
        say(f"Results: {result.results_path}")


def undo_summary(result, say: Callable[[str], None]) -> None:
    p = result.plan
    say(f"Undo of #{p.op['op_id']} ({p.op['kind']} of {p.op.get('source') or '?'}): "
        f"{len(p.changes)} cell(s) to restore, {len(p.deletes)} product(s) to remove, "
        f"{len(p.conflicts)} conflict(s)")
    for ch in p.changes[:FIRST_CHANGES]:
        say(f"  {ch.code} · {ch.column}: {_short(ch.old)} → {_short(ch.new)}")
    for cf in p.conflicts[:FIRST_CHANGES]:
        say(f"  conflict {cf.code} · {cf.column}: the import wrote {_short(cf.base)}, "
            f"the store now has {_short(cf.current)}")
    if result.applied:
        say(click.style(f"Undone (recorded as #{result.undo_id}).", fg="green"))
    elif p.conflicts:
        say(click.style("Not applied: ", fg="red", bold=True) +
            "cells changed since; use --on-conflict skip or overwrite")
    else:
        say("Dry run: nothing was changed.")
