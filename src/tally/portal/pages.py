"""The customer portal's pages: Overview, Invoices (and each invoice, and its PDF), Usage and
Credits, server-rendered with Jinja2 (autoescaped) and usable without JavaScript.

Every page exists twice with the same handler: under the permanent link
`/portal/c/{portal_key}` (`link_viewer`) and under `/portal/s` for a session cookie
(`session_viewer`). Handlers are thin: `data` reads, the templates show. Everything is a
GET: the pages change nothing (paying an invoice is `portal/payments.py`'s).

Styles and scripts are static files under `/portal/static/` (the CSP allows nothing inline
but the request's nonce, which only the brand colour's one-line `<style>` uses).

Pages read in the customer's language and locale (`documents.languages.customer_locale`,
as its documents and emails): one Jinja2 environment per language with that language's
catalogue (`{% trans %}`, `_()`), and a `Fmt` per locale for numbers, money and days.
"""

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session

from tally.api.downloads import download
from tally.core import urls
from tally.core.clock import local_today, utcnow
from tally.core.formatting import format_money, format_percent
from tally.core.i18n import N_, SOURCE_LANGUAGE, language_of_locale, translations
from tally.credits import auto_recharge, top_ups
from tally.documents import render
from tally.documents.languages import customer_locale
from tally.einvoice.service import Syntax, e_invoice_file, factur_x_xml
from tally.exceptions import IncompleteEInvoice, NotIssued
from tally.models import PortalTab
from tally.payments import queries as payment_queries
from tally.portal import charts, data
from tally.portal.access import (
    PortalPageError,
    Resolve,
    Viewer,
    as_viewer,
    link_viewer_of,
    session_viewer,
)
from tally.portal.cache import NONCE_PLACEHOLDER, cached_page
from tally.portal.security import allow_payments, csp_nonce, payment_sources
from tally.settings import Settings

LOCALE = charts.LOCALE  # a viewer's locale is its customer's; this is the default
BRAND_COLOR = re.compile(r"#[0-9A-Fa-f]{3}(?:[0-9A-Fa-f]{3})?")
STATIC_DIR = Path(__file__).parent / "static"
# Labels are marked here (N_) and translated where a page shows them (`_()`).
TAB_LABELS = {
    PortalTab.OVERVIEW: (N_("Overview"), ""),
    PortalTab.INVOICES: (N_("Invoices"), "/invoices"),
    PortalTab.USAGE: (N_("Usage"), "/usage"),
    PortalTab.CREDITS: (N_("Credits"), "/credits"),
}
# Invoices' payment states, subscriptions' (schedules') and credit pockets' statuses.
STATUS_LABELS = {
    "PAID": N_("Paid"),
    "OVERDUE": N_("Overdue"),
    "OUTSTANDING": N_("Outstanding"),
    "UNCOLLECTIBLE": N_("Uncollectible"),
    "ACTIVE": N_("Active"),
    "PENDING": N_("Pending"),
    "COMPLETED": N_("Completed"),
    "CANCELLED": N_("Cancelled"),
    "SUSPENDED": N_("Suspended"),
    "DRAFT": N_("Draft"),
    "IN_PROGRESS": N_("In progress"),
    "EXHAUSTED": N_("Exhausted"),
    "EXPIRED": N_("Expired"),
}
RANGE_LABELS = {
    data.UsageRange.DAY: N_("1d"),
    data.UsageRange.WEEK: N_("7d"),
    data.UsageRange.MONTH: N_("30d"),
    data.UsageRange.PERIOD: N_("Billing period"),
}
FILTER_LABELS = {
    data.InvoiceFilter.ALL: N_("All"),
    data.InvoiceFilter.OUTSTANDING: N_("Outstanding"),
    data.InvoiceFilter.OVERDUE: N_("Overdue"),
    data.InvoiceFilter.PAID: N_("Paid"),
}
# What the read models name in English (`portal.data`), translated where shown; a merchant's
# own names (products, grants, metrics) are never looked up.
DATA_LABELS = frozenset(
    {
        N_("Usage"),
        N_("Other usage"),
        N_("Credits granted"),
        N_("Used by invoice"),
        N_("Restored (invoice voided)"),
        N_("Expired"),
        N_("Rolled over"),
        N_("Revoked"),
        N_("Pending debit (open period)"),
    }
)


# --- formatting for templates ----------------------------------------------------------------


@dataclass(frozen=True)
class Fmt:
    """Values as people read them (Babel, in the viewer's locale, like its documents)."""

    locale: str = LOCALE

    def money(self, amount: Decimal | None, currency: str | None) -> str:
        if amount is None or currency is None:
            return "\u2014"
        return format_money(amount, currency, self.locale)

    def signed_money(self, amount: Decimal | None, currency: str | None) -> str:
        if amount is None or currency is None:
            return "\u2014"
        text = self.money(abs(amount), currency)
        return f"+{text}" if amount > 0 else (f"\u2212{text}" if amount < 0 else text)

    def number(self, value: Decimal | int | None) -> str:
        if value is None:
            return "\u2014"
        return charts.quantity(str(value), self.locale)

    def credits(self, value: Decimal, signed: bool = False) -> str:
        text = charts.quantity(str(abs(value)), self.locale)
        if not signed:
            return text if value >= 0 else f"\u2212{text}"
        return f"+{text}" if value > 0 else (f"\u2212{text}" if value < 0 else text)

    def day(self, day: date | None) -> str:
        return charts.long_day(day, self.locale) if day else "\u2014"

    def percent(self, fraction: Decimal) -> str:
        """0.82 as "82%" ("82 %" in German), whole percents."""
        return format_percent(fraction.quantize(Decimal("0.01"), ROUND_DOWN), self.locale)

    def period(self, start: date | None, end: date | None) -> str:
        if start is None or end is None:
            return "\u2014"
        return f"{self.day(start)} \u2013 {self.day(end)}"


@cache
def _fmt(locale: str) -> Fmt:
    return Fmt(locale)


@cache
def environment(language: str = SOURCE_LANGUAGE) -> Environment:
    """The portal's templates with `language`'s catalogue; one environment per language, so
    a page never sees another thread's translations."""
    env = Environment(
        loader=PackageLoader("tally.portal", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        auto_reload=False,  # templates ship with the package: compiled once per process
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # as babel.cfg extracts them
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        fmt=_fmt(LOCALE),
        status_labels=STATUS_LABELS,
        range_labels=RANGE_LABELS,
        data_labels=DATA_LABELS,
    )
    return env


# --- the frame every page shares -------------------------------------------------------------


@dataclass(frozen=True)
class Tab:
    key: str
    label: str
    url: str
    active: bool


def shown_tabs(session: Session, viewer: Viewer) -> list[PortalTab]:
    """The account's tabs; Credits only for customers with grants (seed 000). An archived
    customer's account is closed: its invoices only (what it still owes, and what it paid)."""
    tabs = [tab for tab in PortalTab if viewer.settings.shows(tab)]
    if viewer.closed:
        return [tab for tab in tabs if tab is PortalTab.INVOICES]
    if PortalTab.CREDITS in tabs and not viewer.has_grants:
        tabs.remove(PortalTab.CREDITS)
    return tabs


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    active: PortalTab | None,
    template: str,
    tabs: list[PortalTab] | None = None,
    **context: Any,
) -> HTMLResponse:
    tabs = tabs if tabs is not None else shown_tabs(session, viewer)
    if active is not None and active not in tabs:
        raise PortalPageError.not_found()
    # For `cache.cached_page`: the body is kept with a placeholder where the nonce goes.
    placeholder = getattr(request.state, "portal_nonce_placeholder", False)
    locale = viewer_locale(viewer)
    language = language_of_locale(locale)
    gettext = translations(language).gettext
    body = (
        environment(language)
        .get_template(template)
        .render(
            fmt=_fmt(locale),
            lang=locale.replace("_", "-"),
            viewer=viewer,
            base=viewer.base_path,
            merchant=viewer.account.name,
            customer=viewer.customer,
            logo_url=viewer.settings.logo_url,
            brand_color=_brand_color(viewer.settings.brand_color),
            application_url=_web_url(viewer.settings.application_url),
            nonce=NONCE_PLACEHOLDER if placeholder else csp_nonce(request),
            tabs=[
                Tab(tab.value.lower(), gettext(label), url, active=tab == active)
                for tab in tabs
                for label, url in [_tab_link(viewer, tab)]
            ],
            **context,
        )
    )
    if placeholder:
        request.state.portal_body = body
        body = body.replace(NONCE_PLACEHOLDER, csp_nonce(request))
    return HTMLResponse(body)


def viewer_locale(viewer: Viewer) -> str:
    """The locale the viewer's customer reads its portal in (rows already loaded)."""
    return customer_locale(viewer.customer, viewer.account)


def _brand_color(value: str | None) -> str | None:
    """The brand colour, only when it is a plain hex colour (it is printed into CSS)."""
    return value if value and BRAND_COLOR.fullmatch(value) else None


def _web_url(value: str | None) -> str | None:
    """A link the page may print: http(s) only, never `javascript:`."""
    return value if value and value.lower().startswith(("https://", "http://")) else None


def _tab_link(viewer: Viewer, tab: PortalTab) -> tuple[str, str]:
    label, path = TAB_LABELS[tab]
    return label, viewer.url(path) if path else viewer.base_path


def _today(viewer: Viewer) -> date:
    return local_today(viewer.account.timezone)


def _query(**params: Any) -> str:
    """A query string of the parameters that have a value."""
    kept = {key: value for key, value in params.items() if value not in (None, "")}
    return ("?" + urlencode(kept)) if kept else ""


# --- pages -----------------------------------------------------------------------------------


def overview(
    request: Request,
    session: Session,
    viewer: Viewer,
    range_: data.UsageRange,
) -> Response:
    tabs = shown_tabs(session, viewer)
    if PortalTab.OVERVIEW not in tabs:
        if not tabs:
            raise PortalPageError.not_found()
        return RedirectResponse(_tab_link(viewer, tabs[0])[1], status_code=303)
    account, customer = viewer.account, viewer.customer
    today = _today(viewer)
    wallet = (
        data.wallet(session, account.id, customer.id, today, account.currency)
        if PortalTab.CREDITS in tabs
        else None
    )
    subscriptions = data.subscriptions(session, account.id, customer.id, today)
    if range_ is data.UsageRange.PERIOD:
        range_ = data.UsageRange.MONTH
    series = data.usage_series(session, account.id, customer.id, range_, today=today, now=utcnow())
    invoices = data.sent_invoices(session, account.id, customer.id, today, per_page=5)
    alerts = data.alert_progress(session, account, customer.id) if viewer.has_alerts else []
    return _page(
        request,
        session,
        viewer,
        PortalTab.OVERVIEW,
        "portal/overview.html",
        tabs=tabs,
        wallet=wallet,
        subscriptions=subscriptions,
        series=series,
        chart=charts.usage_chart(series, account.timezone, viewer_locale(viewer)),
        ranges=[
            (r, viewer.base_path + _query(range=r.value), r == range_)
            for r in (data.UsageRange.DAY, data.UsageRange.WEEK, data.UsageRange.MONTH)
        ],
        invoices=invoices,
        show_usage=PortalTab.USAGE in tabs,
        show_invoices=PortalTab.INVOICES in tabs,
        alerts=alerts,
    )


@dataclass(frozen=True)
class InvoiceQuery:
    """The invoice list's query parameters, as typed in the search form."""

    status: str = "all"
    q: str = ""
    issued_from: str = ""
    issued_to: str = ""
    amount_min: str = ""
    amount_max: str = ""
    page: int = 1

    def search(self) -> data.InvoiceSearch:
        try:
            status = data.InvoiceFilter(self.status)
        except ValueError:
            status = data.InvoiceFilter.ALL
        return data.InvoiceSearch(
            status=status,
            text=self.q.strip()[:100] or None,
            issued_from=_parse_day(self.issued_from),
            issued_to=_parse_day(self.issued_to),
            amount_min=data.parse_amount(self.amount_min),
            amount_max=data.parse_amount(self.amount_max),
        )

    def link(self, base: str, **changes: Any) -> str:
        values = {
            "status": self.status if self.status != "all" else None,
            "q": self.q,
            "from": self.issued_from,
            "to": self.issued_to,
            "min": self.amount_min,
            "max": self.amount_max,
            "page": self.page if self.page != 1 else None,
        }
        values.update(changes)
        return base + _query(**values)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def invoices(request: Request, session: Session, viewer: Viewer, query: InvoiceQuery) -> Response:
    search = query.search()
    page = data.sent_invoices(
        session,
        viewer.account.id,
        viewer.customer.id,
        _today(viewer),
        search,
        page=query.page,
    )
    base = viewer.url("/invoices")
    gettext = translations(language_of_locale(viewer_locale(viewer))).gettext
    filters = [
        (f.value, gettext(FILTER_LABELS[f]),
         query.link(base, status=f.value if f is not data.InvoiceFilter.ALL else None, page=None),
         f is search.status, page.counts[f.value])
        for f in data.InvoiceFilter
    ]  # fmt: skip
    return _page(
        request,
        session,
        viewer,
        PortalTab.INVOICES,
        "portal/invoices.html",
        page=page,
        query=query,
        search=search,
        filters=filters,
        pays=not viewer.closed and payment_queries.takes_card_payments(session, viewer.account.id),
        previous=query.link(base, page=page.page - 1) if page.page > 1 else None,
        next=query.link(base, page=page.page + 1) if page.page < page.pages else None,
        clear=query.link(base, q=None, **{"from": None, "to": None, "min": None, "max": None}),
    )


def _document(
    request: Request, session: Session, viewer: Viewer, invoice_id: str
) -> render.Document:
    """The invoice's document, when it is one of the viewer's SENT invoices."""
    if not data.sent_invoice_id(session, viewer.account.id, viewer.customer.id, invoice_id):
        raise PortalPageError.not_found()
    settings: Settings = request.app.state.settings
    return render.invoice_document(
        session, viewer.account.id, invoice_id, settings=settings, locale=viewer_locale(viewer)
    )


def pay_form(
    request: Request, session: Session, viewer: Viewer, invoice_id: str
) -> payment_queries.PayForm | None:
    """The invoice page's Pay form, when the invoice is owed and the account takes card
    payments; the response's CSP then admits Stripe's script (`security.allow_payments`).
    Read on every request, cached page or not: the header must say what the page holds."""
    if viewer.closed:  # an archived customer's portal is read-only
        return None
    form = payment_queries.pay_form(session, viewer.account.id, viewer.customer.id, invoice_id)
    settings: Settings = request.app.state.settings
    sources = payment_sources(settings.stripe_js_url)
    if form is None or sources is None:
        return None
    allow_payments(request, sources)
    return form


def invoice(
    request: Request,
    session: Session,
    viewer: Viewer,
    invoice_id: str,
    form: payment_queries.PayForm | None = None,
) -> Response:
    # Without its "View online" and payment links: the customer is online (and pays with the
    # form below), and a session's page must not hand out the permanent link (the customer's
    # portal secret) that outlives the session.
    # The logo only if a browser can load it (a file: logo is the PDF's).
    found = _document(request, session, viewer, invoice_id)
    document = replace(
        found, portal_url=None, pay_url=None, logo_url=urls.page_image(found.logo_url)
    )
    settings: Settings = request.app.state.settings
    path = viewer.url(f"/invoices/{invoice_id}/pay")
    return _page(
        request,
        session,
        viewer,
        PortalTab.INVOICES,
        "portal/invoice.html",
        document=document,
        body=render.document_body(document),
        pdf_url=viewer.url(f"/invoices/{invoice_id}/pdf"),
        xml_url=viewer.url(f"/invoices/{invoice_id}/e-invoice"),
        back_url=viewer.url("/invoices"),
        status=data.sent_invoice_status(
            session, viewer.account.id, viewer.customer.id, invoice_id, _today(viewer)
        ),
        pay=form,
        stripe_js_url=settings.stripe_js_url,
        pay_urls={"start": path + "/start", "pay": path, "finish": path + "/finish"},
    )


def invoice_pdf(request: Request, session: Session, viewer: Viewer, invoice_id: str) -> Response:
    if PortalTab.INVOICES not in shown_tabs(session, viewer):
        raise PortalPageError.not_found()
    document = _document(request, session, viewer, invoice_id)
    if viewer.via != "link":  # the permanent link only for those who opened it
        document = replace(document, portal_url=None, pay_url=None)
    settings: Settings = request.app.state.settings
    xml = factur_x_xml(session, viewer.account.id, "invoice", invoice_id)
    page = render.document_page(document)
    pdf = render.html_to_pdf(page, files_dir=settings.data_dir, factur_x=xml)
    return download(pdf, "application/pdf", document.filename)


def invoice_xml(session: Session, viewer: Viewer, invoice_id: str, syntax: str) -> Response:
    """One of the viewer's sent invoices as an EN 16931 e-invoice (UBL or CII)."""
    if PortalTab.INVOICES not in shown_tabs(session, viewer):
        raise PortalPageError.not_found()
    if not data.sent_invoice_id(session, viewer.account.id, viewer.customer.id, invoice_id):
        raise PortalPageError.not_found()
    try:
        chosen = Syntax(syntax)
    except ValueError:
        raise PortalPageError(400, "Unknown format", "Ask for ubl or cii.") from None
    try:
        xml = e_invoice_file(session, viewer.account.id, "invoice", invoice_id, chosen)
    except (NotIssued, IncompleteEInvoice) as refused:
        message = "This invoice has no e-invoice: ask the company that bills you for one."
        raise PortalPageError(409, "No e-invoice", message) from refused
    return download(xml.content, "application/xml", xml.filename)


def usage(
    request: Request,
    session: Session,
    viewer: Viewer,
    period_key: str | None,
    range_: data.UsageRange,
) -> Response:
    account, customer = viewer.account, viewer.customer
    today = _today(viewer)
    periods = data.billing_periods(session, account.id, customer.id, today)
    period = data.pick_period(periods, period_key)
    breakdown, series = data.period_usage(
        session, account.id, customer.id, period, range_, today=today, now=utcnow()
    )
    base = viewer.url("/usage")
    chosen = period.key if period and period_key else None
    locale = viewer_locale(viewer)
    return _page(
        request,
        session,
        viewer,
        PortalTab.USAGE,
        "portal/usage.html",
        periods=periods,
        period=period,
        breakdown=breakdown,
        series=series,
        chart=charts.usage_chart(series, account.timezone, locale),
        bucket_labels=[
            charts.bucket_label(series, bucket, account.timezone, locale)
            for bucket in series.buckets
        ],
        ranges=[
            (r, base + _query(period=chosen, range=r.value), r == range_)
            for r in data.UsageRange
            if r is not data.UsageRange.PERIOD or period is not None
        ],
        range_value=range_.value,
        base_url=base,
    )


def credits(request: Request, session: Session, viewer: Viewer) -> Response:
    account_id, customer_id = viewer.account.id, viewer.customer.id
    view = data.credits(session, account_id, customer_id, _today(viewer), viewer.account.currency)
    purchases = top_ups.customer_purchases(session, account_id, customer_id)
    recharging = auto_recharge.customer_auto_recharges(session, account_id, customer_id)
    if view is None and not purchases and not recharging:
        raise PortalPageError.not_found()
    return _page(
        request,
        session,
        viewer,
        PortalTab.CREDITS,
        "portal/credits.html",
        view=view,
        purchases=purchases,
        auto_recharges=recharging,
    )


# --- routes ----------------------------------------------------------------------------------

RangeParam = Annotated[str | None, Query(alias="range", max_length=20)]


def _range(value: str | None, default: data.UsageRange) -> data.UsageRange:
    """The graph's range; anything unknown (a hand-edited URL) is the page's default."""
    try:
        return data.UsageRange(value) if value else default
    except ValueError:
        return default


def _routes(prefix: str, resolve: Resolve) -> APIRouter:
    """The pages under one prefix, each for the viewer `resolve` finds. Each page runs whole
    (viewer, reads, rendering) in one transaction on one worker thread: `as_viewer`."""
    router = APIRouter(prefix=prefix, include_in_schema=False)

    @router.get("", response_class=HTMLResponse)
    async def overview_page(request: Request, range: RangeParam = None) -> Response:
        chosen = _range(range, data.UsageRange.MONTH)
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: cached_page(
                request, session, viewer, lambda: overview(request, session, viewer, chosen)
            ),
        )

    @router.get("/invoices", response_class=HTMLResponse)
    async def invoices_page(
        request: Request,
        status: str = "all",
        q: str = "",
        issued_from: Annotated[str, Query(alias="from")] = "",
        issued_to: Annotated[str, Query(alias="to")] = "",
        amount_min: Annotated[str, Query(alias="min")] = "",
        amount_max: Annotated[str, Query(alias="max")] = "",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ) -> Response:
        query = InvoiceQuery(status, q, issued_from, issued_to, amount_min, amount_max, page)
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: cached_page(
                request,
                session,
                viewer,
                lambda: invoices(request, session, viewer, query),
                reads_usage=False,
            ),
        )

    @router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
    async def invoice_page(request: Request, invoice_id: str) -> Response:
        def work(session: Session, viewer: Viewer) -> Response:
            form = pay_form(request, session, viewer, invoice_id)
            return cached_page(
                request,
                session,
                viewer,
                lambda: invoice(request, session, viewer, invoice_id, form),
                reads_usage=False,
            )

        return await as_viewer(request, resolve, work)

    @router.get("/invoices/{invoice_id}/pdf")
    async def invoice_pdf_download(request: Request, invoice_id: str) -> Response:
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: invoice_pdf(request, session, viewer, invoice_id),
        )

    @router.get("/invoices/{invoice_id}/e-invoice")
    async def invoice_xml_download(
        request: Request, invoice_id: str, syntax: Annotated[str, Query()] = "ubl"
    ) -> Response:
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: invoice_xml(session, viewer, invoice_id, syntax),
        )

    @router.get("/usage", response_class=HTMLResponse)
    async def usage_page(
        request: Request, period: str | None = None, range: RangeParam = None
    ) -> Response:
        chosen = _range(range, data.UsageRange.PERIOD)
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: cached_page(
                request, session, viewer, lambda: usage(request, session, viewer, period, chosen)
            ),
        )

    @router.get("/credits", response_class=HTMLResponse)
    async def credits_page(request: Request) -> Response:
        return await as_viewer(
            request,
            resolve,
            lambda session, viewer: cached_page(
                request,
                session,
                viewer,
                lambda: credits(request, session, viewer),
                reads_usage=False,
            ),
        )

    return router


def document_stylesheet() -> Response:
    """The documents' stylesheet, for the invoice page (the PDF inlines the same file)."""
    return Response(
        render.document_css(),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def install_pages(app: FastAPI) -> None:
    """The portal's pages and static files."""
    app.add_api_route(
        "/portal/static/document.css", document_stylesheet, methods=["GET"], include_in_schema=False
    )
    app.mount("/portal/static", StaticFiles(directory=STATIC_DIR), name="portal-static")
    app.include_router(_routes("/portal/c/{portal_key}", link_viewer_of))
    app.include_router(_routes("/portal/s", session_viewer))
