"""factorised.merge: chunks factorised one by one become one table of distinct values."""
import numpy as np
import pandas as pd

from inventory_tools.factorised import merge


def test_chunks_merge_into_one_table_with_blanks_kept():
    chunks = [np.array(["a", "", "b", None], dtype=object), np.array(["b", "c", None, "a"], dtype=object)]
    parts = []
    for chunk in chunks:
        codes, uniques = pd.factorize(chunk, use_na_sentinel=True)
        parts.append((codes, np.asarray(uniques, dtype=object)))
    codes, uniques = merge(parts)
    assert codes.dtype == np.int32 and len(codes) == 8
    values = [None if c < 0 else uniques[c] for c in codes]
    assert values == ["a", "", "b", None, "b", "c", None, "a"]
    assert sorted(uniques) == ["", "a", "b", "c"]  # each distinct value once
    assert uniques[codes[0]] is uniques[codes[7]]  # equal values are one object


def test_one_chunk_is_returned_as_it_is():
    codes, uniques = merge([(np.array([0, -1, 0]), np.array(["x"], dtype=object))])
    assert codes.tolist() == [0, -1, 0] and uniques.tolist() == ["x"]


def test_small_unsigned_codes_merge_past_their_own_range():
    # stored chunks may keep their codes as uint16; past 65,536 distinct values in all, the
    # offsets no longer fit that type (NumPy 2 refuses the sum instead of widening it)
    parts = [(np.arange(40_000, dtype=np.uint16), np.array([f"v{i}" for i in range(40_000)], dtype=object))
             for _ in range(2)]
    parts[1] = (parts[1][0], np.array([f"w{i}" for i in range(40_000)], dtype=object))
    codes, uniques = merge(parts)
    assert len(uniques) == 80_000 and uniques[codes[-1]] == "w39999" and codes.dtype == np.int32
