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

from ._lazy import lazy_import
from . import columns as cols
from .columns import Column

pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

EXCEL_DIGITS = 15  # Excel keeps 15 significant digits; more in a number cell means they were lost


@dataclass(frozen=True)
class Issue:
    rule: str
    message: str
    hint: str

    @property
    def severity(self) -> str:
        """The rule's, from ``schemas/rules.csv`` (the one place it is stated)."""
        from .reading.table import rule_severity

        return rule_severity(self.rule)


_SPACE_RE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and space-insensitive key for enum and header matching."""
    return _SPACE_RE.sub(" ", text.replace("\u00a0", " ")).strip().casefold()


# -- decimals --------------------------------------------------------------------------------
#: Cin7 Core keeps amounts as decimal(16,4): at most 12 digits before the point, for every
#: decimal column (the places allowed after it are the column's own ``decimals``: 4, 6, 7, 10).
MAX_INTEGER_DIGITS = 12
#: A text with more places than this is refused here, before its digits are expanded (the
#: column's own limit, at most 10, is checked on the canonical text: ``decimal.places``).
MAX_PLACES = 30
_PLAIN_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\Z")
_SPACES = " \t\u00a0\u202f\u2009"  # space, tab, no-break, narrow no-break, thin
_LENIENT_DECIMAL = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]{1,3}(?:[ \u00a0\u202f\u2009][0-9]{3})+|[0-9]*)"
                              r"(?P<frac>\.[0-9]*)?(?P<exp>[eE][+-]?[0-9]{1,18})?\Z")
_NOT_A_NUMBER_HINT = "enter a plain number such as 12.5 (digits 0-9, a point for decimals, no currency signs or " \
                     "thousands separators)"


def decimal_text(d: Decimal) -> str:
    """The exact decimal in plain notation, trailing zeros dropped (no context rounding)."""
    if d == 0:
        return "0"
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _not_a_number(value) -> Issue:
    return Issue("type.decimal", f"'{value}' is not a number", "enter a number such as 12.5")


def _exact(d: Decimal, value) -> tuple[str | None, Issue | None]:
    """A finite Decimal within Cin7's range → its canonical text; else the problem. Never
    expands a huge exponent (``1e1000000``) or rounds digits away."""
    if not d.is_finite():
        return None, _not_a_number(value)
    if d != 0 and d.adjusted() >= MAX_INTEGER_DIGITS:
        value = f"{value:.15g}" if isinstance(value, float) else value
        return None, Issue("decimal.range", f"'{value}' is too large: at most {MAX_INTEGER_DIGITS} digits before the "
                                            "decimal point are kept",
                           "check the value; Cin7 keeps numbers below 1,000,000,000,000")
    _, digits, exp = d.as_tuple()
    places = -exp - _trailing_zeros(digits) if exp < 0 else 0
    if d != 0 and places > MAX_PLACES:
        return None, Issue("decimal.places", f"'{value}' has {places:,} decimal places",
                           "round it to at most 4 decimal places (see the column's number format)")
    return decimal_text(d), None


def _trailing_zeros(digits: tuple[int, ...]) -> int:
    n = 0
    for x in reversed(digits):
        if x:
            break
        n += 1
    return n


def _float_decimal(value: float) -> Decimal:
    """A finite float as the decimal a spreadsheet shows (15 significant digits at most)."""
    d = Decimal(repr(value))
    if len(d.as_tuple().digits) - _trailing_zeros(d.as_tuple().digits) > EXCEL_DIGITS:
        # Binary floating point noise (0.1+0.2): round to what a spreadsheet shows.
        d = Decimal(format(value, f".{EXCEL_DIGITS}g"))
    return d


def parse_decimal(value) -> tuple[str | None, Issue | None]:
    """A number cell or a text typed exactly as a plain number (``12.5``, ``-3``, ``.5``) →
    its canonical text; anything else is an Issue (:func:`read_decimal` also takes the forms a
    lenient rule reads, with a warning). The number must be finite and below 10^12."""
    if isinstance(value, bool):
        return None, _not_a_number(value)
    if isinstance(value, int):
        return _exact(Decimal(value), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, _not_a_number(value)
        text = plain_float_texts([value])[0]  # the common case: the shortest repr is plain and exact
        return (text, None) if text is not None else _exact(_float_decimal(value), value)
    text = str(value)
    if text == "":
        return "", None
    if not _PLAIN_DECIMAL.match(text):
        return None, _why_not_plain(text)
    return _exact(Decimal(text), value)


def _why_not_plain(text: str) -> Issue:
    """Why a text is not a plain number, as specific as it can be said."""
    if any(ch.isdigit() and not "0" <= ch <= "9" for ch in text):
        other = next(ch for ch in text if ch.isdigit() and not "0" <= ch <= "9")
        return Issue("type.decimal", f"'{text}' is written with digits other than 0-9 ('{other}')",
                     "retype the number with the digits 0-9")
    t = text.strip(_SPACES)
    if "_" in t and t.replace("_", "").replace(".", "", 1).lstrip("+-").isdigit():
        return Issue("type.decimal", f"'{text}' has an underscore between its digits",
                     f"enter it without the underscore: {t.replace('_', '')}")
    if any(ch in t for ch in _SPACES) and t.replace(" ", "").replace("\u00a0", "").replace(".", "", 1) \
            .lstrip("+-").isdigit():
        return Issue("type.decimal", f"'{text}' has spaces between its digits, so it is unclear which number is meant",
                     "enter the number without spaces (for example 495 or 4.95)")
    if "," in t and t.replace(",", "").replace(".", "", 1).lstrip("+-").isdigit():
        return Issue("type.decimal", f"'{text}' has a comma: a decimal comma or a thousands separator cannot be told "
                                     "apart", "enter it with a point for decimals and no separators, like 1234.5")
    if t.casefold().lstrip("+-") in ("inf", "infinity", "nan", "snan"):
        return Issue("type.decimal", f"'{text}' is not a finite number", "enter a number such as 12.5")
    return Issue("type.decimal", f"'{text}' is not a number", _NOT_A_NUMBER_HINT)


def read_decimal(value) -> tuple[str | None, Issue | None]:
    """:func:`parse_decimal`, plus the texts a lenient rule reads, each with a warning
    (``decimal.lenient``): spaces around the number, a leading ``+``, digits grouped by spaces in
    threes (``1 234.5``), scientific notation (``1.5E+2``). Never reads ``4 95``, ``1_000``,
    ``1,5`` or non-ASCII digits: those stay errors."""
    text, issue = parse_decimal(value)
    if issue is None or issue.rule != "type.decimal" or not isinstance(value, str):
        return text, issue
    t = value.strip(_SPACES)
    m = _LENIENT_DECIMAL.match(t)
    if not m or not (m["int"] or (m["frac"] or "")[1:]):
        return text, issue
    reasons = []
    if t != value:
        reasons.append("spaces around it ignored")
    if m["sign"] == "+":
        reasons.append("a leading + ignored")
    if any(ch in m["int"] for ch in _SPACES):
        reasons.append("digit groups separated by spaces")
    if m["exp"]:
        reasons.append("written in scientific notation")
    plain = ("-" if m["sign"] == "-" else "") + "".join(ch for ch in m["int"] if ch.isdigit()) + (m["frac"] or "")
    plain = plain if plain.lstrip("-") not in ("", ".") else "0"
    try:
        d = Decimal(plain) if not m["exp"] else Decimal(plain + m["exp"])
    except InvalidOperation:
        return text, issue
    read, problem = _exact(d, value)
    if problem is not None:
        return None, problem
    return read, Issue("decimal.lenient", f"'{value}' was read as {read} ({', '.join(reasons)})",
                       f"check that {read} is the number meant; retype it as {read} to silence this warning")


def plain_float_texts(values: list[float]) -> list[str | None]:
    """:func:`parse_decimal`'s fast path over many floats at once: the text of each float whose
    shortest repr is plain and within Excel's digits, else None (left to :func:`parse_decimal`)."""
    if len(values) >= _ARROW_FROM:
        return _plain_float_texts_arrow(values)
    out: list[str | None] = []
    append = out.append
    for value in values:
        text = repr(value)
        if "e" in text or "n" in text or len(text.lstrip("-").replace(".", "").lstrip("0")) > EXCEL_DIGITS \
                or not -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
            append(None)  # scientific, inf/nan, float noise or out of range: the careful path
        elif text.endswith(".0"):
            text = text[:-2]
            append("0" if text in ("0", "-0") else text)
        else:
            append(text)
    return out


_FLOAT_LIMIT = 10.0 ** MAX_INTEGER_DIGITS
_ARROW_FROM = 256  # fewer floats: the plain loop is quicker than building Arrow arrays


def _plain_float_texts_arrow(values: list[float]) -> list[str | None]:
    """The same texts by Arrow's kernels: its cast writes a float's shortest round-trip digits as
    ``repr`` does (``100`` where repr says ``100.0``; exponents sooner, which go the careful way)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values, type=pa.float64())
    texts = pc.cast(arr, pa.string())
    digits = pc.utf8_length(pc.replace_substring_regex(pc.replace_substring(texts, ".", ""), pattern="^-?0*",
                                                       replacement=""))  # significant digits, as repr's
    careful = pc.or_(pc.or_(pc.match_substring(texts, "e"), pc.match_substring(texts, "n")),
                     pc.or_(pc.greater(digits, EXCEL_DIGITS),
                            pc.greater_equal(pc.abs(arr), _FLOAT_LIMIT)))
    texts = pc.if_else(pc.equal(texts, "-0"), "0", texts)
    return pc.if_else(pc.fill_null(careful, True), pa.scalar(None, pa.string()), texts).to_pylist()


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
        return decimal_text(_float_decimal(value)), None  # text: no number range applies
    return str(value), None


def read_cell(column: Column, value) -> tuple[str | None, Issue | None]:
    """:func:`canonical` for a cell of a file a person edited: also reads, with a warning, the
    number forms a lenient rule accepts (:func:`read_decimal`). Returns (text, None), (None, an
    error) or (text, a warning)."""
    if column.type == "decimal" and isinstance(value, str):
        return read_decimal(value)
    return canonical(column, value)


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


def parse_statuses(given) -> list[str]:
    """``--status`` values as canonical statuses (any case, known aliases), each once, in order."""
    from .errors import UsageError

    out = []
    for s in given or ():
        canon, issue = parse_enum(cols.column(cols.STATUS), s)
        if issue:
            raise UsageError(f"--status '{s}' is not a status", f"use one of: {', '.join(cols.statuses())}")
        out.append(canon)
    return list(dict.fromkeys(out))


def status_csv(text: str) -> str:
    """Status as Cin7's CSV export writes it (``ACTIVE``)."""
    return text.upper()


def account_code(text: str) -> str:
    """``310: Credit Card Fees`` → ``310`` (accounts compare by code)."""
    return text.split(":", 1)[0].strip()

