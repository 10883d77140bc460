"""Text arrays in Arrow: the writer's per-value work (escaping, number checks, wrapped lines)
done by Arrow's string kernels over a column's distinct values, never a Python loop per value
(except for the rare value an escape needs one by one).

Arrays here are ``large_string``: a chunk of long texts never overflows 32-bit offsets.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .xml import xml_text

TEXT = pa.large_string()
_NOTHING = pa.scalar("", TEXT)
#: Values that need :func:`~inventory_tools.xlsx.xml.xml_text`'s rarer escapes: a literal
#: ``_xHHHH_`` (spreadsheet apps would decode it) or a character XML cannot hold.
_RARE = r"_x[0-9A-Fa-f]{4}_|[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]"
#: A number cell a spreadsheet keeps exactly: plain notation (see also ``_significant``).
_PLAIN_NUMBER = r"^-?\d{1,15}(\.\d+)?$"


def strings(values) -> pa.Array:
    """``values`` (a list, an object array of str, or an Arrow array) as Arrow text, None → ""."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(values, type=TEXT, from_pandas=True)
    if values.type != TEXT:
        values = values.cast(TEXT)
    return values.fill_null("") if values.null_count else values


def encode(values: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(int32 code per value, -1 for blank; the distinct values): a column factorised."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    elif not isinstance(values, pa.Array):
        values = strings(values)
    enc = values if pa.types.is_dictionary(values.type) else strings(values).dictionary_encode()
    if enc.null_count or enc.dictionary.null_count:
        enc = strings(enc.cast(enc.type.value_type)).dictionary_encode()
    codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    dictionary = strings(enc.dictionary)
    blank = pc.index(dictionary, "").as_py()
    if blank >= 0:  # blank is no value: code -1, and not among the distinct values
        codes = np.where(codes == blank, np.int32(-1), codes - (codes > blank).astype(np.int32))
        dictionary = pa.concat_arrays([dictionary.slice(0, blank), dictionary.slice(blank + 1)])
    return codes, dictionary


def concat(parts) -> pa.Array:
    """String arrays and constants joined element-wise (a constant repeats for every element)."""
    return pc.binary_join_element_wise(*(pa.scalar(p, TEXT) if isinstance(p, str) else p for p in parts), _NOTHING)


def escaped(values: pa.Array, needs: str, replacements, rare: str, one_by_one) -> pa.Array:
    """``values`` with ``replacements`` (raw, escaped) made, and the values that match ``rare``
    escaped ``one_by_one`` in Python. Only values that match ``needs`` are touched (one regex
    pass: most values need nothing)."""
    if not len(values):
        return values
    need = pc.match_substring_regex(values, needs)
    count = pc.sum(need).as_py() or 0
    if not count:
        return values
    some = values.filter(need) if count < len(values) else values
    out = some
    for raw, replaced in replacements:
        out = pc.replace_substring(out, raw, replaced)
    odd = pc.match_substring_regex(some, rare)
    if pc.any(odd).as_py():
        where = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
        fixed = out.to_numpy(zero_copy_only=False).astype(object)
        fixed[where] = [one_by_one(v) for v in some.take(pa.array(where)).to_pylist()]
        out = pa.array(fixed, type=TEXT)
    return pc.replace_with_mask(values, need, out) if count < len(values) else out


_XML_REPLACE = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))


def xml_escaped(values: pa.Array) -> pa.Array:
    """Each value as :func:`~inventory_tools.xlsx.xml.xml_text` escapes it."""
    return escaped(values, r"[&<>\r]|" + _RARE, _XML_REPLACE, _RARE, xml_text)


def plain_numbers(values: pa.Array) -> np.ndarray:
    """Per value: written as a number cell (a spreadsheet keeps it exactly: plain notation,
    at most 15 significant digits); else it is kept exact as text."""
    if not len(values):
        return np.zeros(0, dtype=bool)
    ok = pc.match_substring_regex(values, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
    if ok.any():
        digits = pc.replace_substring(pc.replace_substring(values, "-", ""), ".", "")
        significant = pc.utf8_length(pc.utf8_ltrim(digits, characters="0")).to_numpy(zero_copy_only=False)
        ok &= significant <= 15
    return ok


def has_newline(values: pa.Array) -> np.ndarray:
    return pc.match_substring(values, "\n").to_numpy(zero_copy_only=False) if len(values) \
        else np.zeros(0, dtype=bool)


def line_counts(values: pa.Array, per_line: float) -> np.ndarray:
    """Lines each text takes wrapped at ``per_line`` characters (at least 1; each line break
    starts a line)."""
    n = len(values)
    if not n:
        return np.zeros(0, dtype=np.int64)
    lengths = pc.utf8_length(values).to_numpy(zero_copy_only=False)
    counts = np.maximum(1, np.ceil(lengths / per_line)).astype(np.int64)
    multi = has_newline(values)
    if multi.any():
        parts = pc.split_pattern(values.filter(pa.array(multi)), "\n")
        part_len = pc.utf8_length(parts.flatten()).to_numpy(zero_copy_only=False)
        part_lines = np.maximum(1, np.ceil(part_len / per_line))
        parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False)
        counts[multi] = np.bincount(parent, weights=part_lines, minlength=int(multi.sum())).astype(np.int64)
    return counts


def numbers_text(values: np.ndarray) -> pa.Array:
    """Integers as decimal text."""
    return pc.cast(pa.array(values), pa.string()).cast(TEXT)


def joined(values: pa.Array) -> memoryview:
    """The values' bytes end to end, straight from the array's data buffer (no copy)."""
    if not len(values):
        return memoryview(b"")
    values = values if values.type == TEXT else values.cast(TEXT)
    _, offsets, data = values.buffers()
    off = np.frombuffer(offsets, dtype=np.int64)[values.offset:values.offset + len(values) + 1]
    return memoryview(data)[int(off[0]):int(off[-1])] if data is not None else memoryview(b"")


def retaining_pool() -> None:
    """Arrow's memory from jemalloc from now on, where this pyarrow has it: it keeps freed memory
    for reuse a while, where mimalloc (the default) soon hands it back to the system, so that a
    short-lived process writing a big workbook faults in and zeroes the same pages again and
    again (measured: ~0.4 s of system time for a 100,000-row results workbook)."""
    try:
        pool = pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError, AttributeError):
        return
    if pa.default_memory_pool().backend_name != pool.backend_name:
        pa.set_memory_pool(pool)
