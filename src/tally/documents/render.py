"""Invoices and credit notes as documents: one Jinja2 template family for the PDF (WeasyPrint)
and the customer portal's invoice view.

A document is built in two steps, so the portal and the PDF share everything but the page:
1. `invoice_document` / `credit_note_document` read the rows (a fixed number of queries,
   whatever the number of lines) and format every value for people (Babel: money in the
   document's currency, dates, quantities, percentages) into a `Document`;
2. `document_body` renders it as an HTML fragment (`<article class="tally-document">`, styled
   by `document_css()`), which the portal embeds; `document_page` wraps the same fragment in a
   printable page (A4, "Page X of Y", table headers repeated on every page), which
   `html_to_pdf` turns into a PDF.

`invoice_html` / `invoice_pdf` and `credit_note_html` / `credit_note_pdf` do both in one call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from tally.core.formatting import DEFAULT_LOCALE, format_money, format_percent
from tally.core.i18n import N_, SOURCE_LANGUAGE, language_of_locale, translations
from tally.documents.addresses import address_lines
from tally.documents.languages import customer_locales
from tally.documents.links import invoice_path, owes, pay_path, paying_accounts, portal_url
from tally.einvoice.facturx import PDF_VARIANT, factur_x_pdf
from tally.einvoice.service import factur_x_xml
from tally.engine.tiers import shown_amounts
from tally.exceptions import NotFound
from tally.models import (
    Account,
    CreditNote,
    Customer,
    Invoice,
    InvoiceRenderSettings,
    InvoiceStatus,
    PaymentLinkDisplay,
    TaxRateVersion,
    TaxRegistration,
    TaxStatus,
)
from tally.models.billed import BilledLine as Line
from tally.models.billed import BilledLineGroup as Group
from tally.models.scoped import get_account
from tally.settings import Settings, get_settings
from tally.tax.queries import printed_registrations
from tally.tax.registration_schemes import printed

BODY_TEMPLATE = "document.html"
PAGE_TEMPLATE = "page.html"
STYLESHEET = "document.css"

DocumentKind = Literal["invoice", "credit_note"]
_TITLES: dict[DocumentKind, str] = {"invoice": N_("Invoice"), "credit_note": N_("Credit note")}
# Status badges: the template translates them (the English word names the badge's CSS class).
_VOID, _DRAFT, _IN_PROGRESS = N_("Void"), N_("Draft"), N_("In progress")


# --- what a template sees ---------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """The merchant or the customer, as printed."""

    name: str
    address: list[str]
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Share:
    """One customer's part of a roll-up line."""

    customer: str
    quantity: str


@dataclass(frozen=True)
class TierRow:
    """What one tier of a tiered price charged, under its line (Stripe's invoices show
    graduated and volume prices so)."""

    label: str  # "Tier 2 (1,001 to 5,000)", with an en dash
    quantity: str
    rate: str
    fee: str | None  # "+ £5.00 flat fee"
    amount: str


@dataclass(frozen=True)
class DiscountRow:
    """A discount netted into its line, shown as an amount of its own under it."""

    label: str  # "Discount 10% · Launch offer"
    amount: str  # "-£25.00"


@dataclass(frozen=True)
class LineRow:
    title: str
    description: str | None
    service_period: str | None
    quantity: str
    rate: str
    tax_rate: str
    amount: str
    kind: str  # a CSS class: price, discount, minimum, credit, manual
    shares: list[Share]
    # Tiered prices: the tiers (their amounts add up to the line's `amount`); the line's own
    # rate is then blank, a blend of theirs.
    tiers: list[TierRow] = field(default_factory=list)
    # Discounts netted into the line: `amount` is the line before them, these take it to
    # what the line costs.
    discounts: list[DiscountRow] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """The lines of one group under its heading (a product, or the adjustments); lines in no
    group make a section without a heading."""

    title: str | None
    description: str | None
    subtotal: str | None
    lines: list[LineRow]


@dataclass(frozen=True)
class TaxRow:
    label: str  # "VAT 20%"
    taxable: str
    tax: str


@dataclass(frozen=True)
class CreditRow:
    """A credit applied to the document's total (credit notes, prepaid credit)."""

    label: str
    amount: str


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Document:
    kind: DocumentKind
    title: str  # "Invoice", "Credit note"
    number: str  # "Draft" until it has one
    status: str | None  # a badge: "Draft", "Void"
    currency: str
    locale: str
    merchant: Party
    logo_url: str | None
    customer: Party
    facts: list[Fact]
    sections: list[Section]
    line_count: int
    net_total: str
    total_tax: str
    gross_total: str
    tax_rows: list[TaxRow]
    # None yet: prepaid credits and credit-note applications will list here, with the
    # amount still due after them.
    credits: list[CreditRow]
    amount_due: str | None
    payment_terms: str | None
    notes: list[str]
    portal_url: str | None
    filename: str  # for downloads: "INV-0001.pdf"
    # The invoice's payment link (its portal page at the Pay form): only while it is owed and
    # the account takes card payments (`links.paying_accounts`), as the render settings say.
    pay_url: str | None = None


# --- formatting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Formatter:
    """Values as people read them, in one currency and locale."""

    currency: str
    locale: str = DEFAULT_LOCALE

    def money(self, amount: Decimal) -> str:
        """Half up to the minor unit (`core.formatting`), as pages and emails show it."""
        return format_money(amount, self.currency, self.locale)

    def rate(self, rate: Decimal, display: str) -> str:
        """A unit price: money with at least the minor unit and any finer places it has
        (£0.0125); a percentage rate (a fraction) as a percentage."""
        if display == "PERCENTAGE":
            return self.percent(rate)
        unsigned_zero = rate if rate else abs(rate)  # never "-£0.00"
        return format_currency(
            unsigned_zero, self.currency, locale=self.locale, decimal_quantization=False
        )

    def quantity(self, quantity: Decimal | str, display: str = "ABSOLUTE") -> str:
        """Every place the quantity has, in any exponent form ("1.5E+3" reads "1,500")."""
        value = Decimal(quantity)
        value = value if value else abs(value)  # never "-0"
        if display == "PERCENTAGE":  # a percentage of an amount of money
            return self.rate(value, "ABSOLUTE")
        return format_decimal(value, locale=self.locale, decimal_quantization=False)

    def percent(self, fraction: Decimal) -> str:
        return format_percent(fraction, self.locale)

    def gettext(self, message: str) -> str:
        """`message` in the locale's language (`core.i18n`)."""
        return translations(language_of_locale(self.locale)).gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return translations(language_of_locale(self.locale)).ngettext(singular, plural, count)

    def day(self, day: date) -> str:
        return format_date(day, "medium", locale=self.locale)

    def period(self, start: date | None, end: date | None) -> str | None:
        if start is None or end is None:
            return None
        return f"{self.day(start)} \u2013 {self.day(end)}"  # an en dash

    def address(self, address: dict[str, Any] | None) -> list[str]:
        if not address:
            return []
        lines = address_lines(address)
        country = address.get("country")
        if country:
            lines.append(_territory(self.locale, country))
        return lines


@cache
def _territory(locale: str, code: str) -> str:
    name = Locale.parse(locale).territories.get(code)
    return str(name) if name else code


# --- templates -----------------------------------------------------------------------------


@cache
def environment(language: str = SOURCE_LANGUAGE) -> Environment:
    """The documents' templates, their words in `language` (Jinja2's i18n extension with the
    language's catalogue: `{% trans %}` and `_()`); one environment per language, so
    rendering never swaps translations under another thread."""
    env = Environment(
        loader=PackageLoader("tally.documents", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def _page_counter(language: str) -> Markup:
    """ "Page X of Y" as CSS `content`: the translated words as strings around the page
    counters, in the order the language puts them."""
    text = translations(language).gettext("Page %(page)s of %(pages)s")
    pieces = re.split(r"(%\(page\)s|%\(pages\)s)", text)
    counters = {"%(page)s": "counter(page)", "%(pages)s": "counter(pages)"}
    css = [
        counters.get(piece) or '"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"'
        for piece in pieces
        if piece
    ]
    return Markup(" ".join(css))  # noqa: S704  (our catalogue's words, quoted for CSS)


@cache
def document_css() -> str:
    """The document's stylesheet: screen and print (the page rules live in the page)."""
    return (Path(__file__).parent / "templates" / STYLESHEET).read_text(encoding="utf-8")


def document_body(document: Document) -> Markup:
    """The document as an HTML fragment for the portal: `<article class="tally-document">`,
    styled by `document_css()`."""
    # Safe: the template escapes every value it prints (autoescape).
    template = environment(language_of_locale(document.locale)).get_template(BODY_TEMPLATE)
    return Markup(template.render(document=document))  # noqa: S704


def document_page(document: Document) -> str:
    """A whole HTML page of the document, with its stylesheet and print layout (A4)."""
    css = Markup(document_css())  # noqa: S704  (our own stylesheet)
    language = language_of_locale(document.locale)
    template = environment(language).get_template(PAGE_TEMPLATE)
    return template.render(
        document=document,
        body=document_body(document),
        css=css,
        page_counter=_page_counter(language),
    )


# The folder of the data directory whose files documents may show (logos): nothing else there
# (the SQLite database, the outbox, credentials) is ever read while rendering.
ASSETS = "assets"


def html_to_pdf(
    html: str, *, files_dir: Path | None = None, factur_x: bytes | None = None
) -> bytes:
    """The page as a PDF. Only `data:` URLs and files under `files_dir`'s `assets/` folder
    are fetched (a logo; `files_dir` is the data directory): never the network, so rendering
    cannot hang on a slow host, and never the database or anything else kept there.

    With `factur_x` (the document's CII XML, `einvoice.service.factur_x_xml`): a Factur-X
    PDF/A-3 carrying it."""
    # Imported here: WeasyPrint takes seconds to import (it loads Pango), which only PDF
    # rendering needs; the API, the CLI and the portal start without it.
    from weasyprint import HTML  # noqa: PLC0415

    from tally.documents.urls import LocalUrlFetcher  # noqa: PLC0415  (imports WeasyPrint)

    roots = [files_dir / ASSETS] if files_dir is not None else []
    page = HTML(string=html, url_fetcher=LocalUrlFetcher(roots))
    if factur_x is not None:
        return factur_x_pdf(page.write_pdf(pdf_variant=PDF_VARIANT), factur_x)
    pdf: bytes = page.write_pdf()
    return pdf


# --- reading the rows ----------------------------------------------------------------------


def _merchant(account: Account, fmt: Formatter, tax_ids: list[str]) -> Party:
    number = account.company_number
    details = [fmt.gettext("Company number %(number)s") % {"number": number}] if number else []
    return Party(
        name=account.name, address=fmt.address(account.address), details=[*details, *tax_ids]
    )


def _tax_ids(registrations: Iterable[TaxRegistration], fmt: Formatter) -> list[str]:
    """The registrations as printed under a party's address ("VAT number GB123456789")."""
    return [
        printed(row.scheme, row.tax_identifier, row.country, row.state, fmt.gettext)
        for row in registrations
    ]


def _customer_names(session: Session, account_id: str, lines: Iterable[Line]) -> dict[str, str]:
    """Names of the customers roll-up lines break down to, in one query."""
    ids = {
        str(share["customerId"])
        for line in lines
        for share in getattr(line, "breakdown", None) or []
        if isinstance(share, dict) and share.get("customerId")
    }
    if not ids:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.legal_name).where(
            Customer.account_id == account_id, Customer.id.in_(ids)
        )
    )
    return {row.id: row.legal_name for row in rows}


def _tax_names(session: Session, account_id: str, lines: Iterable[Line]) -> dict[str, str]:
    """The short names ("VAT") of the tax-rate versions the lines were taxed with."""
    ids = {
        version
        for line in lines
        if (version := getattr(line, "tax_rate_version_id", None)) is not None
    }
    if not ids:
        return {}
    rows = session.execute(
        select(TaxRateVersion.id, TaxRateVersion.invoice_short_name).where(
            TaxRateVersion.account_id == account_id, TaxRateVersion.id.in_(ids)
        )
    )
    return {row.id: row.invoice_short_name for row in rows}


def _bound(value: Decimal, fmt: Formatter, display: str) -> str:
    return fmt.quantity(value, display)


def _tier_range(tier: dict[str, Any], fmt: Formatter, display: str) -> str:
    """A tier's range as people read it: "up to 1,000", "1,001 to 5,000" (an en dash),
    "over 5,000". A
    lower bound is exclusive: whole-unit bounds start at the next unit, others say "over"."""
    lower = Decimal(str(tier.get("lowerBound", "0")))
    upper = tier.get("upperBound")
    if upper is None:
        return fmt.gettext("over %(lower)s") % {"lower": _bound(lower, fmt, display)}
    top = _bound(Decimal(str(upper)), fmt, display)
    if not lower:
        return fmt.gettext("up to %(upper)s") % {"upper": top}
    if display != "PERCENTAGE" and lower == lower.to_integral_value():
        return f"{_bound(lower + 1, fmt, display)} \u2013 {top}"  # an en dash
    return fmt.gettext("over %(lower)s up to %(upper)s") % {
        "lower": _bound(lower, fmt, display),
        "upper": top,
    }


def _tier_rows(line: Line, fmt: Formatter) -> list[TierRow]:
    """The tiers billing kept on the line, their amounts rounded so that they add up to the
    line before discounts as rounded (`engine.tiers.shown_amounts`)."""
    tiers = [tier for tier in getattr(line, "tiers", None) or [] if isinstance(tier, dict)]
    if not tiers:
        return []
    display = line.rate_display
    amounts = shown_amounts([Decimal(str(tier["amount"])) for tier in tiers], fmt.currency)
    rows = []
    for tier, amount in zip(tiers, amounts, strict=True):
        where = _tier_range(tier, fmt, display)
        values = {"tier": tier.get("tier"), "range": where}
        label = fmt.gettext("Tier %(tier)s (%(range)s)") % values
        if tier.get("allUnits"):
            label = fmt.gettext("All units at tier %(tier)s (%(range)s)") % values
        fee = Decimal(str(tier.get("flatFee", "0")))
        rows.append(
            TierRow(
                label=label,
                quantity=fmt.quantity(Decimal(str(tier["quantity"])), display),
                rate=fmt.rate(Decimal(str(tier["rate"])), display),
                fee=fmt.gettext("+ %(fee)s flat fee") % {"fee": fmt.money(fee)} if fee else None,
                amount=fmt.money(amount),
            )
        )
    return rows


def _discount_rows(line: Line, fmt: Formatter) -> tuple[list[DiscountRow], Decimal]:
    """The discounts netted into the line, and what they took off altogether."""
    rows, total = [], Decimal(0)
    for netted in getattr(line, "netted_discounts", None) or []:
        if not isinstance(netted, dict):
            continue
        amount = Decimal(str(netted["amount"]))
        percentage = netted.get("percentage")
        label = fmt.gettext("Discount")
        if percentage is not None:
            label += " " + fmt.percent(Decimal(str(percentage)) / 100)
        if netted.get("title"):
            label += f" \u00b7 {netted['title']}"  # a middle dot
        rows.append(DiscountRow(label=label, amount=fmt.money(amount)))
        total += amount
    return rows, total


def _line_row(line: Line, fmt: Formatter, names: dict[str, str]) -> LineRow:
    shares = [
        Share(
            customer=names.get(str(share.get("customerId")), str(share.get("customerId"))),
            quantity=fmt.quantity(str(share.get("quantity", "0"))),
        )
        for share in getattr(line, "breakdown", None) or []
        if isinstance(share, dict)
    ]
    kind = getattr(line, "kind", None)
    tiers = _tier_rows(line, fmt)
    discounts, discounted = _discount_rows(line, fmt)
    return LineRow(
        title=line.title,
        description=line.description,
        service_period=fmt.period(line.service_period_start, line.service_period_end),
        quantity=fmt.quantity(line.quantity, line.rate_display),
        rate="" if tiers else fmt.rate(line.rate, line.rate_display),
        tax_rate=fmt.percent(line.tax_rate),
        amount=fmt.money(line.net_total - discounted),  # before the discounts shown under it
        kind=str(kind.value).lower() if kind is not None else "price",  # credit note lines
        shares=shares,
        tiers=tiers,
        discounts=discounts,
    )


def _sections(
    groups: Sequence[Group], lines: Sequence[Line], fmt: Formatter, names: dict[str, str]
) -> list[Section]:
    by_group: dict[str | None, list[Line]] = {}
    for line in sorted(lines, key=lambda line: line.index):
        by_group.setdefault(line.group_id, []).append(line)
    sections = [
        Section(
            title=group.title,
            description=group.description,
            subtotal=fmt.money(group.net_total),
            lines=[_line_row(line, fmt, names) for line in by_group.get(group.id, [])],
        )
        for group in sorted(groups, key=lambda group: group.index)
    ]
    known = {group.id for group in groups}
    loose = [line for group_id, group_lines in by_group.items() if group_id not in known
             for line in group_lines]  # fmt: skip
    if loose:
        loose.sort(key=lambda line: line.index)
        sections.append(
            Section(
                title=None,
                description=None,
                subtotal=None,
                lines=[_line_row(line, fmt, names) for line in loose],
            )
        )
    return [section for section in sections if section.lines]


def _tax_rows(lines: Sequence[Line], fmt: Formatter, tax_names: dict[str, str]) -> list[TaxRow]:
    """Tax by rate: each rate's taxable amount and tax, summed over its lines."""
    totals: dict[str, tuple[Decimal, Decimal]] = {}
    for line in sorted(lines, key=lambda line: line.index):
        version = getattr(line, "tax_rate_version_id", None)
        untitled = fmt.gettext("Tax")
        name = tax_names.get(version, untitled) if version else untitled
        label = f"{name} {fmt.percent(line.tax_rate)}"
        net, tax = totals.get(label, (Decimal(0), Decimal(0)))
        totals[label] = (net + line.net_total, tax + line.total_tax)
    return [
        TaxRow(label=label, taxable=fmt.money(net), tax=fmt.money(tax))
        for label, (net, tax) in totals.items()
    ]


def _tax_notes(tax_status: str | None, fmt: Formatter) -> list[str]:
    # The wording each language's invoices are expected to carry (EU VAT Directive art. 226:
    # "Reverse charge", "Steuerschuldnerschaft des Leistungsempfängers", "Autoliquidation",
    # "Inversión del sujeto pasivo", "Btw verlegd").
    if tax_status == TaxStatus.REVERSE_CHARGED:
        return [fmt.gettext("Reverse charge: the customer accounts for the tax on this supply.")]
    if tax_status == TaxStatus.TAX_EXEMPT:
        return [fmt.gettext("The customer is exempt from tax.")]
    return []


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def _filename(number: str | None, identifier: str) -> str:
    stem = _UNSAFE_FILENAME.sub("-", number or "").strip("-.") or identifier
    return f"{stem}.pdf"


def _status_badge(status: InvoiceStatus, has_number: bool) -> str | None:
    """ "Void" on a voided document; "Draft" on a draft that has a number, "In progress" on
    an invoice whose period is still running (without a number, the number reads so)."""
    if status is InvoiceStatus.VOIDED:
        return _VOID
    if has_number and status in (InvoiceStatus.DRAFT, InvoiceStatus.IN_PROGRESS):
        return _unnumbered(status)
    return None


def _unnumbered(status: object) -> str:
    """What stands for the number of a document that has none yet: an in-progress invoice is
    not a draft (its period has not ended)."""
    return _IN_PROGRESS if status is InvoiceStatus.IN_PROGRESS else _DRAFT


BilledDocument = TypeVar("BilledDocument", Invoice, CreditNote)


def _with_lines(
    session: Session, model: type[BilledDocument], account_id: str, document_id: str, kind: str
) -> BilledDocument:
    """The document with its lines and groups (three queries); NotFound outside the account."""
    document = session.scalar(
        select(model)
        .where(model.account_id == account_id, model.id == document_id)
        .options(selectinload(model.line_items), selectinload(model.groups))
    )
    if document is None:
        raise NotFound.resource(kind, document_id)
    return document


def _document(
    session: Session,
    account: Account,
    billed: Invoice | CreditNote,
    fmt: Formatter,
    *,
    kind: DocumentKind,
    number: str | None,
    facts: list[Fact],
    customer_details: list[str],
    payment_terms: str | None,
    notes: list[str],
    portal_url: str | None,
) -> Document:
    """What an invoice and a credit note print alike: parties, lines by group, tax, totals.
    The caller gives what differs (the facts at the top, the terms and notes at the end)."""
    lines: Sequence[Line] = billed.line_items
    names = _customer_names(session, account.id, lines)
    # The seller's and the buyer's tax identifiers, as registered now; a credit note's own
    # `customerTaxId`, when it has one, is the buyer's.
    merchant_ids, customer_ids = printed_registrations(session, account.id, billed.customer_id)
    tax_names = _tax_names(session, account.id, lines)
    return Document(
        kind=kind,
        title=fmt.gettext(_TITLES[kind]),
        number=number or fmt.gettext(_unnumbered(billed.status)),
        status=_status_badge(billed.status, number is not None),
        currency=billed.currency,
        locale=fmt.locale,
        merchant=_merchant(account, fmt, _tax_ids(merchant_ids, fmt)),
        logo_url=account.logo_url,
        customer=Party(
            name=billed.customer_legal_company_name,
            address=fmt.address(billed.customer_billing_address),
            details=customer_details or _tax_ids(customer_ids, fmt),
        ),
        facts=facts,
        sections=_sections(billed.groups, lines, fmt, names),
        line_count=len(lines),
        net_total=fmt.money(billed.net_total),
        total_tax=fmt.money(billed.total_tax),
        gross_total=fmt.money(billed.gross_total),
        tax_rows=_tax_rows(lines, fmt, tax_names),
        credits=[],
        amount_due=None,
        payment_terms=payment_terms,
        notes=notes,
        portal_url=portal_url,
        filename=_filename(number, billed.id),
    )


def _locale(session: Session, account_id: str, customer_id: str) -> str:
    """The customer's locale (one query), English's default for a customer gone."""
    return customer_locales(session, [account_id], [customer_id]).get(customer_id, DEFAULT_LOCALE)


def _shows_payment_link(session: Session, account_id: str) -> bool:
    """The account's invoice render settings (`invoices.render_settings`): the link to the
    invoice's portal page, where it is viewed and paid, is its payment link. No settings yet:
    the default, shown. Tally converts no currency, so `currencyConversionDisplay` has
    nothing to show or hide."""
    display = session.scalar(
        select(InvoiceRenderSettings.payment_link_display).where(
            InvoiceRenderSettings.account_id == account_id
        )
    )
    return display is not PaymentLinkDisplay.HIDE_PAYMENT_LINK


def invoice_document(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> Document:
    """The invoice, formatted for print and the portal. Another account's invoice: NotFound.
    In `locale`, by default the customer's (`documents.languages`).

    Makes the customer's portal secret when it has none (the document links to the portal),
    so call it in a writing transaction."""
    settings = settings or get_settings()
    invoice = _with_lines(session, Invoice, account_id, invoice_id, "Invoice")
    account = get_account(session, account_id)
    fmt = Formatter(invoice.currency, locale or _locale(session, account_id, invoice.customer_id))
    _ = fmt.gettext

    facts = []
    if invoice.issue_date is not None:
        facts.append(Fact(_("Issue date"), fmt.day(invoice.issue_date)))
    elif invoice.invoice_date is not None:
        facts.append(Fact(_("Invoice date"), fmt.day(invoice.invoice_date)))
    if invoice.due_date is not None:
        facts.append(Fact(_("Due date"), fmt.day(invoice.due_date)))
    period = fmt.period(invoice.billing_period_start, invoice.billing_period_end)
    if period:
        facts.append(Fact(_("Billing period"), period))
    if invoice.purchase_order_number:
        facts.append(Fact(_("Purchase order"), invoice.purchase_order_number))
    if invoice.reference:
        facts.append(Fact(_("Reference"), invoice.reference))

    terms_days = (
        invoice.payment_term_days
        if invoice.payment_term_days is not None
        else account.payment_terms_days
    )
    if invoice.due_date is not None:
        terms = fmt.ngettext(
            "Payment terms: %(days)s day, due by %(date)s.",
            "Payment terms: %(days)s days, due by %(date)s.",
            terms_days,
        ) % {"days": terms_days, "date": fmt.day(invoice.due_date)}
    else:
        terms = fmt.ngettext(
            "Payment terms: %(days)s day.", "Payment terms: %(days)s days.", terms_days
        ) % {"days": terms_days}

    link: str | None = None
    pay_url: str | None = None
    if _shows_payment_link(session, account_id):
        link = portal_url(
            session, invoice.customer_id, settings.public_url, invoice_path(invoice.id)
        )
        if owes(invoice) and paying_accounts(session, [account_id]):
            pay_url = portal_url(
                session, invoice.customer_id, settings.public_url, pay_path(invoice.id)
            )
    document = _document(
        session,
        account,
        invoice,
        fmt,
        kind="invoice",
        number=invoice.invoice_number,
        facts=facts,
        customer_details=[],
        payment_terms=terms,
        notes=[
            *_tax_notes(invoice.customer_tax_status, fmt),
            *([invoice.memo] if invoice.memo else []),
            *([invoice.credit_balances] if invoice.credit_balances else []),
        ],
        portal_url=link,
    )
    return replace(document, pay_url=pay_url) if pay_url else document


def credit_note_document(
    session: Session,
    account_id: str,
    credit_note_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> Document:
    """The credit note, formatted like an invoice; it links to the portal page of the invoice
    it credits. Another account's credit note: NotFound. In `locale`, by default the
    customer's."""
    settings = settings or get_settings()
    note = _with_lines(session, CreditNote, account_id, credit_note_id, "CreditNote")
    account = get_account(session, account_id)
    fmt = Formatter(note.currency, locale or _locale(session, account_id, note.customer_id))
    _ = fmt.gettext

    facts = []
    if note.issue_date is not None:
        facts.append(Fact(_("Issue date"), fmt.day(note.issue_date)))
    if note.invoice_id is not None:
        credited = session.scalar(
            select(Invoice.invoice_number).where(
                Invoice.account_id == account_id, Invoice.id == note.invoice_id
            )
        )
        if credited:
            facts.append(Fact(_("Credits invoice"), credited))
    period = fmt.period(note.billing_period_start, note.billing_period_end)
    if period:
        facts.append(Fact(_("Billing period"), period))
    if note.purchase_order_number:
        facts.append(Fact(_("Purchase order"), note.purchase_order_number))

    path = invoice_path(note.invoice_id) if note.invoice_id else ""
    return _document(
        session,
        account,
        note,
        fmt,
        kind="credit_note",
        number=note.credit_note_number,
        facts=facts,
        customer_details=[_("Tax ID %(id)s") % {"id": note.customer_tax_id}]
        if note.customer_tax_id
        else [],
        payment_terms=None,
        notes=[note.memo] if note.memo else [],
        portal_url=portal_url(session, note.customer_id, settings.public_url, path),
    )


# --- one call ------------------------------------------------------------------------------


def invoice_html(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> str:
    """The invoice as a whole printable HTML page."""
    document = invoice_document(session, account_id, invoice_id, settings=settings, locale=locale)
    return document_page(document)


def invoice_pdf(
    session: Session,
    account_id: str,
    invoice_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> bytes:
    settings = settings or get_settings()
    html = invoice_html(session, account_id, invoice_id, settings=settings, locale=locale)
    xml = factur_x_xml(session, account_id, "invoice", invoice_id)
    return html_to_pdf(html, files_dir=settings.data_dir, factur_x=xml)


def credit_note_html(
    session: Session,
    account_id: str,
    credit_note_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> str:
    """The credit note as a whole printable HTML page."""
    document = credit_note_document(
        session, account_id, credit_note_id, settings=settings, locale=locale
    )
    return document_page(document)


def credit_note_pdf(
    session: Session,
    account_id: str,
    credit_note_id: str,
    *,
    settings: Settings | None = None,
    locale: str | None = None,
) -> bytes:
    settings = settings or get_settings()
    html = credit_note_html(session, account_id, credit_note_id, settings=settings, locale=locale)
    xml = factur_x_xml(session, account_id, "credit_note", credit_note_id)
    return html_to_pdf(html, files_dir=settings.data_dir, factur_x=xml)
