"""A zip member's bytes, inflated a chunk at a time by ISA-L (python-isal: 4-5x zlib's speed on a
sheet's XML) where installed, else by zlib; checked against the member's CRC-32 and size as
:mod:`zipfile` checks them (a mismatch raises :class:`zipfile.BadZipFile`)."""
from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator

LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # zipfile.structFileHeader (also written by zipcopy)
_READ = 1 << 20
_ENCRYPTED = 0x1


def crc32(data: bytes, value: int = 0) -> int:
    """CRC-32 as zlib computes it (ISA-L's where installed: 4x faster)."""
    return _engine().crc32(data, value)


def _engine():
    try:
        from isal import isal_zlib
        return isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency; zlib keeps it working without
        return zlib


def member_chunks(path, info: zipfile.ZipInfo, size: int = 4 << 20) -> Iterator[bytes]:
    """The inflated bytes of member ``info`` of the zip at ``path``, about ``size`` at a time.
    Members neither stored nor deflated (or encrypted) are read through :mod:`zipfile`."""
    if info.flag_bits & _ENCRYPTED or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        with zipfile.ZipFile(path) as zf, zf.open(info) as f:
            while chunk := f.read(size):
                yield chunk
        return
    engine = _engine()
    crc, total = 0, 0
    for out in _inflated(path, info, engine, size):
        crc = engine.crc32(out, crc)
        total += len(out)
        if total > info.file_size:
            raise zipfile.BadZipFile(f"{info.filename} is longer than its header says")
        yield out
    if total != info.file_size:
        raise zipfile.BadZipFile(f"{info.filename} is shorter than its header says")
    if crc != info.CRC:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {info.filename!r}")


def data_offset(f, info: zipfile.ZipInfo) -> int:
    """Where member ``info``'s stored bytes start in the open zip ``f`` (after its local header,
    whose name and extra field may differ from the central directory's)."""
    f.seek(info.header_offset)
    head = f.read(LOCAL_HEADER.size)
    if len(head) != LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename}")
    fields = LOCAL_HEADER.unpack(head)
    return info.header_offset + LOCAL_HEADER.size + fields[10] + fields[11]


def _raw_blocks(path, info: zipfile.ZipInfo, size: int) -> Iterator[bytes]:
    """The member's bytes as stored (after its local header)."""
    with open(path, "rb") as f:
        f.seek(data_offset(f, info))
        left = info.compress_size
        while left:
            raw = f.read(min(left, size))
            if not raw:
                raise zipfile.BadZipFile(f"{info.filename} is cut short")
            left -= len(raw)
            yield raw


def _inflated(path, info: zipfile.ZipInfo, engine, size: int) -> Iterator[bytes]:
    if info.compress_type == zipfile.ZIP_STORED:
        yield from _raw_blocks(path, info, size)
        return
    inflater = engine.decompressobj(-15)
    try:
        for raw in _raw_blocks(path, info, _READ):
            data = raw
            while data:  # at most ``size`` out per call: a member inflating a thousandfold stays chunked
                out = inflater.decompress(data, size)
                data = inflater.unconsumed_tail
                if out:
                    yield out
        rest = inflater.flush()
    except engine.error as exc:  # a damaged deflate stream: what zipfile says of it
        raise zipfile.BadZipFile(f"{info.filename}: {exc}") from None
    if rest:
        yield rest
    if not inflater.eof:
        raise zipfile.BadZipFile(f"{info.filename}: its deflate stream is cut short")


def open_member(zf: zipfile.ZipFile, name: str):
    """Member ``name`` of ``zf`` for streaming reads: a :class:`MemberReader` (ISA-L's inflate, a
    damaged stream as :class:`zipfile.BadZipFile`) when the zip is a file, else ``zf.open``."""
    return MemberReader(zf.filename, zf.getinfo(name)) if zf.filename else zf.open(name)


class MemberReader:
    """``read(n)`` over :func:`member_chunks`, for a streaming scan: at most ``n`` bytes, fewer
    when an inflated chunk ends sooner (no chunk is copied to fill a read), ``b""`` at the end."""

    def __init__(self, path, info: zipfile.ZipInfo):
        self._chunks = member_chunks(path, info)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            out, self._buf = self._buf + b"".join(self._chunks), b""
            return out
        if not self._buf:
            chunk = next(self._chunks, b"")
            if len(chunk) <= n:
                return chunk
            self._buf = chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._chunks.close()
