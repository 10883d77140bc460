"""sync's push: Active products → untracked Xero items (DESIGN §6).

First every untracked Xero item whose Code is a product is linked (one unpaged GET of all
Items); a product whose code is a tracked item is reported, never written. Then the products
whose mapped fields changed since their last push (or were never pushed) are sent, in batches of
50, each item built from Xero's own item as freshly read (re-read with If-Modified-Since before
every batch after the first):

* only the fields that changed since the last push are sent (a field someone changed in Xero is
  kept); a field the manager blanked is sent blank (``""``, a price 0); a product never pushed
  does not blank anything Xero holds;
* a detail block (SalesDetails, PurchaseDetails) is sent whole, as Xero holds it with those
  changes applied, or not at all: right whether Xero's POST replaces a block or merges into it;
* what Xero answered is compared with what was sent: a field Xero did not keep is reported and
  the item is not recorded as pushed (the next run sends it again).

What was last pushed is kept per item (``xero_links.pushed_hash`` holds the pushed values as JSON).
"""
from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from . import columns as cols
from .sync_run import TRACKED_GUIDANCE, SyncRun
from .values import account_code, decimal_text, fold
from .xero.api import BATCH_SIZE, is_tracked
from .stores.state import LocalState

LIMITS = {"Code": 30, "Name": 50, "Description": 4000}
LIMIT_COLUMN = {"Code": "ProductCode", "Name": "Name", "Description": "Description"}
BLOCKS = ("SalesDetails", "PurchaseDetails")
#: Block keys of tracked items only: never sent (an item we push stays untracked).
NEVER_SENT = {"COGSAccountCode"}
OVERLAP = dt.timedelta(seconds=1)


def _push_columns():
    return [c for c in cols.columns() if c.xero_field and c.xero_direction in ("both", "push")]


# -- what a product says ---------------------------------------------------------------------------
def product_payload(product: dict, tax_types: dict[str, str], inactive: set[str] = frozenset()) \
        -> tuple[dict, list[str]]:
    """One Active product → its mapped values by Xero path (``SalesDetails.UnitPrice``...), blank
    ones as ``""`` (a price as 0), and the problems that stop it. AverageCost only when known and
    non-zero (an unknown cost never overwrites Xero's purchase price)."""
    out: dict = {}
    problems: list[str] = []
    for c in _push_columns():
        value = str(product.get(c.name) or "").strip()
        path = c.xero_field
        if c.type == "decimal":
            try:
                number = Decimal(value) if value else Decimal(0)
            except InvalidOperation:
                problems.append(f"{c.name} '{value}' is not a number")
                continue
            if c.name == "AverageCost" and number == 0:
                continue
            out[path] = number
        elif value == "":
            out[path] = ""
        elif path.endswith(".TaxType"):
            tax = tax_types.get(fold(value))
            if tax is None:
                state = "is not an active tax rate" if fold(value) in inactive else "is not a tax rate"
                problems.append(f"{c.name} '{value}' {state} in Xero (use one of its active tax rate names)")
                continue
            out[path] = tax
        else:
            out[path] = account_code(value) if c.type == "account" else value
    for key, limit in LIMITS.items():
        text = out.get(key)
        if isinstance(text, str) and len(text) > limit:
            problems.append(f"{LIMIT_COLUMN[key]} is {len(text)} characters; Xero allows at most {limit} "
                            f"(it is not truncated: shorten it in the store to push it)")
    return out, problems


def _plain(value):
    return decimal_text(value) if isinstance(value, Decimal) else value


def fingerprint(payload: dict) -> str:
    """What was pushed, as stored: the mapped values (JSON, sorted, decimals normalised)."""
    return json.dumps({k: _plain(v) for k, v in payload.items()}, sort_keys=True, ensure_ascii=False)


def last_pushed(stored: str | None) -> dict | None:
    """The values of the last push (None: never pushed, or an older store that kept only a hash)."""
    try:
        data = json.loads(stored) if stored else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def changed_fields(payload: dict, last: dict | None) -> dict:
    """The fields to send: changed since the last push; never pushed → every field with a value."""
    if last is None:
        return {k: v for k, v in payload.items() if v not in ("", Decimal(0)) or k == "Code"}
    return {k: v for k, v in payload.items() if _plain(v) != last.get(k, object()) or k == "Code"}


def item_body(payload: dict, last: dict | None, current: dict | None) -> dict:
    """The item to POST: Code (+ ItemID of the linked item), the changed top-level fields, and each
    block with a change whole: as ``current`` (Xero's item as freshly read) holds it, changes applied."""
    changes = changed_fields(payload, last)
    body: dict = {"Code": payload["Code"]}
    if current is not None and current.get("ItemID"):
        body["ItemID"] = current["ItemID"]
    for path, value in changes.items():
        if "." not in path:
            body[path] = value
            continue
        block, key = path.split(".", 1)
        if block not in body:
            base = (current or {}).get(block) or {}
            body[block] = {k: copy.deepcopy(v) for k, v in base.items() if k not in NEVER_SENT}
        body[block][key] = value
    return body


def _blank(value) -> bool:
    if value is None or value == "":
        return True
    try:
        return not isinstance(value, bool) and Decimal(str(value)) == 0
    except InvalidOperation:
        return False


def _same(sent, got) -> bool:
    if _blank(sent):
        return _blank(got)
    if isinstance(sent, (Decimal, int, float)) and not isinstance(sent, bool):
        try:
            return got is not None and Decimal(str(sent)) == Decimal(str(got))
        except InvalidOperation:
            return False
    return str(sent).strip() == str(got if got is not None else "").strip()


def not_kept(body: dict, answer: dict) -> list[str]:
    """The sent fields Xero's answer shows with another value (a field it ignored or merged away)."""
    out = []
    for key, sent in body.items():
        if key == "ItemID":
            continue
        if key in BLOCKS and isinstance(sent, dict):
            got_block = answer.get(key) or {}
            for sub, value in sent.items():
                if not _same(value, got_block.get(sub)):
                    out.append(f"{key}.{sub} (sent {_show(value)}, Xero holds {_show(got_block.get(sub))})")
        elif not _same(sent, answer.get(key)):
            out.append(f"{key} (sent {_show(sent)}, Xero holds {_show(answer.get(key))})")
    return out


def _show(value) -> str:
    return "nothing" if value is None else f"'{_plain(value)}'"


# -- Xero's items as freshly read -----------------------------------------------------------------
class XeroItems:
    """Xero's items by Code and ItemID, kept fresh with If-Modified-Since reads."""

    def __init__(self, items: list[dict], read_at: dt.datetime | None):
        self.by_code: dict[str, dict] = {}
        self.by_id: dict[str, dict] = {}
        self.read_at = read_at
        self.merge(items)

    def merge(self, items: list[dict]) -> None:
        for it in items:
            code = str(it.get("Code") or "").strip()
            old = self.by_id.get(it.get("ItemID")) if it.get("ItemID") else None
            if old is not None and self.by_code.get(str(old.get("Code") or "").strip()) is old:
                del self.by_code[str(old.get("Code") or "").strip()]
            if it.get("ItemID"):
                self.by_id[it["ItemID"]] = it
            self.by_code[code] = it

    def refresh(self, client) -> None:
        """Read what changed in Xero since the last read (a 304 means nothing did)."""
        if self.read_at is None:
            return
        answer = client.get_items(self.read_at - OVERLAP)
        if not answer.not_modified:
            self.merge(answer.items)
            self.read_at = answer.server_time or self.read_at


# -- the push ------------------------------------------------------------------------------------------
def push(run: SyncRun) -> None:
    report, client, store = run.report, run.client, run.store
    products = store.read_products()
    if not (products[cols.STATUS] == cols.ACTIVE).any():
        return  # nothing can be pushed: spare the organisation's call budget
    if run.full_items is None:
        answer = client.get_items(None)
        run.full_items, run.items_time = answer.items, answer.server_time or dt.datetime.now(dt.timezone.utc)
    xero = XeroItems(run.full_items, run.items_time)
    tracked = _link(run, list(products[cols.KEY]), xero)
    known = store.state.xero_links(run.tenant_id) if not run.dry_run else run.dry_links
    active = products[products[cols.STATUS] == cols.ACTIVE]
    if any((active[c.name] != "").any() for c in _push_columns() if c.xero_field.endswith(".TaxType")):
        run.load_tax_rates()
    tax_types, inactive = run.tax_types()
    todo = []
    wanted = [cols.KEY] + [c.name for c in _push_columns() if c.name != cols.KEY]
    for product in active[wanted].to_dict("records"):
        code = product[cols.KEY]
        if code in tracked:
            continue
        payload, problems = product_payload(product, tax_types, inactive)
        if problems:
            report.rejected.append({"code": code, "message": "; ".join(problems)})
            continue
        link = known.get(code) or {}
        in_xero = bool(link.get("item_id")) and link["item_id"] in xero.by_id
        fp = fingerprint(payload)
        if in_xero and link.get("pushed_hash") == fp:
            report.unchanged += 1
            continue
        todo.append((code, payload, fp, last_pushed(link.get("pushed_hash")) if in_xero else None,
                     link.get("item_id") if in_xero else None))
    if run.dry_run:
        report.pushed = [t[0] for t in todo]
        return
    if todo:
        client.check_can_write()
        _send(run, todo, xero)


def _link(run: SyncRun, codes: list[str], xero: XeroItems) -> set[str]:
    """Link every Xero item whose Code is a product; note tracked ones; re-link vanished ItemIDs.
    Returns the codes of products that are tracked items in Xero."""
    report, store = run.report, run.store
    known = store.state.xero_links(run.tenant_id)
    rows, tracked = [], set()
    for code in codes:
        it = xero.by_code.get(code)
        old = known.get(code) or {}
        if it is None:
            if old.get("item_id") and old["item_id"] not in xero.by_id:
                rows.append((code, None, False))  # vanished and not re-created: push creates it
            continue
        is_t = is_tracked(it)
        if is_t:
            tracked.add(code)
        if old.get("item_id") != it.get("ItemID") or bool(old.get("tracked")) != is_t:
            rows.append((code, it.get("ItemID"), is_t))
            if not is_t and old.get("item_id") and old["item_id"] != it.get("ItemID"):
                report.relinked.append(code)
            elif not is_t and code not in report.linked and code not in report.loaded:
                report.linked.append(code)
    report.skipped_tracked.extend(c for c in sorted(tracked) if c not in report.skipped_tracked)
    if tracked:
        report.tracked_guidance = TRACKED_GUIDANCE
    if run.dry_run:
        run.dry_links = _links_in_memory(known, rows)
    elif rows:
        with store.state.transaction() as db:
            LocalState.upsert_xero_links(db, run.tenant_id, rows)
    return tracked


def _links_in_memory(known: dict, rows) -> dict:
    out = {k: dict(v) for k, v in known.items()}
    for code, item_id, tracked in rows:
        old = out.get(code) or {}
        same = old.get("item_id") == item_id
        out[code] = {"code": code, "item_id": item_id, "tracked": int(tracked),
                     "pushed_hash": old.get("pushed_hash") if same else None}
    return out


def _send(run: SyncRun, todo: list[tuple], xero: XeroItems) -> None:
    report, client = run.report, run.client
    total = len(todo)
    for start in range(0, total, BATCH_SIZE):
        if start:
            xero.refresh(client)  # each batch is built from Xero's items as they are now
        batch = todo[start:start + BATCH_SIZE]
        bodies = [item_body(payload, last, xero.by_id.get(item_id) if item_id else None)
                  for _code, payload, _fp, last, item_id in batch]
        results = client.post_items(bodies)
        accepted = []
        for (code, _payload, fp, _last, _id), body, res in zip(batch, bodies, results):
            if res.errors:
                report.rejected.append({"code": code, "message": "; ".join(res.errors)})
            elif not res.item_id:
                report.warnings.append(f"{code}: Xero's answer did not confirm it; it will be sent again next run")
            elif res.item and not_kept(body, res.item):
                report.rejected.append({"code": code, "message": "Xero did not keep " + "; ".join(
                    not_kept(body, res.item)) + "; not recorded as pushed (sent again next run)"})
            else:
                accepted.append((code, res.item_id, fp))
        if accepted:
            with run.store.state.transaction() as db:
                LocalState.record_pushed(db, run.tenant_id, accepted)
            report.pushed.extend(code for code, _, _ in accepted)
        if run.progress:
            run.progress("push", min(start + BATCH_SIZE, total), total)
