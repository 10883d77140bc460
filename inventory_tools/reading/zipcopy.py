"""A copy of a zip package with some members renamed, replaced or left out; every other member
is copied as it is stored (no inflate, no deflate), so a 200 MB workbook is copied at disk speed.

Used to hand a reader library a package it reads the way we need (:mod:`.package`: odd part
names; :mod:`.sst`: marked shared strings). The copy is a plain zip (no data descriptors, no
ZIP64); a package that needs ZIP64 (members or offsets beyond 4 GB) raises :class:`CannotCopy`.
"""
from __future__ import annotations

import os
import struct
import tempfile
import zipfile
import zlib

from .inflate import LOCAL_HEADER as _LOCAL, crc32, data_offset

_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # zipfile.structCentralDir
_END = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_LIMIT = 0xFFFFFFFF
_UTF8_NAME = 0x800
_DESCRIPTOR = 0x08


class CannotCopy(Exception):
    """The package cannot be copied this way (ZIP64 sizes). A damaged package raises
    :class:`zipfile.BadZipFile`, as reading it would."""


def package_copy(path, *, replace: dict | None = None, rename: dict[str, str] | None = None,
                 drop: frozenset[str] = frozenset()) -> str:
    """A temporary copy of the zip at ``path``: members in ``replace`` (by their name in ``path``)
    get new contents (stored uncompressed): bytes, or a callable given a ``write`` function that
    streams them; ``rename`` gives members new names, ``drop`` leaves members out. Returns the
    copy's path; the caller removes it."""
    replace, rename = replace or {}, rename or {}
    fd, copy = tempfile.mkstemp(suffix=".xlsx", prefix="inventory-tools-")
    try:
        with open(path, "rb") as src, zipfile.ZipFile(src) as zf, os.fdopen(fd, "wb") as out:
            central = []
            for info in zf.infolist():
                if info.filename in drop:
                    continue
                name = rename.get(info.filename, info.filename)
                offset = out.tell()
                if callable(replace.get(info.filename)):
                    central.append(_streamed(out, info, name, replace[info.filename]))
                    continue
                if info.filename in replace:
                    data = replace[info.filename]
                    crc, size, csize, method = zlib.crc32(data), len(data), len(data), zipfile.ZIP_STORED
                else:
                    crc, size, csize, method = info.CRC, info.file_size, info.compress_size, info.compress_type
                    data = None
                flags = (info.flag_bits & ~_DESCRIPTOR) | _UTF8_NAME
                raw_name = name.encode("utf-8")
                if max(offset, size, csize) >= _LIMIT:
                    raise CannotCopy("ZIP64")
                dostime, dosdate = _dos_time(info.date_time)
                out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, flags, method, dostime, dosdate, crc, csize, size,
                                      len(raw_name), 0))
                out.write(raw_name)
                if data is not None:
                    out.write(data)
                else:
                    _copy_stored(src, out, info, csize)
                central.append(_CENTRAL.pack(b"PK\x01\x02", 20, 3, 20, 0, flags, method, dostime, dosdate, crc,
                                             csize, size, len(raw_name), 0, 0, 0, 0, info.external_attr & _LIMIT,
                                             offset) + raw_name)
            start = out.tell()
            for entry in central:
                out.write(entry)
            if start >= _LIMIT or len(central) > 0xFFFF:
                raise CannotCopy("ZIP64")
            out.write(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    except BaseException:
        os.unlink(copy)
        raise
    return copy


def _streamed(out, info: zipfile.ZipInfo, name: str, produce) -> bytes:
    """A member whose contents ``produce(write)`` streams (stored): its local header is written
    first and completed once the size and CRC are known. Returns its central directory entry."""
    offset = out.tell()
    flags = (info.flag_bits & ~_DESCRIPTOR) | _UTF8_NAME
    raw_name = name.encode("utf-8")
    dostime, dosdate = _dos_time(info.date_time)
    out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, flags, 0, dostime, dosdate, 0, 0, 0, len(raw_name), 0))
    out.write(raw_name)
    state = [0, 0]  # crc, size

    def write(data: bytes) -> None:
        state[0] = crc32(data, state[0])
        state[1] += len(data)
        out.write(data)
    produce(write)
    crc, size = state
    if max(offset, size) >= _LIMIT:
        raise CannotCopy("ZIP64")
    end = out.tell()
    out.seek(offset)
    out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, flags, 0, dostime, dosdate, crc, size, size, len(raw_name), 0))
    out.seek(end)
    return _CENTRAL.pack(b"PK\x01\x02", 20, 3, 20, 0, flags, 0, dostime, dosdate, crc, size, size, len(raw_name),
                         0, 0, 0, 0, info.external_attr & _LIMIT, offset) + raw_name


def _copy_stored(src, out, info: zipfile.ZipInfo, size: int) -> None:
    """The member's bytes as stored in the zip (after its local header), copied unchanged."""
    src.seek(data_offset(src, info))  # damage raises zipfile.BadZipFile, as for any reader
    left = size
    while left:
        block = src.read(min(left, 1 << 22))
        if not block:
            raise zipfile.BadZipFile(f"{info.filename} is cut short")
        out.write(block)
        left -= len(block)


def _dos_time(date_time: tuple) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    if y < 1980:
        y, mo, d, h, mi, s = 1980, 1, 1, 0, 0, 0
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def remove(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


__all__ = ["package_copy", "CannotCopy", "remove"]
