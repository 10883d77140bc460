"""The deflate of the big zip entries we write (sheets, shared strings): ISA-L's (python-isal)
where installed — about 3x zlib's speed at level 1, its output no bigger — else zlib's.

The stream is plain raw deflate, so every reader inflates it as it inflates zlib's; only the
encoder differs. zipfile has no hook for its compressor: an entry just opened for writing
(``ZipFile.open(name, "w")``) gets ISA-L's in place of zlib's before anything is written to it;
a zipfile that no longer has that attribute keeps zlib's (nothing breaks, it is only slower).
"""
from __future__ import annotations

import zipfile


def fast_compressor(level: int | None):
    """A raw-deflate compressor at ``level`` (zlib's 1-3 map to ISA-L's), or None."""
    if level is None or not 1 <= level <= 3:  # (zlib's 0 stores: never mapped)
        return None
    try:
        from isal import isal_zlib
    except ImportError:
        return None
    return isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)


def use_fast_deflate(entry) -> bool:
    """Give a zip entry open for writing the faster compressor, if it has written nothing yet;
    whether it was given."""
    info = getattr(entry, "_zinfo", None)
    if info is None or info.compress_type != zipfile.ZIP_DEFLATED or getattr(entry, "_compressor", None) is None \
            or getattr(entry, "_file_size", 1):
        return False
    level = getattr(info, "compress_level", getattr(info, "_compresslevel", None))
    compressor = fast_compressor(level)
    if compressor is None:
        return False
    entry._compressor = compressor
    return True
