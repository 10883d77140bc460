"""Every rule validation applies to values and rows, as a named pandera check.

Each check is registered with pandera (``pandera.extensions.register_check_method``) under its
rule id with ``_`` for ``.`` (``text.too_long`` → ``Check.text_too_long(max_length=...)``), so a
schema built from the column table (:func:`.schema.build_schema`) names every rule and its
parameters, and pandera's own serialisation (``schemas/validation.yaml``) lists them for a reader
without Python.

* Value checks take one column of canonical text (as a pandas Categorical: each check then runs
  once per distinct value) and say, per cell, whether it passes. A value the cell stage could not
  read as its column's type arrives as the text the file holds (``abc`` in a decimal column,
  ``Actvie`` in Status), so these checks are what refuses it.
* Row checks take the aligned frame (:meth:`.crossfield.Rows.aligned`): the product as the import
  will leave it, one row per file row, with what the rules need to know beside it (``@new``,
  ``@prior_status``, ``<column>@determined``...).

Blank (``""``) passes every value check: whether a value may be blank is a row rule.
"""
from __future__ import annotations

import re
from typing import Callable

from .._lazy import lazy_import
from pandera import extensions

from .. import columns as cols
from ..values import MAX_INTEGER_DIGITS, read_decimal
from .rules import table

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)

#: check name → rule id
RULE_OF: dict[str, str] = {}

#: characters that cannot round-trip through a workbook's XML or a CSV file: C0 controls but tab,
#: LF and CR (NUL arrives as Excel's escape ``_x0000_``), U+FFFE/U+FFFF, lone surrogates
UNSAFE_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def check_name(rule: str) -> str:
    return rule.replace(".", "_")


def passes(check, obj) -> np.ndarray:
    """Where ``obj`` passes ``check`` (one of ours): its own function with its statistics — what
    pandera calls, without building failure cases (costly for a wide frame) we do not read."""
    return np.asarray(globals()[check.name](obj, **check.statistics), dtype=bool)


def title_of(name: str) -> str:
    """The plain-language title of the rule a check name stands for."""
    return table()[RULE_OF[name]].title


def _register(rule: str, *statistics: str) -> Callable:
    """Register ``fn`` as pandera's ``Check.<rule with _>`` (its name must be that)."""
    def decorate(fn):
        assert fn.__name__ == check_name(rule) and rule in table(), rule
        RULE_OF[fn.__name__] = rule
        extensions.register_check_method(fn, statistics=list(statistics))
        return fn
    return decorate


def per_value(series: pd.Series, passes: Callable[[np.ndarray], np.ndarray]) -> pd.Series:
    """``passes`` (texts → bools) evaluated once per distinct value of ``series``; blank passes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories.to_numpy(dtype=object)
    else:
        codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    ok = np.ones(len(uniques) + 1, dtype=bool)
    filled = np.flatnonzero(uniques != "")
    if len(filled):
        ok[filled] = np.asarray(passes(uniques[filled]), dtype=bool)
    return pd.Series(ok[codes], index=series.index)


def _decimal_issue(text: str) -> str:
    """The rule a text that is not a plain number breaks ("" if it breaks none)."""
    _, issue = read_decimal(text)
    return issue.rule if issue is not None and issue.severity == "error" else ""


class _DecimalFacts:
    """Per distinct text of a decimal column: significant whole digits and decimal places of a
    plain number, or the rule reading it breaks. The decimal checks of one column share one pass
    (kept for the last column seen: checks of a column run one after the other)."""

    _last: tuple[object, "_DecimalFacts"] | None = None

    def __init__(self, texts: list[str]):
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(texts)
        self.rule = np.full(n, "", dtype=object)
        arr = pa.array(texts, type=pa.string())
        groups = pc.extract_regex(arr, pattern=r"^-?0*(?P<whole>[0-9]*?)(?:\.(?P<places>[0-9]+))?$")
        plain = pc.and_(pc.is_valid(groups), pc.not_equal(arr, "-")).to_numpy(zero_copy_only=False)
        lengths = [pc.fill_null(pc.utf8_length(groups.field(g)), 0).to_numpy(zero_copy_only=False)
                   for g in ("whole", "places")]
        self.whole, self.places = (np.where(plain, x, 0).astype(np.int64) for x in lengths)
        for i in np.flatnonzero(~plain).tolist():  # the few texts that are not plain numbers
            if texts[i]:
                self.rule[i] = _decimal_issue(texts[i]) or "-"

    @classmethod
    def of(cls, categories) -> "_DecimalFacts":
        if cls._last is None or cls._last[0] is not categories:
            cls._last = (categories, cls(list(categories)))
        return cls._last[1]


def _decimal_check(series: pd.Series, rule: str, judge: Callable[["_DecimalFacts"], np.ndarray]) -> pd.Series:
    """``judge`` (facts → bools for plain numbers) where the text is a plain number, else whether
    reading the text breaks another rule than ``rule``."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    facts = _DecimalFacts.of(series.cat.categories)
    ok = np.where(facts.rule == "", judge(facts), facts.rule != rule)
    codes = series.cat.codes.to_numpy()
    return pd.Series(np.append(ok, True)[codes], index=series.index)


# -- value checks -----------------------------------------------------------------------------------
@_register("type.decimal")
def type_decimal(series):
    return _decimal_check(series, "type.decimal", lambda f: np.ones(len(f.rule), dtype=bool))


@_register("decimal.range", "max_integer_digits")
def decimal_range(series, *, max_integer_digits=MAX_INTEGER_DIGITS):
    return _decimal_check(series, "decimal.range", lambda f: f.whole <= max_integer_digits)


@_register("decimal.negative")
def decimal_negative(series):
    return per_value(series, lambda t: ~np.char.startswith(t.astype(str), "-"))


@_register("decimal.places", "places")
def decimal_places(series, *, places):
    return _decimal_check(series, "decimal.places", lambda f: f.places <= places)


@_register("enum.value", "values")
def enum_value(series, *, values):
    return per_value(series, lambda t: np.isin(t, np.asarray(values, dtype=object)))


@_register("enum.bool", "values")
def enum_bool(series, *, values):
    return per_value(series, lambda t: np.isin(t, np.asarray(values, dtype=object)))


@_register("text.too_long", "max_length")
def text_too_long(series, *, max_length):
    return per_value(series, lambda t: np.fromiter(map(len, t.tolist()), np.int64, len(t)) <= max_length)


@_register("text.unsafe_char")
def text_unsafe_char(series):
    def passes(texts, batch: int = 2048):
        ok = np.ones(len(texts), dtype=bool)
        search = UNSAFE_CHARS.search
        for start in range(0, len(texts), batch):  # one search per batch; per text only where one hit
            part = texts[start:start + batch].tolist()
            if search("\n".join(part)):
                ok[start:start + batch] = [search(t) is None for t in part]
        return ok
    return per_value(series, passes)


@_register("barcode.check_digit")
def barcode_check_digit(series):
    return per_value(series, gtin_ok)


# -- row checks (over the aligned frame) ------------------------------------------------------------
# Cells are compared by numpy (pandas' comparison of a text column with a value takes 4x longer);
# each check still answers with a Series over the frame's rows, as pandera expects.
def _text(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=object)


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].to_numpy(dtype=bool)


def _rows(frame: pd.DataFrame, passing: np.ndarray) -> pd.Series:
    return pd.Series(passing, index=frame.index)


def _ok(frame: pd.DataFrame) -> np.ndarray:
    return _flag(frame, "@ok")


@_register("required.missing", "column")
def required_missing(frame, *, column):
    if column == cols.KEY:  # every row needs its product's code
        return _rows(frame, _text(frame, f"{cols.KEY}@file") != "")
    active = _text(frame, cols.STATUS) == cols.ACTIVE  # an Active product's blanks: the rule active.required
    return _rows(frame, ~(_ok(frame) & _flag(frame, f"{column}@determined") & (_text(frame, column) == "") & ~active))


@_register("code.duplicate")
def code_duplicate(frame):
    key = frame["@key"]
    return _rows(frame, ~(key.duplicated(keep="first").to_numpy() & (_text(frame, "@key") != "")))


@_register("code.same_product")
def code_same_product(frame):
    return _rows(frame, _text(frame, "@same_as") == "")


@_register("status.into_setup_required", "status")
def status_into_setup_required(frame, *, status):
    prior = _text(frame, "@prior_status")
    into = (_text(frame, f"{cols.STATUS}@file") == status) & (prior != "") & (prior != status)
    return _rows(frame, ~(_ok(frame) & into))


@_register("active.required", "column", "status")
def active_required(frame, *, column, status):
    return _rows(frame, ~(_ok(frame) & (_text(frame, cols.STATUS) == status) & (_text(frame, column) == "")))


@_register("fixed_asset_type.type", "type")
def fixed_asset_type_type(frame, *, type):  # noqa: A002 - the statistic's name in the schema file
    return _rows(frame, ~(_ok(frame) & (_text(frame, "FixedAssetType") != "") & (_text(frame, "Type") != type)))


@_register("assembly.quantity_to_produce", "bom")
def assembly_quantity_to_produce(frame, *, bom):
    qty = frame["QuantityToProduce"]
    text = qty.to_numpy(dtype=object)
    positive = (text != "") & (text != "0") & ~qty.astype(str).str.startswith("-").to_numpy(dtype=bool)
    return _rows(frame, ~(_ok(frame) & (_text(frame, "AssemblyBOM") == bom) & ~positive))


@_register("read_only.ignored", "column")
def read_only_ignored(frame, *, column):
    mine, ref = _text(frame, f"{column}@file"), frame[f"{column}@ref"]
    return _rows(frame, ~((mine != "") & ref.notna().to_numpy() & (mine != ref.to_numpy(dtype=object))))


@_register("identifier.leading_zeros", "column")
def identifier_leading_zeros(frame, *, column):
    return _rows(frame, _text(frame, f"{column}@zeros") == "")


# -- GTIN check digits ------------------------------------------------------------------------------
def gtin_digit(body: str) -> int:
    """The check digit of a GTIN's ``body`` (its digits but the last): weights 3, 1, 3... from the right."""
    reverse = body[::-1]
    total = 3 * sum(map(int, reverse[0::2])) + sum(map(int, reverse[1::2]))
    return (10 - total % 10) % 10


def gtin_ok(values) -> np.ndarray:
    """Per value: False for an 8/12/13-digit code whose check digit is wrong, else True."""
    ok = np.ones(len(values), dtype=bool)
    if not len(values):
        return ok
    lens = np.fromiter((len(v) if type(v) is str and v.isascii() and v.isdigit() else 0 for v in values),
                       dtype=np.int64, count=len(values))
    for n in (8, 12, 13):
        idx = np.flatnonzero(lens == n)
        if not len(idx):
            continue
        digits = np.frombuffer("".join(values[i] for i in idx).encode("ascii"), dtype=np.uint8).reshape(-1, n) - 48
        weights = np.where(np.arange(n - 1)[::-1] % 2 == 0, 3, 1)  # from the right: 3, 1, 3, ...
        check = (10 - (digits[:, :-1] * weights).sum(axis=1) % 10) % 10
        ok[idx] = check == digits[:, -1]
    return ok
