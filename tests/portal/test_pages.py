"""The portal's pages over HTTP (no browser): what each tab shows for seed 000's example,
only SENT invoices, server-side search over all of them, escaping, tabs following the
settings, and a fixed number of queries whatever the data."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.credits import ledger
from tally.db import Database, new_id
from tally.models import CreditGrant, CreditUnitType, InvoiceStatus, PaymentStatus
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.metering.helpers import event, send
from tests.portal.helpers import link_path, portal_client, put_settings, signed_in_client
from tests.portal.portal_scenario import Seed000, build_seed_000, utc_today
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient

D = Decimal


@pytest.fixture
def seed(api: ApiClient, app: FastAPI, account: Credentials) -> Seed000:
    return build_seed_000(api, app, account.account_id)


@pytest.fixture
def portal(app: FastAPI) -> TestClient:
    return portal_client(app)


def text_of(page: str) -> str:
    """The page's visible text, one space between words."""
    body = re.sub(r"<(script|style|title)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def squeezed(text: str) -> str:
    """Text without white space: pypdf breaks long words (a URL) across lines."""
    return re.sub(r"\s+", "", text)


def get_page(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def api_customer(api: ApiClient, customer_id: str) -> dict[str, Any]:
    return dict(ok(api.get(f"/api/customers/{customer_id}")))


def sent_invoice(
    database: Database, account_id: str, customer: dict[str, Any], number: str, **columns: Any
) -> str:
    values: dict[str, Any] = {
        "status": InvoiceStatus.SENT,
        "invoice_number": number,
        "issue_date": date(2024, 6, 1),
        "due_date": date(2024, 7, 1),
        **columns,
    }
    return insert_invoice(database, account_id, customer, **values)


# --- the tabs --------------------------------------------------------------------------------


def test_the_overview_shows_the_wallet_subscription_usage_and_recent_invoices(
    portal: TestClient, seed: Seed000
) -> None:
    page = get_page(portal, seed.link)
    text = text_of(page)
    assert "AcmeLabs" in text and "Globex Corporation" in text
    assert "Prepaid wallet 250 verifications" in text
    assert "£100.00 value" in text and "6 pending" in text
    assert "Platform, Verification API Active" in text
    start = seed.period_start
    assert f"Current period {start.day} {start:%b %Y} \u2013" in text
    assert seed.sent_invoice_number in text
    assert '<svg class="chart-svg"' in page
    for tab in ("Overview", "Invoices", "Usage", "Credits"):
        assert f">{tab}</a>" in page
    assert 'data-tab="overview" aria-current="page"' in page


def test_the_credits_tab_shows_seed_000s_grant_and_pending_debit(
    portal: TestClient, seed: Seed000
) -> None:
    text = text_of(get_page(portal, seed.link + "/credits"))
    assert "Balance 250 verifications" in text
    assert "Status Active" in text and "Value £100.00" in text
    assert "Pending 6 verifications" in text
    assert "Pending debit (open period) Pending" in text
    assert "\u22126 verifications \u2212£2.40" in text
    assert "Credits granted" in text and "+250 verifications +£100.00" in text


def test_the_credits_tab_shows_only_for_customers_with_grants(
    portal: TestClient, api: ApiClient, seed: Seed000, app: FastAPI
) -> None:
    other = new_customer(api, legalName="No Credits Ltd")
    page = get_page(portal, link_path(other))
    assert ">Credits</a>" not in page
    assert portal.get(link_path(other) + "/credits").status_code == 404


def test_the_usage_tab_breaks_usage_down_per_metric_as_the_invoice_groups_it(
    portal: TestClient, api: ApiClient, seed: Seed000
) -> None:
    page = get_page(portal, seed.link + "/usage")
    text = text_of(page)
    invoice = ok(api.get(f"/api/invoices/{seed.open_invoice_id}"))
    lines = {line["title"]: line for line in invoice["lineItems"]}
    checks, calls = lines["Checks"], lines["Calls"]
    assert D(checks["quantity"]) == 6
    assert D(calls["quantity"]) == seed.calls_this_period
    assert "Verification API" in text  # the invoice's group (its product)
    assert f"Account verifications 6 verifications 9 £{D(checks['netTotal']):.2f}" in text
    assert (
        f"API calls {seed.calls_this_period} calls {seed.calls_this_period} "
        f"£{D(calls['netTotal']):.2f}" in text
    )
    assert "Cost so far" in text
    # The graph's table view: one row per day of the period, one column per metric.
    assert "Show the graph as a table" in text
    days = (seed.period_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    assert page.count('<th scope="row">') >= (days - seed.period_start).days


def test_a_past_billing_period_can_be_picked(portal: TestClient, seed: Seed000) -> None:
    key = seed.last_period_start.isoformat()
    page = get_page(portal, f"{seed.link}/usage?period={key}")
    text = text_of(page)
    assert f'<option value="{key}" selected>' in page
    assert f"API calls {seed.calls_last_period} calls {seed.calls_last_period}" in text
    assert "Account verifications 0 verifications 0 £0.00" in text  # billed, none used
    assert "Cost so far" not in text  # that period is invoiced


@pytest.mark.parametrize(("usage_range", "rows"), [("1d", 24), ("7d", 7), ("30d", 30)])
def test_the_usage_range_switches_between_hours_and_days(
    portal: TestClient, seed: Seed000, usage_range: str, rows: int
) -> None:
    page = get_page(portal, f"{seed.link}/usage?range={usage_range}")
    assert f'data-range="{usage_range}" aria-current="true"' in page
    table = page.split('<details class="table-view">')[1].split("</details>")[0]
    assert table.count('<th scope="row">') == rows
    assert ('<th scope="col">Hour</th>' in table) == (usage_range == "1d")
    # Every range sees today's 6 verifications and 5 of the calls.
    assert "Account verifications" in table


def test_an_unknown_range_falls_back_to_the_default(portal: TestClient, seed: Seed000) -> None:
    page = get_page(portal, f"{seed.link}/usage?range=<b>")
    assert 'data-range="period" aria-current="true"' in page


def test_the_graph_has_a_colour_per_metric_and_hover_values(
    portal: TestClient, seed: Seed000
) -> None:
    page = get_page(portal, seed.link + "/usage?range=7d")
    colours = set(re.findall(r'<polyline fill="none" stroke="(#[0-9A-Fa-f]{6})"', page))
    assert len(colours) == 2
    today = utc_today()
    assert f"{today.day} {today:%b %Y} · Account verifications: 6 verifications" in html.unescape(
        page
    )
    assert '<script src="/portal/static/portal.js" defer></script>' in page


# --- invoices --------------------------------------------------------------------------------


def test_only_sent_invoices_show(
    portal: TestClient, api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, legalName="Statuses Ltd")
    full = api_customer(api, customer["id"])
    shown = sent_invoice(database, account.account_id, full, "INV-SENT")
    hidden = {
        status: insert_invoice(
            database,
            account.account_id,
            full,
            status=status,
            invoice_number=f"INV-{status.value}" if status is not InvoiceStatus.DRAFT else None,
        )
        for status in (
            InvoiceStatus.IN_PROGRESS,
            InvoiceStatus.DRAFT,
            InvoiceStatus.FINAL,
            InvoiceStatus.VOIDED,
        )
    }
    link = link_path(customer)
    text = text_of(get_page(portal, link + "/invoices"))
    assert "INV-SENT" in text and "1 invoice" in text
    for status in ("FINAL", "VOIDED", "IN_PROGRESS"):
        assert f"INV-{status}" not in text
    assert portal.get(f"{link}/invoices/{shown}").status_code == 200
    for invoice_id in hidden.values():
        assert portal.get(f"{link}/invoices/{invoice_id}").status_code == 404
        assert portal.get(f"{link}/invoices/{invoice_id}/pdf").status_code == 404


def test_another_customers_invoice_is_not_found(
    portal: TestClient, api: ApiClient, database: Database, account: Credentials
) -> None:
    mine = new_customer(api, legalName="Mine Ltd")
    theirs = new_customer(api, legalName="Theirs Ltd")
    invoice_id = sent_invoice(
        database, account.account_id, api_customer(api, theirs["id"]), "INV-THEIRS"
    )
    assert portal.get(f"{link_path(mine)}/invoices/{invoice_id}").status_code == 404
    assert portal.get(f"{link_path(mine)}/invoices/{invoice_id}/pdf").status_code == 404
    assert "INV-THEIRS" not in portal.get(f"{link_path(mine)}/invoices").text


@pytest.fixture
def many_invoices(
    api: ApiClient, database: Database, account: Credentials
) -> tuple[dict[str, Any], date]:
    """45 SENT invoices, 30 days apart up to today: INV-0001 (the oldest) to INV-0045;
    totals 100, 110 ... ; every third paid; the rest due 30 days after issue."""
    customer = new_customer(api, legalName="Archive Ltd")
    full = api_customer(api, customer["id"])
    today = utc_today()
    for n in range(1, 46):
        issued = today - timedelta(days=30 * (45 - n))
        sent_invoice(
            database,
            account.account_id,
            full,
            f"INV-{n:04d}",
            issue_date=issued,
            due_date=issued + timedelta(days=30),
            gross_total=D(100 + 10 * (n - 1)),
            payment_status=PaymentStatus.PAID if n % 3 == 0 else PaymentStatus.UNPAID,
            balance=D(100 + 10 * (n - 1)),
        )
    return customer, today


def numbers(page: str) -> list[str]:
    return re.findall(r">(INV-\d{4})</a>", page)


def test_search_covers_every_invoice_not_only_the_first_page(
    portal: TestClient, many_invoices: tuple[dict[str, Any], date]
) -> None:
    customer, today = many_invoices
    link = link_path(customer) + "/invoices"
    first = get_page(portal, link)
    assert numbers(first) == [f"INV-{n:04d}" for n in range(45, 25, -1)]  # newest first
    assert "Page 1 of 3" in text_of(first)
    assert numbers(get_page(portal, link + "?page=3")) == [f"INV-{n:04d}" for n in range(5, 0, -1)]
    # By number: the oldest invoice, on the last page.
    assert numbers(get_page(portal, link + "?q=inv-0001")) == ["INV-0001"]
    # By amount (exactly, as typed with a currency sign) and by range; digits also match
    # invoice numbers ("0001" is a part of INV-0001).
    assert numbers(get_page(portal, link + "?q=£110.00")) == ["INV-0002"]
    assert numbers(get_page(portal, link + "?q=0001")) == ["INV-0001"]
    assert numbers(get_page(portal, link + "?q=120")) == ["INV-0003"]
    assert numbers(get_page(portal, link + "?min=100&max=125")) == ["INV-0003", "INV-0002",
                                                                   "INV-0001"]  # fmt: skip
    # By date range.
    issued = today - timedelta(days=30 * 43)  # INV-0002
    page = get_page(portal, f"{link}?from={issued.isoformat()}&to={issued.isoformat()}")
    assert numbers(page) == ["INV-0002"]
    # By status, searched together.
    paid = numbers(get_page(portal, link + "?status=paid&max=200"))
    assert paid == ["INV-0009", "INV-0006", "INV-0003"]
    overdue_page = get_page(portal, link + "?status=overdue")
    assert "INV-0044" not in numbers(overdue_page)  # due today: not overdue yet
    assert "INV-0043" in numbers(overdue_page)
    assert "Overdue" in text_of(overdue_page)
    assert "No invoices match your search." in text_of(get_page(portal, link + "?q=nothing"))


def test_invoice_statuses_are_coloured(
    portal: TestClient, many_invoices: tuple[dict[str, Any], date]
) -> None:
    customer, _ = many_invoices
    page = get_page(portal, link_path(customer) + "/invoices")
    assert '<span class="badge badge-paid">Paid</span>' in page
    assert '<span class="badge badge-outstanding">Outstanding</span>' in page
    overdue = get_page(portal, link_path(customer) + "/invoices?page=2")
    assert '<span class="badge badge-overdue">Overdue</span>' in overdue


def test_the_invoice_page_embeds_the_document_and_downloads_its_pdf(
    portal: TestClient, seed: Seed000
) -> None:
    page = get_page(portal, f"{seed.link}/invoices/{seed.sent_invoice_id}")
    assert '<article class="tally-document tally-invoice"' in page
    assert '<link rel="stylesheet" href="/portal/static/document.css">' in page
    assert seed.sent_invoice_number in text_of(page)
    pdf = portal.get(f"{seed.link}/invoices/{seed.sent_invoice_id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert f'filename="{seed.sent_invoice_number}.pdf"' in pdf.headers["content-disposition"]
    css = portal.get("/portal/static/document.css")
    assert css.status_code == 200 and ".tally-document" in css.text


# --- access, settings, escaping ---------------------------------------------------------------


def test_a_session_cookie_opens_the_same_pages(app: FastAPI, api: ApiClient, seed: Seed000) -> None:
    client = signed_in_client(app, api, seed.customer_id)
    for path in ("", "/invoices", "/usage", "/credits", f"/invoices/{seed.sent_invoice_id}"):
        page = get_page(client, "/portal/s" + path)
        assert 'href="/portal/s/usage"' in page
        assert seed.portal_key not in page  # a session never hands out the permanent link
    assert "250 verifications" in text_of(get_page(client, "/portal/s/credits"))
    pdf = client.get(f"/portal/s/invoices/{seed.sent_invoice_id}/pdf")
    assert pdf.status_code == 200
    assert seed.portal_key not in squeezed(pdf_text(pdf.content))
    # The permanent link's own PDF keeps its "View online" link.
    linked = portal_client(app).get(f"{seed.link}/invoices/{seed.sent_invoice_id}/pdf")
    assert seed.portal_key in squeezed(pdf_text(linked.content))


def test_tabs_follow_the_accounts_settings(
    portal: TestClient, api: ApiClient, seed: Seed000
) -> None:
    assert put_settings(api, tabs=["INVOICES", "CREDITS"]).status_code == 200
    overview = portal.get(seed.link)
    assert overview.status_code == 303
    assert overview.headers["location"] == seed.link + "/invoices"
    page = get_page(portal, seed.link + "/invoices")
    assert ">Usage</a>" not in page and ">Credits</a>" in page
    assert portal.get(seed.link + "/usage").status_code == 404


def test_brand_colour_logo_and_back_link(portal: TestClient, api: ApiClient, seed: Seed000) -> None:
    logo = "data:image/png;base64,iVBORw0KGgo="
    response = put_settings(
        api, brandColor="#aa3300", applicationUrl="https://app.acme.test/billing", logoUrl=logo
    )
    assert response.status_code == 200, response.text
    response = portal.get(seed.link)
    page = response.text
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"])
    assert nonce is not None
    assert f'<style nonce="{nonce.group(1)}">:root {{ --brand: #aa3300; }}</style>' in page
    assert f'<img class="brand-logo" src="{logo}" alt="AcmeLabs">' in page
    assert '<a class="back-to-app" href="https://app.acme.test/billing">' in page
    assert " style=" not in page  # the CSP refuses style attributes


def test_names_with_html_are_escaped(
    app: FastAPI, api: ApiClient, database: Database, account: Credentials, portal: TestClient
) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    ok(api.put(f"/api/sequence-accounts/{account.account_id}", json={"companyName": evil}))
    customer = new_customer(api, legalName=evil, address={
        "line1": evil, "town": "London", "postcode": "AB1 2EF", "country": "GB"})  # fmt: skip
    full = api_customer(api, customer["id"])
    invoice_id = sent_invoice(database, account.account_id, full, "INV-1")
    metric = created(
        api.post(
            "/api/usage-metrics",
            json={"name": evil, "metricType": "SIMPLE", "eventType": "evil",
                  "aggregationType": "COUNT", "unit": evil},
        )
    )  # fmt: skip
    send(api, event(customer["id"], f"{utc_today().isoformat()}T00:00:01Z", "evil"))
    _grant(database, account.account_id, customer["id"], evil, metric["id"])
    link = link_path(customer)
    for path in ("", "/invoices", f"/invoices/{invoice_id}", "/usage?range=7d", "/credits"):
        page = get_page(portal, link + path)
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert "&lt;script&gt;alert(" in page, path


def _grant(
    database: Database, account_id: str, customer_id: str, name: str, metric_id: str | None
) -> str:
    with database.transaction() as session:
        grant = CreditGrant(
            id=new_id(),
            account_id=account_id,
            customer_id=customer_id,
            name=name,
            credit_unit_type=CreditUnitType.METRIC if metric_id else CreditUnitType.CURRENCY,
            currency="GBP",
            metric_id=metric_id,
            amount=D(100),
            effective_date=utc_today() - timedelta(days=3),
            expiry_date=utc_today() + timedelta(days=90),
        )
        session.add(grant)
        session.flush()
        ledger.record(session, account_id, [ledger.grant_movement(grant)])
        return grant.id


# --- fixed number of queries -----------------------------------------------------------------


def statements(database: Database, client: TestClient, path: str) -> int:
    with counting_statements(database) as seen:
        get_page(client, path)
    return len(seen)


def test_pages_read_in_a_fixed_number_of_queries(
    portal: TestClient, api: ApiClient, database: Database, account: Credentials, seed: Seed000
) -> None:
    paths = [
        "",
        "/invoices",
        "/invoices?q=INV&status=outstanding&min=1",
        "/usage",
        "/usage?range=1d",
        "/credits",
        f"/invoices/{seed.sent_invoice_id}",
    ]
    before = {path: statements(database, portal, seed.link + path) for path in paths}
    # Much more of everything: invoices, grants with entries, events on more days, metrics.
    full = api_customer(api, seed.customer_id)
    for n in range(30):
        sent_invoice(database, account.account_id, full, f"INV-X{n:03d}")
    for n in range(4):
        _grant(database, account.account_id, seed.customer_id, f"Extra {n}", None)
    send(
        api,
        *(
            event("globex", f"{(utc_today() - timedelta(days=k % 25)).isoformat()}T03:00:00Z")
            for k in range(200)
        ),
    )
    storage = {"name": "Storage", "metricType": "SIMPLE", "eventType": "api_call",
               "aggregationType": "MAX", "aggregationProperty": "size"}  # fmt: skip
    created(api.post("/api/usage-metrics", json=storage))
    after = {path: statements(database, portal, seed.link + path) for path in paths}
    assert after == before
    assert max(after.values()) <= 20, after
