"""What a file is, decided from its bytes before any reader runs; zip bombs refused unopened."""
from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import FileReadError

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ODS_MIME = b"application/vnd.oasis.opendocument.spreadsheet"


def ole_error(path: Path):
    data = path.read_bytes()
    if "EncryptedPackage".encode("utf-16-le") in data or "EncryptionInfo".encode("utf-16-le") in data:
        raise FileReadError("the workbook is password-protected (encrypted), so it cannot be read",
                            "open it in Excel, remove the password (File → Info → Protect Workbook → "
                            "Encrypt with Password → clear it), save, and run again", file=str(path))
    raise FileReadError("this is an old Excel 97-2003 workbook (.xls), which is not supported",
                        "open it in Excel and choose File → Save As → Excel Workbook (.xlsx), "
                        "then run again on the .xlsx file", file=str(path))


def damaged(path: Path, detail: str = "") -> FileReadError:
    extra = f" ({detail})" if detail else ""
    return FileReadError(f"the workbook is damaged or incomplete and cannot be read{extra}",
                         "if it was downloaded or copied, fetch it again; otherwise open it in Excel "
                         "(which may offer to repair it) and save it again", file=str(path))


#: A genuine workbook at Excel's row limit inflates to a few GB at ratios below ~30:1; a zip bomb
#: declares far more, or far higher ratios. Readers never inflate past an entry's declared size.
MAX_INFLATED_BYTES = 8 * 1024**3
MAX_ENTRY_RATIO = 200  # real sheets: 5-30:1 (formatted empty rows ~25:1); deflate bombs ~1000:1
MAX_ENTRIES = 10_000


def check_zip_safety(zf: zipfile.ZipFile, path: Path) -> None:
    """Refuse a zip bomb before anything is inflated (from the central directory alone)."""
    infos = zf.infolist()
    hint = "this is not a normal workbook; if you expected one, export it again from its source"
    if len(infos) > MAX_ENTRIES:
        raise FileReadError(f"the workbook holds {len(infos):,} parts, far more than any spreadsheet", hint,
                            file=str(path))
    total = sum(i.file_size for i in infos)
    if total > MAX_INFLATED_BYTES:
        raise FileReadError(f"the workbook would inflate to {total / 1024**3:,.1f} GB (refused: over "
                            f"{MAX_INFLATED_BYTES // 1024**3} GB, beyond any real inventory list)", hint, file=str(path))
    for i in infos:
        if i.file_size > 10 * 1024**2 and i.file_size > MAX_ENTRY_RATIO * max(i.compress_size, 1):
            ratio = i.file_size / max(i.compress_size, 1)
            raise FileReadError(f"part {i.filename} would expand {ratio:,.0f} times (a zip bomb?), so it was not "
                                "opened", hint, file=str(path))


def zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_safety(zf, path)
            names = set(zf.namelist())
            if "mimetype" in names and zf.read("mimetype").strip().startswith(_ODS_MIME):
                return "ods"
            if "content.xml" in names and "xl/workbook.xml" not in names:
                return "ods"
            if "xl/workbook.xml" in names or any(n.startswith("xl/") for n in names):
                return "xlsx"
    except (zipfile.BadZipFile, EOFError, OSError, KeyError):
        raise damaged(path, "the zip container is broken; the file may be truncated") from None
    if "word/document.xml" in names:
        raise FileReadError("this is a Word document, not a workbook", "give the exported .xlsx, .ods or .csv file",
                            file=str(path))
    raise FileReadError("this zip file is not an Excel (.xlsx) or OpenDocument (.ods) workbook",
                        "give the exported .xlsx, .ods or .csv file", file=str(path))
