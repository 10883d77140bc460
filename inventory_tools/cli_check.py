"""``inventory-tools check``: render a :class:`~inventory_tools.checking.CheckReport`, pick the exit code."""
from __future__ import annotations

import sys

import click

from .cli_common import Context, emit_json, handle_errors, say

BOOK_WORDS = {"category": "categories", "brand": "brands", "unit": "units", "tax": "tax rules",
              "account": "accounts", "location": "locations", "discount": "discount rules"}
ALLOWS = {"read_items": "reading items", "write_items": "writing items", "read_tax_rates": "reading tax rates"}


def _yes(value) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def render_xero(x) -> None:
    if not x.configured:
        say("Xero: not configured (set XERO_CLIENT_ID and XERO_CLIENT_SECRET, or XERO_ACCESS_TOKEN and "
            "XERO_TENANT_ID)")
        return
    head = click.style("Xero", bold=True) + f" ({x.mode}): "
    if x.tenant_id:
        head += f"{x.tenant_name or '(name not given)'} (tenant {x.tenant_id})"
    say(head + ("" if x.ok else click.style("  FAILED", fg="red", bold=True)))
    if x.scopes is None and x.tenant_id:
        say("  scopes: Xero did not say (the token's scopes cannot be read); a missing scope shows as a refusal")
    for scope in x.scopes or []:
        say(f"  scope {scope}: {x.scope_meanings.get(scope, '')}")
    if x.allows:
        say("  allows: " + ", ".join(f"{ALLOWS[k]} {_yes(v)}" for k, v in x.allows.items())
            + (" (items read: checked)" if x.items_read else ""))
    if x.remaining:
        say("  rate headroom: " + ", ".join(f"{n} calls left this {'minute' if k == 'minute' else 'day'}"
                                            for k, n in x.remaining.items()))
    if x.error:
        say(click.style("  error: ", fg="red") + x.error.replace("\n", "\n  "))


def render_cin7(c) -> None:
    if not c.configured:
        say("Cin7 Core: not configured (set CIN7_ACCOUNT_ID and CIN7_APPLICATION_KEY)")
        return
    say(click.style("Cin7 Core", bold=True) + f" ({c.host}): {c.company or '(company not given)'}"
        + ("" if c.ok else click.style("  FAILED", fg="red", bold=True)))
    if c.reference_lists:
        say("  reference lists: " + ", ".join(f"{n} {BOOK_WORDS.get(b, b)}" for b, n in c.reference_lists.items()))
    if c.tax_rules:
        say(f"  tax rules: {c.tax_rules['active']} active, {c.tax_rules['for_sales']} for sales, "
            f"{c.tax_rules['for_purchases']} for purchases")
    left = (f"{c.remaining_reported} left as Cin7 reports" if c.remaining_reported is not None
            else "Cin7 does not report what is left")
    say(f"  rate headroom: {c.calls_per_minute} calls a minute per API application; this check used "
        f"{c.calls_used} ({left})")
    if c.error:
        say(click.style("  error: ", fg="red") + c.error.replace("\n", "\n  "))


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable report on stdout.")
@click.pass_obj
@handle_errors
def check_command(obj: Context, as_json: bool) -> None:
    """Check the Xero and Cin7 Core connections of the credentials in the environment; change nothing.

    Xero: the organisation, the token's scopes and what they allow, and the calls left. Cin7 Core:
    the company, the reference lists' sizes and the rate. No store is opened and nothing is
    written, here or there. Run it first against a live account.

    Exit codes: 0 every configured connection works · 3 one does not, or none is configured.

    \b
    Example:
      inventory-tools check
      inventory-tools check --json
    """
    from .checking import check

    report = check()
    if as_json:
        emit_json(report.to_dict())
    render_xero(report.xero)
    render_cin7(report.cin7)
    if not (report.xero.configured or report.cin7.configured):
        say(click.style("error: ", fg="red", bold=True) + "no credentials in the environment for Xero or Cin7 Core")
    sys.exit(report.exit_code)
