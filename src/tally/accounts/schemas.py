"""Account (Sequence's "sequence account") bodies, with Tally's billing settings."""

import zoneinfo
from datetime import datetime
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field

from tally.api.schemas import Schema
from tally.api.types import Address, CountryCode, Currency, LogoUrl, plain_text
from tally.core.i18n import Language
from tally.models import Account


@cache
def _iana_time_zones() -> frozenset[str]:
    # Listing the zones reads the whole tz database (~15 ms), so once per process. The system
    # database also lists "localtime" (whatever zone the server is in) and "Factory" (no zone):
    # billing periods must not depend on the machine, so neither is a merchant's time zone.
    return frozenset(zoneinfo.available_timezones()) - {"localtime", "Factory", "posixrules"}


@cache
def iana_time_zones() -> tuple[str, ...]:
    """The zones `TimeZone` accepts, sorted: for pickers (the dashboard's settings)."""
    return tuple(sorted(_iana_time_zones()))


def _timezone(value: str) -> str:
    if value not in _iana_time_zones():
        raise ValueError(f"{value!r} is not an IANA time zone (for example Europe/London)")
    return value


TimeZone = Annotated[str, AfterValidator(_timezone)]

ACCOUNT_LANGUAGE = (
    "Tally extension. The language (en, de, fr, es, nl) of invoice and credit note PDFs, "
    "customer emails and the customer portal, for customers without a `language` of their "
    "own. Defaults to en."
)


class AccountUpdate(Schema):
    """Every field is optional: the ones given change, the others stay."""

    company_name: (
        Annotated[str, Field(min_length=1, max_length=200), AfterValidator(plain_text)] | None
    ) = None
    company_number: str | None = Field(default=None, max_length=100)
    country: CountryCode | None = None
    send_customer_notifications: bool | None = None
    alert_email_addresses: list[EmailStr] | None = Field(default=None, max_length=50)
    timezone: TimeZone | None = Field(
        default=None, description="Billing periods are calendar dates in this time zone."
    )
    currency: Currency | None = Field(default=None, description="Default invoice currency.")
    invoice_number_prefix: str | None = Field(
        default=None, min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$"
    )
    payment_terms_days: int | None = Field(default=None, ge=0, le=365)
    address: Address | None = Field(default=None, description="Printed on invoices.")
    logo_url: LogoUrl = None
    language: Language | None = Field(default=None, description=ACCOUNT_LANGUAGE)


class AccountOut(Schema):
    id: str
    created_at: datetime
    sequence_organisation_id: str
    company_name: str
    company_number: str
    country: str
    send_customer_notifications: bool
    alert_email_addresses: list[str]
    timezone: str
    currency: Currency
    invoice_number_prefix: str
    payment_terms_days: int
    address: Address | None = None
    logo_url: str | None = None
    language: str = Field(description=ACCOUNT_LANGUAGE)

    @classmethod
    def build(cls, account: Account) -> "AccountOut":
        return cls(
            id=account.id,
            created_at=account.created_at,
            sequence_organisation_id=account.id,
            company_name=account.name,
            company_number=account.company_number,
            country=account.country,
            send_customer_notifications=account.send_customer_notifications,
            alert_email_addresses=account.alert_email_addresses,
            timezone=account.timezone,
            currency=Currency(account.currency),
            invoice_number_prefix=account.invoice_number_prefix,
            payment_terms_days=account.payment_terms_days,
            address=Address.model_validate(account.address) if account.address else None,
            logo_url=account.logo_url,
            language=account.language,
        )
