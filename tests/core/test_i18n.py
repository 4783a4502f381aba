"""Customers' languages: every message customers read is translated in every language (the
catalogues match what the sources say, extracted as `make catalogues` extracts them), the
locale of formats follows the language and the billing country, and percentages read as
people write them whatever exponent the Decimal carries."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tally.core.formatting import format_percent
from tally.core.i18n import (
    CATALOGUES,
    LANGUAGES,
    language_of,
    locale_for,
    translations,
)

ROOT = Path(__file__).resolve().parents[2]
TRANSLATED = [language for language in LANGUAGES if language != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

MessageId = str | tuple[str, ...]


@cache
def extracted() -> dict[str, MessageId]:
    """What the sources ask to translate, by msgid: Babel's extraction with babel.cfg, over
    the folder the Makefile's `catalogues` target reads."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[str, MessageId] = {}
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT / "src" / "tally"), method_map, options_map
    ):
        key = message if isinstance(message, str) else message[0]
        found[key] = message if isinstance(message, str) else tuple(message)
    return found


def catalogue(language: str) -> Catalog:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def test_the_sources_have_messages_to_translate() -> None:
    messages = extracted()
    # From Python (documents, emails, portal labels) and from both template folders.
    for expected in ("Invoice", "Bill to", "Hello %(name)s,", "Skip to content", "VAT number"):
        assert expected in messages, expected
    plural = messages["Payment terms: %(days)s day."]
    assert plural == ("Payment terms: %(days)s day.", "Payment terms: %(days)s days.")


def test_the_template_lists_exactly_what_the_sources_say() -> None:
    with (CATALOGUES / "messages.pot").open("rb") as pot:
        template = {message.id if isinstance(message.id, str) else message.id[0]
                    for message in read_po(pot) if message.id}  # fmt: skip
    assert template == set(extracted()), "run `make catalogues`"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_nothing_else_is_kept(language: str) -> None:
    messages = extracted()
    po = catalogue(language)
    assert not po.obsolete, f"obsolete messages in {language}: {list(po.obsolete)}"
    kept = {message.id if isinstance(message.id, str) else message.id[0]
            for message in po if message.id}  # fmt: skip
    assert kept == set(messages), (
        f"{language}: missing {sorted(set(messages) - kept)}, stale {sorted(kept - set(messages))}"
    )
    for key, source in messages.items():
        entry = po[key]
        assert entry is not None
        assert not entry.fuzzy, f"{language}: fuzzy {key!r}"
        strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
        assert all(strings), f"{language}: untranslated {key!r}"
        if isinstance(source, tuple):
            assert len(strings) == po.num_plurals, f"{language}: plural forms of {key!r}"
        wanted = set(PLACEHOLDER.findall(key))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, f"{language}: {key!r} -> {string!r}"
    assert not [error for error in po.check() if error[1]]  # Babel's python-format checks


def test_english_is_the_source_and_its_catalogue_is_identity() -> None:
    po = catalogue("en")
    assert {message.id for message in po if message.id} == {
        message.id for message in catalogue("de") if message.id
    }
    for message in po:
        if message.id:
            assert message.string == message.id


@pytest.mark.parametrize(
    ("language", "invoice", "payment_terms"),
    [
        ("de", "Rechnung", "Zahlungsziel: %(days)s Tage."),
        ("fr", "Facture", "Conditions de paiement\u00a0: %(days)s jours."),
        ("es", "Factura", "Condiciones de pago: %(days)s días."),
        ("nl", "Factuur", "Betalingstermijn: %(days)s dagen."),
        ("en", "Invoice", "Payment terms: %(days)s days."),
    ],
)
def test_catalogues_load_at_run_time_from_their_po_files(
    language: str, invoice: str, payment_terms: str
) -> None:
    messages = translations(language)
    assert messages.gettext("Invoice") == invoice
    terms = ("Payment terms: %(days)s day.", "Payment terms: %(days)s days.")
    assert messages.ngettext(*terms, 30) == payment_terms
    assert messages.gettext("A message nobody wrote") == "A message nobody wrote"


@pytest.mark.parametrize(
    ("language", "country", "locale"),
    [
        ("de", "DE", "de_DE"),
        ("de", "AT", "de_AT"),
        ("de", "CH", "de_CH"),
        ("fr", "FR", "fr_FR"),
        ("fr", "BE", "fr_BE"),
        ("nl", "NL", "nl_NL"),
        ("nl", "BE", "nl_BE"),
        ("es", "ES", "es_ES"),
        ("es", "MX", "es_MX"),
        ("en", "GB", "en_GB"),
        ("en", "US", "en_US"),
        ("en", "DE", "en_DE"),  # English in Germany: CLDR has its conventions
        ("de", "JP", "de_DE"),  # no such pair: the language's default
        ("fr", None, "fr_FR"),
        ("en", None, "en_GB"),
        ("xx", "GB", "en_GB"),  # an unknown language reads English
        ("nl", "zz", "nl_NL"),
    ],
)
def test_the_locale_is_the_language_in_the_billing_country_when_babel_knows_it(
    language: str, country: str | None, locale: str
) -> None:
    assert locale_for(language, country) == locale


def test_a_customer_without_a_language_reads_its_accounts() -> None:
    assert language_of("de", "fr") == "de"
    assert language_of(None, "fr") == "fr"
    assert language_of(None, None) == "en"
    assert language_of("xx", "nl") == "nl"


def _spaced(text: str) -> str:
    """Babel's no-break and narrow no-break spaces as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(
    ("fraction", "en", "fr", "de"),
    [
        (Decimal("0.2"), "20%", "20 %", "20 %"),
        (Decimal("0.20"), "20%", "20 %", "20 %"),
        (Decimal("20E-2"), "20%", "20 %", "20 %"),
        (Decimal("2E-1"), "20%", "20 %", "20 %"),
        (Decimal("0.2000000"), "20%", "20 %", "20 %"),
        (Decimal("0.125"), "12.5%", "12,5 %", "12,5 %"),
        (Decimal("125E-3"), "12.5%", "12,5 %", "12,5 %"),
        (Decimal("0.005"), "0.5%", "0,5 %", "0,5 %"),
        (Decimal("5E-3"), "0.5%", "0,5 %", "0,5 %"),
        (Decimal("1"), "100%", "100 %", "100 %"),
        (Decimal("1E+1"), "1,000%", "1 000 %", "1.000 %"),
        (Decimal("0"), "0%", "0 %", "0 %"),
        (Decimal("0E-5"), "0%", "0 %", "0 %"),
        (Decimal("-0"), "0%", "0 %", "0 %"),
        (Decimal("-0.2"), "-20%", "-20 %", "-20 %"),
    ],
)
def test_percentages_read_as_people_write_them_in_each_locale(
    fraction: Decimal, en: str, fr: str, de: str
) -> None:
    assert format_percent(fraction, "en_GB") == en
    assert _spaced(format_percent(fraction, "fr_FR")) == fr
    assert _spaced(format_percent(fraction, "de_DE")) == de
    for locale in ("en_GB", "fr_FR", "de_DE", "es_ES", "nl_NL"):
        assert "E" not in format_percent(fraction, locale)
