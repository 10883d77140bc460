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


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def conflict_words(conflicts) -> str:
    """``2 conflicting cells in 1 product``: the cells listed, and the products they are in."""
    products = len({c.code for c in conflicts})
    return f"{_plural(len(conflicts), 'conflicting cell')} in {_plural(products, 'product')}"


def mode_text(plan: ImportPlan, blank_clears: bool) -> str:
    """What blank cells do in this plan, in words that match what it does."""
    if plan.has_base:
        return "(compared with the export: only cells changed since the export are written; an emptied cell is cleared)"
    if blank_clears:
        return "(no export manifest, --blank-clears: blank cells clear the values in the store)"
    return "(no export manifest: blank cells leave values unchanged; --blank-clears makes them clear)"


def plan_text(plan: ImportPlan, *, blank_clears: bool = False) -> str:
    c = plan.counts()
    in_conflict = len({cf.code for cf in plan.conflicts})
    overwritten = " (the file wins: counted as updates)" if plan.conflicts and plan.policy == "overwrite" else ""
    lines = [click.style("Plan", bold=True) + f" (products): {c['create']:,} to create · {c['update']:,} to update · "
             f"{c['unchanged']:,} unchanged · {in_conflict:,} in conflict{overwritten} · {c['invalid']:,} invalid",
             "  " + mode_text(plan, blank_clears)]
    trans = plan.status_transitions()
    for (old, new), n in trans.items():
        lines.append(f"  {_plural(n, 'product')} {old} → {new}")
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
    lines += _absent_lines(plan)
    lines += _conflict_lines(plan)
    for ig in plan.ignored[:5]:
        lines.append(click.style("  warning: ", fg="yellow") + f"{ig.code} · {ig.reason}")
    if len(plan.ignored) > 5:
        lines.append(f"  … and {len(plan.ignored) - 5} more ignored read-only edits")
    return "\n".join(lines)


def _absent_lines(plan: ImportPlan) -> list[str]:
    """Exported products the file no longer holds: never deleted; and if new codes came instead,
    say plainly that a changed code is a new product, not a rename."""
    if not plan.absent:
        return []
    n, m = len(plan.absent), len(plan.creates)
    shown = ", ".join(plan.absent[:5]) + (" …" if n > 5 else "")
    if m:
        return [click.style("  note: ", fg="yellow") +
                f"{_plural(n, 'exported product')} {'is' if n == 1 else 'are'} not in your file ({shown}) and "
                f"{_plural(m, 'new code')} {'is' if m == 1 else 'are'}: renames are not supported — a changed code "
                "creates a new product and leaves the old one as it was (set the old one's Status to Deprecated "
                "to retire it)"]
    return [f"  {_plural(n, 'exported product')} not in your file ({shown}): left unchanged (a deleted row never "
            "deletes a product; set Status Deprecated to retire one)"]


_POLICY_WORDS = {"abort": "nothing is applied while there are any", "skip": "the store's values are kept",
                 "overwrite": "the file's values are written"}


def _conflict_lines(plan: ImportPlan) -> list[str]:
    if not plan.conflicts:
        return []
    lines = [click.style(f"  {conflict_words(plan.conflicts)}", fg="red") +
             f" (changed in the store since the export; {_POLICY_WORDS[plan.policy]}):"]
    for cf in plan.conflicts[:FIRST_CHANGES]:
        lines.append(f"    {cf.code} · {cf.column}: export {_short(cf.base)} | file {_short(cf.file)} | "
                     f"store now {_short(cf.current)}")
    if len(plan.conflicts) > FIRST_CHANGES:
        lines.append(f"    … and {len(plan.conflicts) - FIRST_CHANGES} more conflicting cells")
    return lines


YES_HINT = "add --yes to apply without asking (scripts), or --dry-run to only see the plan"


def summary(result, say: Callable[[str], None], *, plan_shown: bool = False) -> None:
    """The end of an import, in words; ``plan_shown``: the plan was printed already (when asked)."""
    from .render_problems import problems_text

    report = result.report
    if getattr(report, "problems", None):
        say(problems_text(report))
    if result.plan is not None and not result.applied and not plan_shown:
        say(plan_text(result.plan, blank_clears=result.blank_clears))
        if result.estimate:
            say(f"  {estimate_text(result.estimate)} (for large edits, see export --changes-only)")
    if result.invalid_codes:
        say(f"{len(result.invalid_codes)} invalid row(s)" +
            (" skipped" if result.plan is not None else ""))
    if result.stopped_reason:
        say(click.style("Not applied: ", fg="red", bold=True) + result.stopped_reason)
        if result.consent:
            say(f"  hint: {YES_HINT}")
    elif result.dry_run:
        say("Dry run: nothing was changed.")
    elif result.applied:
        _applied_lines(result, say)
    elif result.plan is not None and result.plan.empty:
        say("Nothing to change: the store already matches the file.")
    if result.results_path:
        say(f"Results: {result.results_path}")


def _applied_lines(result, say: Callable[[str], None]) -> None:
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
    if result.interrupted:
        say(click.style("interrupted: ", fg="red", bold=True) +
            f"after import #{result.import_id} was applied; {result.results_error or 'the rest was not done'}")
    elif result.results_error:
        say(click.style("error: ", fg="red", bold=True) + "the import is applied, but " + result.results_error)


def undo_plan_text(p) -> str:
    """What an undo will do (its dry-run view), shown before it asks."""
    op = p.op
    parts = [f"{_plural(len(p.changes), 'cell')} to restore"]
    if p.deletes:
        parts.append(f"{_plural(len(p.deletes), 'product')} to remove")
    if len(p.recreates):
        parts.append(f"{_plural(len(p.recreates), 'product')} to create again")
    parts.append(conflict_words(p.conflicts) if p.conflicts else "no conflicts")
    lines = [f"Undo of #{op['op_id']} ({op['kind']} of {op.get('source') or '?'}): " + ", ".join(parts)]
    for ch in p.changes[:FIRST_CHANGES]:
        lines.append(f"  {ch.code} · {ch.column}: {_short(ch.old)} → {_short(ch.new)}")
    if len(p.changes) > FIRST_CHANGES:
        lines.append(f"  … and {len(p.changes) - FIRST_CHANGES} more cells")
    if p.deletes:
        lines.append(f"  to remove: {', '.join(p.deletes[:8])}" + (" …" if len(p.deletes) > 8 else ""))
    if not p.recreates.empty:
        codes = list(p.recreates["ProductCode"])
        lines.append(f"  to create again: {', '.join(codes[:8])}" + (" …" if len(codes) > 8 else ""))
    for cf in p.conflicts[:FIRST_CHANGES]:
        lines.append(f"  conflict {cf.code} · {cf.column}: the operation wrote {_short(cf.base)}, "
                     f"the store now has {_short(cf.current)}")
    if len(p.conflicts) > FIRST_CHANGES:
        lines.append(f"  … and {len(p.conflicts) - FIRST_CHANGES} more conflicting cells")
    return "\n".join(lines)


def undo_summary(result, say: Callable[[str], None], *, plan_shown: bool = False) -> None:
    if not plan_shown:
        say(undo_plan_text(result.plan))
    if result.applied:
        say(click.style(f"Undone (recorded as #{result.undo_id}; undo that to redo: "
                        f"inventory-tools undo {result.undo_id}).", fg="green"))
    elif result.consent:
        say(click.style("Not applied: ", fg="red", bold=True) +
            ("the answer was not yes" if result.consent == "declined" else
             "no answer to the question (stdin closed, empty or not a terminal)") + "; nothing was changed")
        say(f"  hint: {YES_HINT}")
    elif result.blocked:
        say(click.style("Not applied: ", fg="red", bold=True) +
            "cells changed since; use --on-conflict skip or overwrite")
    else:
        say("Dry run: nothing was changed.")
