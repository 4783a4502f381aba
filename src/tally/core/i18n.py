"""The languages customers read Tally in: which ones, the locale their formats come from, and
the translated messages of the documents, emails and portal pages customers see.

- `LANGUAGES`: the supported languages (ISO 639-1). An account has one (default "en"); a
  customer may have its own, else it reads the account's (`language_of`).
- `locale_for(language, country)`: the locale of numbers, money, dates and country names: the
  language in the customer's billing country when Babel (CLDR) knows that pair (de + AT is
  de_AT, fr + BE fr_BE, en + US en_US, en + DE en_DE), else the language's own default
  (`DEFAULT_LOCALES`: en_GB, de_DE, fr_FR, es_ES, nl_NL; en_GB is what Tally printed before
  it had languages). A country whose customers write the language otherwise (de_CH's
  apostrophes) gets its own conventions that way.
- `translations(language)`: the messages, from the gettext catalogue
  `tally/locale/<language>/LC_MESSAGES/messages.po`. Read from the `.po` at first use and
  compiled in memory (Babel's `read_po` then `write_mo`), cached per process: a fresh clone
  runs with `make install` alone, and no compiled `.mo` can go stale beside its `.po`.
  English is the source language: its catalogue is identity, and a message missing from a
  catalogue reads in English (`make catalogues` and the tests keep them complete).

Everything here is pure (files shipped in the package, no database)."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final, Literal, get_args

from babel import Locale, localedata
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

Language = Literal["en", "de", "fr", "es", "nl"]
LANGUAGES: Final[tuple[str, ...]] = get_args(Language)
SOURCE_LANGUAGE: Final = "en"
DEFAULT_LOCALES: Final[dict[str, str]] = {
    "en": "en_GB",
    "de": "de_DE",
    "fr": "fr_FR",
    "es": "es_ES",
    "nl": "nl_NL",
}
DOMAIN: Final = "messages"
CATALOGUES: Final = Path(__file__).resolve().parent.parent / "locale"


def language_of(customer_language: str | None, account_language: str | None) -> str:
    """The customer's language, else the account's, else English (an unknown code, stored
    before a language was dropped, reads as the next one down)."""
    for language in (customer_language, account_language):
        if language in LANGUAGES:
            return language
    return SOURCE_LANGUAGE


@cache
def locale_for(language: str, country: str | None = None) -> str:
    """The Babel locale of `language` for a customer billed in `country` (ISO 3166 alpha-2)."""
    if language not in LANGUAGES:
        language = SOURCE_LANGUAGE
    if country and country.isalpha() and len(country) == 2:
        candidate = f"{language}_{country.upper()}"
        if localedata.exists(candidate):
            return candidate
    return DEFAULT_LOCALES[language]


@cache
def language_of_locale(locale: str) -> str:
    """ "de_AT" -> "de"; anything unsupported -> English."""
    language = Locale.parse(locale).language
    return language if language in LANGUAGES else SOURCE_LANGUAGE


@cache
def translations(language: str) -> NullTranslations:
    """The language's messages, compiled from its catalogue once per process."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
        return NullTranslations()
    path = CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translations_for_locale(locale: str) -> NullTranslations:
    return translations(language_of_locale(locale))


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined; translated where it is shown."""
    return message


@cache
def language_choices() -> tuple[tuple[str, str], ...]:
    """(code, "German (Deutsch)") for each language: the merchant dashboard's pickers."""
    choices = []
    for code in LANGUAGES:
        locale = Locale.parse(code)
        english, own = str(locale.get_display_name("en")), str(locale.get_display_name(code))
        label = english if code == SOURCE_LANGUAGE else f"{english} ({own})"
        choices.append((code, label))
    return tuple(choices)
