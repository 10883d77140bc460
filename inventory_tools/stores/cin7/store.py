"""The Cin7 Core (DEAR) store: products live in Cin7 Core, reached through its External API v2.

Credentials and endpoint (environment only, never the command line):

* ``CIN7_ACCOUNT_ID``, ``CIN7_APPLICATION_KEY``: sent as the ``api-auth-accountid`` /
  ``api-auth-applicationkey`` headers; never printed, logged or written to a file.
* ``INVENTORY_TOOLS_CIN7_API_BASE``: default ``https://inventory.dearsystems.com/ExternalApi/v2``.
* ``INVENTORY_TOOLS_RATE_WINDOW_SECONDS``: length of the 60-call rate window (default 60; tests
  run fakes with a scaled window such as 2 s).

Local state (export snapshots, the operations journal, sync cursors) never goes into Cin7: it is
a SQLite file ``./.inventory-tools/cin7-<account hash>.db`` next to the work (the current
folder), or ``$INVENTORY_TOOLS_STATE_DIR/cin7-<account hash>.db``. The account hash is the
first 12 hex digits of the SHA-256 of the account id, so the file name does not reveal it.

Reads are pages of 1,000 (``GET /product?Page&Limit=1000&IncludeDeprecated=true``); the API's
``Sku`` filter is not exact, so codes are always matched exactly here. Writes: see
:mod:`.writer` (a fresh read, then one write, per product). Cin7 has no delete:
``ChangeSet.deletes`` deprecates (``Status: Deprecated``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

import pandas as pd

from ... import columns as cols
from ... import values
from ...changes import ApplyOutcome, ChangeSet, WriteEstimate, empty_products
from ...errors import RemoteError, StoreError
from ...http import RatePolicy
from ..base import Store
from ..state import LocalState, connect, connect_empty
from .client import ACCOUNT_ENV, BASE_ENV, CALLS_PER_WINDOW, DEFAULT_API_BASE, KEY_ENV, Cin7Client
from .fields import CREATE_DEFAULTS, product_to_row, rows_to_frame
from .references import RULES, ReferenceBooks, names_only_check
from .writer import Cin7Writer

STATE_DIR_ENV = "INVENTORY_TOOLS_STATE_DIR"
DEFAULT_STATE_DIR = ".inventory-tools"
#: A product write costs one fresh read and one write.
CALLS_PER_PRODUCT = 2


def account_hash(account_id: str) -> str:
    return hashlib.sha256(account_id.strip().lower().encode("utf-8")).hexdigest()[:12]


def state_path(account_id: str) -> Path:
    folder = Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    return folder / f"cin7-{account_hash(account_id)}.db"


def credentials_from_env() -> tuple[str, str]:
    """(account id, application key) from the environment, or a RemoteError naming what is missing."""
    account = (os.environ.get(ACCOUNT_ENV) or "").strip()
    key = (os.environ.get(KEY_ENV) or "").strip()
    if not account or not key:
        missing = [n for n, v in ((ACCOUNT_ENV, account), (KEY_ENV, key)) if not v]
        raise RemoteError(f"Cin7 Core credentials are not set: {' and '.join(missing)} missing",
                          f"export {ACCOUNT_ENV} and {KEY_ENV} (Cin7 Core → Integrations → API → your application); "
                          "they are read from the environment only")
    return account, key


class Cin7Store(Store):
    kind = "cin7core"
    #: Cin7 Core pushes its products to Xero itself: sync never pushes from this store.
    pushes_to_xero = False
    #: Cin7 requires these on create; its own defaults fill the blanks (sync loads with them).
    create_defaults = CREATE_DEFAULTS

    def __init__(self, account_id: str, application_key: str, *, base_url: str | None = None,
                 state_file: str | os.PathLike | None = None, policy: RatePolicy | None = None,
                 create: str = "now"):
        """``create``: the local bookkeeping file is made ``"now"``, or (``"on_write"``, ``"never"``)
        only when something is to be kept in it (an export, an import, a sync): a command that only
        reads Cin7 leaves nothing on disk."""
        if not account_id or not application_key:
            raise RemoteError(f"Cin7 Core credentials are not set: {ACCOUNT_ENV} and {KEY_ENV} are needed",
                              f"export {ACCOUNT_ENV} and {KEY_ENV}; they are read from the environment only")
        self.base_url = (base_url or DEFAULT_API_BASE).rstrip("/")
        self._hash = account_hash(account_id)
        self.client = Cin7Client(account_id, application_key, self.base_url, policy=policy)
        path = Path(state_file) if state_file else state_path(account_id)
        self.state_path = str(path)
        if create == "now" or path.exists():
            self.state = LocalState(self._open_state_file(), self.state_path)
        else:
            self.state = LocalState(connect_empty("cin7-state"), self.state_path, on_first_write=self._open_state_file)
        self._books: ReferenceBooks | None = None

    @property
    def db(self):
        return self.state.db

    def _open_state_file(self):
        path = Path(self.state_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the local state folder {path.parent}: {exc.strerror}",
                             f"set {STATE_DIR_ENV} to a writable folder") from None
        return connect(path, purpose="cin7-state")

    @classmethod
    def from_env(cls, *, create: str = "now") -> "Cin7Store":
        account, key = credentials_from_env()
        return cls(account, key, base_url=os.environ.get(BASE_ENV) or None, create=create)

    # -- identity -------------------------------------------------------------------------------
    def identity(self) -> str:
        return f"cin7core:{self._hash}"

    def describe(self) -> str:
        host = urlparse(self.base_url).netloc or self.base_url
        return f"Cin7 Core account {self._hash} ({host}); local state {self.state_path}"

    def close(self) -> None:
        self.client.close()
        self.state.close()

    # -- reads ----------------------------------------------------------------------------------
    def _read_all(self) -> dict[str, dict]:
        index: dict[str, dict] = {}
        for p in self.client.products():
            code = str(p.get("SKU") or "").strip()
            if code:
                index[code] = p
        return index

    def read_products(self, statuses: Iterable[str] | None = None) -> pd.DataFrame:
        rows = [product_to_row(p) for p in self._read_all().values()]
        if statuses:
            wanted = {values.fold(s) for s in statuses}
            rows = [r for r in rows if values.fold(r[cols.STATUS]) in wanted]
        return rows_to_frame(rows)

    def read_by_codes(self, codes: Iterable[str]) -> pd.DataFrame:
        codes = list(dict.fromkeys(c.strip() for c in codes))
        if not codes:
            return empty_products()
        if len(codes) <= 3:  # cheaper than a full read: one filtered GET each, matched exactly here
            rows = [product_to_row(p) for p in (self.client.find_sku(c) for c in codes) if p]
        else:
            index = self._read_all()
            rows = [product_to_row(index[c]) for c in codes if c in index]
        return rows_to_frame(rows)

    def read_modified_since(self, since: str) -> pd.DataFrame:
        """Products changed since ``since`` (ISO 8601 UTC, ``yyyy-MM-ddTHH:mm:ss``): the API's own filter."""
        return rows_to_frame([product_to_row(p) for p in self.client.products(modified_since=since)])

    def status_counts(self) -> dict[str, int]:
        """Products per canonical status (one paged read)."""
        out: dict[str, int] = {}
        for p in self._read_all().values():
            st = product_to_row(p)[cols.STATUS]
            out[st] = out.get(st, 0) + 1
        return out

    def codes(self) -> list[str]:
        """Every product code in Cin7 (one paged read)."""
        return list(self._read_all())

    def last_ops(self, codes: Iterable[str]) -> dict[str, int | None]:
        """The last operation of ours that wrote each code (from the local journal; Cin7 keeps no such
        record, so edits made in Cin7 itself are not seen here)."""
        return self.state.last_done_ops(codes)

    # -- references -----------------------------------------------------------------------------
    def reference_books(self) -> ReferenceBooks:
        """Cin7's reference books, read once per store object (7 calls)."""
        if self._books is None:
            self._books = ReferenceBooks.read(self.client)
        return self._books

    def reference_lists(self) -> dict[str, list[str]]:
        """Column name → the names Cin7 accepts in it (accounts as ``Code: Name``): only active tax rules
        flagged for sales (SaleTaxRule) or purchases (PurchaseTaxRule), accounts of the class the
        column needs, active discount rules..."""
        books = self.reference_books()
        return {column: books.allowed(column) for column in RULES}

    def check_references(self, frame: pd.DataFrame, lists: dict[str, list[str]] | None = None) -> list[dict]:
        """Problems for values Cin7 would refuse, as it applies its rules (see :mod:`.references`);
        with ``lists`` (column → names), names only. Blank cells are not checked (the create
        defaults fill the required ones)."""
        if lists is not None:
            return names_only_check(frame, lists)
        return self.reference_books().check(frame)

    # -- writes ---------------------------------------------------------------------------------
    def write_estimate(self, n_products: int) -> WriteEstimate:
        """How long writing ``n_products`` takes at the rate limit: a fresh read and a write each."""
        p = self.client.policy
        calls = CALLS_PER_PRODUCT * n_products
        return WriteEstimate(products=n_products, calls=calls, seconds=calls * p.per_seconds / p.calls,
                             calls_per_minute=CALLS_PER_WINDOW)

    def apply(self, changes: ChangeSet, *, kind: str, source: str, base_export_id: str | None,
              counts: dict, progress=None, undo_of: int | None = None, detail: dict | None = None) -> ApplyOutcome:
        """Write product by product, journaled; resumable (see :mod:`.writer`).

        An empty change set makes no API call, unless it resumes an interrupted run of the same
        (kind, source), which it then settles and finishes.
        """
        self.state.materialize()
        return Cin7Writer(self).apply(changes, kind=kind, source=source, base_export_id=base_export_id,
                                      counts=counts, progress=progress, undo_of=undo_of, detail=detail)

    def unfinished_operation(self, kind: str, source: str | None) -> dict | None:
        """The interrupted operation a re-run of (kind, source) would resume, if any."""
        return self.state.unfinished_operation(kind, source)
