"""The names a product points at, checked as Cin7 Core applies them (blueprint field table).

* Category, Brand, unit (UOM) and DefaultLocation must exist (names compared case-insensitively);
* SaleTaxRule: an Active tax rule with "For Sales"; PurchaseTaxRule: Active with "For Purchases";
* RevenueAccount: an active REVENUE-class account; ExpenseAccount and COGSAccount: active
  EXPENSE-class; InventoryAccount: active ASSET-class whose Type is not FIXED or BANK (the last
  three "ignored for Service products", so not checked on a Service);
* DiscountName (API ``DiscountRule``): a product discount rule that exists and is active.

A flag or class Cin7 did not send is not held against a name (it cannot be judged). The books
are read once per store object: 7 calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ... import columns as cols
from ... import values
from .fields import CREATE_DEFAULTS

#: book → (endpoint, list key)
BOOKS = {
    "category": ("ref/category", "CategoryList"),
    "brand": ("ref/brand", "BrandList"),
    "unit": ("ref/unit", "UnitList"),
    "tax": ("ref/tax", "TaxRuleList"),
    "account": ("ref/account", "AccountsList"),
    "location": ("ref/location", "LocationList"),
    "discount": ("reference/discount", "DiscountRules"),
}
#: column → (book, what Cin7 requires of the entry)
RULES = {
    "Category": ("category", None), "Brand": ("brand", None), "DefaultUnitOfMeasure": ("unit", None),
    "DefaultLocation": ("location", None),
    "SaleTaxRule": ("tax", "sales"), "PurchaseTaxRule": ("tax", "purchases"),
    "RevenueAccount": ("account", "REVENUE"), "ExpenseAccount": ("account", "EXPENSE"),
    "COGSAccount": ("account", "EXPENSE"), "InventoryAccount": ("account", "ASSET"),
    "DiscountName": ("discount", None),
}
STOCK_ONLY = {"ExpenseAccount", "COGSAccount", "InventoryAccount"}  # "ignored for Service products"
NOT_FOR_INVENTORY = {"FIXED", "BANK"}
NO_CREATE = "; Cin7's API does not create reference values, add it in Cin7 first"


@dataclass
class Problem:
    rule: str  # reference.unknown | reference.inactive | reference.wrong_use
    message: str
    hint: str


@dataclass
class ReferenceBooks:
    """Cin7's reference books as read (raw entries per book)."""

    entries: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def read(cls, client) -> "ReferenceBooks":
        return cls({book: list(client.pages(path, key)) for book, (path, key) in BOOKS.items()})

    def sizes(self) -> dict[str, int]:
        return {book: len(items) for book, items in self.entries.items()}

    # -- lookups ---------------------------------------------------------------------------------
    def _find(self, book: str, text: str) -> dict | None:
        if book == "account":
            code = values.account_code(text).casefold()
            return next((e for e in self.entries.get(book, []) if str(e.get("Code") or "").strip().casefold() == code),
                        None)
        key = values.fold(text)
        return next((e for e in self.entries.get(book, []) if values.fold(str(e.get("Name") or "")) == key), None)

    @staticmethod
    def _label(book: str, entry: dict) -> str:
        if book == "account":
            code = str(entry.get("Code") or "").strip()
            return f"{code}: {entry.get('Name')}" if entry.get("Name") else code
        return str(entry.get("Name") or "").strip()

    def allowed(self, column: str) -> list[str]:
        """The names valid in ``column`` (for dropdowns)."""
        book, _ = RULES[column]
        return [self._label(book, e) for e in self.entries.get(book, [])
                if self._label(book, e) and self._misuse(column, book, e) is None]

    # -- the rules ---------------------------------------------------------------------------------
    @staticmethod
    def _misuse(column: str, book: str, entry: dict) -> tuple[str, str] | None:
        """(rule, why) when ``entry`` exists but Cin7 refuses it in ``column``."""
        _, need = RULES[column]
        if book == "tax":
            if entry.get("IsActive") is False:
                return "reference.inactive", "is not active"
            flag = "IsTaxForSale" if need == "sales" else "IsTaxForPurchase"
            if entry.get(flag) is False:
                return "reference.wrong_use", f"is not flagged For {need.capitalize()}"
        elif book == "account":
            status = str(entry.get("Status") or "").upper()
            if status and status != "ACTIVE":
                return "reference.inactive", f"is {status.lower()}, not active"
            klass = str(entry.get("Class") or "").upper()
            if klass and klass != need:
                return "reference.wrong_use", f"is a {klass} account; {column} needs a {need} account"
            kind = str(entry.get("Type") or "").upper()
            if column == "InventoryAccount" and kind in NOT_FOR_INVENTORY:
                return "reference.wrong_use", f"is a {kind} account; {column} cannot be FIXED or BANK"
        elif book == "discount":
            if entry.get("IsActive") is False:
                return "reference.inactive", "is not active"
        elif book == "location":
            if entry.get("IsDeprecated") is True:
                return "reference.inactive", "is deprecated"
        return None

    def problem(self, column: str, text: str) -> Problem | None:
        book, _ = RULES[column]
        allowed = self.allowed(column)
        sample = ", ".join(allowed[:8]) + (" …" if len(allowed) > 8 else "")
        choose = f"choose one Cin7 accepts here ({sample})" if allowed else f"Cin7 Core has no {column} values yet"
        entry = self._find(book, text)
        if entry is None:
            if column in CREATE_DEFAULTS and values.fold(text) == values.fold(CREATE_DEFAULTS[column]):
                return None  # Cin7's own default (Other, Item): always there
            return Problem("reference.unknown", f"{column} '{text}' does not exist in Cin7 Core", choose + NO_CREATE)
        misuse = self._misuse(column, book, entry)
        if misuse is None:
            return None
        rule, why = misuse
        return Problem(rule, f"{column} '{text}' {why} in Cin7 Core, which refuses it here",
                       choose + " (or change it in Cin7 first)")

    def check(self, frame: pd.DataFrame) -> list[dict]:
        """Problems for every non-blank reference cell of ``frame`` (rows as the write leaves them).

        Each: ``{"row" (0-based position in frame), "code", "column", "value", "rule", "message",
        "hint"}`` (a rule's severity is in ``schemas/rules.csv``)."""
        problems = []
        types = frame["Type"].tolist() if "Type" in frame.columns else [""] * len(frame)
        codes = frame[cols.KEY].tolist() if cols.KEY in frame.columns else [""] * len(frame)
        for column in RULES:
            if column not in frame.columns:
                continue
            for pos, value in enumerate(frame[column].tolist()):
                text = "" if value is None else str(value)
                if text.strip() == "" or (column in STOCK_ONLY and values.fold(str(types[pos] or "")) == "service"):
                    continue
                found = self.problem(column, text)
                if found is not None:
                    problems.append({"row": pos, "code": str(codes[pos]), "column": column, "value": text,
                                     "rule": found.rule, "message": found.message,
                                     "hint": found.hint})
        return problems


def names_only_check(frame: pd.DataFrame, lists: dict[str, list[str]]) -> list[dict]:
    """Problems for names not in ``lists`` (column → accepted names): the check when only names are known."""
    problems = []
    codes = frame[cols.KEY].tolist() if cols.KEY in frame.columns else [""] * len(frame)
    for column, allowed in lists.items():
        if column not in frame.columns or column not in RULES:
            continue
        book, _ = RULES[column]
        key = (lambda t: values.account_code(t).casefold()) if book == "account" else values.fold
        known = {key(a) for a in allowed}
        if column in CREATE_DEFAULTS:
            known.add(key(CREATE_DEFAULTS[column]))
        sample = ", ".join(allowed[:8]) + (" …" if len(allowed) > 8 else "")
        for pos, value in enumerate(frame[column].tolist()):
            text = "" if value is None else str(value)
            if text.strip() == "" or key(text) in known:
                continue
            problems.append({"row": pos, "code": str(codes[pos]), "column": column, "value": text,
                             "rule": "reference.unknown",
                             "message": f"{column} '{text}' does not exist in Cin7 Core",
                             "hint": (f"choose one Cin7 knows ({sample})" if allowed else
                                      f"Cin7 Core has no {column} values yet") + NO_CREATE})
    return problems
