"""Tax registration bodies in Sequence's shapes."""

from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from tally.api.schemas import Schema
from tally.api.types import CountryCode, plain_text
from tally.models import TaxRegistration
from tally.tax.registration_schemes import STATES


def _identifier(value: str) -> str:
    value = plain_text(value).strip()
    if not value:
        raise ValueError("must not be blank")
    return value


TaxIdentifier = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_identifier)]


def _state(value: str) -> str:
    if value not in STATES:
        raise ValueError(f"{value!r} is not a US state or Canadian province code")
    return value


State = Annotated[
    str, AfterValidator(_state), WithJsonSchema({"type": "string", "enum": sorted(STATES)})
]


class TaxRegistrationIn(Schema):
    """Create and update alike (Sequence's PUT takes the whole registration)."""

    tax_identifier: TaxIdentifier
    customer_id: str | None = Field(default=None, max_length=36)
    merchant_id: str | None = Field(default=None, max_length=36)
    country: CountryCode
    state: State | None = None


class TaxRegistrationOut(Schema):
    id: str
    sequence_account_id: str
    tax_identifier: str
    customer_id: str | None = None
    merchant_id: str | None = None
    country: str
    state: str | None = None

    @classmethod
    def build(cls, registration: TaxRegistration) -> "TaxRegistrationOut":
        return cls(
            id=registration.id,
            sequence_account_id=registration.account_id,
            tax_identifier=registration.tax_identifier,
            customer_id=registration.customer_id,
            merchant_id=registration.merchant_id,
            country=registration.country,
            state=registration.state,
        )
