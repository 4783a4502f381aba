"""Choices the dashboard's forms offer by name where the API takes a code: countries (ISO
3166-1 alpha-2, named by pycountry, as the API's `CountryCode` accepts them) and the states of
the countries whose addresses the API checks a state for."""

from __future__ import annotations

import unicodedata
from functools import cache

import pycountry

from tally.api.types import COUNTRY_CODES

# Codes the API accepts that pycountry does not name.
EXTRA_NAMES = {"XK": "Kosovo"}
# The countries the API checks an address's state for (`api.types.Address`).
SUBDIVIDED = ("US", "CA")


def _sort_key(name: str) -> str:
    """Names in the order people look for them: Åland Islands under A, Côte d'Ivoire under C."""
    folded = unicodedata.normalize("NFKD", name)
    return "".join(char for char in folded if not unicodedata.combining(char)).casefold()


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """(code, name) of every country the API accepts, sorted by name."""
    names = dict(EXTRA_NAMES)
    for country in pycountry.countries:
        names[country.alpha_2] = getattr(country, "common_name", None) or country.name
    pairs = ((code, names.get(code, code)) for code in COUNTRY_CODES)
    return tuple(sorted(pairs, key=lambda pair: _sort_key(pair[1])))


@cache
def states() -> tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]:
    """(country code, country name, ((state code, state name), ...)) of the countries whose
    addresses name a state the API checks; the state's code is what the API keeps (CA, ON)."""
    names = dict(countries())
    found = []
    for country in SUBDIVIDED:
        subdivisions = pycountry.subdivisions.get(country_code=country) or []  # type: ignore[no-untyped-call]
        pairs = sorted(
            ((sub.code.split("-", 1)[1], sub.name) for sub in subdivisions),
            key=lambda pair: _sort_key(pair[1]),
        )
        found.append((country, names[country], tuple(pairs)))
    return tuple(found)


def country_name(code: str | None) -> str:
    """A country as pages show it: "United Kingdom" for GB (the code itself when unknown)."""
    if not code:
        return ""
    return dict(countries()).get(code.upper(), code)
