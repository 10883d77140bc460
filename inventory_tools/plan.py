"""The import plan: a pure three-way, cell-level diff (no I/O).

base    what the export wrote (None for a file without a manifest: Cin7's own CSV, a hand-made sheet)
file    what the manager saved
current the store now

With a base, only cells the manager changed (file ≠ base) are written; such a cell whose current
value moved away from base to something other than the file's value is a conflict. Without a
base, blank means "leave unchanged" (unless blank_clears) and other cells are compared with the
store. Read-only columns are data when a product is created, and an ignored edit otherwise.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ._lazy import lazy_import
from . import columns as cols
from .changes import CellChange, ChangeSet
from .values import account_code

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

ACTIONS = ("create", "update", "unchanged", "conflict", "invalid", "skipped", "failed")
POLICIES = ("abort", "skip", "overwrite")


@dataclass
class Conflict:
    code: str
    column: str
    base: str
    file: str
    current: str


@dataclass
class Ignored:
    code: str
    column: str
    file: str
    current: str
    reason: str


@dataclass
class ImportPlan:
    creates: pd.DataFrame  # full rows, every column
    changes: list[CellChange]  # cell updates that will be written (after the conflict policy)
    conflicts: list[Conflict]
    ignored: list[Ignored]
    outcome: dict[str, str]  # code -> one of ACTIONS
    policy: str = "abort"
    has_base: bool = False
    messages: dict[str, str] = field(default_factory=dict)  # code -> why (conflicts, skipped...)
    current: pd.DataFrame | None = None  # the store rows the plan was made against
    absent: list[str] = field(default_factory=list)  # exported codes the file no longer holds (left as they are)

    @property
    def blocked(self) -> bool:
        """Conflicts under the abort policy: nothing may be applied."""
        return bool(self.conflicts) and self.policy == "abort"

    def counts(self) -> dict[str, int]:
        c = Counter(self.outcome.values())
        return {a: int(c.get(a, 0)) for a in ACTIONS}

    def column_counts(self) -> dict[str, int]:
        return dict(Counter(ch.column for ch in self.changes).most_common())

    def status_transitions(self) -> dict[tuple[str, str], int]:
        c = Counter((ch.old or "(blank)", ch.new or "(blank)") for ch in self.changes if ch.column == cols.STATUS)
        return dict(c.most_common())

    def change_set(self) -> ChangeSet:
        return ChangeSet(creates=self.creates, updates=list(self.changes), on_conflict=self.policy)

    @property
    def empty(self) -> bool:
        return self.creates.empty and not self.changes

    @property
    def products_to_write(self) -> int:
        """Products the apply writes: each created one and each with a changed cell."""
        return len(self.creates) + len({c.code for c in self.changes})


def same_value(column: cols.Column, a: str, b: str) -> bool:
    """Whether two canonical texts of ``column`` are the same value (see :func:`_normal`)."""
    return a == b or _normal(column, a) == _normal(column, b)


def _normal(column: cols.Column, text: str) -> str:
    """What counts as "the same value": account codes by code; text regardless of CRLF vs LF
    (spreadsheet apps save CRLF inside a cell as LF) and of the space normalisation readers apply
    (non-breaking and edge spaces): none of that is an edit a person made."""
    if column.type == "account":
        return account_code(text)
    if column.type == "text":
        return text.replace("\r\n", "\n").replace("\u00a0", " ").strip()
    return text


def _index(values) -> pd.Index:
    """Codes as an object Index (pandas 3 would copy every code into an Arrow string first)."""
    return pd.Index(np.asarray(values, dtype=object), dtype=object)


def _same(column: cols.Column, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality under :func:`_normal`; only the few unequal cells are normalised
    (texts: only those :func:`_normal` may change; two other different texts stay different)."""
    eq = a == b
    if column.type in ("account", "text"):
        idx = np.flatnonzero(~eq)
        if len(idx) and column.type == "text":
            idx = idx[_may_change(a[idx]) | _may_change(b[idx])]
        if len(idx):
            eq[idx] = [_normal(column, x) == _normal(column, y) for x, y in zip(a[idx], b[idx])]
    return eq


def _may_change(texts: np.ndarray) -> np.ndarray:
    """Whether :func:`_normal` may change each text (a text column's): a CR, a non-breaking
    space, whitespace at an edge. (A check per text costs a twentieth of normalising it.)"""
    return np.fromiter(("\r" in t or "\u00a0" in t or t != t.strip() for t in texts.tolist()), dtype=bool,
                       count=len(texts))


def make_plan(file: pd.DataFrame, current: pd.DataFrame, base: pd.DataFrame | None, *,
              blank_clears: bool = False, policy: str = "abort", default_status: str = cols.NEW_PRODUCT_STATUS) -> ImportPlan:
    """Diff ``file`` (canonical values; any subset of columns, must hold the key) three ways.

    ``base`` is the export snapshot (or None); its rows for codes it lacks count as "no base".
    Codes must already be unique in ``file`` (validation guarantees it).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown conflict policy {policy!r}")
    key = cols.KEY
    file = file.reset_index(drop=True)
    codes = file[key].to_numpy(dtype=object)
    cur = current.drop_duplicates(key).set_index(key)
    exists = _index(cur.index).get_indexer(_index(codes)) >= 0
    plan = ImportPlan(creates=_creates(file.loc[~exists], default_status), changes=[], conflicts=[], ignored=[],
                      outcome={}, policy=policy, has_base=base is not None, current=current,
                      absent=[] if base is None else list(_index(base[key]).difference(_index(codes), sort=False)))
    _drop_deleted_since(plan, base)
    old = file.loc[exists].reset_index(drop=True)
    at = _index(cur.index).get_indexer(_index(old[key]))
    _cells(plan, old, cur.iloc[at], base, blank_clears)
    return plan


def _creates(new: pd.DataFrame, default_status: str) -> pd.DataFrame:
    """Rows of new products with every column (a blank Status: the default)."""
    creates = pd.DataFrame({c: (new[c] if c in new.columns else "") for c in cols.names()}, index=new.index)
    creates = creates.astype(object).reset_index(drop=True)
    if not creates.empty:
        creates.loc[creates[cols.STATUS] == "", cols.STATUS] = default_status
    return creates


def _drop_deleted_since(plan: ImportPlan, base: pd.DataFrame | None) -> None:
    """A "new" row the export held was deleted from the store since: a conflict, not a create."""
    key = cols.KEY
    if base is not None and not plan.creates.empty:
        gone = plan.creates[key].isin(set(base[key]))
        for code in plan.creates.loc[gone, key]:
            plan.conflicts.append(Conflict(code, key, code, code, "(deleted from the store since the export)"))
            plan.outcome[code] = "conflict"
            plan.messages[code] = "this product was deleted from the store after the export"
        plan.creates = plan.creates.loc[~gone].reset_index(drop=True)
    for code in plan.creates[key]:
        plan.outcome[code] = "create"


def _cells(plan: ImportPlan, old: pd.DataFrame, curr: pd.DataFrame, base: pd.DataFrame | None,
           blank_clears: bool) -> None:
    """Existing products, cell by cell: changes, conflicts, ignored read-only edits, outcomes."""
    key, policy = cols.KEY, plan.policy
    ocodes = old[key].to_numpy(dtype=object)
    if base is not None:
        b = base.drop_duplicates(key).set_index(key).reindex(_index(ocodes))
        has_base = _index(base[key]).get_indexer(_index(ocodes)) >= 0
        all_based = bool(has_base.all())
    else:
        b, has_base, all_based = None, np.zeros(len(ocodes), dtype=bool), False
    conflicted = np.zeros(len(ocodes), dtype=bool)  # rows (codes are unique in the file)
    changed = np.zeros(len(ocodes), dtype=bool)
    for name in (c for c in old.columns if c in cols.by_name() and c != key):
        column = cols.column(name)
        fv, cv = old[name].to_numpy(dtype=object), curr[name].to_numpy(dtype=object)
        if b is not None:
            bv = b[name].to_numpy(dtype=object)
            if not all_based:
                bv = np.where(has_base, bv, "")  # no base row: unused below
            edited_vs_base = has_base & ~_same(column, fv, bv)
            # where the file holds the base value nothing changes and nothing conflicts: the
            # other two comparisons are made only for the rest (a few percent of a real edit)
            look = np.flatnonzero(edited_vs_base | ~has_base)
        else:
            bv = np.full(len(fv), "", dtype=object)
            edited_vs_base, look = np.zeros(len(fv), dtype=bool), slice(None)
        file_is_current, current_is_base = np.ones(len(fv), dtype=bool), np.ones(len(fv), dtype=bool)
        file_is_current[look] = _same(column, fv[look], cv[look])
        if b is not None:
            current_is_base[look] = _same(column, cv[look], bv[look])
        if all_based:  # (every row has a base: spare the comparison of every cell with "")
            no_base_edit = np.zeros(len(fv), dtype=bool)
        else:
            no_base_edit = ~has_base & ~file_is_current & ((fv != "") | blank_clears)
        differs = (edited_vs_base | no_base_edit) & ~file_is_current
        if column.read_only:
            plan.ignored += [Ignored(ocodes[i], name, fv[i], cv[i], f"{name} is read-only (computed by Cin7); the "
                                     "edit was ignored") for i in np.flatnonzero(differs)]
            continue
        conflict = edited_vs_base & ~current_is_base & ~file_is_current
        at = np.flatnonzero(conflict)
        plan.conflicts += [Conflict(*v) for v in zip(ocodes[at], [name] * len(at), bv[at], fv[at], cv[at])]
        conflicted[at] = True
        at = np.flatnonzero(differs & (~conflict if policy != "overwrite" else True))
        plan.changes += [CellChange(*v) for v in zip(ocodes[at], [name] * len(at), cv[at], fv[at])]
        changed[at] = True
    held = conflicted if policy != "overwrite" else np.zeros(len(ocodes), dtype=bool)
    plan.outcome.update(zip(ocodes.tolist(), np.where(held, "conflict", np.where(changed, "update", "unchanged")).tolist()))
    message = ("changed in the store since the export; kept the store's value" if policy == "skip"
               else "changed in the store since the export")
    plan.messages.update((code, message) for code in ocodes[held].tolist())
