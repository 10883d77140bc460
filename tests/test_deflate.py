"""xlsx/deflate.py: ISA-L's deflate for the entries we write, read back by every reader exactly as
zlib's; zlib's kept wherever the swap would not be the same thing."""
import zipfile

import pytest

from inventory_tools import exporting
from inventory_tools.stores import open_store
from inventory_tools.xlsx import deflate


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None  # every CRC checks
        return {name: zf.read(name) for name in zf.namelist()}


def test_a_workbook_deflated_by_isal_holds_exactly_the_parts_zlib_would(ex, store_path, tmp_path, monkeypatch):
    pytest.importorskip("isal")
    used = []
    real = deflate.use_fast_deflate

    def counting(entry):
        used.append(real(entry))
        return used[-1]
    monkeypatch.setattr(deflate, "use_fast_deflate", counting)
    store = open_store(store_path)
    rows = exporting.FrameSource(store.read_products())
    store.close()
    manifest = {"export_id": "exp-fixed", "exported_at": "2026-11-30T00:00:00Z"}  # the same in both
    exporting._write_xlsx(str(tmp_path / "isal.xlsx"), rows, manifest, exporting._dropdown_lists(None, rows), None)
    assert used == [True, True]  # the data sheet and the shared strings
    monkeypatch.setattr(deflate, "fast_compressor", lambda level: None)
    exporting._write_xlsx(str(tmp_path / "zlib.xlsx"), rows, manifest, exporting._dropdown_lists(None, rows), None)
    assert used == [True, True, False, False]
    assert _members(tmp_path / "isal.xlsx") == _members(tmp_path / "zlib.xlsx")


@pytest.mark.parametrize("level, swapped", [(1, True), (3, True), (0, False), (6, False), (None, False)])
def test_only_an_untouched_deflated_entry_at_a_fast_level_is_given_isal(tmp_path, level, swapped):
    pytest.importorskip("isal")
    with zipfile.ZipFile(tmp_path / "a.zip", "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        with zf.open("x.xml", "w") as entry:
            assert deflate.use_fast_deflate(entry) is swapped
            entry.write(b"<a>" * 10_000)
            assert deflate.use_fast_deflate(entry) is False  # written to: never swapped mid-stream
    with zipfile.ZipFile(tmp_path / "b.zip", "w", zipfile.ZIP_STORED) as zf, zf.open("x.xml", "w") as entry:
        assert deflate.use_fast_deflate(entry) is False
    assert zipfile.ZipFile(tmp_path / "a.zip").read("x.xml") == b"<a>" * 10_000
