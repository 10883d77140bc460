"""The three-way plan (plan.py): what counts as the same value, and rows with and without a base."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inventory_tools import columns as cols
from inventory_tools.plan import _normal, _same, make_plan

# every character str.strip() strips, plus CR/LF and the non-breaking space that _normal rewrites
_SPACES = [c for c in map(chr, range(0x3001)) if c.isspace()]
_TEXT = st.lists(st.sampled_from(["a", "b", "\r\n", *_SPACES]), max_size=6).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=30))
def test_same_is_normal_equality_for_every_text(pairs):
    """_same skips normalising texts _normal cannot change: that shortcut must never change a verdict
    (any whitespace at an edge, CR, a non-breaking space, anywhere in either text)."""
    column = cols.column("Name")
    a = np.array([p[0] for p in pairs], dtype=object)
    b = np.array([p[1] for p in pairs], dtype=object)
    assert _same(column, a, b).tolist() == [_normal(column, x) == _normal(column, y) for x, y in pairs]


def test_same_normalises_texts_and_accounts_only():
    name, account, price = cols.column("Name"), cols.column("InventoryAccount"), cols.column("PriceTier1")
    assert _same(name, np.array(["a\r\nb", " x\u00a0y\u3000", "a"], dtype=object),
                 np.array(["a\nb", "x y", "b"], dtype=object)).tolist() == [True, True, False]
    assert _same(account, np.array(["310: Fees"], dtype=object), np.array(["310"], dtype=object)).tolist() == [True]
    assert _same(price, np.array([" 1"], dtype=object), np.array(["1"], dtype=object)).tolist() == [False]


def _frame(rows: dict[str, dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{c: "" for c in cols.names()} | {cols.KEY: code} | values for code, values in rows.items()],
                        dtype=object)


@pytest.mark.parametrize("blank_clears", [False, True])
def test_rows_without_a_base_row_are_compared_with_the_store(blank_clears):
    """A: in the export (three-way: only what the file changed is written). B: in the store but not
    in the export (added to the sheet by hand): compared with the store, blank = unchanged unless
    blank_clears. Planned alone and together, B plans the same: the base of A changes nothing for B."""
    store = _frame({"A": {"Name": "a", "Brand": "x"}, "B": {"Name": "b", "Brand": "y"}})
    base = _frame({"A": {"Name": "a", "Brand": "x"}})
    file = _frame({"A": {"Name": "a2", "Brand": "x"}, "B": {"Name": "b2", "Brand": ""}})
    plan = make_plan(file, store, base, blank_clears=blank_clears)
    changes = sorted((c.code, c.column, c.old, c.new) for c in plan.changes)
    expected_b = [("B", "Brand", "y", "")] if blank_clears else []
    assert changes == sorted([("A", "Name", "a", "a2"), ("B", "Name", "b", "b2"), *expected_b])
    alone = make_plan(file[file[cols.KEY] == "B"], store, base, blank_clears=blank_clears)
    assert sorted((c.code, c.column, c.old, c.new) for c in alone.changes) == sorted(
        [("B", "Name", "b", "b2"), *expected_b])
    every_row_based = make_plan(file[file[cols.KEY] == "A"], store, base, blank_clears=blank_clears)
    assert [(c.code, c.column, c.new) for c in every_row_based.changes] == [("A", "Name", "a2")]
