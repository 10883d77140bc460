"""Canonical cell values: one exact text form per value, whatever the source.

Every product value is a ``str``; blank is ``""``.

* text / account: as typed (readers trim and normalise non-breaking spaces, with a warning)
* decimal: the exact decimal in plain notation, trailing zeros dropped (``"0"``, ``"1.5875"``)
* bool: the column's own words (``Yes``/``No``, or ``True``/``False`` for
  IsAccountingDimensionEnabled)
* enum: the canonical spelling from the column table (Status ``Active``, ``Setup Required``...)

``canonical(column, value)`` returns ``(text, None)`` or ``(None, Issue)``; the frame-level
``canonicalize`` works on unique values only, so a million rows of ``0.0000`` cost one parse.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pandas as pd

from . import columns as cols
from .columns import Column

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits; more in a number cell means they were lost


@dataclass(frozen=True)
class Issue:
    rule: str
    message: str
    hint: str
    severity: str = "error"


_SPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and space-insensitive key for enum and header matching."""
    return _SPACE_RE.sub(" ", text.replace("\u00a0", " ")).strip().casefold()


# -- decimals --------------------------------------------------------------------------------
def decimal_text(d: Decimal) -> str:
    if d == 0:
        return "0"
    text = format(d.normalize(), "f")
    return text


def parse_decimal(value) -> tuple[str | None, Issue | None]:
    if isinstance(value, bool):
        return None, Issue("type.decimal", f"'{value}' is not a number", "enter a number such as 12.5")
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, Issue("type.decimal", f"'{value}' is not a number", "enter a number such as 12.5")
        text = repr(value)
        if "e" not in text and len(text.lstrip("-").replace(".", "").lstrip("0")) <= EXCEL_DIGITS:
            # Fast path (same result as below): the shortest repr is already plain and exact.
            if text.endswith(".0"):
                text = text[:-2]
            return ("0" if text in ("0", "-0") else text), None
        d = Decimal(repr(value))
        if len(d.normalize().as_tuple().digits) > EXCEL_DIGITS:
            # Binary floating point noise (0.1+0.2): round to what a spreadsheet shows.
            d = Decimal(format(value, f".{EXCEL_DIGITS}g"))
        return decimal_text(d), None
    text = str(value).replace("\u00a0", "").replace(" ", "").strip()
    if text == "":
        return "", None
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None, Issue("type.decimal", f"'{value}' is not a number",
                           "enter a plain number such as 12.5 (no currency signs or thousands separators)")
    if not d.is_finite():
        return None, Issue("type.decimal", f"'{value}' is not a number", "enter a number such as 12.5")
    return decimal_text(d), None


def plain_float_texts(values: list[float]) -> list[str | None]:
    """:func:`parse_decimal`'s fast path over many floats at once: the text of each float whose
    shortest repr is plain and within Excel's digits, else None (left to :func:`parse_decimal`)."""
    out: list[str | None] = []
    append = out.append
    for value in values:
        text = repr(value)
        if "e" in text or "n" in text or len(text.lstrip("-").replace(".", "").lstrip("0")) > EXCEL_DIGITS:
            append(None)  # scientific, inf/nan, or float noise: the careful path
        elif text.endswith(".0"):
            text = text[:-2]
            append("0" if text in ("0", "-0") else text)
        else:
            append(text)
    return out


def decimal_places(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def format_decimal(text: str, places: int | None) -> str:
    """Cin7's fixed-decimal CSV form (``0.0000``); never drops digits a value really has."""
    if text == "" or places is None:
        return text
    have = decimal_places(text)
    if have >= places:
        return text
    return (text if have else text + ".") + "0" * (places - have)


# -- booleans and enums ----------------------------------------------------------------------
_TRUE = {"yes", "true", "y", "1", "1.0"}
_FALSE = {"no", "false", "n", "0", "0.0"}


def parse_bool(column: Column, value) -> tuple[str | None, Issue | None]:
    yes, no = column.values
    if isinstance(value, bool):
        return (yes if value else no), None
    if isinstance(value, (int, float)) and value in (0, 1):
        return (yes if value else no), None
    key = fold(str(value))
    if key == "":
        return "", None
    if key in _TRUE:
        return yes, None
    if key in _FALSE:
        return no, None
    return None, Issue("enum.bool", f"{column.name} '{value}' is not {yes} or {no}",
                       f"enter {yes} or {no} (True/False also work)")


_ENUM_ALIASES = {("Status", "setup required"): "Setup Required"}


def parse_enum(column: Column, value) -> tuple[str | None, Issue | None]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    key = fold(str(value))
    if key == "":
        return "", None
    for v in column.values:
        if fold(v) == key:
            return v, None
    alias = _ENUM_ALIASES.get((column.name, key))
    if alias:
        return alias, None
    return None, Issue("enum.value", f"{column.name} '{value}' is not one of {', '.join(column.values)}",
                       f"choose one of: {', '.join(column.values)} (the dropdown in the exported workbook lists them)")


# -- text and identifiers ----------------------------------------------------------------------
def parse_text(column: Column, value) -> tuple[str | None, Issue | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        if column.identifier:
            return None, Issue("identifier.date", f"{column.name} became a date ({value}) in the spreadsheet",
                               f"format the {column.name} column as Text and re-enter the code")
        return str(value), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, Issue("type.text", f"'{value}' is not valid text", "re-enter the value")
        if value.is_integer() and abs(value) < 10 ** EXCEL_DIGITS:
            return str(int(value)), None
        if column.identifier:
            return None, Issue("identifier.digits_lost",
                               f"{column.name} {value!r} is a number the spreadsheet rounded: digits were lost",
                               f"format the {column.name} column as Text and re-enter the full code")
        return parse_decimal(value)
    return str(value), None


def canonical(column: Column, value) -> tuple[str | None, Issue | None]:
    """One value from any reader → (canonical text, None) or (None, problem)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", None
    if column.type == "decimal":
        return parse_decimal(value)
    if column.type == "bool":
        return parse_bool(column, value)
    if column.type == "enum":
        return parse_enum(column, value)
    return parse_text(column, value)


def canonicalize(column: Column, series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :func:`canonical` over a column: (values with "" where invalid, issues or None)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    out_vals, out_issues = [], []
    for u in uniques:
        v, issue = canonical(column, u)
        out_vals.append("" if v is None else v)
        out_issues.append(issue)
    out_vals.append("")  # NA sentinel (-1) maps to the last slot
    out_issues.append(None)
    vals = pd.Series(pd.array(out_vals, dtype=object)[codes], index=series.index, dtype=object)
    issues = pd.Series(pd.array(out_issues, dtype=object)[codes], index=series.index, dtype=object)
    return vals, issues


def status_csv(text: str) -> str:
    """Status as Cin7's CSV export writes it (``ACTIVE``)."""
    return text.upper()


def account_code(text: str) -> str:
    """``310: Credit Card Fees`` → ``310`` (accounts compare by code)."""
    return text.split(":", 1)[0].strip()


def comparable(column: Column, text: str) -> str:
    return account_code(text) if column.type == "account" else text


def all_columns() -> tuple[Column, ...]:
    return cols.columns()
