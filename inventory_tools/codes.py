"""When two product codes name the same product.

Codes are kept exactly as given (Cin7's CSV must round-trip byte for byte), but compared as a
person reads them: Unicode-normalised (NFC: ``é`` typed as one character or as ``e`` + accent is
the same), case-folded (Unicode case folding, not ASCII lower-casing: ``CAFÉ`` is ``café``) and
without whitespace (``TEA-ROOIBOS 250`` is ``TEA-ROOIBOS250``). Two codes with the same
:func:`product_key` in one file, or a new code whose key an existing product already has, are
one product typed two ways: an error, never a second product.
"""
from __future__ import annotations

import re
import unicodedata

from ._lazy import lazy_import

pd = lazy_import("pandas", globals())  # imported on first use: start-up (issue 17)

_SPACE_RE = re.compile(r"\s+")


def product_key(code: str) -> str:
    text = unicodedata.normalize("NFC", code)
    return _SPACE_RE.sub("", unicodedata.normalize("NFC", text.casefold()))


def product_keys(codes: pd.Series) -> pd.Series:
    """:func:`product_key` of each code (ASCII codes without spaces, nearly all: lower case)."""
    key, ws = product_key, _ASCII_SPACE.search
    keys = [c.lower() if c.isascii() and not ws(c) else key(c) for c in codes.astype(str).tolist()]
    return pd.Series(keys, index=codes.index, dtype=object)


_ASCII_SPACE = re.compile(r"[ \t\n\r\x0b\x0c\x1c-\x1f]")  # what \s matches among ASCII characters
