"""Build the bad-input corpus: files people (and attackers) hand to inventory-tools.

    python tests/data/bad/make_corpus.py OUT_DIR

Each entry is (file name, how to build it); tests/test_bad_input.py holds the exact message and
exit code expected for each. Nothing is committed but this script: some files are large.
"""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "inventory-list.csv"


def good_workbook(out: Path, store_path: Path | None = None) -> Path:
    """A genuine export of the example data (the base for most corruptions)."""
    from inventory_tools.exporting import export
    from inventory_tools.importing import import_file
    from inventory_tools.stores import open_store

    store = open_store(store_path or out.parent / ".corpus-store.db")
    if not store.read_products().shape[0]:
        import_file(store, str(EXAMPLE), results=str(out.parent / ".corpus-load.xlsx"))
    export(store, out)
    store.close()
    return out


def build(out_dir: Path, store_path: Path | None = None) -> dict[str, Path]:
    """Write the corpus; workbooks are exported from ``store_path`` (a store holding the examples)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    good = good_workbook(out_dir / "good.xlsx", store_path)
    data = good.read_bytes()
    files: dict[str, Path] = {}

    def put(name: str, content: bytes) -> None:
        (out_dir / name).write_bytes(content)
        files[name] = out_dir / name

    put("not-a-zip.xlsx", b"ProductCode,Name\r\nA,B\r\n but named .xlsx")
    put("truncated.xlsx", data[: len(data) // 2])
    put("empty.xlsx", b"")
    put("empty.csv", b"")
    put("utf16.csv", EXAMPLE.read_text(encoding="utf-8").encode("utf-16"))
    put("word.docx", _zip({"word/document.xml": b"<document/>", "[Content_Types].xml": b"<Types/>"}))
    put("zip-bomb.xlsx", _zip_bomb())

    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active.append(["Shopping list", "Qty"])
    wb.active.append(["Milk", 2])
    wb.create_sheet("Summary").append(["Total", 2])
    wb.save(out_dir / "no-inventory-sheet.xlsx")
    files["no-inventory-sheet.xlsx"] = out_dir / "no-inventory-sheet.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.delete_rows(2, ws.max_row)
    wb.save(out_dir / "header-only.xlsx")
    files["header-only.xlsx"] = out_dir / "header-only.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.cell(row=1, column=ws.max_column + 1, value="Name")
    wb.save(out_dir / "duplicate-headers.xlsx")
    files["duplicate-headers.xlsx"] = out_dir / "duplicate-headers.xlsx"

    wb = openpyxl.load_workbook(good)
    ws = wb["Inventory List"]
    ws.merge_cells("C2:C4")  # Category of three products merged into one cell
    wb.save(out_dir / "merged-cells.xlsx")
    files["merged-cells.xlsx"] = out_dir / "merged-cells.xlsx"

    wb = openpyxl.load_workbook(good)
    wb["Inventory List"].row_dimensions[3].hidden = True
    wb["Inventory List"]["AB3"] = 99  # an edit in a row the manager cannot see
    wb.save(out_dir / "hidden-rows.xlsx")
    files["hidden-rows.xlsx"] = out_dir / "hidden-rows.xlsx"

    put("formatted-empty-rows.xlsx", _formatted_empty_rows(good))
    put("xxe.xlsx", _with_sheet_prefix(good, '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"))
    laughs = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    put("billion-laughs.xlsx", _with_sheet_prefix(good, f'<!DOCTYPE x [<!ENTITY l0 "ha">{laughs}]>', "&l9;"))

    encrypted = _encrypted(good)
    if encrypted:
        put("password.xlsx", encrypted)
    soffice = shutil.which("soffice")
    if soffice:
        subprocess.run([soffice, f"-env:UserInstallation=file://{out_dir}/.lo", "--headless", "--convert-to",
                        "xls", "--outdir", str(out_dir), str(good)], check=True, capture_output=True, timeout=180)
        (out_dir / "good.xls").rename(out_dir / "old-format.xls")
        files["old-format.xls"] = out_dir / "old-format.xls"
    return files


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in parts.items():
            z.writestr(name, content)
    return buf.getvalue()


def _zip_bomb() -> bytes:
    """A 'workbook' whose sheet inflates 1000-fold: 256 MB of zeros in 250 kB."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            block = b"0" * (1 << 22)
            for _ in range(64):
                f.write(block)
    return buf.getvalue()


def _rewrite(good: Path, fn) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            dst.writestr(info.filename, fn(info.filename, content))
    return buf.getvalue()


def _formatted_empty_rows(good: Path) -> bytes:
    """Every one of Excel's 1,048,576 rows formatted, and empty, below the data."""
    def fn(name, content):
        if name != "xl/worksheets/sheet1.xml":
            return content
        text = content.decode("utf-8")
        head, tail = text.split("</sheetData>", 1)
        start = head.count("<row ") + 1
        rows = "".join(f'<row r="{r}" s="2" customFormat="1" ht="15" customHeight="1"/>'
                       for r in range(start, 1_048_577))
        return (head + rows + "</sheetData>" + tail).encode("utf-8")
    return _rewrite(good, fn)


def _with_sheet_prefix(good: Path, doctype: str, entity_ref: str) -> bytes:
    def fn(name, content):
        if name != "xl/worksheets/sheet1.xml":
            return content
        text = content.decode("utf-8").replace('standalone="yes"?>\n', f'standalone="yes"?>\n{doctype}', 1)
        return text.replace("<sheetData>", f'<sheetData><!-- {entity_ref} -->', 1).encode("utf-8")
    return _rewrite(good, fn)


def _encrypted(good: Path) -> bytes | None:
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return None
    out = io.BytesIO()
    with good.open("rb") as fh:
        OOXMLFile(fh).encrypt("s3cret", out)
    return out.getvalue()


if __name__ == "__main__":
    for name, path in build(Path(sys.argv[1])).items():
        print(f"{path.stat().st_size:>12,}  {name}")


def big_workbook(out: Path, store_path: Path, size: int = 210 * 1024**2, text_chars: int = 6000) -> Path:
    """A genuine export of at least ``size`` bytes: products whose descriptions are long and
    incompressible (random text), so the file is big without being millions of rows."""
    import base64
    import os

    import pandas as pd

    from inventory_tools import columns as cols
    from inventory_tools.exporting import export
    from inventory_tools.stores import open_store
    from inventory_tools.changes import ChangeSet

    per_row = text_chars * 3 // 4 + 200  # deflate gets ~6 bits per base64 character back
    n = size // per_row + 1
    rows = {name: [""] * n for name in cols.names()}
    rows[cols.KEY] = [f"BIG-{i:06d}" for i in range(n)]
    rows["Name"] = [f"Big product {i}" for i in range(n)]
    rows["Status"] = ["Deprecated"] * n  # needs no setup columns
    rows["Description"] = [base64.b64encode(os.urandom(text_chars * 3 // 4)).decode() for _ in range(n)]
    store = open_store(store_path)
    store.apply(ChangeSet(creates=pd.DataFrame(rows, dtype=object)), kind="import", source="big", base_export_id=None,
                counts={})
    export(store, out)
    store.close()
    return out
