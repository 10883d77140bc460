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
    for stream, what in (("WordDocument", "a Word 97-2003 document (.doc)"),
                         ("PowerPoint Document", "a PowerPoint 97-2003 presentation (.ppt)"),
                         ("__substg1.0_", "an Outlook message (.msg)")):
        if stream.encode("utf-16-le") in data:
            raise _refuse(path, what, "save the spreadsheet itself (.xlsx, .ods or .csv) and give that file")
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


_SAVE_AS_XLSX = ("open it in Excel (or LibreOffice) and save it as Excel Workbook (.xlsx), then run again on the "
                 ".xlsx file")
_GIVE_EXPORT = "give the exported inventory list (.xlsx, .ods or .csv)"


def _refuse(path: Path, what: str, hint: str) -> FileReadError:
    return FileReadError(f"this is {what}: inventory-tools reads .xlsx, .ods and .csv files", hint, file=str(path))


# -- zip packages ------------------------------------------------------------------------------
_ZIP_KINDS = {  # what a zip package is → (its real name, how to fix)
    "xlsb": ("an Excel Binary Workbook (.xlsb)", _SAVE_AS_XLSX),
    "xlam": ("an Excel add-in (.xlam), which holds no inventory list", _GIVE_EXPORT),
    "docx": ("a Word document, not a workbook", _GIVE_EXPORT),
    "pptx": ("a PowerPoint presentation", _GIVE_EXPORT),
    "odt": ("an OpenDocument text document (LibreOffice Writer)", _GIVE_EXPORT),
    "odp": ("an OpenDocument presentation", _GIVE_EXPORT),
    "numbers": ("an Apple Numbers spreadsheet",
                "in Numbers choose File → Export To → Excel, then run again on the .xlsx file"),
}
_OPENDOCUMENT = {b"application/vnd.oasis.opendocument.spreadsheet": "ods",
                 b"application/vnd.oasis.opendocument.spreadsheet-template": "ods",
                 b"application/vnd.oasis.opendocument.text": "odt",
                 b"application/vnd.oasis.opendocument.presentation": "odp"}


def zip_kind(path: Path) -> str:
    """``xlsx`` or ``ods`` for a zip package we read; anything else is refused by its real name."""
    from .package import Package

    try:
        with zipfile.ZipFile(path) as zf:
            check_zip_safety(zf, path)
            names = {n.replace("\\", "/").casefold(): n for n in zf.namelist()}
            if "mimetype" in names:
                mime = zf.read(names["mimetype"]).strip()
                kind = _OPENDOCUMENT.get(mime)
                if kind:
                    return _known(path, kind)
            kind = Package.of(zf).kind() if "[content_types].xml" in names or "_rels/.rels" in names else None
            if kind is None:  # a package without its content types: known by its usual parts
                kind = next((k for part, k in (("xl/workbook.xml", "xlsx"), ("word/document.xml", "docx"),
                                                ("ppt/presentation.xml", "pptx"), ("content.xml", "ods"))
                             if part in names), None)
            if kind is None and any(n.startswith("index/") and n.endswith(".iwa") for n in names):
                kind = "numbers"
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, NotImplementedError):
        raise damaged(path, "the zip container is broken; the file may be truncated") from None
    except FileReadError:
        raise
    except Exception as exc:  # defusedxml refusals and XML syntax errors in the package's own parts
        raise damaged(path, xml_problem(exc)) from None
    if kind is None:
        raise FileReadError("this zip file is not an Excel (.xlsx) or OpenDocument (.ods) workbook",
                            _GIVE_EXPORT, file=str(path))
    return _known(path, kind)


def _known(path: Path, kind: str) -> str:
    if kind in ("xlsx", "ods"):
        return kind
    raise _refuse(path, *_ZIP_KINDS[kind])


def xml_problem(exc: Exception) -> str:
    """Why an XML part could not be read, in our words (never the parser's own text)."""
    name = exc.__class__.__name__
    if name in ("DTDForbidden", "EntitiesForbidden", "ExternalReferenceForbidden"):
        return "a part of it declares XML entities, which are refused for safety"
    return "a part of it is not well-formed XML"


# -- not a zip: formats recognised by their first bytes ---------------------------------------
_MAGIC = (  # (leading bytes, real name, how to fix)
    (b"%PDF-", "a PDF document", "a PDF cannot be read as data: " + _GIVE_EXPORT),
    (b"\x89PNG\r\n\x1a\n", "an image (PNG)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT),
    (b"\xff\xd8\xff", "an image (JPEG)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT),
    (b"GIF8", "an image (GIF)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT),
    (b"II*\x00", "an image (TIFF)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT),
    (b"MM\x00*", "an image (TIFF)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT),
    (b"\x1f\x8b", "a compressed archive (gzip)", "unpack it and give the .xlsx, .ods or .csv file inside"),
    (b"7z\xbc\xaf\x27\x1c", "a compressed archive (7-Zip)", "unpack it and give the .xlsx, .ods or .csv file inside"),
    (b"Rar!\x1a\x07", "a compressed archive (RAR)", "unpack it and give the .xlsx, .ods or .csv file inside"),
    (b"{\\rtf", "a rich-text document (RTF)", _GIVE_EXPORT),
    (b"\x00\x00\x02\x00\x06\x04\x06\x00", "a Lotus 1-2-3 spreadsheet", _SAVE_AS_XLSX),
)


def text_kind(path: Path, head: bytes, size: int) -> None:
    """Refuse, by its real name, a file that is not CSV although it is not a zip or OLE file
    either (PDF, images, Flat ODS, Excel 2003 XML, HTML, SYLK, JSON...). CSV passes."""
    for magic, what, hint in _MAGIC:
        if head.startswith(magic):
            raise _refuse(path, what, hint)
    if head[8:12] == b"WEBP" and head.startswith(b"RIFF"):
        raise _refuse(path, "an image (WebP)", "a picture of a sheet cannot be read as data: " + _GIVE_EXPORT)
    text = _head_text(head)
    if text is None:
        return
    start = text.lstrip()[:4096]
    low = start.casefold()
    if low.startswith("<"):
        _markup(path, low)
    if low.startswith(("{", "[")) and _is_json(path, size):
        raise _refuse(path, "a JSON file", "export the inventory list as .xlsx or .csv and give that file")
    if _is_sylk(start):
        raise _refuse(path, "a SYLK spreadsheet (.slk)", _SAVE_AS_XLSX)


def _head_text(head: bytes) -> str | None:
    import codecs

    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                     (codecs.BOM_UTF16_BE, "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(enc, "ignore")
    if b"\x00" in head[:4096]:
        return None  # UTF-16 without a mark, or binary: the CSV reader says which
    return head.decode("latin-1")


def _markup(path: Path, low: str) -> None:
    """XML or HTML (a CSV header never starts with ``<``)."""
    if "urn:schemas-microsoft-com:office:spreadsheet" in low or 'progid="excel.sheet"' in low:
        raise _refuse(path, "an Excel 2003 XML spreadsheet", _SAVE_AS_XLSX)
    if "opendocument.spreadsheet" in low or ("office:document" in low and "office:spreadsheet" in low):
        raise _refuse(path, "a Flat OpenDocument spreadsheet (.fods)",
                      "open it in LibreOffice and save it as .ods or .xlsx, then run again on that file")
    if "office:document" in low or "urn:oasis:names:tc:opendocument" in low:
        raise _refuse(path, "a Flat OpenDocument document", _GIVE_EXPORT)
    if any(tag in low for tag in ("<html", "<!doctype html", "<table", "<body", "<head")):
        raise _refuse(path, "a web page (HTML), although spreadsheets can open it",
                      "open it in Excel (or LibreOffice) and save it as Excel Workbook (.xlsx); some "
                      "'Excel' downloads are web pages in disguise")
    if low.startswith(("<?xml", "<!", "<")) and len(low) > 1 and (low[1].isalpha() or low[1] in "?!"):
        raise _refuse(path, "an XML file that is not a spreadsheet", _GIVE_EXPORT)


def _is_json(path: Path, size: int) -> bool:
    import json

    if size > 64 * 1024**2:
        return False
    try:
        json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _is_sylk(text: str) -> bool:
    """SYLK: a first record ``ID;P...`` then records such as ``C;Y1;X1;K"..."`` or ``F;...``."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("ID;P") or lines[0].count(";") > 4:
        return False
    return any(ln[:2] in ("B;", "C;", "F;", "P;", "O;") or ln.strip() == "E" for ln in lines[1:4])
