"""Times as the bookkeeping writes them: UTC, to the second, ISO 8601 with a ``Z``."""
from __future__ import annotations

import datetime as dt


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
