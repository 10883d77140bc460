"""What a Xero connection's scopes allow, for the calls inventory-tools makes.

Sources (see tests/fakes/README.md): Xero's OpenAPI spec (Items and TaxRates: ``accounting.settings``
or ``accounting.settings.read`` to read, ``accounting.settings`` to write); Xero's 2026 granular
scopes, where the items endpoint is also reached with ``accounting.invoices`` (``.read`` to read)
(third-party summaries of Xero's announcement); the legacy broad ``accounting.transactions`` it
replaces. A scope we do not know is never held against a connection: it might allow more.
"""
from __future__ import annotations

ITEMS_WRITE = frozenset({"accounting.settings", "accounting.invoices", "accounting.transactions"})
ITEMS_READ = ITEMS_WRITE | {"accounting.settings.read", "accounting.invoices.read", "accounting.transactions.read"}
TAX_RATES_READ = frozenset({"accounting.settings", "accounting.settings.read"})

#: scope → what it allows here, in words for ``check``.
MEANING = {
    "accounting.settings": "read and write items, read tax rates (sync: pull and push)",
    "accounting.settings.read": "read items and tax rates (sync --pull-only)",
    "accounting.invoices": "read and write items (granular scope); tax rates need accounting.settings.read",
    "accounting.invoices.read": "read items (granular scope)",
    "accounting.transactions": "read and write items (legacy broad scope, replaced by accounting.invoices)",
    "accounting.transactions.read": "read items (legacy broad scope)",
    "offline_access": "refresh tokens (standard apps)",
}
#: Scopes known to grant nothing inventory-tools uses (a token holding only these may not write items).
UNRELATED = frozenset({
    "openid", "profile", "email", "offline_access", "accounting.contacts", "accounting.contacts.read",
    "accounting.attachments", "accounting.attachments.read", "accounting.journals.read", "accounting.budgets.read",
    "accounting.payments", "accounting.payments.read", "accounting.banktransactions",
    "accounting.banktransactions.read", "accounting.manualjournals", "accounting.manualjournals.read",
    "accounting.reports.read", "payroll.employees", "payroll.payruns", "payroll.payslip", "payroll.timesheets",
    "payroll.settings", "files", "files.read", "assets", "assets.read", "projects", "projects.read"})
KNOWN = frozenset(MEANING) | UNRELATED | ITEMS_READ


def capabilities(scopes: set[str] | None) -> dict[str, bool | None]:
    """{"read_items", "write_items", "read_tax_rates"}: True/False, or None when Xero did not say
    (or a scope we do not know might grant it)."""
    if scopes is None:
        return {"read_items": None, "write_items": None, "read_tax_rates": None}
    unknown = bool(set(scopes) - KNOWN)

    def can(needed: frozenset) -> bool | None:
        return True if needed & set(scopes) else (None if unknown else False)

    return {"read_items": can(ITEMS_READ), "write_items": can(ITEMS_WRITE), "read_tax_rates": can(TAX_RATES_READ)}


def meaning(scope: str) -> str:
    if scope in MEANING:
        return MEANING[scope]
    return "not used by inventory-tools" if scope in UNRELATED else "unknown to inventory-tools"


def needed_for(method: str, path: str) -> str:
    """The scope a call needs, in words for an error."""
    if path.lower().rstrip("/").endswith("/taxrates"):
        return "reading tax rates needs accounting.settings.read (or accounting.settings)"
    if method in ("POST", "PUT"):
        return "writing items needs accounting.settings (or the granular accounting.invoices)"
    return "reading items needs accounting.settings.read (or accounting.settings, accounting.invoices.read)"
