"""Spreadsheet column letters: ``0 → A``, ``25 → Z``, ``26 → AA`` and back."""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4096)
def col_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n - 1
