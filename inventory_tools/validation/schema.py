"""The rules as one pandera schema, built from the column table, and step 3 of validation: the
value checks run over the canonical text of each column.

``build_schema()`` declares every value rule per column (from ``schemas/columns.csv``: type,
allowed values, max length, decimal places) and every row rule (dataframe-level checks over the
aligned frame, :mod:`.crossfield`), each a named check (:mod:`.checks`). Its YAML, pandera's own
serialisation, is ``schemas/validation.yaml``: ``python -m inventory_tools.validation``
writes it, and a test fails when it is stale.

Validation runs the checks itself, in this order, per distinct value (a check is a plain callable
in pandera): a schema-wide ``validate()`` would collect every failure case in a frame, far
slower for a large file, and could not skip a cell an earlier rule already refused.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from .._lazy import lazy_import
from .. import columns as cols
from .. import factorised
from ..values import MAX_INTEGER_DIGITS, decimal_places
from .cells import AddProblem, ReadColumn

pd = lazy_import("pandas", globals())  # imported on first use: it loads while a sheet parses (issue 17)
np = lazy_import("numpy", globals())  # imported on first use: while a sheet parses, not before (issue 17)


def _check(name: str, **statistics):
    """``pandera.Check.<name>(**statistics)``, its error text the rule's plain-language title."""
    from . import checks  # registers the checks with pandera
    import pandera.pandas as pa

    return getattr(pa.Check, name)(**statistics, error=checks.title_of(name))


@functools.lru_cache(maxsize=None)
def column_checks(name: str) -> tuple:
    """The value checks of one column, in the order they are judged."""
    from . import checks  # noqa: F401  (registers the checks with pandera)

    col = cols.column(name)
    out = []
    if col.type == "decimal":
        out += [_check("type_decimal"), _check("decimal_range", max_integer_digits=MAX_INTEGER_DIGITS),
                _check("decimal_negative")]
        if col.decimals is not None:
            out.append(_check("decimal_places", places=col.decimals))
    elif col.type == "enum":
        out.append(_check("enum_value", values=list(col.values)))
    elif col.type == "bool":
        out.append(_check("enum_bool", values=list(col.values)))
    else:
        out.append(_check("text_unsafe_char"))
        if col.max_length:
            out.append(_check("text_too_long", max_length=col.max_length))
    if name == "Barcode":
        out.append(_check("barcode_check_digit"))
    return tuple(out)


def row_checks(present: set[str] | None = None) -> tuple:
    """The row rules, in the order they are judged; ``present``: only those that judge a file
    with these columns (None: all, for the schema file)."""
    return _row_checks(None if present is None else frozenset(present))


@functools.lru_cache(maxsize=8)
def _row_checks(present: frozenset | None) -> tuple:
    def has(*names: str) -> bool:
        return present is None or any(n in present for n in names)

    out = [_check("required_missing", column=cols.KEY), _check("code_duplicate"), _check("code_same_product")]
    if has(cols.STATUS):
        out.append(_check("status_into_setup_required", status=cols.SETUP_REQUIRED))
    out += [_check("active_required", column=c, status=cols.ACTIVE) for c in cols.setup_columns()]
    out += [_check("required_missing", column=c) for c in cols.required_always() if c != cols.KEY]
    if has("FixedAssetType", "Type"):
        out.append(_check("fixed_asset_type_type", type=cols.FIXED_ASSET))
    if has("AssemblyBOM", "QuantityToProduce"):
        out.append(_check("assembly_quantity_to_produce", bom="Yes"))
    out += [_check("read_only_ignored", column=c.name) for c in cols.columns() if c.read_only and has(c.name)]
    out += [_check("identifier_leading_zeros", column=c.name) for c in cols.columns() if c.identifier and has(c.name)]
    return tuple(out)


def build_schema(names=None):
    """Every rule for the given columns (default: all) as one pandera schema. Nothing is coerced:
    values are canonical text already."""
    import pandera.pandas as pa

    names = [n for n in (names if names is not None else cols.names()) if n in cols.by_name()]
    columns = {n: pa.Column(object, list(column_checks(n)), nullable=True, required=False, coerce=False) for n in names}
    rows = row_checks(None if names == list(cols.names()) else set(names))
    return pa.DataFrameSchema(columns, checks=list(rows), coerce=False, strict=False, name="inventory list")


def schema_yaml() -> str:
    """``schemas/validation.yaml``: the schema of every column, in pandera's own serialisation."""
    head = ("# Every rule inventory-tools applies to an inventory list, as a pandera schema (generated from\n"
            "# schemas/columns.csv by `python -m inventory_tools.validation`; do not edit by hand).\n"
            "# Check names are rule ids with _ for . (see schemas/rules.csv for their titles); row checks\n"
            "# run over the aligned frame: each product as the import will leave it.\n")
    return head + build_schema().to_yaml()


# -- step 3 -----------------------------------------------------------------------------------------
_NO_VALUE_RULES = {"type.decimal", "text.unsafe_char"}  # a cell failing these holds no value to judge further


def value_problems(read: dict[str, ReadColumn], frame: pd.DataFrame, cell: Callable[[str, int], Any],
                   bad: dict[str, np.ndarray], add: AddProblem) -> None:
    """Judge every checked column's values: a cell is reported under every rule its value breaks
    (so one round of fixes clears it: '-1.123456' is both negative and too precise), unless reading
    it already failed; refused cells are blanked for the row rules."""
    from .checks import RULE_OF, passes
    from .rules import severity

    for name, column in read.items():
        # every check is a function of the value alone: judged once per distinct value (the
        # column's categories), then looked up per cell only where some value fails
        cat = column.categorical
        cells = np.asarray(cat.codes)
        distinct = pd.Series(pd.Categorical.from_codes(np.arange(len(cat.categories)), dtype=cat.dtype))
        texts = column.values.to_numpy(dtype=object)
        col = cols.column(name)
        refused = np.zeros(len(frame), dtype=bool)
        unread = bad[name].copy()  # refused when read (reported there): no value to judge
        for check in column_checks(name):
            rule = RULE_OF[check.name]
            value_ok = passes(check, distinct)
            if value_ok.all():
                continue
            failing = np.flatnonzero(~np.append(value_ok, True).take(cells) & ~unread)  # (code -1: blank)
            error = severity(rule) == "error"
            for pos in failing.tolist():
                add(pos, name, cell(name, pos), rule, *_words(col, rule, texts[pos], column.issue(pos)))
            if error:
                bad[name][failing] = True
                refused[failing] = True
            if rule in _NO_VALUE_RULES:
                unread[failing] = True
        if refused.any():
            _blank(frame, read, name, refused)


def _blank(frame: pd.DataFrame, read: dict[str, ReadColumn], name: str, refused: np.ndarray) -> None:
    """Refused cells read as blank from here on (their problem is reported)."""
    values = frame[name].to_numpy(dtype=object).copy()
    values[refused] = ""
    frame[name] = pd.Series(values, index=frame.index, dtype=object)
    cat = read[name].categorical
    codes = np.asarray(cat.codes).copy()
    categories = np.asarray(cat.categories, dtype=object)
    blank = np.flatnonzero(categories == "")
    if not len(blank):
        categories = np.append(categories, "")
        blank = [len(categories) - 1]
    codes[refused] = blank[0]
    read[name].categorical = factorised.categorical(codes, categories)


def _words(col: cols.Column, rule: str, text: str, issue) -> tuple[str, str]:
    """(message, hint) for a refused cell: what reading it found, when it found this rule."""
    name = col.name
    if issue is not None and issue.rule == rule:
        return issue.message, issue.hint
    if rule == "text.too_long":
        return (f"{name} is {len(text)} characters long; at most {col.max_length} are allowed",
                f"shorten it to {col.max_length} characters")
    if rule == "decimal.negative":
        return f"{name} {text} is negative", "enter 0 or a positive number"
    if rule == "decimal.places":
        return (f"{name} {text} has {decimal_places(text)} decimal places; at most {col.decimals} are kept",
                f"round it to {col.decimals} decimal places")
    if rule == "text.unsafe_char":
        return _unsafe_char_words(name, text)
    if rule == "barcode.check_digit":
        from .checks import gtin_digit

        kind = {8: "EAN-8", 12: "UPC-A", 13: "EAN-13"}[len(text)]
        return (f"Barcode {text} looks like an {kind} code but its check digit is wrong (expected "
                f"{gtin_digit(text[:-1])})", "check the barcode for a typing error")
    if rule in ("enum.value", "enum.bool"):
        return (f"{name} '{text}' is not one of {', '.join(col.values)}", f"choose one of: {', '.join(col.values)}")
    return f"{name} '{text}' is not a number", "enter a plain number such as 12.5"


def _unsafe_char_words(name: str, text: str) -> tuple[str, str]:
    from .checks import UNSAFE_CHARS

    ch = UNSAFE_CHARS.search(text).group()
    code = f"U+{ord(ch):04X}"
    what = {"\x00": f"the NUL character ({code}, written _x0000_ inside Excel files)",
            "\ufffe": f"the non-character {code}", "\uffff": f"the non-character {code}"}.get(
        ch, f"an invisible control character ({code})" if ord(ch) < 32 else f"a broken character ({code})")
    return (f"{name} contains {what}, which a workbook or CSV file cannot hold",
            "retype the value (the character is invisible: delete the cell's text and type it again)")

