"""Xero's dates: ``/Date(ms+hhmm)/`` in answers, ``yyyy-mm-ddThh:mm:ss`` in If-Modified-Since."""
from __future__ import annotations

import datetime as dt
import re

_DATE_RE = re.compile(r"^/?Date\((-?\d+)([+-]\d{4})?\)/?$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def parse_xero_date(text: str | None) -> dt.datetime | None:
    r"""``/Date(1488338552390+0000)/`` (or ``\/Date(...)\/``) → aware datetime, to the millisecond.

    The number is milliseconds since the Unix epoch (UTC); the optional ``+hhmm`` is the zone the
    value is shown in. The instant is computed with integer arithmetic (no float rounding).
    """
    if text is None or text == "":
        return None
    m = _DATE_RE.match(str(text).replace("\\/", "/").strip())
    if not m:
        # Some endpoints (and the fake server's clients) use ISO 8601.
        try:
            value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not a Xero date: {text!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    instant = _EPOCH + dt.timedelta(milliseconds=int(m.group(1)))
    if m.group(2):
        sign = 1 if m.group(2)[0] == "+" else -1
        hours, minutes = int(m.group(2)[1:3]), int(m.group(2)[3:5])
        return instant.astimezone(dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    return instant


def format_xero_date(value: dt.datetime) -> str:
    """Aware datetime → ``/Date(ms+0000)/`` (what Xero writes for UpdatedDateUTC)."""
    delta = value.astimezone(dt.timezone.utc) - _EPOCH
    ms = (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000
    return f"/Date({ms}+0000)/"


def if_modified_since(value: dt.datetime) -> str:
    """The header's form: UTC, whole seconds (Xero ignores milliseconds), no zone suffix."""
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
