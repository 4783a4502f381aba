"""Invoice documents: real invoices in the real database, rendered to real PDFs, read back
with pypdf."""

import math
import re
from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from fastapi import FastAPI
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.documents import render
from tally.models import Customer, InvoiceStatus
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.documents.helpers import (
    DATA_LOGO,
    PNG_PIXEL,
    image_count,
    many_lines,
    pdf_pages,
    pdf_text,
)
from tests.factories import address, new_customer
from tests.invoices.helpers import (
    GroupSpec,
    LineSpec,
    counting_statements,
    gbp_lines,
    insert_invoice,
)
from tests.metering.helpers import event, send
from tests.support.api_client import ApiClient

D = Decimal


def invoice_pdf(app: FastAPI, account_id: str, invoice_id: str) -> bytes:
    with app.state.db.transaction() as session:
        return render.invoice_pdf(session, account_id, invoice_id, settings=app.state.settings)


def portal_secret(app: FastAPI, customer_id: str) -> str | None:
    with app.state.db.session() as session:
        return session.scalar(select(Customer.portal_secret).where(Customer.id == customer_id))


def squeezed(text: str) -> str:
    """Text without white space: pypdf breaks long words (a URL) across lines."""
    return re.sub(r"\s+", "", text)


def gbp(amount: str | Decimal) -> str:
    return format_currency(D(amount), "GBP", locale="en_GB")


def test_a_pdf_shows_merchant_customer_dates_lines_tax_totals_and_the_portal_link(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    merchant = {
        "companyName": "Acme Billing Ltd",
        "companyNumber": "01234567",
        "address": address(line1="1 Hills Road", line2=None, town="Cambridge", postcode="CB1 1AA"),
        "logoUrl": DATA_LOGO,
    }
    assert api.put(f"/api/sequence-accounts/{account.account_id}", json=merchant).status_code == 200
    customer = new_customer(api, "Example Ltd")
    invoice_id = insert_invoice(
        app.state.db,
        account.account_id,
        customer,
        status=InvoiceStatus.SENT,
        invoice_number="INV-0042",
        issue_date=date(2024, 6, 1),
        memo="Thank you for your business.",
    )

    pdf = invoice_pdf(app, account.account_id, invoice_id)

    pages = pdf_pages(pdf)
    assert len(pages) == 1
    text = pages[0]
    for expected in (
        # merchant and customer
        "Acme Billing Ltd", "Company number 01234567", "1 Hills Road", "Cambridge", "CB1 1AA",
        "Example Ltd", "Flat 1", "123 Fake Street", "London", "AB1 2EF", "United Kingdom",
        # number, dates, billing period, terms
        "INV-0042", "Issue date 1 Jun 2024", "Due date 1 Jul 2024",
        "Billing period 1 May 2024 \u2013 31 May 2024", "Payment terms: 30 days, due by 1 Jul 2024",
        # groups with their subtotals, lines with service periods and amounts
        "Platform £250.00", "Adjustments -£25.00", "Platform fee", "1 May 2024 \u2013 31 May 2024",
        "1 £100.00 20% £100.00", "API calls 12,000 £0.0125 20% £150.00", "10% off",
        "-£25.00",
        # tax by rate and totals
        "Tax 20% £225.00 £45.00", "Net total £225.00", "Tax £45.00", "Total £270.00",
        "Thank you for your business.", "Invoice INV-0042", "Page 1 of 1",
    ):  # fmt: skip
        assert expected in text, expected
    for line in gbp_lines():
        assert line.title in text
    assert "Draft" not in text
    secret = portal_secret(app, customer["id"])
    assert secret is not None and len(secret) == 43  # secrets.token_urlsafe(32)
    link = f"{app.state.settings.public_url}/portal/c/{secret}/invoices/{invoice_id}"
    assert link in squeezed(text)
    assert image_count(pdf) == 1  # the logo, from its data: URL


@pytest.mark.parametrize("count", [10, 26, 60, 100])
def test_one_page_per_25_lines_every_line_and_the_totals(
    app: FastAPI, api: ApiClient, account: Credentials, count: int
) -> None:
    """Pages: ceil(lines / 25), exactly, for these line counts. The first page gives ~21
    lines' room to the header, the following ones hold ~28 (their table header repeated),
    and the totals follow the last line; a page never holds more than 30 lines, and every
    page between the first and the last at least 20."""
    spec = many_lines(count)
    invoice_id = insert_invoice(
        app.state.db,
        account.account_id,
        new_customer(api),
        groups=spec.groups,
        lines=spec.lines,
        net_total=spec.net,
        total_tax=spec.tax,
        gross_total=spec.gross,
    )

    pages = pdf_pages(invoice_pdf(app, account.account_id, invoice_id))

    assert len(pages) == math.ceil(count / 25)
    per_page = [page.count("Metered feature") for page in pages]
    assert sum(per_page) == count
    assert all(lines <= 30 for lines in per_page), per_page
    assert all(lines >= 20 for lines in per_page[1:-1]), per_page
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "DESCRIPTION QUANTITY UNIT PRICE TAX AMOUNT" in page  # header on every page
    text = "\n".join(pages)
    for line in spec.lines:
        assert f"{line.title}\n" in text
        assert f"20% {gbp(line.net)}" in text, line.title
    for group in spec.groups:
        assert f"{group.title} {gbp(group.net)}" in text
    assert f"Net total {gbp(spec.net)}" in text
    assert f"Tax {gbp(spec.tax)}" in text
    assert f"Total {gbp(spec.gross)}" in text
    assert f"Tax 20% {gbp(spec.net)} {gbp(spec.tax)}" in text


def test_a_roll_up_invoice_shows_each_childs_name_and_share(api: ApiClient, app: FastAPI) -> None:
    """Billed for real: the parent's invoice names its children and their usage, and its tax
    summary names the tax rate ("VAT", its invoice short name)."""
    merchant = Merchant(api)
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    calls = merchant.price(linear(metric, pricePerUnit="2.00"), name="Calls")
    parent = merchant.customer("Group plc")
    merchant.customer("Child one", parentId=parent, customerAliases=["child-one"])
    second = merchant.customer("Child two", parentId=parent)
    send(api, *(event("child-one", "2024-01-09T10:00:00Z") for _ in range(60)))
    send(api, *(event(second, "2024-01-19T10:00:00Z") for _ in range(65)))
    schedule = merchant.schedule(parent, [calls], "2024-01-01", rollUpBilling=True)
    merchant.bill("2024-02-01")
    invoice = merchant.invoice_for(schedule["id"], "2024-01-01")
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]

    text = pdf_text(invoice_pdf(app, account_id, invoice["id"]))

    assert "Calls\n1 Jan 2024 \u2013 31 Jan 2024\n125 £2.00 20% £250.00" in text
    assert "Child one 60" in text
    assert "Child two 65" in text
    assert "VAT 20% £250.00 £50.00" in text
    assert "Total £300.00" in text
    assert "Draft" in text  # billed, not finalized: no number yet
    assert "Invoice Draft" in text  # the page footer


def test_a_jpy_invoice_shows_no_decimals(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    lines = [
        LineSpec(0, 0, "Platform fee", D(1), D(1500), D("0.1"), D(1500), D(150), D(1650)),
        LineSpec(1, 0, "Seats", D(3), D(500), D("0.1"), D(1500), D(150), D(1650)),
    ]
    invoice_id = insert_invoice(
        app.state.db,
        account.account_id,
        new_customer(api),
        groups=[GroupSpec(0, "Platform", D(3000), D(300), D(3300))],
        lines=lines,
        currency="JPY",
        net_total=D(3000),
        total_tax=D(300),
        gross_total=D(3300),
    )

    text = pdf_text(invoice_pdf(app, account.account_id, invoice_id))

    assert "Platform fee" in text and "Seats" in text
    assert "3 JP¥500 10% JP¥1,500" in text
    assert "Net total JP¥3,000" in text
    assert "Tax JP¥300" in text
    assert "Total JP¥3,300" in text
    assert re.findall(r"¥[\d,]+", text)
    assert not re.findall(r"¥[\d,]*\.\d", text), "JPY has no minor unit"


def test_drafts_read_draft_and_voided_invoices_void(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)
    draft = insert_invoice(app.state.db, account.account_id, customer)
    voided = insert_invoice(
        app.state.db,
        account.account_id,
        customer,
        status=InvoiceStatus.VOIDED,
        invoice_number="INV-0001",
        issue_date=date(2024, 6, 1),
    )

    running = insert_invoice(
        app.state.db, account.account_id, customer, status=InvoiceStatus.IN_PROGRESS
    )

    draft_text = pdf_text(invoice_pdf(app, account.account_id, draft))
    voided_text = pdf_text(invoice_pdf(app, account.account_id, voided))
    running_text = pdf_text(invoice_pdf(app, account.account_id, running))

    assert "Invoice\nDraft" in draft_text
    assert "Invoice date 1 Jun 2024" in draft_text  # not issued yet
    assert "INV-0001" in voided_text and "VOID" in voided_text
    assert "Draft" not in voided_text
    # A period still running is not a draft (issue 21: "In progress", never "Draft").
    assert "Invoice\nIn progress" in running_text
    assert "Draft" not in running_text


def test_reading_an_invoice_takes_the_same_queries_for_10_lines_as_for_100(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)

    def statements(count: int, shares: int) -> int:
        spec = many_lines(count, per_group=10)
        for line in spec.lines:
            line.breakdown = [{"customerId": customer["id"], "quantity": "1"}] * shares
        invoice_id = insert_invoice(
            app.state.db, account.account_id, customer, groups=spec.groups, lines=spec.lines
        )
        with counting_statements(app.state.db) as seen, app.state.db.transaction() as session:
            render.invoice_document(
                session, account.account_id, invoice_id, settings=app.state.settings
            )
        return len(seen)

    statements(1, 0)  # makes the customer's portal secret
    assert statements(10, 1) == statements(100, 3)
    # The render settings, the tax registrations and the customer's language each one more.
    assert statements(100, 3) <= 10


def test_the_html_body_is_a_fragment_the_portal_can_embed_and_escapes_what_it_prints(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api, "<script>alert(1)</script> & Co")
    invoice_id = insert_invoice(app.state.db, account.account_id, customer)
    with app.state.db.transaction() as session:
        document = render.invoice_document(
            session, account.account_id, invoice_id, settings=app.state.settings
        )
        page = render.invoice_html(
            session, account.account_id, invoice_id, settings=app.state.settings
        )

    body = render.document_body(document)
    assert body.startswith('<article class="tally-document tally-invoice"')
    assert body.rstrip().endswith("</article>")
    assert "<html" not in body and "@page" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in body
    assert "<script>" not in body
    assert ".tally-document" in render.document_css()
    assert "size: A4" in page and 'counter(page) " of " counter(pages)' in page
    assert body in page


def test_rendering_never_fetches_from_the_network(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    """A logo on a web server is left out of the PDF rather than fetched (the address would
    not answer: port 9 on this machine); the document renders all the same."""
    logo = {"logoUrl": "http://127.0.0.1:9/logo.png"}
    assert api.put(f"/api/sequence-accounts/{account.account_id}", json=logo).status_code == 200
    invoice_id = insert_invoice(app.state.db, account.account_id, new_customer(api))

    pdf = invoice_pdf(app, account.account_id, invoice_id)

    assert image_count(pdf) == 0
    assert "Total £270.00" in pdf_text(pdf)


def test_a_logo_file_in_the_data_directorys_assets_is_drawn(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    assets = app.state.settings.data_dir / "assets"
    assets.mkdir(exist_ok=True)
    path = assets / f"logo-{account.account_id}.png"
    path.write_bytes(PNG_PIXEL)
    logo = {"logoUrl": path.resolve().as_uri()}
    assert api.put(f"/api/sequence-accounts/{account.account_id}", json=logo).status_code == 200
    invoice_id = insert_invoice(app.state.db, account.account_id, new_customer(api))

    assert image_count(invoice_pdf(app, account.account_id, invoice_id)) == 1
