"""Xero's "Products and services" export (``InventoryItems-YYYYMMDD.csv``, or the same re-saved
as a workbook: .xlsx, .ods) → item dicts.

The items come out in the API's shape (``Code``, ``Name``, ``Description``, ``SalesDetails``...)
so that sync treats both sources alike (tracked and archived items are skipped by sync itself, for
either source), except that tax rates are *names* here (``TaxName``), as the file holds them. Header names are matched case- and space-insensitively after dropping the
leading ``*`` Xero puts on mandatory columns; older exports without ``Quantity``, ``Status`` and
``InventoryType`` are read too.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError, FileReadError

KNOWN = ("ItemCode", "ItemName", "Quantity", "PurchasesDescription", "PurchasesUnitPrice", "PurchasesAccount",
         "PurchasesTaxRate", "SalesDescription", "SalesUnitPrice", "SalesAccount", "SalesTaxRate",
         "InventoryAssetAccount", "CostOfGoodsSoldAccount", "Status", "InventoryType")


def _key(header: str) -> str:
    return header.replace("\ufeff", "").strip().lstrip("*").strip().replace(" ", "").casefold()


_BY_KEY = {_key(k): k for k in KNOWN}


@dataclass
class CsvItems:
    path: str
    items: list[dict] = field(default_factory=list)  # every item, tracked and archived ones too (marked)
    duplicates: list[str] = field(default_factory=list)
    blank_codes: list[int] = field(default_factory=list)  # record numbers
    warnings: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)


def _decode(raw: bytes, path: str, warnings: list[str]) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        warnings.append(f"{path} is not UTF-8; read as Windows-1252 (check accented names)")
        return raw.decode("cp1252", errors="replace")


def read_items_csv(path: str | Path) -> CsvItems:
    """The items of a Xero Items export: the CSV Xero writes, or that file re-saved as a workbook
    (its first sheet). Anything else is refused by what it is."""
    path = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FileReadError("file not found", "check the path of the Xero export (Products and services → Export)",
                            file=path) from None
    except OSError as exc:
        raise FileReadError(f"cannot read the file: {exc.strerror or exc}", "check the path and permissions",
                            file=path) from None
    out = CsvItems(path)
    rows = _workbook_rows(Path(path), raw) if raw[:2] == b"PK" or raw[:8] == _OLE else \
        csv.reader(io.StringIO(_decode(raw, path, out.warnings), newline=""))
    try:
        header = next(rows)
    except StopIteration:
        raise DataError("the file is empty", "export it again from Xero: Products and services → Export",
                        file=path) from None
    except csv.Error as exc:
        raise DataError(f"not a readable CSV file ({exc})", "export it again from Xero", file=path) from None
    _read_items(out, rows, _columns(out, header))
    _summarise(out)
    return out


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _workbook_rows(path: Path, raw: bytes):
    """The first sheet's rows as text, for an export re-saved as a workbook (numbers as typed:
    ``1001`` not ``1001.0``, prices in plain notation)."""
    from ..reading.sniff import ole_error, zip_kind
    from ..reading.workbook import open_workbook
    from ..values import decimal_text, _float_decimal

    if raw[:8] == _OLE:
        ole_error(path)
    wb = open_workbook(path, zip_kind(path))
    sheet = wb.get_sheet_by_name(wb.sheet_names[0])

    def text(v) -> str:
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else decimal_text(_float_decimal(v))
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        return "" if v is None else str(v)

    for row in sheet.iter_rows():
        yield [text(v) for v in row]


def _columns(out: CsvItems, header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        name = _BY_KEY.get(_key(h))
        if name and name not in index:
            index[name] = i
        elif h.strip():
            out.unknown_columns.append(h.strip())
    if "ItemCode" not in index:
        raise DataError("this is not a Xero Items export: no *ItemCode column in the header row",
                        "export from Xero (Business → Products and services → Export → CSV) and pass that file",
                        file=out.path, cell="line 1")
    return index


def _read_items(out: CsvItems, rows, index: dict[str, int]) -> None:
    def get(row: list[str], name: str) -> str:
        i = index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    seen: set[str] = set()
    record = 0  # (counted here, blank records too: the one that breaks is the next)
    try:
        for record, row in enumerate(rows, start=1):
            if not any(c.strip() for c in row):
                continue
            code = get(row, "ItemCode")
            if not code:
                out.blank_codes.append(record)
                continue
            if code in seen:
                out.duplicates.append(code)
                continue
            seen.add(code)
            out.items.append(_item(lambda name: get(row, name), code, record))
    except csv.Error as exc:
        raise DataError(f"the CSV breaks at record {record + 1}: {exc}", "export it again from Xero",
                        file=out.path, cell=f"record {record + 1}") from None


def _item(get, code: str, record: int) -> dict:
    """One row as the API's item shape (tax rates by name)."""
    inv_type = get("InventoryType").casefold()
    asset, cogs = get("InventoryAssetAccount"), get("CostOfGoodsSoldAccount")
    tracked = inv_type == "tracked" or bool(asset) or bool(cogs)
    sales = {k: v for k, v in (("UnitPrice", get("SalesUnitPrice")), ("AccountCode", get("SalesAccount")),
                               ("TaxName", get("SalesTaxRate"))) if v}
    purchase = {k: v for k, v in (("UnitPrice", get("PurchasesUnitPrice")), ("AccountCode", get("PurchasesAccount")),
                                  ("TaxName", get("PurchasesTaxRate")), ("COGSAccountCode", cogs)) if v}
    item = {"Code": code, "Name": get("ItemName"), "Description": get("SalesDescription"),
            "PurchaseDescription": get("PurchasesDescription"), "SalesDetails": sales,
            "PurchaseDetails": purchase, "IsTrackedAsInventory": tracked, "_record": record}
    if get("Status"):
        item["Status"] = get("Status")  # Active | Archived: sync skips archived items, from either source
    if asset:
        item["InventoryAssetAccountCode"] = asset
    return item


def _summarise(out: CsvItems) -> None:
    if out.unknown_columns:
        out.warnings.append("columns that are not in Xero's Items export were not read: "
                            + ", ".join(out.unknown_columns[:8]))
    if out.duplicates:
        out.warnings.append(f"{len(out.duplicates)} code(s) appear more than once; the first row was used: "
                            + ", ".join(out.duplicates[:5]))
    if out.blank_codes:
        out.warnings.append(f"{len(out.blank_codes)} row(s) without an item code were skipped (records "
                            + ", ".join(map(str, out.blank_codes[:5])) + ")")
