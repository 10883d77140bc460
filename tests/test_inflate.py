"""reading/inflate.py: a member's bytes inflated by ISA-L, checked as zipfile checks them."""
from __future__ import annotations

import os
import zipfile
import zlib

import pytest

from inventory_tools.errors import FileReadError
from inventory_tools.reading import inflate
from inventory_tools.reading.inflate import MemberReader, member_chunks
from inventory_tools.reading.scan import scan_xlsx
from tests.helpers.workbooks import write_wb

SAMPLE = b"<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>" * 20_000 + os.urandom(50_000)


def _zip(path, method, data=SAMPLE, name="xl/worksheets/sheet1.xml"):
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr(name, data)
    return path


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
@pytest.mark.parametrize("size", [1 << 10, 4 << 20])
def test_a_member_reads_exactly_as_zipfile_reads_it(tmp_path, method, size):
    path = _zip(tmp_path / "a.zip", method)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
        chunks = list(member_chunks(path, info, size))
    assert b"".join(chunks) == SAMPLE
    assert max(map(len, chunks)) <= max(size, 1 << 20)  # a chunk at a time, never the whole member


@pytest.mark.parametrize("n", [7, 1 << 16, 8 << 20])
def test_the_reader_gives_at_most_what_read_asks_for_and_every_byte_once(tmp_path, n):
    path = _zip(tmp_path / "a.zip", zipfile.ZIP_DEFLATED)
    parts = []
    with zipfile.ZipFile(path) as zf, MemberReader(path, zf.getinfo("xl/worksheets/sheet1.xml")) as f:
        while part := f.read(n):
            parts.append(part)
        assert f.read(n) == b"" and f.read() == b""
    assert b"".join(parts) == SAMPLE and max(map(len, parts)) <= n
    with zipfile.ZipFile(path) as zf, MemberReader(path, zf.getinfo("xl/worksheets/sheet1.xml")) as f:
        assert f.read(3) + f.read() == SAMPLE


def _corrupt(path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def _data_offset(path, name: str = "xl/worksheets/sheet1.xml") -> tuple[int, zipfile.ZipInfo]:
    """Where member ``name``'s stored bytes start in the zip, and its entry."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    with open(path, "rb") as f:
        return inflate.data_offset(f, info), info


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_a_damaged_member_is_refused_as_zipfile_refuses_it(tmp_path, method):
    path = _zip(tmp_path / "a.zip", method)
    start, info = _data_offset(path)
    _corrupt(path, start + info.compress_size - 10)  # in the random tail: inflates, but to other bytes
    with pytest.raises(zipfile.BadZipFile):
        b"".join(member_chunks(path, info))
    with zipfile.ZipFile(path) as zf, pytest.raises(zipfile.BadZipFile):
        zf.read(info)  # the same file, the same verdict


def test_a_member_cut_short_or_said_longer_is_refused(tmp_path):
    path = _zip(tmp_path / "a.zip", zipfile.ZIP_DEFLATED)
    _, info = _data_offset(path)
    info.compress_size -= 100  # the stream ends before its end
    with pytest.raises(zipfile.BadZipFile):
        b"".join(member_chunks(path, info))
    _, info = _data_offset(path)
    info.file_size += 1  # the header promises more than the stream holds
    with pytest.raises(zipfile.BadZipFile):
        b"".join(member_chunks(path, info))


def test_without_isal_zlib_inflates_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(inflate, "_engine", lambda: zlib)
    path = _zip(tmp_path / "a.zip", zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as zf:
        assert b"".join(member_chunks(path, zf.getinfo("xl/worksheets/sheet1.xml"))) == SAMPLE


@pytest.mark.parametrize("engine", ["isal", "zlib"])
def test_a_sheet_damaged_in_its_data_is_a_clear_error_of_the_scan(tmp_path, monkeypatch, engine):
    if engine == "zlib":
        monkeypatch.setattr(inflate, "_engine", lambda: zlib)
    path = tmp_path / "damaged.xlsx"
    write_wb(path, ["ProductCode", "Name"], [[f"P{i}", os.urandom(8).hex()] for i in range(3000)])
    start, info = _data_offset(path)
    _corrupt(path, start + info.compress_size // 2)
    with pytest.raises(FileReadError) as err:
        scan_xlsx(path, "Inventory List")
    assert "damaged" in str(err.value).lower() or "corrupt" in str(err.value).lower()
