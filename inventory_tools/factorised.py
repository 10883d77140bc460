"""Columns factorised chunk by chunk, merged into one table of distinct values.

Big inputs (a sheet's rows, a store's rows) are read in chunks; each chunk's column is
``pd.factorize``-d on its own, so only int codes and distinct values outlive the chunk.
"""
from __future__ import annotations

from typing import Sequence

from ._lazy import lazy_import

np = lazy_import("numpy", globals())  # imported on first use: start-up (issue 17)
pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)


def merge(parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Chunks of (codes into the chunk's uniques, -1 = blank) → (int32 codes into one table of
    distinct values, -1 kept; that table as an object array). Equal values become one object."""
    if len(parts) == 1:
        codes, uniques = parts[0]
        return codes.astype(np.int32, copy=False), np.asarray(uniques, dtype=object)
    remap, uniques = pd.factorize(np.concatenate([u for _, u in parts]), use_na_sentinel=False)
    remap = np.append(remap.astype(np.int32), np.int32(-1))  # the last slot keeps -1 blank
    out, start = [], 0
    for codes, u in parts:
        codes = codes.astype(np.int64, copy=False)  # small or unsigned codes (uint16) + a big offset
        out.append(remap[np.where(codes < 0, len(remap) - 1, codes + start)])
        start += len(u)
    return np.concatenate(out), np.asarray(uniques, dtype=object)


def categorical(codes: np.ndarray, categories) -> pd.Categorical:
    """``pd.Categorical.from_codes`` with object categories, as given. (Given plain categories,
    pandas 3 infers its ``str`` dtype for them: with pyarrow installed, every distinct text is
    copied into Arrow memory, 290 MB more for a 200 MB workbook of long descriptions.)"""
    dtype = pd.CategoricalDtype(pd.Index(np.asarray(categories, dtype=object), dtype=object))
    return pd.Categorical.from_codes(codes, dtype=dtype)
