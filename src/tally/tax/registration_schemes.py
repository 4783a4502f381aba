"""What kind of tax identifier a registration holds, by its country, and how people read it.

The scheme labels the identifier on documents ("VAT number GB123456789") and tells a later
e-invoice which field it belongs in (EN 16931: a VAT identifier is BT-31/BT-48, anything else
a tax or legal registration). States are Sequence's `State`: US states and Canadian provinces.
"""

from collections.abc import Callable
from typing import Literal

from tally.core.i18n import N_

US_STATES = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
})  # fmt: skip
CA_PROVINCES = frozenset({
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
})  # fmt: skip
STATES_BY_COUNTRY = {"US": US_STATES, "CA": CA_PROVINCES}
STATES = US_STATES | CA_PROVINCES

Scheme = Literal["VAT", "GST", "SALES_TAX", "TAX_ID"]

_EU = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
_VAT = frozenset(f"{_EU} GB NO IS LI CH AE SA BH OM ZA TR".split())
_GST = frozenset(["AU", "NZ", "IN", "SG", "CA", "MY"])

LABELS: dict[str, str] = {
    "VAT": N_("VAT number"),
    "GST": N_("GST number"),
    "SALES_TAX": N_("Sales tax ID"),
    "TAX_ID": N_("Tax ID"),
}


def scheme_of(country: str) -> Scheme:
    """The kind of identifier a registration in `country` is."""
    if country in _VAT:
        return "VAT"
    if country in _GST:
        return "GST"
    if country == "US":
        return "SALES_TAX"
    return "TAX_ID"


def state_error(country: str, state: str | None) -> str | None:
    """Why `state` cannot go with `country`, or None when it can."""
    if state is None:
        return None
    states = STATES_BY_COUNTRY.get(country)
    if states is None:
        return f"a state or province is for US and CA registrations, not {country}"
    if state not in states:
        return f"{state!r} is not a state or province of {country}"
    return None


def printed(
    scheme: str,
    identifier: str,
    country: str,
    state: str | None,
    gettext: Callable[[str], str] = str,
) -> str:
    """The registration as a document prints it: "VAT number GB123456789" (the label in the
    document's language, `gettext`)."""
    where = f" ({country}-{state})" if state else ""
    return f"{gettext(LABELS.get(scheme, LABELS['TAX_ID']))} {identifier}{where}"
