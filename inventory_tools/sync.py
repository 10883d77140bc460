"""Xero ↔ store (DESIGN §1, §6): load untracked Xero items as Setup Required products, then push.

``sync(store, ...)`` returns a :class:`SyncReport`; the CLI (``cli_sync.py``) only renders it.

Convergence: the pull's new products are written in one journaled store operation (kind
``sync``, so ``history`` lists it and ``undo`` removes what it loaded); links and the cursor are
written after it, and the cursor only moves once the items it covers are stored. A re-run after an
interruption re-reads from the old cursor and links (never duplicates) what is already there.
Pushes go in batches of 50 by ItemID or Code with a body-derived Idempotency-Key, and each
accepted batch is recorded at once, so a re-run sends only what is still missing or changed.
"""
from __future__ import annotations

import datetime as dt
import functools
import sys
import types
import hashlib
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Callable

import pandas as pd

from . import columns as cols
from . import sync_state as ss
from .errors import ExitCode, ToolError, UsageError
from .changes import ChangeSet
from .values import account_code, canonical, fold

TRACKED_GUIDANCE = (
    "Tracked items are not loaded. To load one, untrack it in Xero: Business → Products and services → "
    "open the item → Edit → clear \"I track this item\" → Save, then run sync again. Xero may refuse to "
    "untrack an item already used in transactions; such an item may have to be re-created under a new code.")
#: Re-read this much before the cursor: If-Modified-Since has whole seconds, UpdatedDateUTC milliseconds.
CURSOR_OVERLAP = dt.timedelta(seconds=1)
LIMITS = {"Code": 30, "Name": 50, "Description": 4000}


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
    older_items_count: int = 0
    older_items_since: str | None = None
    next_command: str | None = None
    relinked: list[str] = field(default_factory=list)
    unchanged: int = 0
    archived_skipped: list[str] = field(default_factory=list)
    tracked_guidance: str | None = None
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
class _Run:
    store: object
    report: SyncReport
    client: object | None
    dry_run: bool
    progress: Callable | None
    tenant_id: str | None = None
    tax_names: dict | None = None  # TaxType -> Name
    full_items: list | None = None  # an unfiltered GET of this run, reused for linking
    base_counts: tuple = (0, 0, 0)  # the client's counters when this run started


# ------------------------------------------------------------------------------------------------
def parse_since(since) -> dt.datetime | None:
    if since is None or since == "":
        return None
    if isinstance(since, dt.datetime):
        return since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)
    if isinstance(since, dt.date):
        return dt.datetime(since.year, since.month, since.day, tzinfo=dt.timezone.utc)
    try:
        day = dt.date.fromisoformat(str(since).strip())
    except ValueError:
        raise UsageError(f"--since {since!r} is not a date", "write it as YYYY-MM-DD, e.g. --since 2024-01-31") from None
    if day > dt.datetime.now(dt.timezone.utc).date():
        raise UsageError(f"--since {day.isoformat()} is in the future", "give a past date, e.g. --since 2024-01-31")
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def _from_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def sync(store, *, xero_file=None, since=None, pull_only: bool = False, push_only: bool = False,
         dry_run: bool = False, client=None, progress: Callable | None = None) -> SyncReport:
    """Xero → store (untracked items as Setup Required products), then store → Xero.

    ``progress(stage, done, total)`` is called during long stages. Raises :class:`ToolError`
    (exit 3 for auth/network/daily limit) with the partial report attached as ``.report``.
    """
    if pull_only and push_only:
        raise UsageError("--pull-only and --push-only exclude each other", "give at most one of them")
    since_dt = parse_since(since)
    if xero_file and push_only:
        raise UsageError("--push-only cannot be used with --xero-file (a file is only read, nothing is pushed)",
                         "drop --xero-file to push through the Xero API")
    if xero_file and since_dt:
        raise UsageError("--since cannot be used with --xero-file: the export has no dates",
                         "every untracked item of the file whose code is new is loaded; drop --since")
    report = SyncReport(dry_run=dry_run, since=since_dt.date().isoformat() if since_dt else None)
    run = _Run(store, report, client, dry_run, progress)
    try:
        if xero_file:
            report.source = str(xero_file)
            _pull_file(run, str(xero_file))
            report.push_off_reason = "--xero-file: nothing is pushed"
            return report
        if run.client is None:
            from .xero.api import XeroClient

            run.client = XeroClient.from_env()
        base = (run.client.calls, run.client.rate_limited, run.client.retries)
        run.base_counts = base
        run.tenant_id, report.tenant_name = run.client.tenant()
        report.tenant_id = run.tenant_id
        push_off = ("--pull-only" if pull_only else
                    "the store is Cin7 Core, which pushes products to Xero itself"
                    if not store.pushes_to_xero else None)
        if not push_only:
            _pull_api(run, since_dt)
        elif push_off is None:
            _begin_op(run, _frame([]))
        if push_off:
            report.push_off_reason = push_off
        else:
            report.pushed_enabled = True
            _push(run)
        return report
    except ToolError as exc:
        report.error = str(exc)
        report.resume_at = getattr(exc, "resume_at", None)
        exc.report = report
        raise
    finally:
        if run.client is not None:  # this run's share of a client that may be reused
            calls, limited, retries = run.base_counts
            report.calls = run.client.calls - calls
            report.rate_limited = run.client.rate_limited - limited
            report.retries = run.client.retries - retries
        _finish_op(run)


# -- pull ----------------------------------------------------------------------------------------
def _store_codes(store) -> list[str]:
    return list(store.codes())


def _path(item: dict, path: str):
    cur = item
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _pull_columns():
    return [c for c in cols.columns() if c.xero_field and c.xero_direction in ("both", "pull")]


def _tax_names_needed(items: list[dict]) -> bool:
    return any(_path(it, f"{side}.TaxType") for it in items for side in ("SalesDetails", "PurchaseDetails"))


@functools.lru_cache(maxsize=65536)
def _canonical_cached(name: str, raw):
    return canonical(cols.column(name), raw)


def item_to_product(item: dict, tax_names: dict, create_defaults: dict[str, str], warnings: list[str]) -> dict:
    row = {n: "" for n in cols.names()}
    for c in _pull_columns():
        if c.xero_field.endswith(".TaxType"):
            details = _path(item, c.xero_field.rsplit(".", 1)[0]) or {}
            raw = details.get("TaxName") or ""
            if not raw and details.get("TaxType"):
                raw = tax_names.get(details["TaxType"], details["TaxType"])
        else:
            raw = _path(item, c.xero_field)
        if isinstance(raw, str):
            raw = raw.strip()
        try:
            value, issue = _canonical_cached(c.name, raw)
        except TypeError:  # unhashable (a list or dict where a value belongs)
            value, issue = canonical(c, raw)
        if issue:
            warnings.append(f"{item.get('Code')}: {c.name} {raw!r} from Xero was left blank ({issue.message})")
            value = ""
        row[c.name] = value
    row[cols.STATUS] = cols.SETUP_REQUIRED
    if create_defaults:  # a store that requires the setup fields on create (Cin7 Core)
        for name, value in create_defaults.items():
            if name in row and not row[name]:
                row[name] = value
        if not row["Name"]:  # Cin7 refuses a product without a name; Xero's Name is optional
            row["Name"] = row[cols.KEY]
            warnings.append(f"{row[cols.KEY]}: no Name in Xero; the code was used as its name in Cin7")
    return row


def _classify(run: _Run, items: list[dict]):
    """→ (new items to load, {code: item} to link, tracked codes, case clashes)."""
    from .xero.api import is_tracked

    existing = set(_store_codes(run.store))
    folded = {c.casefold(): c for c in existing}
    new, link, tracked = [], {}, []
    seen: set[str] = set()
    for it in items:
        code = str(it.get("Code") or "").strip()
        if not code:
            continue
        if is_tracked(it):
            tracked.append(code)
            continue
        if code in existing:
            link[code] = it
        elif code.casefold() in folded or code.casefold() in seen:
            other = folded.get(code.casefold(), "another item in this answer")
            run.report.warnings.append(f"{code} differs only by case from {other}; not loaded (rename one of them)")
        else:
            seen.add(code.casefold())
            new.append(it)
    return new, link, sorted(set(tracked))


def _frame(rows: list[dict]) -> pd.DataFrame:
    names = list(cols.names())
    if not rows:
        return pd.DataFrame({n: pd.Series(dtype=object) for n in names})
    return pd.DataFrame.from_records(rows, columns=names).astype(object)


def _pull_api(run: _Run, since_dt: dt.datetime | None) -> None:
    report, client = run.report, run.client
    report.pulled = True
    state = ss.get_state(run.store.state, run.tenant_id)
    cursor = _from_iso(state["cursor"]) if state else None
    started = dt.datetime.now(dt.timezone.utc)
    first_run = state is None
    report.first_run = first_run
    if since_dt is not None:
        resp = client.get_items(since_dt)
    elif first_run or cursor is None:
        resp = client.get_items(None)
    else:
        resp = client.get_items(cursor - CURSOR_OVERLAP)
    if since_dt is None and (first_run or cursor is None):
        run.full_items = resp.items
    items = resp.items
    moment = resp.server_time or started
    enabled_at = state["enabled_at"] if state else _iso(moment)
    report.enabled_at = enabled_at
    new, link, tracked = _classify(run, items)
    if first_run and since_dt is None:
        # Sync starts now: what exists already is "older"; say how to load it.
        report.older_items_count = len(new)
        stamps = [d for d in (_safe_date(it.get("UpdatedDateUTC")) for it in new) if d]
        if new:
            day = min(stamps).date().isoformat() if stamps else "2000-01-01"
            report.older_items_since = day
            report.next_command = f"inventory-tools sync --since {day}"
        new, tracked_scope = [], []
    else:
        tracked_scope = tracked
    report.skipped_tracked = list(tracked_scope)
    if tracked_scope:
        report.tracked_guidance = TRACKED_GUIDANCE
    if new and run.tax_names is None and _tax_names_needed(new):
        run.tax_names = client.tax_rates()
    rows = [item_to_product(it, run.tax_names or {}, run.store.create_defaults, report.warnings) for it in new]
    report.loaded = [r[cols.KEY] for r in rows]
    known = ss.links(run.store.state, run.tenant_id)
    link_rows = [(code, it.get("ItemID"), False) for code, it in link.items()]
    for code, item_id, _ in sorted(link_rows):
        before = (known.get(code) or {}).get("item_id")
        if before and before != item_id:
            report.relinked.append(code)  # deleted and re-created in Xero: same code, new ItemID
        elif before != item_id:
            report.linked.append(code)
    # The cursor covers this answer only when the answer covered everything since the old cursor.
    if first_run and since_dt is None:
        new_cursor = moment
    elif since_dt is not None and cursor is not None and since_dt > cursor:
        new_cursor = cursor
    else:
        new_cursor = max([d for d in [moment, cursor] if d])
    report.cursor = _iso(new_cursor)
    if run.dry_run:
        return
    outcome = _begin_op(run, _frame(rows))
    if outcome is not None and outcome.failed:
        # Some products were refused by the store: keep the cursor, so the next run retries them.
        new_cursor = cursor if cursor is not None else (moment if since_dt is None else since_dt)
        report.cursor = _iso(new_cursor)
    created = set(outcome.created)
    loaded_links = [(it_code, it.get("ItemID"), False) for it_code, it in
                    ((str(i.get("Code")).strip(), i) for i in new) if it_code in created]
    in_store = set(_store_codes(run.store))
    ids = {str(i.get("Code") or "").strip(): i.get("ItemID") for i in items}
    tracked_links = [(code, ids.get(code), True) for code in tracked if code in in_store]
    with run.store.state.transaction() as db:
        ss.upsert_links(db, run.tenant_id, link_rows + loaded_links + tracked_links)
        ss.save_state(db, run.tenant_id, enabled_at=enabled_at, cursor=_iso(new_cursor),
                      detail={"last_sync_id": run.report.sync_id})


def _safe_date(text):
    from .xero.api import parse_xero_date

    try:
        return parse_xero_date(text)
    except ValueError:
        return None


def _pull_file(run: _Run, path: str) -> None:
    from .xero.csv_file import read_items_csv

    report = run.report
    report.pulled = True
    data = read_items_csv(path)
    report.warnings.extend(data.warnings)
    report.archived_skipped = data.archived
    new, link, tracked = _classify(run, data.items)
    report.skipped_tracked = tracked
    if tracked:
        report.tracked_guidance = TRACKED_GUIDANCE
    rows = [item_to_product(it, {}, run.store.create_defaults, report.warnings) for it in new]
    report.loaded = [r[cols.KEY] for r in rows]
    report.linked = sorted(link)
    if not run.dry_run:
        _begin_op(run, _frame(rows))


# -- the operation -------------------------------------------------------------------------------
def _counts(report: SyncReport) -> dict:
    return {"create": len(report.loaded), "loaded": len(report.loaded), "linked": len(report.linked),
            "skipped_tracked": len(report.skipped_tracked), "pushed": len(report.pushed),
            "rejected": len(report.rejected)}


def _begin_op(run: _Run, frame: pd.DataFrame):
    report = run.report
    if run.dry_run:
        return None
    outcome = run.store.apply(ChangeSet(creates=frame), kind="sync", source=report.source if report.source != "xero"
                              else f"xero:{report.tenant_name or run.tenant_id}", base_export_id=None,
                              counts=_counts(report))
    report.sync_id = outcome.op_id
    failed = outcome.failed
    if failed:
        report.loaded = [c for c in report.loaded if c not in failed]
        report.rejected.extend({"code": c, "message": f"the store refused it: {why}"} for c, why in failed.items())
    return outcome


def _finish_op(run: _Run) -> None:
    report = run.report
    if report.sync_id is None or run.dry_run:
        return
    detail = {k: v for k, v in report.to_dict().items() if k not in ("tracked_guidance",)}
    try:
        with run.store.state.transaction() as db:
            run.store.state.finish_operation(db, report.sync_id, state="applied", counts=_counts(report),
                                             detail=detail)
    except ToolError:
        pass


# -- push ------------------------------------------------------------------------------------------
def _push_columns():
    return [c for c in cols.columns() if c.xero_field and c.xero_direction in ("both", "push")]


def _set_path(target: dict, path: str, value) -> None:
    parts = path.split(".")
    for p in parts[:-1]:
        target = target.setdefault(p, {})
    target[parts[-1]] = value


def product_payload(product: dict, tax_types: dict) -> tuple[dict, list[str]]:
    """One Active product → a Xero item body (never tracked) and the problems that stop it."""
    body: dict = {}
    problems: list[str] = []
    for c in _push_columns():
        value = str(product.get(c.name) or "").strip()
        if value == "":
            continue
        if c.xero_field.endswith(".TaxType"):
            tax = tax_types.get(fold(value))
            if tax is None:
                problems.append(f"{c.name} '{value}' is not a tax rate in Xero (use one of its tax rate names)")
                continue
            value = tax
        elif c.type == "decimal":
            try:
                number = Decimal(value)
            except InvalidOperation:
                problems.append(f"{c.name} '{value}' is not a number")
                continue
            if c.name == "AverageCost" and number == 0:
                continue  # unknown cost: never overwrite Xero's purchase price with 0
            value = number
        elif c.type == "account":
            value = account_code(value)
        _set_path(body, c.xero_field, value)
    for key, limit in LIMITS.items():
        text = body.get(key)
        if isinstance(text, str) and len(text) > limit:
            what = {"Code": "ProductCode", "Name": "Name", "Description": "Description"}[key]
            problems.append(f"{what} is {len(text)} characters; Xero allows at most {limit} "
                            f"(it is not truncated: shorten it in the store to push it)")
    return body, problems


def _hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _push(run: _Run) -> None:
    from .xero.api import BATCH_SIZE, is_tracked

    report, client, store = run.report, run.client, run.store
    products = store.read_products()
    if not (products[cols.STATUS] == cols.ACTIVE).any():
        return  # nothing can be pushed: spare the organisation's call budget
    items = run.full_items if run.full_items is not None else client.get_items(None).items
    by_code: dict[str, dict] = {}
    for it in items:
        by_code.setdefault(str(it.get("Code") or "").strip(), it)
    by_id = {it.get("ItemID"): it for it in items if it.get("ItemID")}
    codes = list(products[cols.KEY])
    known = ss.links(store.state, run.tenant_id)
    # 1. Link every Xero item whose Code is a product; note tracked ones; re-link vanished ItemIDs.
    link_rows = []
    tracked_products = set()
    for code in codes:
        it = by_code.get(code)
        old = known.get(code) or {}
        if it is None:
            if old.get("item_id") and old["item_id"] not in by_id:
                link_rows.append((code, None, False))  # vanished and not re-created: push creates it
            continue
        tracked = is_tracked(it)
        if tracked:
            tracked_products.add(code)
        if old.get("item_id") != it.get("ItemID") or bool(old.get("tracked")) != tracked:
            link_rows.append((code, it.get("ItemID"), tracked))
            if not tracked and old.get("item_id") and old["item_id"] != it.get("ItemID"):
                report.relinked.append(code)
            elif not tracked and code not in report.linked and code not in report.loaded:
                report.linked.append(code)
    for code in sorted(tracked_products):
        if code not in report.skipped_tracked:
            report.skipped_tracked.append(code)
    if tracked_products:
        report.tracked_guidance = TRACKED_GUIDANCE
    if link_rows and not run.dry_run:
        with store.state.transaction() as db:
            ss.upsert_links(db, run.tenant_id, link_rows)
    known = ss.links(store.state, run.tenant_id) if not run.dry_run else _apply_links_in_memory(known, link_rows)
    # 2. What to send: Active products, new or changed since their last push.
    active = products[products[cols.STATUS] == cols.ACTIVE]
    needs_tax = any((active[c.name] != "").any() for c in _push_columns() if c.xero_field.endswith(".TaxType"))
    if needs_tax and run.tax_names is None:
        run.tax_names = client.tax_rates()
    tax_types = {}
    for tax_type, name in (run.tax_names or {}).items():
        tax_types.setdefault(fold(name), tax_type)
        tax_types.setdefault(fold(tax_type), tax_type)
    todo: list[tuple[str, dict, str]] = []
    wanted = [cols.KEY] + [c.name for c in _push_columns() if c.name != cols.KEY]
    for product in active[wanted].to_dict("records"):
        code = product[cols.KEY]
        if code in tracked_products:
            continue
        body, problems = product_payload(product, tax_types)
        if problems:
            report.rejected.append({"code": code, "message": "; ".join(problems)})
            continue
        h = _hash(body)
        link = known.get(code) or {}
        in_xero = link.get("item_id") and link["item_id"] in by_id
        if in_xero and link.get("pushed_hash") == h:
            report.unchanged += 1
            continue
        if link.get("item_id") and in_xero:
            body = {"ItemID": link["item_id"], **body}
        todo.append((code, body, h))
    if run.dry_run:
        report.pushed = [code for code, _, _ in todo]
        return
    if not todo:
        return
    client.check_can_write()
    total = len(todo)
    for start in range(0, total, BATCH_SIZE):
        batch = todo[start:start + BATCH_SIZE]
        results = client.post_items([body for _, body, _ in batch])
        accepted = []
        for (code, body, h), res in zip(batch, results):
            if res.errors:
                report.rejected.append({"code": code, "message": "; ".join(res.errors)})
            elif res.item_id:
                accepted.append((code, res.item_id, h))
            else:
                report.warnings.append(f"{code}: Xero's answer did not confirm it; it will be sent again next run")
        if accepted:
            with store.state.transaction() as db:
                ss.record_pushed(db, run.tenant_id, accepted)
            report.pushed.extend(code for code, _, _ in accepted)
        if run.progress:
            run.progress("push", min(start + BATCH_SIZE, total), total)


def _apply_links_in_memory(known: dict, rows) -> dict:
    out = {k: dict(v) for k, v in known.items()}
    for code, item_id, tracked in rows:
        old = out.get(code) or {}
        same = old.get("item_id") == item_id
        out[code] = {"code": code, "item_id": item_id, "tracked": int(tracked),
                     "pushed_hash": old.get("pushed_hash") if same else None}
    return out


class _CallableModule(types.ModuleType):
    """``from inventory_tools import sync`` may give this module (once imported, the package's
    attribute ``sync`` *is* the submodule); calling it runs :func:`sync`, so both spellings work."""

    def __call__(self, *args, **kwargs) -> SyncReport:
        return sync(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
