"""Wire types several domains share: countries, currencies, postal addresses."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import pycountry
from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema, model_validator

from tally.api.schemas import Schema

# ISO 3166-1 alpha-2 from pycountry, plus Kosovo's user-assigned code, which Sequence accepts.
COUNTRY_CODES = frozenset(country.alpha_2 for country in pycountry.countries) | {"XK"}


def _country(value: str) -> str:
    code = value.strip().upper()
    if code not in COUNTRY_CODES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


CountryCode = Annotated[
    str,
    AfterValidator(_country),
    WithJsonSchema({"type": "string", "enum": sorted(COUNTRY_CODES), "example": "GB"}),
]


class Currency(StrEnum):
    """The invoice currencies of Sequence's API."""

    AED = "AED"
    ARS = "ARS"
    AUD = "AUD"
    BRL = "BRL"
    BGN = "BGN"
    CAD = "CAD"
    CHF = "CHF"
    CLP = "CLP"
    CNY = "CNY"
    COP = "COP"
    CZK = "CZK"
    DKK = "DKK"
    EGP = "EGP"
    EUR = "EUR"
    GBP = "GBP"
    HKD = "HKD"
    ILS = "ILS"
    INR = "INR"
    ISK = "ISK"
    JPY = "JPY"
    KRW = "KRW"
    MXN = "MXN"
    NOK = "NOK"
    NZD = "NZD"
    PLN = "PLN"
    SAR = "SAR"
    SEK = "SEK"
    SGD = "SGD"
    THB = "THB"
    USD = "USD"
    UYU = "UYU"
    ZAR = "ZAR"


# Sequence's `state` enum covers the United States and Canada only.
_SUBDIVIDED_COUNTRIES = ("US", "CA")


class Address(Schema):
    line1: str = Field(min_length=1, max_length=500)
    line2: str | None = Field(default=None, max_length=500)
    town: str = Field(min_length=1, max_length=200)
    state: str | None = Field(default=None, max_length=200)
    # Older Sequence examples (seed 003) spell it `postCode`; both are read, `postcode` written.
    postcode: str = Field(min_length=1, max_length=50)
    country: CountryCode

    @model_validator(mode="before")
    @classmethod
    def _accept_post_code(cls, data: object) -> object:
        if isinstance(data, dict) and "postCode" in data:
            older = {key: value for key, value in data.items() if key != "postCode"}
            if older.setdefault("postcode", data["postCode"]) != data["postCode"]:
                raise ValueError("postCode is the older name of postcode: give one of them")
            return older
        return data

    @model_validator(mode="after")
    def _check_state(self) -> "Address":
        if self.state and self.country in _SUBDIVIDED_COUNTRIES:
            code = self.state.strip().upper()
            if pycountry.subdivisions.get(code=f"{self.country}-{code}") is None:  # type: ignore[no-untyped-call]
                raise ValueError(f"state {self.state!r} is not a state of {self.country}")
            self.state = code
        return self


def _plain_decimal(value: Decimal) -> str:
    # str(Decimal) switches to exponent notation for small values ("1E-8"); the wire carries
    # plain decimal strings ("0.00000001"), as Sequence does.
    return format(value, "f")


# A decimal that travels as a plain string ("0.2"), never as a float or in exponent form.
DecimalString = Annotated[
    Decimal,
    Field(allow_inf_nan=False),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
]
