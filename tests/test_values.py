from pathlib import Path

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


@pytest.mark.parametrize("value, text", [  # what a spreadsheet shows, worked out by hand
    (0.0, "0"), (-0.0, "0"), (1.0, "1"), (12.5, "12.5"), (-3.25, "-3.25"), (100.0, "100"), (2.675, "2.675"),
    (0.1 + 0.2, "0.3"), (0.30000000000000004, "0.3"), (1 / 3, "0.333333333333333"), (1e-7, "0.0000001"),
    (1.005, "1.005"), (123456789012.5, "123456789012.5"), (99999999999.9999, "99999999999.9999"),
    (4.35 * 100, "435"), (0.07 * 3, "0.21")])
def test_a_number_cell_reads_as_the_decimal_a_spreadsheet_shows(value, text):
    assert v.parse_decimal(value) == (text, None)
    assert v.plain_float_texts([value])[0] in (text, None)  # the fast path never says anything else


@pytest.mark.parametrize("value, rule", [(1e12, "decimal.range"), (1e20, "decimal.range"), (-5e15, "decimal.range"),
                                         (5e-324, "decimal.places"), (float("inf"), "type.decimal"),
                                         (float("nan"), "type.decimal")])
def test_number_cells_cin7_cannot_keep_are_refused(value, rule):
    assert v.parse_decimal(value)[1].rule == rule and v.plain_float_texts([value]) == [None]


# -- a number cell is a finite decimal Cin7 can keep, or an error at that cell ----------------
@pytest.mark.parametrize("raw, rule, words", [
    ("1e1000000", "decimal.range", "too large"),  # was a decimal.Overflow crash
    ("1e309", "decimal.range", "too large"),  # was accepted, then sent to Xero as Infinity
    (float("inf"), "type.decimal", "not a number"),
    (1e12, "decimal.range", "at most 12 digits before the decimal point"),
    (10 ** 13, "decimal.range", "too large"),
    ("1000000000000", "decimal.range", "too large"),
    ("4 95", "type.decimal", "spaces between its digits"),  # was read as 495
    ("1_000", "type.decimal", "underscore"),  # was read as 1000
    ("١٢٣", "type.decimal", "digits other than 0-9"),  # Arabic-Indic digits, were read as 123
    ("１２", "type.decimal", "digits other than 0-9"),  # full-width digits
    ("1,234.50", "type.decimal", "comma"),
    ("NaN", "type.decimal", "not a finite number"),
    ("Infinity", "type.decimal", "not a finite number"),
    ("1e-1000000", "decimal.places", "1,000,000 decimal places"),
])
def test_numbers_cin7_cannot_keep_exactly_are_errors(raw, rule, words):
    value, issue = v.read_cell(cols.column("PriceTier1"), raw)
    assert value is None and (issue.rule, issue.severity) == (rule, "error") and words in issue.message


@pytest.mark.parametrize("raw, expected, words", [
    (" 12.5 ", "12.5", "spaces around it ignored"),
    ("1 234.5", "1234.5", "digit groups separated by spaces"),
    ("1\u00a0234\u00a0567.25", "1234567.25", "digit groups separated by spaces"),
    ("+5", "5", "a leading + ignored"),
    ("1.5E+2", "150", "written in scientific notation"),
])
def test_numbers_read_by_a_lenient_rule_come_with_a_warning(raw, expected, words):
    value, issue = v.read_cell(cols.column("PriceTier1"), raw)
    assert value == expected and (issue.rule, issue.severity) == ("decimal.lenient", "warning")
    assert words in issue.message and expected in issue.message
    assert v.canonical(cols.column("PriceTier1"), raw)[0] is None  # the strict reading (Xero, Cin7) refuses it


def test_the_largest_and_most_precise_numbers_cin7_keeps_are_exact():
    for raw in ("999999999999.9999", "0.0000000001", "1.00000000000000000000000000001", "-0.5"):
        assert v.read_cell(cols.column("QuantityToProduce"), raw) == (raw.lstrip("+"), None)
    assert v.read_cell(cols.column("PriceTier1"), 999999999999.0) == ("999999999999", None)


def test_number_problems_are_found_at_their_cells_and_block_the_import(tmp_path, run):
    p = tmp_path / "prices.csv"
    p.write_text("ProductCode,Name,PriceTier1,PriceTier2\r\nN1,Nuts,1e1000000,1e309\r\nN2,Bolts,4 95,1_000\r\n"
                 "N3,Pins,\u0661\u0662,1 234.5\r\n", encoding="utf-8")
    report = run.json("validate", p, expect=1)
    found = [(q["cell"], q["column"], q["rule"], q["severity"]) for q in report["problems"]]
    assert found == [("record 1 (line 2)", "PriceTier1", "decimal.range", "error"),
                     ("record 1 (line 2)", "PriceTier2", "decimal.range", "error"),
                     ("record 2 (line 3)", "PriceTier1", "type.decimal", "error"),
                     ("record 2 (line 3)", "PriceTier2", "type.decimal", "error"),
                     ("record 3 (line 4)", "PriceTier1", "type.decimal", "error"),
                     ("record 3 (line 4)", "PriceTier2", "decimal.lenient", "warning")]
    result = run("import", p, "--yes", expect=1)
    assert "Traceback" not in result.output and _products(run.store) == 0


def _products(store: str) -> int:
    import sqlite3

    if not Path(store).exists():
        return 0
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT count(*) FROM products").fetchone()[0]
    except sqlite3.OperationalError:  # no table: nothing was ever written
        return 0
    finally:
        db.close()


# -- characters a workbook or CSV cannot hold ---------------------------------------------------
def test_characters_that_cannot_round_trip_are_errors_at_their_cell(tmp_path, run):
    p = tmp_path / "chars.csv"
    p.write_text("ProductCode,Name,Description\r\nC1,Nu\x01ts,ok\r\nC2,Bolts,tab\there\r\nC3,Pins,bad\uffff\r\n"
                 "C4,Pegs,bell\x07\r\n", encoding="utf-8")
    report = run.json("validate", p, expect=1)
    found = [(q["cell"], q["column"], q["rule"]) for q in report["problems"]]
    assert found == [("record 1 (line 2)", "Name", "text.unsafe_char"),
                     ("record 3 (line 4)", "Description", "text.unsafe_char"),
                     ("record 4 (line 5)", "Description", "text.unsafe_char")]
    messages = [q["message"] for q in report["problems"]]
    assert "U+0001" in messages[0] and "U+FFFF" in messages[1] and "U+0007" in messages[2]


def test_float_texts_in_bulk_say_what_one_at_a_time_says(monkeypatch):
    """Many number cells at once go through Arrow's kernels; each text they give is the one a cell
    alone gets (where one of the two defers a value to the careful path, that path agrees)."""
    import random

    rnd = random.Random(7)
    floats = [0.0, -0.0, 1.0, 100.0, 0.1 + 0.2, 5e-05, 1e11, 99999999999.9999, 0.0876248896154489, float("inf"),
              float("nan"), 1e12, -999999999999.5] + [round(rnd.uniform(-1e6, 1e6), rnd.randint(0, 6)) for _ in range(3000)] \
        + [rnd.random() * 10 ** rnd.randint(-8, 13) for _ in range(3000)]
    bulk = v.plain_float_texts(floats)
    monkeypatch.setattr(v, "_ARROW_FROM", 10 ** 9)
    alone = v.plain_float_texts(floats)
    for value, a, b in zip(floats, alone, bulk):
        if a != b:
            assert None in (a, b) and v.parse_decimal(value)[0] == (a or b), value
