"""sync's pull: Xero items (API or the Items CSV export) → new Setup Required products, links, cursor.

Both sources go through the same :func:`classify`: tracked items are never loaded (listed with
how to untrack them), archived items are skipped (the CSV marks them; the API documents no marker,
see :func:`inventory_tools.xero.api.is_archived`), a code already in the store is linked, never
duplicated or overwritten.
"""
from __future__ import annotations

import datetime as dt
import functools

from . import columns as cols
from .sync_run import TRACKED_GUIDANCE, SyncRun, begin_op, frame
from .values import canonical
from .xero.api import is_archived, is_tracked, parse_xero_date
from .stores.state import LocalState

#: Re-read this much before the cursor: If-Modified-Since has whole seconds, UpdatedDateUTC milliseconds.
CURSOR_OVERLAP = dt.timedelta(seconds=1)


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def from_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


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


def classify(run: SyncRun, items: list[dict]):
    """→ (new items to load, {code: item} to link, tracked codes); archived codes go to the report."""
    existing = set(run.store.codes())
    folded = {c.casefold(): c for c in existing}
    new, link, tracked = [], {}, []
    seen: set[str] = set()
    for it in items:
        code = str(it.get("Code") or "").strip()
        if not code:
            continue
        if is_archived(it):
            if code not in existing:
                run.report.archived_skipped.append(code)
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


def _safe_date(text):
    try:
        return parse_xero_date(text)
    except ValueError:
        return None


def _new_cursor(resp, *, cursor, since_dt, first_run: bool, started: dt.datetime) -> dt.datetime:
    """Where the next run starts: the cursor covers this answer only when it covered everything since
    the old cursor; a 304 (nothing changed) keeps it where it was."""
    if resp.not_modified:
        return cursor or since_dt
    moment = resp.server_time or started
    if first_run and since_dt is None:
        return moment
    if since_dt is not None and cursor is not None and since_dt > cursor:
        return cursor
    return max([d for d in [moment, cursor] if d])


def pull_api(run: SyncRun, since_dt: dt.datetime | None) -> None:
    report, client = run.report, run.client
    report.pulled = True
    state = run.store.state.sync_state(run.tenant_id)
    cursor = from_iso(state["cursor"]) if state else None
    started = dt.datetime.now(dt.timezone.utc)
    first_run = state is None
    report.first_run = first_run
    full = since_dt is None and (first_run or cursor is None)
    resp = client.get_items(since_dt if since_dt is not None else None if full else cursor - CURSOR_OVERLAP)
    report.not_modified = resp.not_modified
    if full:
        run.full_items, run.items_time = resp.items, resp.server_time or started
    enabled_at = state["enabled_at"] if state else iso(resp.server_time or started)
    report.enabled_at = enabled_at
    new, link, tracked = classify(run, resp.items)
    shown_tracked = tracked
    if first_run and since_dt is None:
        _tell_older_items(report, new)  # sync starts now: what exists already is "older"
        new, shown_tracked, report.archived_skipped = [], [], []
    report.skipped_tracked = list(shown_tracked)
    if shown_tracked:
        report.tracked_guidance = TRACKED_GUIDANCE
    if new and _tax_names_needed(new):
        run.load_tax_rates()
    rows = [item_to_product(it, run.tax_names(), run.store.create_defaults, report.warnings) for it in new]
    report.loaded = [r[cols.KEY] for r in rows]
    link_rows = _report_links(run, link)
    new_cursor = _new_cursor(resp, cursor=cursor, since_dt=since_dt, first_run=first_run, started=started)
    report.cursor = iso(new_cursor)
    if run.dry_run:
        return
    outcome = begin_op(run, frame(rows))
    if outcome is not None and outcome.failed:
        # Some products were refused by the store: keep the cursor, so the next run retries them.
        new_cursor = cursor if cursor is not None else (resp.server_time or started if since_dt is None else since_dt)
        report.cursor = iso(new_cursor)
    created = set(outcome.created)
    loaded_links = [(code, i.get("ItemID"), False) for code, i in
                    ((str(i.get("Code")).strip(), i) for i in new) if code in created]
    in_store = set(run.store.codes()) if tracked else set()
    ids = {str(i.get("Code") or "").strip(): i.get("ItemID") for i in resp.items}
    tracked_links = [(code, ids.get(code), True) for code in tracked if code in in_store]
    with run.store.state.transaction() as db:
        LocalState.upsert_xero_links(db, run.tenant_id, link_rows + loaded_links + tracked_links)
        LocalState.save_sync_state(db, run.tenant_id, enabled_at=enabled_at, cursor=iso(new_cursor),
                      detail={"last_sync_id": report.sync_id})


def _tell_older_items(report, new: list[dict]) -> None:
    report.older_items_count = len(new)
    stamps = [d for d in (_safe_date(it.get("UpdatedDateUTC")) for it in new) if d]
    if new:
        day = min(stamps).date().isoformat() if stamps else "2000-01-01"
        report.older_items_since = day
        report.next_command = f"inventory-tools sync --since {day}"


def _report_links(run: SyncRun, link: dict[str, dict]) -> list[tuple]:
    known = run.store.state.xero_links(run.tenant_id)
    link_rows = [(code, it.get("ItemID"), False) for code, it in link.items()]
    for code, item_id, _ in sorted(link_rows):
        before = (known.get(code) or {}).get("item_id")
        if before and before != item_id:
            run.report.relinked.append(code)  # deleted and re-created in Xero: same code, new ItemID
        elif before != item_id:
            run.report.linked.append(code)
    return link_rows


def pull_file(run: SyncRun, path: str) -> None:
    from .xero.csv_file import read_items_csv

    report = run.report
    report.pulled = True
    data = read_items_csv(path)
    report.warnings.extend(data.warnings)
    new, link, tracked = classify(run, data.items)
    report.skipped_tracked = tracked
    if tracked:
        report.tracked_guidance = TRACKED_GUIDANCE
    rows = [item_to_product(it, {}, run.store.create_defaults, report.warnings) for it in new]
    report.loaded = [r[cols.KEY] for r in rows]
    report.linked = sorted(link)
    if not run.dry_run:
        begin_op(run, frame(rows))
