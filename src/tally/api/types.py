"""Wire types several domains share: countries, currencies, postal addresses, one-line
names, logo URLs, timestamps with an offset."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from urllib.parse import unquote, urlsplit

import pycountry
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from tally.api.schemas import Schema
from tally.core import urls

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


# Characters that end a header line or a line of a document title, or make it lie:
# C0 and C1 controls (CR, LF, TAB, NUL ...), DEL and Unicode's line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain_text(value: str) -> str:
    """`value`, or ValueError when it holds a control character (see `PlainText`)."""
    if _CONTROL.search(value):
        raise ValueError("must be one line of text: no line breaks, tabs or control characters")
    return value


# A name that ends up in an email header (the merchant's name in From and Subject), a
# document's title or a line of a PDF: one line, no control characters.
PlainText = Annotated[str, AfterValidator(plain_text)]
# The usual name: PlainText of 1 to 500 characters. Its length is checked before the control
# characters, so `Name | None` says "at least 1 character" (a PlainText union would not).
Name = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(plain_text)]


_DATA_IMAGE = re.compile(
    r"data:image/(?:png|jpeg|gif|webp|svg\+xml)(?:;[a-z0-9=.+-]+)*(?:;base64)?,[^\s\"'<>]*",
    re.IGNORECASE,
)


def data_image(value: str, what: str) -> str:
    """A `data:` URL of an image (png, jpeg, gif, webp, svg+xml), else ValueError."""
    if not _DATA_IMAGE.fullmatch(value):
        raise ValueError(
            f"a data: {what} must be an image (png, jpeg, gif, webp or svg+xml) "
            "like data:image/png;base64,..."
        )
    return value


def file_logo(value: str, what: str) -> str:
    """A `file:` URL of a logo: an absolute path, no host, no `.` or `..` segments, none of
    the characters web URLs may not hold. Documents read it only under the data directory's
    `assets/` folder (`documents/urls.py`); elsewhere it is left out of the PDF."""
    parts = urlsplit(value)
    path = unquote(parts.path)
    segments = path.split("/")
    if (
        parts.netloc not in ("", "localhost")
        or parts.query
        or parts.fragment
        or not path.startswith("/")
        or any(segment in (".", "..") for segment in segments)
        or re.search(r"[\s\"'`<>\\;,\x00-\x1f\x7f-\x9f]", path)
    ):
        raise ValueError(
            f"a file: {what} is file:///path/to/logo.png, an absolute path under the data "
            "directory's assets/ folder"
        )
    return value


def _logo_url(value: str | None) -> str | None:
    if not value:
        return value  # "" clears the logo
    scheme = value.split(":", 1)[0].lower()
    if scheme == "data":
        return data_image(value, "logoUrl")
    if scheme == "file":
        return file_logo(value, "logoUrl")
    return urls.web_url(value, "logoUrl")


# The account's logo: a web URL by the rule every merchant URL follows (`core/urls.py`), a
# data: image, or a file: URL under the data directory's assets/ folder (PDFs read files only
# there, and never the network).
LogoUrl = Annotated[
    str | None,
    Field(
        max_length=urls.MAX_URL,
        description="https:// (http:// on this machine), data:image/..., or a file: URL under "
        "the data directory's assets/ folder.",
    ),
    AfterValidator(_logo_url),
]


def iso_text_only(value: object) -> object:
    # Pydantic would read a number as Unix time; Sequence's timestamps are ISO 8601 strings.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 timestamp with a UTC offset")
    return value


def in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 has no UTC equivalent
        raise ValueError("timestamp is out of range") from exc


# An ISO 8601 timestamp with an offset, kept in UTC.
UtcTimestamp = Annotated[AwareDatetime, BeforeValidator(iso_text_only), AfterValidator(in_utc)]
