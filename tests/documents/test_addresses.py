"""Addresses print as their country writes them: postcode before the town in France and
Germany, "City, ST 12345" in the United States, the UK's town then postcode; fields a format
has no place for still print; capitals stay as typed."""

import pytest

from tally.documents.addresses import address_lines


@pytest.mark.parametrize(
    ("address", "lines"),
    [
        (
            {"line1": "12 rue de Rivoli", "town": "Paris", "postcode": "75004", "country": "FR"},
            ["12 rue de Rivoli", "75004 Paris"],
        ),
        (
            {"line1": "Friedrichstraße 68", "line2": "Hinterhaus", "town": "Berlin",
             "postcode": "10117", "country": "DE"},
            ["Friedrichstraße 68", "Hinterhaus", "10117 Berlin"],
        ),
        (
            {"line1": "1 Market St", "town": "San Francisco", "state": "CA", "postcode": "94103",
             "country": "US"},
            ["1 Market St", "San Francisco, CA 94103"],
        ),
        (
            {"line1": "1 Hills Road", "town": "Cambridge", "postcode": "CB1 1AA", "country": "GB"},
            ["1 Hills Road", "Cambridge", "CB1 1AA"],
        ),
        (  # Japan's format has no town: it prints last rather than not at all
            {"line1": "1-1 Chiyoda", "town": "Chiyoda-ku", "state": "Tokyo",
             "postcode": "100-0001", "country": "JP"},
            ["〒100-0001", "Tokyo", "1-1 Chiyoda", "Chiyoda-ku"],
        ),
        (  # no state: no dangling comma
            {"line1": "1 Main St", "town": "Springfield", "country": "US"},
            ["1 Main St", "Springfield"],
        ),
        (  # a country the data does not know: street, town, state, postcode
            {"line1": "Somewhere 1", "town": "Nowhere", "postcode": "123", "country": "ZZ"},
            ["Somewhere 1", "Nowhere", "123"],
        ),
    ],
)  # fmt: skip
def test_each_country_in_its_own_order(address: dict[str, str], lines: list[str]) -> None:
    assert address_lines(address) == lines
