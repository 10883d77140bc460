import pandas as pd
import pytest

from inventory_tools import columns as cols
from inventory_tools import values as v


@pytest.mark.parametrize("column,raw,expected", [
    ("PriceTier1", "0.0000", "0"),
    ("PriceTier1", "108.7000", "108.7"),
    ("PriceTier1", 0.30000000000000004, "0.3"),
    ("PriceTier1", 12, "12"),
    ("QuantityToProduce", "1.0000000000", "1"),
    ("Sellable", "yes", "Yes"),
    ("Sellable", True, "Yes"),
    ("IsAccountingDimensionEnabled", "no", "False"),
    ("Status", "ACTIVE", "Active"),
    ("Status", "Setup required", "Setup Required"),
    ("Status", "setup  REQUIRED", "Setup Required"),
    ("CostingMethod", "fifo - batch", "FIFO - Batch"),
    ("ProductCode", 123.0, "123"),
    ("ProductCode", "00123", "00123"),
    ("Barcode", 6009560302894.0, "6009560302894"),
])
def test_canonical_values(column, raw, expected):
    value, issue = v.canonical(cols.column(column), raw)
    assert issue is None and value == expected


@pytest.mark.parametrize("column,raw,rule", [
    ("PriceTier1", "12,50 €", "type.decimal"),
    ("Status", "Actvie", "enum.value"),
    ("Sellable", "maybe", "enum.bool"),
    ("ProductCode", 1234567890123.5, "identifier.digits_lost"),
])
def test_invalid_values_are_issues_not_guesses(column, raw, rule):
    value, issue = v.canonical(cols.column(column), raw)
    assert value is None and issue.rule == rule


def test_decimal_formatting_never_drops_digits():
    assert v.format_decimal("0", 4) == "0.0000"
    assert v.format_decimal("1.5875", 4) == "1.5875"
    assert v.format_decimal("1.23456", 4) == "1.23456"
    assert v.format_decimal("", 4) == ""


def test_canonicalize_parses_each_distinct_value_once():
    s = pd.Series(["0.0000"] * 5 + ["x", None])
    vals, issues = v.canonicalize(cols.column("Length"), s)
    assert list(vals) == ["0"] * 5 + ["", ""]
    assert issues.iloc[5].rule == "type.decimal" and issues.iloc[6] is None


def test_plain_float_texts_are_parse_decimals_own_texts():
    from inventory_tools.values import parse_decimal, plain_float_texts

    floats = [0.0, -0.0, 1.0, 12.5, 0.1 + 0.2, 1e-7, 1e20, 123456789012345.0, 1234567890123456.0, -3.25,
              float("inf"), float("nan"), 2.675, 100.0, 0.30000000000000004, 99999999999999.99]
    for value, text in zip(floats, plain_float_texts(floats)):
        if text is not None:
            assert (text, None) == parse_decimal(value), value
    assert plain_float_texts([1e20, float("nan"), 0.1 + 0.2]) == [None, None, None]
