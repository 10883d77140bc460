"""The results workbook of an import: every row of the file with its outcome and reason,
changed cells highlighted and commented, plus the Changes and Conflicts sheets.

Where it may be written (never over the store, the file imported, or a file we did not write)
is :mod:`inventory_tools.outputs`' rule; :func:`results_target` applies it, choosing a free name
when the default one is taken by a file that is not ours.
"""
from __future__ import annotations

from pathlib import Path

from . import columns as cols
from .outputs import OutputExists, Target, check_target
from .plan import ImportPlan
from ._lazy import lazy_import

np = lazy_import("numpy", globals())  # imported on first use (issue 17)
pd = lazy_import("pandas", globals())  # imported on first use (issue 17)

OUTCOME_WORDS = {"create": "created", "update": "updated", "unchanged": "unchanged", "conflict": "conflict",
                 "invalid": "invalid", "skipped": "skipped", "failed": "failed"}
WHAT = "results workbook"


def default_results_path(path: str) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}-results.xlsx"))


def results_target(given: str | None, source: str, store) -> Target:
    """Where the results of importing ``source`` go: ``given`` (``--results``) or, by default,
    FILE-results.xlsx — or FILE-results (2).xlsx... when that name holds a file we did not write."""
    common = dict(what=WHAT, reads=[source], store_path=store.state.path, ledger=store.state,
                  suffixes=(".xlsx",))
    if given is not None:
        return check_target(given, **common)
    first = Path(default_results_path(source))
    for n in range(1, 100):
        candidate = first if n == 1 else first.with_name(f"{first.stem} ({n}){first.suffix}")
        try:
            return check_target(candidate, **common)
        except OutputExists:
            continue
    return check_target(first, **common)  # raises: clear words on what is in the way


def write_results(out: str, report, plan: ImportPlan, *, applied: bool) -> str:
    """Write the results workbook to ``out`` (the caller gives a temporary name and renames it:
    see :func:`inventory_tools.outputs.atomic_write`)."""
    from .xlsx import ColumnSpec, PlainSheet, XlsxWriter
    from .xlsx.arrowtext import retaining_pool

    retaining_pool()
    frame = report.frame.reset_index(drop=True)
    present = [c for c in cols.names() if c in frame.columns]
    row_of = {code: i for i, code in enumerate(frame[cols.KEY])}
    out_frame = pd.DataFrame({"Result": _words(frame, plan, applied), "Message": _messages(frame, plan, report,
                                                                                          row_of)})
    coded = _coded_columns(report, present, len(frame))
    for c in present:
        if c not in coded:
            out_frame[c] = frame[c]  # as it is (Arrow-backed text goes to the writer without a copy)
    highlight, comments = _marks(plan, present, row_of, len(frame))
    specs = [ColumnSpec("Result", "text", width=14), ColumnSpec("Message", "text", width=50)]
    for c in present:
        col = cols.column(c)
        specs.append(ColumnSpec(c, "number" if col.is_numeric else "text", width=col.width, decimals=col.decimals,
                                read_only=col.read_only))
    writer = XlsxWriter(out, data_sheet="Results", specs=specs)
    changes = [(c.code, c.column, c.old, c.new) for c in plan.changes[:100_000]]
    writer.add_sheet(PlainSheet("Changes", [["ProductCode", "Column", "Old (store)", "New (file)"]],
                                widths=[20, 20, 40, 40], columns=[list(c) for c in zip(*changes)]))
    conflicts = [(c.code, c.column, c.base, c.file, c.current) for c in plan.conflicts[:100_000]]
    writer.add_sheet(PlainSheet("Conflicts", [["ProductCode", "Column", "Base (export)", "File", "Current (store)"]],
                                widths=[20, 20, 30, 30, 30], columns=[list(c) for c in zip(*conflicts)]))
    writer.write(out_frame, highlight=highlight, comments=comments, coded=coded)
    return out


def _words(frame: pd.DataFrame, plan: ImportPlan, applied: bool) -> np.ndarray:
    def word(action: str) -> str:
        text = OUTCOME_WORDS.get(action, action)
        return f"would be {text}" if not applied and action in ("create", "update") else text

    actions = frame[cols.KEY].map(plan.outcome).fillna("invalid")  # a dict lookup per row, in C
    return actions.map({a: word(a) for a in actions.unique()}).to_numpy(dtype=object)


def _messages(frame: pd.DataFrame, plan: ImportPlan, report, row_of: dict[str, int]) -> np.ndarray:
    parts: dict[int, list[str]] = {}  # most rows have no message: fill only those that do
    for code, text in plan.messages.items():
        if text and code in row_of:
            parts.setdefault(row_of[code], []).append(text)
    for i, texts in _row_problems(report).items():
        parts.setdefault(i, []).extend(texts)
    messages = np.full(len(frame), "", dtype=object)
    for i, texts in parts.items():
        messages[i] = "; ".join(texts)
    return messages


def _coded_columns(report, present: list[str], n: int) -> dict:
    """Validation's columns as categories: each value's cell is built once, not once per chunk."""
    from .xlsx import CodedColumn

    return {c: CodedColumn(np.asarray(cat.codes), cat.categories) for c, cat in
            getattr(report, "categorical", {}).items()
            if c in present and len(cat) == n and not (np.asarray(cat.codes) < 0).any()}


def _marks(plan: ImportPlan, present: list[str], row_of: dict[str, int], n: int):
    """Changed and conflicting cells: highlighted, with a comment old → new (or all three values);
    the comments' texts only for as many as are written (MAX_COMMENTS)."""
    from .xlsx.xml import MAX_COMMENTS

    rows: dict[str, list[int]] = {}
    comments: list[tuple[int, int, str]] = []
    col_of = {c: j + 2 for j, c in enumerate(present)}  # after Result and Message
    for items, text in ((plan.changes, _change_note), (plan.conflicts, _conflict_note)):
        for item in items:
            j, i = col_of.get(item.column), row_of.get(item.code)
            if j is None or i is None:
                continue
            rows.setdefault(item.column, []).append(i)
            if len(comments) < MAX_COMMENTS:
                comments.append((i, j, text(item)))
    highlight: dict[str, np.ndarray] = {}
    for column, marked in rows.items():
        highlight[column] = np.zeros(n, dtype=bool)
        highlight[column][marked] = True
    return highlight, comments


def _change_note(ch) -> str:
    return f"{_note(ch.old)} → {_note(ch.new)}"


def _conflict_note(c) -> str:
    return f"conflict: exported {_note(c.base)}, your file {_note(c.file)}, store now {_note(c.current)}"


def _note(value: str) -> str:
    return "(blank)" if value == "" else (value if len(value) <= 200 else value[:199] + "…")


def _row_problems(report) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    index_of_row = getattr(report, "index_of_row", None)
    for p in getattr(report, "problems", []):
        if getattr(p, "severity", "error") != "error":
            continue
        idx = getattr(p, "index", None)
        if idx is None and index_of_row is not None:
            idx = index_of_row(p.row)
        if idx is not None:
            out.setdefault(int(idx), []).append(f"{p.cell}: {p.message}")
    return out
