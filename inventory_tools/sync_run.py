"""What one sync run carries between its pull and its push, and its store operation (history/undo)."""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable

import pandas as pd

from . import columns as cols
from .changes import ApplyOutcome, ChangeSet
from .errors import ExitCode, ToolError
from .values import fold

if TYPE_CHECKING:
    from .xero.api import TaxRate

TRACKED_GUIDANCE = (
    "Tracked items are not loaded. To load one, untrack it in Xero: Business → Products and services → "
    "open the item → Edit → clear \"I track this item\" → Save, then run sync again. Xero may refuse to "
    "untrack an item already used in transactions; such an item may have to be re-created under a new code.")


@dataclass
class SyncReport:
    sync_id: int | None = None
    loaded: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)
    skipped_tracked: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)  # {"code", "message"}
    calls: int = 0
    rate_limited: int = 0
    # -- more detail -----------------------------------------------------------------------
    source: str = "xero"
    dry_run: bool = False
    pulled: bool = False
    pushed_enabled: bool = False
    push_off_reason: str | None = None
    tenant_id: str | None = None
    tenant_name: str | None = None
    first_run: bool = False
    enabled_at: str | None = None
    cursor: str | None = None
    since: str | None = None
    not_modified: bool = False  # Xero answered 304: nothing changed since the cursor
    older_items_count: int = 0
    older_items_since: str | None = None
    next_command: str | None = None
    relinked: list[str] = field(default_factory=list)
    unchanged: int = 0
    archived_skipped: list[str] = field(default_factory=list)
    tracked_guidance: str | None = None
    notices: list[dict] = field(default_factory=list)  # facts the store says once ({"kind", "message", ...})
    warnings: list[str] = field(default_factory=list)
    retries: int = 0
    error: str | None = None
    resume_at: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def exit_code(self) -> int:
        return int(ExitCode.DATA) if self.rejected else int(ExitCode.OK)


@dataclass
class SyncRun:
    store: object
    report: "SyncReport"
    client: object | None
    dry_run: bool
    progress: Callable | None
    tenant_id: str | None = None
    tax_rates: "list[TaxRate] | None" = None
    full_items: list | None = None  # an unfiltered GET of this run, reused for linking
    items_time: dt.datetime | None = None  # Xero's clock when full_items was read
    base_counts: tuple = (0, 0, 0)  # the client's counters when this run started
    dry_links: dict | None = None  # a dry run's links, as they would be (nothing is written)

    def load_tax_rates(self) -> None:
        if self.tax_rates is None:
            self.tax_rates = self.client.tax_rates()

    def tax_names(self) -> dict[str, str]:
        """TaxType → name (what Cin7 and Xero's CSV use); an ACTIVE rate's name wins a shared TaxType."""
        out: dict[str, str] = {}
        for r in sorted(self.tax_rates or [], key=lambda r: not r.active):
            out.setdefault(r.tax_type, r.name)
        return out

    def tax_types(self) -> tuple[dict[str, str], set[str]]:
        """(folded name or TaxType of an ACTIVE rate → TaxType, folded names of rates that are not active)."""
        active: dict[str, str] = {}
        inactive: set[str] = set()
        for r in self.tax_rates or []:
            if r.active:
                active.setdefault(fold(r.name), r.tax_type)
                active.setdefault(fold(r.tax_type), r.tax_type)
            else:
                inactive.update({fold(r.name), fold(r.tax_type)})
        return active, inactive - set(active)


def frame(rows: list[dict]) -> pd.DataFrame:
    names = list(cols.names())
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    return pd.DataFrame.from_records(rows, columns=names).astype(object)


def counts(report: "SyncReport") -> dict:
    return {"create": len(report.loaded), "loaded": len(report.loaded), "linked": len(report.linked),
            "skipped_tracked": len(report.skipped_tracked), "pushed": len(report.pushed),
            "rejected": len(report.rejected)}


def begin_op(run: SyncRun, rows: pd.DataFrame) -> ApplyOutcome | None:
    """Write the loaded products as one store operation (kind ``sync``); refusals become rejections."""
    report = run.report
    if run.dry_run:
        return None
    source = report.source if report.source != "xero" else f"xero:{report.tenant_name or run.tenant_id}"
    outcome = run.store.apply(ChangeSet(creates=rows), kind="sync", source=source, base_export_id=None,
                              counts=counts(report))
    report.sync_id = outcome.op_id
    if outcome.failed:
        report.loaded = [c for c in report.loaded if c not in outcome.failed]
        report.rejected.extend({"code": c, "message": f"the store refused it: {why}"}
                               for c, why in outcome.failed.items())
    report.notices.extend(outcome.notices)
    return outcome


def finish_op(run: SyncRun) -> None:
    report = run.report
    if report.sync_id is None or run.dry_run:
        return
    detail = {k: v for k, v in report.to_dict().items() if k not in ("tracked_guidance",)}
    try:
        with run.store.state.transaction() as db:
            run.store.state.finish_operation(db, report.sync_id, state="applied", counts=counts(report),
                                             detail=detail)
    except ToolError:
        pass
