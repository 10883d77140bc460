"""Cin7 Core product fields ↔ the inventory list's canonical text; the bodies of POST and PUT.

Which fields may be written is decided by Cin7's own field table for the Product resource (the
API blueprint, ``shared/reference/dear/blueprint/product.apib``): :data:`DOCUMENTED_FIELDS`. A
column whose API field is not in that table (``ProductionBOM``, ``MakeToOrderBom``,
``AlwaysShowQuantity``...), has no API field at all (``ProductFamily*``, ``DimensionAttribute*``...)
or lives in a supplier line is never written: an edit to it is reported, not silently dropped.
Such fields are still *read* when the API returns them, and a PUT sends them back as read.
"""
from __future__ import annotations

import copy
from decimal import Decimal

import pandas as pd

from ... import columns as cols
from ... import values
from ...changes import empty_products
from ...columns import Column

#: The Product fields in Cin7's blueprint field table (March 2024 copy), in its order.
DOCUMENTED_FIELDS = frozenset([
    "ID", "SKU", "Name", "Category", "Brand", "Type", "CostingMethod", "DropShipMode", "DefaultLocation",
    "Length", "Width", "Height", "Weight", "CartonLength", "CartonWidth", "CartonHeight", "CartonQuantity",
    "CartonInnerQuantity", "UOM", "WeightUnits", "DimensionsUnits", "Barcode", "MinimumBeforeReorder",
    "ReorderQuantity", *(f"PriceTier{i}" for i in range(1, 11)), "PriceTiers", "AverageCost", "ShortDescription",
    "Description", "InternalNote", *(f"AdditionalAttribute{i}" for i in range(1, 11)), "AttributeSet",
    "DiscountRule", "Tags", "Status", "StockLocator", "COGSAccount", "RevenueAccount", "ExpenseAccount",
    "InventoryAccount", "PurchaseTaxRule", "SaleTaxRule", "LastModifiedOn", "Sellable", "PickZones",
    "BillOfMaterial", "AutoAssembly", "AutoDisassembly", "QuantityToProduce", "AssemblyInstructionURL",
    "AssemblyCostEstimationMethod", "BOMType", "HSCode", "CountryOfOrigin", "CountryOfOriginCode", "Suppliers",
    "ReorderLevels", "BillOfMaterialsProducts", "BillOfMaterialsServices", "Movements", "Attachments",
    "CustomPrices"])
#: "Read-only" in the field table: computed by Cin7, never sent.
READ_ONLY_FIELDS = frozenset({"AverageCost", "LastModifiedOn", "BOMType"})
#: Left out of a PUT body: read-only fields, Type ("Read-only for PUT"), PriceTiers (the same prices as
#: PriceTierN, which is what we change), and lists with endpoints of their own that the blueprint's
#: PUT example does not send (movements are transactions; attachments and custom prices have their
#: own resources).
NOT_SENT_ON_PUT = READ_ONLY_FIELDS | {"Type", "PriceTiers", "Movements", "Attachments", "CustomPrices"}

#: Cin7's own defaults for the fields a create requires.
CREATE_DEFAULTS = {"Category": "Other", "Type": "Stock", "CostingMethod": "FIFO", "DefaultUnitOfMeasure": "Item"}
WIRE_STATUS = {cols.ACTIVE: "Active", cols.SETUP_REQUIRED: "Setup required", cols.DEPRECATED: "Deprecated"}
SETUP_REQUIRED_WIRE = WIRE_STATUS[cols.SETUP_REQUIRED]
INVENTORY_LIST_HINT = "change it through Cin7's Inventory List import (Inventory → Products → Import)"


def _split_field(column: Column) -> tuple[str, str | None]:
    """(api field, supplier sub-field or None); ('', None) for no API field."""
    f = column.api_field
    if f.startswith("Suppliers[]."):
        return "Suppliers", f.split(".", 1)[1]
    return f, None


def is_writable(column: Column) -> bool:
    field, sub = _split_field(column)
    return (bool(field) and sub is None and field in DOCUMENTED_FIELDS and not column.read_only
            and field not in READ_ONLY_FIELDS)


def unwritable_reason(column: Column) -> str:
    field, sub = _split_field(column)
    if column.read_only or field in READ_ONLY_FIELDS:
        return f"{column.name} is computed by Cin7 Core and cannot be written"
    if sub is not None:
        return f"{column.name} (supplier) cannot be written through Cin7 Core's product API; {INVENTORY_LIST_HINT}"
    if field:
        return (f"{column.name} is not a field of Cin7 Core's documented product API, so it is not written; "
                f"{INVENTORY_LIST_HINT}")
    return f"{column.name} has no field in Cin7 Core's product API; {INVENTORY_LIST_HINT}"


def wire_to_text(column: Column, raw) -> str:
    """One API value → our canonical text."""
    if raw is None:
        return ""
    if column.type == "decimal":
        if isinstance(raw, (Decimal, int)) and not isinstance(raw, bool):
            return values.decimal_text(Decimal(raw))
        text, issue = values.parse_decimal(raw)
        return text if issue is None else str(raw)
    if column.type == "bool":
        yes, no = column.values
        if isinstance(raw, bool):
            return yes if raw else no
        text, issue = values.parse_bool(column, raw)
        return text if issue is None else str(raw)
    if column.type == "enum":
        text, issue = values.parse_enum(column, raw)
        return text if issue is None else str(raw)
    if isinstance(raw, (Decimal, int)) and not isinstance(raw, bool):
        return values.decimal_text(Decimal(raw))
    return str(raw)


def text_to_wire(column: Column, text: str):
    """Our canonical text → the API value (blank decimals are 0 and blank booleans false in Cin7)."""
    if column.type == "decimal":
        return Decimal(text) if text != "" else Decimal(0)
    if column.type == "bool":
        return text == column.values[0]
    if column.name == cols.STATUS:
        return WIRE_STATUS.get(text, text)
    if column.type == "enum":
        return text if text != "" else None
    if column.type == "account":
        return values.account_code(text)
    return text


def settled(column: Column, text: str) -> str:
    """The canonical value Cin7 holds after we write ``text`` (for comparisons)."""
    if column.type == "decimal":
        if text == "":
            return "0"
        parsed, issue = values.parse_decimal(text)
        return parsed if issue is None and parsed is not None else text
    if column.type == "bool" and text == "":
        return column.values[1]
    if column.type == "account":
        return values.account_code(text)
    if column.type == "enum" and text:
        v, issue = values.parse_enum(column, text)
        return v if issue is None else text
    return text


def same(column: Column, a: str, b: str) -> bool:
    return settled(column, a or "") == settled(column, b or "")


def product_to_row(p: dict) -> dict[str, str]:
    """One API product → a row of canonical texts for every column of the table."""
    supplier = (p.get("Suppliers") or [None])[0] or {}
    row = {}
    for c in cols.columns():
        field, sub = _split_field(c)
        if not field:
            row[c.name] = ""
        elif sub is not None:
            row[c.name] = wire_to_text(c, supplier.get(sub))
        else:
            row[c.name] = wire_to_text(c, p.get(field))
    row[cols.KEY] = row[cols.KEY].strip()
    return row


def rows_to_frame(rows: list[dict]) -> pd.DataFrame:
    if not rows:
        return empty_products()
    # Cin7's own order (as its Inventory List export lists them), like the SQLite store's creation order.
    return pd.DataFrame.from_records(rows, columns=list(cols.names())).astype(object)


def _neutral(column: Column, text: str) -> bool:
    """A value that means 'nothing set' (what Cin7's export writes for unset fields)."""
    if text == "":
        return True
    if column.type == "decimal":
        try:
            return Decimal(text) == 0
        except Exception:
            return False
    if column.type == "bool":
        return text == column.values[1]
    return False


def create_body(row: dict[str, str]) -> tuple[dict | None, str | None]:
    """(POST body, None) or (None, why it cannot be created through the API)."""
    body: dict = {}
    problems = []
    user_set = all(row.get(n, "") != "" for n in CREATE_DEFAULTS)
    for c in cols.columns():
        text = row.get(c.name, "")
        if c.read_only or c.api_field in READ_ONLY_FIELDS:
            continue  # data only when a product comes from a Cin7 export: Cin7 computes it
        if not is_writable(c):
            if not _neutral(c, text):
                problems.append(unwritable_reason(c))
            continue
        if c.name in CREATE_DEFAULTS and text == "":
            text = CREATE_DEFAULTS[c.name]
        if c.name == cols.STATUS and text == "":
            text = cols.ACTIVE if user_set else cols.SETUP_REQUIRED
        if text == "":
            continue  # leave Cin7's own default
        body[c.api_field] = text_to_wire(c, text)
    if problems:
        return None, "; ".join(problems)
    return body, None


def put_body(fresh: dict, changes: dict[str, str]) -> dict:
    """The product as freshly read (every field Cin7 returned, unknown ones too, with its supplier,
    reorder and bill-of-materials lines) minus what is never sent, with only ``changes`` applied:
    correct whether Cin7's PUT merges the fields it is sent or replaces the product."""
    body = {k: copy.deepcopy(v) for k, v in fresh.items() if k not in NOT_SENT_ON_PUT}
    for name, text in changes.items():
        c = cols.column(name)
        body[c.api_field] = text_to_wire(c, text)
    body["ID"] = fresh["ID"]
    return body


def is_setup_required(body: dict) -> bool:
    return str(body.get("Status") or "").casefold() == SETUP_REQUIRED_WIRE.casefold()
