"""Step 3 of validation: the pandera schema built from the column table checks the canonical
text frame (max lengths, decimals ≥ 0, decimal places) lazily; nothing is coerced by pandera.

Enum and Yes/No words need no check here: canonicalisation (step 2) already turned each into
the column's own spelling or reported it (``enum.value``, ``enum.bool``).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from .. import columns as cols
from ..values import decimal_places
from .cells import AddProblem


def build_schema(names=None):
    """The pandera schema of the column table (lengths, decimals) for the given columns (default:
    all). Nothing is coerced: values are canonical text already."""
    import pandera.pandas as pa

    columns = {}
    for name in (names if names is not None else cols.names()):
        if name not in cols.by_name():
            continue
        col = cols.column(name)
        checks = []
        if col.max_length and col.type in ("text", "account"):
            checks.append(pa.Check(_per_unique(lambda u, m=col.max_length: len(u) <= m), name="text.too_long"))
        if col.type == "decimal":
            checks.append(pa.Check(_per_unique(lambda u: not u.startswith("-")), name="decimal.negative"))
            if col.decimals is not None:
                checks.append(pa.Check(_per_unique(lambda u, d=col.decimals: decimal_places(u) <= d),
                                       name="decimal.places"))
        if checks:
            columns[name] = pa.Column(None, checks, nullable=True, required=False, coerce=False)
    return pa.DataFrameSchema(columns, coerce=False, strict=False) if columns else None


def _per_unique(fn: Callable[[str], bool]) -> Callable[[pd.Series], pd.Series]:
    """A vectorised pandera check that evaluates ``fn`` once per distinct value."""
    def check(s: pd.Series) -> pd.Series:
        if isinstance(s.dtype, pd.CategoricalDtype):  # validate() passes categories: no factorising
            codes, uniq = s.cat.codes.to_numpy(), s.cat.categories.to_numpy(dtype=object)
        else:
            codes, uniq = pd.factorize(s, use_na_sentinel=True)
        ok = np.fromiter((fn(u) for u in uniq), dtype=bool, count=len(uniq))
        ok = np.append(ok, True)
        return pd.Series(ok[codes], index=s.index)
    return check


def schema_problems(frame: pd.DataFrame, categorical: dict[str, pd.Categorical], raw: pd.DataFrame,
                    bad: dict[str, np.ndarray], add: AddProblem) -> None:
    """Run the schema over the checked columns (as categories) and report each failing cell."""
    import pandera.pandas as pa

    schema = build_schema(frame.columns)
    if schema is None:
        return
    checked = pd.DataFrame({n: categorical[n] for n in schema.columns if n in categorical}, index=frame.index)
    try:
        schema.validate(checked, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()]
        arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name, rule, pos in zip(fc["column"], fc["check"], fc["index"]):
            pos = int(pos)
            if name not in arrays:
                arrays[name] = (frame[name].to_numpy(dtype=object), raw[name].to_numpy(dtype=object))
            text, value = arrays[name][0][pos], arrays[name][1][pos]
            add(pos, name, value, rule, *_words(cols.column(name), rule, text))
            bad[name][pos] = True


def _words(col: cols.Column, rule: str, text: str) -> tuple[str, str]:
    """(message, hint) for a failing cell."""
    name = col.name
    if rule == "text.too_long":
        return (f"{name} is {len(text)} characters long; at most {col.max_length} are allowed",
                f"shorten it to {col.max_length} characters")
    if rule == "decimal.negative":
        return f"{name} {text} is negative", "enter 0 or a positive number"
    return (f"{name} {text} has {decimal_places(text)} decimal places; at most {col.decimals} are kept",
            f"round it to {col.decimals} decimal places")
