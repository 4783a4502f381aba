"""The locale a customer reads its documents, emails and portal in: its own language, else
its account's, in its billing country's conventions where Babel knows the pair
(`core.i18n.locale_for`). One rule for the PDF, the email and the portal, so they agree.

Customer ids given here must come from rows already read within the caller's accounts (an
invoice's customer), as `links` takes them."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.i18n import language_of, locale_for
from tally.models import Account, Customer


def locale_of(
    customer_language: str | None, account_language: str | None, address: dict[str, Any] | None
) -> str:
    """The locale of a customer with this language and billing address, in this account."""
    country = (address or {}).get("country")
    return locale_for(
        language_of(customer_language, account_language),
        country if isinstance(country, str) else None,
    )


def customer_locale(customer: Customer, account: Account) -> str:
    """Rows already loaded (the portal's viewer): no query."""
    return locale_of(customer.language, account.language, customer.address)


def customer_locales(
    session: Session, account_ids: Iterable[str], customer_ids: Iterable[str]
) -> dict[str, str]:
    """Each customer's locale, in one query however many customers and accounts."""
    wanted = list(set(customer_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.language, Customer.address, Account.language)
        .join(Account, Account.id == Customer.account_id)
        .where(Customer.account_id.in_(list(set(account_ids))), Customer.id.in_(wanted))
    )
    return {
        customer_id: locale_of(own, account_language, address)
        for customer_id, own, address, account_language in rows
    }
