"""Paying an invoice from the portal (`payments/checkout.py`, `portal/payments.py`) against a
real localstripe: the browser's Stripe.js calls are made as localstripe-v3.js makes them
(`pay_support`), Tally's as the portal's script (`static/pay.js`) makes them. Also: the
portal's CSP on pages with and without a Pay form, and the payment link in invoice PDFs and
emails."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.documents import render
from tally.exceptions import TallyError
from tally.models import AttemptStatus, InvoiceStatus, Payment, PaymentAttempt, ProviderCustomer
from tally.notifications.outbox import send_due
from tally.payments import checkout, connections
from tally.portal.security import STRIPE, content_security_policy, payment_sources
from tally.portal.settings import PortalSettingsView
from tally.settings import Settings
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.invoices.states import ok
from tests.notifications.email_support import parts, queue_invoice_email, sent_invoice
from tests.portal.helpers import portal_client, signed_in_client
from tests.portal.pay_support import (
    CARD_3DS,
    CARD_DECLINED_WHEN_CHARGED,
    CARD_OK,
    Owed,
    authenticate,
    confirm_setup,
    connect_stripe,
    intents_of,
    owed_invoice,
)
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

pytestmark = pytest.mark.usefixtures("localstripe")
PUBLIC = "https://billing.example.com"


def _start(portal: TestClient, owed: Owed) -> dict[str, Any]:
    answer = portal.post(f"{owed.pay}/start", json={})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _pay(portal: TestClient, owed: Owed, setup_id: str, save: bool = False) -> httpx.Response:
    return portal.post(owed.pay, json={"setupId": setup_id, "saveCard": save})


def _card_set_up(portal: TestClient, owed: Owed, stripe: LocalStripe, number: str) -> str:
    return confirm_setup(stripe, _start(portal, owed)["clientSecret"], number)


def _payments(database: Database, account_id: str, invoice_id: str) -> list[Payment]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(Payment).where(
                    Payment.account_id == account_id, Payment.invoice_id == invoice_id
                )
            )
        )


def _attempts(database: Database, account_id: str, invoice_id: str) -> list[PaymentAttempt]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(PaymentAttempt)
                .where(
                    PaymentAttempt.account_id == account_id,
                    PaymentAttempt.invoice_id == invoice_id,
                )
                .order_by(PaymentAttempt.number)
            )
        )


def _stored_customer(database: Database, account_id: str, customer_id: str) -> ProviderCustomer:
    with database.transaction() as session:
        row = session.scalars(
            select(ProviderCustomer).where(
                ProviderCustomer.account_id == account_id,
                ProviderCustomer.customer_id == customer_id,
            )
        ).one()
        return row


def _stripe(app: FastAPI, account_id: str) -> Any:
    with app.state.db.transaction() as session:
        return connections.provider_for(session, app.state.settings, account_id)


# --- paying ------------------------------------------------------------------------------------


def test_a_card_pays_the_invoice_once_and_is_kept_when_asked(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    started = _start(portal, owed)
    assert started["publishableKey"] == "pk_test_tally_portal"
    assert (started["amountDue"], started["currency"]) == ("270.00", "GBP")
    setup_id = confirm_setup(localstripe, started["clientSecret"], CARD_OK)

    paid = _pay(portal, owed, setup_id, save=True)
    assert paid.status_code == 200, paid.text
    outcome = paid.json()
    assert outcome["status"] == "SUCCEEDED" and outcome["paymentStatus"] == "PAID"
    assert outcome["amountDue"] == "0.00" and "clientSecret" not in outcome
    invoice = ok(api.get(f"/api/invoices/{owed.invoice_id}"))
    assert invoice["paymentStatus"] == "PAID"

    # The posted retry (a double click, a lost answer) charges nothing more.
    again = _pay(portal, owed, setup_id, save=True)
    assert again.status_code == 400 and again.json()["error"]["type"] == "InvalidStateTransition"
    assert portal.post(f"{owed.pay}/start", json={}).status_code == 400

    payments = _payments(app.state.db, account.account_id, owed.invoice_id)
    assert [(p.amount, p.origin.value, p.provider_payment_id) for p in payments] == [
        (Decimal("270.00"), "STRIPE", outcome["paymentId"])
    ]
    [attempt] = _attempts(app.state.db, account.account_id, owed.invoice_id)
    assert attempt.status is AttemptStatus.SUCCEEDED and attempt.off_session is False
    assert attempt.provider_payment_id == outcome["paymentId"]
    stored = _stored_customer(app.state.db, account.account_id, owed.customer["id"])
    stripe = _stripe(app, account.account_id)
    charged = intents_of(localstripe, owed.invoice_id)
    assert [(i["id"], i["amount"], i["currency"], i["status"]) for i in charged] == [
        (outcome["paymentId"], 27000, "gbp", "succeeded")
    ]
    assert charged[0]["customer"] == stored.provider_customer_id
    # Kept as the default automatic collection charges.
    [method] = stripe.saved_methods(stored.provider_customer_id)
    assert stored.default_payment_method_id == method.id and method.last4 == "4242"
    # The payment is in the invoice's activity log.
    log = api.get("/api/activity-logs").json()["items"]
    summaries = [item["summary"] for entry in log for item in entry["activityLogItems"]]
    assert any(s.startswith("270.00 GBP received (Stripe") for s in summaries), summaries


def test_a_card_not_kept_is_detached_after_paying(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    setup_id = _card_set_up(portal, owed, localstripe, CARD_OK)
    assert ok(_pay(portal, owed, setup_id, save=False))["status"] == "SUCCEEDED"
    stored = _stored_customer(app.state.db, account.account_id, owed.customer["id"])
    assert stored.default_payment_method_id is None
    assert _stripe(app, account.account_id).saved_methods(stored.provider_customer_id) == []


def test_a_declined_charge_leaves_the_invoice_unpaid_and_another_card_pays(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    setup_id = _card_set_up(portal, owed, localstripe, CARD_DECLINED_WHEN_CHARGED)
    declined = ok(_pay(portal, owed, setup_id, save=True))
    assert declined["status"] == "FAILED" and declined["paymentStatus"] == "UNPAID"
    assert "declined" in declined["message"].lower()
    assert declined["amountDue"] == "270.00"
    assert ok(api.get(f"/api/invoices/{owed.invoice_id}"))["paymentStatus"] == "UNPAID"
    assert _payments(app.state.db, account.account_id, owed.invoice_id) == []
    # A declined card is never kept, even when the customer asked.
    stored = _stored_customer(app.state.db, account.account_id, owed.customer["id"])
    assert stored.default_payment_method_id is None
    assert _stripe(app, account.account_id).saved_methods(stored.provider_customer_id) == []

    # The customer tries another card: a new attempt (a new idempotency key), and it pays.
    setup_id = _card_set_up(portal, owed, localstripe, CARD_OK)
    assert ok(_pay(portal, owed, setup_id))["paymentStatus"] == "PAID"
    first, second = _attempts(app.state.db, account.account_id, owed.invoice_id)
    assert (first.status, second.status) == (AttemptStatus.FAILED, AttemptStatus.SUCCEEDED)
    assert first.idempotency_key != second.idempotency_key
    assert len(_payments(app.state.db, account.account_id, owed.invoice_id)) == 1


def test_3d_secure_is_completed_in_the_browser_then_read_back(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    setup_id = _card_set_up(portal, owed, localstripe, CARD_3DS)
    needs = ok(_pay(portal, owed, setup_id, save=True))
    assert needs["status"] == "REQUIRES_ACTION" and needs["paymentStatus"] == "UNPAID"
    assert needs["clientSecret"].startswith(needs["paymentId"] + "_secret_")

    # A retried post while the customer authenticates: the same PaymentIntent, not another.
    retried = ok(_pay(portal, owed, setup_id, save=True))
    assert retried["paymentId"] == needs["paymentId"]
    assert len(_attempts(app.state.db, account.account_id, owed.invoice_id)) == 1

    authenticate(localstripe, needs["clientSecret"])
    finished = ok(
        portal.post(f"{owed.pay}/finish", json={"paymentId": needs["paymentId"], "saveCard": True})
    )
    assert finished["status"] == "SUCCEEDED" and finished["paymentStatus"] == "PAID"
    assert ok(api.get(f"/api/invoices/{owed.invoice_id}"))["paymentStatus"] == "PAID"
    # Finishing twice records nothing twice.
    ok(portal.post(f"{owed.pay}/finish", json={"paymentId": needs["paymentId"]}))
    assert len(_payments(app.state.db, account.account_id, owed.invoice_id)) == 1
    stored = _stored_customer(app.state.db, account.account_id, owed.customer["id"])
    assert stored.default_payment_method_id is not None


def test_failed_3d_secure_leaves_the_invoice_unpaid(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    setup_id = _card_set_up(portal, owed, localstripe, CARD_3DS)
    needs = ok(_pay(portal, owed, setup_id))
    authenticate(localstripe, needs["clientSecret"], success=False)
    failed = ok(portal.post(f"{owed.pay}/finish", json={"paymentId": needs["paymentId"]}))
    assert failed["status"] == "FAILED" and failed["paymentStatus"] == "UNPAID"
    assert "authentication" in failed["message"].lower()
    assert _payments(app.state.db, account.account_id, owed.invoice_id) == []


def test_the_session_cookie_pays_too(
    app: FastAPI, api: ApiClient, account: Credentials, localstripe: LocalStripe
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    browser = signed_in_client(app, api, owed.customer["id"])
    path = f"/portal/s/invoices/{owed.invoice_id}/pay"
    page = browser.get(f"/portal/s/invoices/{owed.invoice_id}")
    assert f'data-pay="{path}"' in page.text
    secret = ok(browser.post(f"{path}/start", json={}))["clientSecret"]
    setup_id = confirm_setup(localstripe, secret, CARD_OK)
    assert ok(browser.post(path, json={"setupId": setup_id}))["paymentStatus"] == "PAID"


def test_concurrent_posts_charge_once(
    app: FastAPI, api: ApiClient, account: Credentials, portal: TestClient, localstripe: LocalStripe
) -> None:
    """Two posts of the same setup at once (two tabs, a double submit): one attempt, one
    PaymentIntent, one payment. localstripe ignores idempotency keys, so this holds by Tally's
    own claim, not by Stripe's."""
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    setup_id = _card_set_up(portal, owed, localstripe, CARD_OK)
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def post() -> None:
        barrier.wait()
        with portal_client(app) as client:
            answers.append(_pay(client, owed, setup_id).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers)[0] == 200 and sorted(answers)[1] in (200, 400), answers
    assert len(_payments(app.state.db, account.account_id, owed.invoice_id)) == 1
    assert len(_attempts(app.state.db, account.account_id, owed.invoice_id)) == 1
    assert len(intents_of(localstripe, owed.invoice_id)) == 1
    assert ok(api.get(f"/api/invoices/{owed.invoice_id}"))["paymentStatus"] == "PAID"


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cents=st.integers(min_value=50, max_value=10_000_000))
def test_what_stripe_charges_is_the_amount_due(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
    cents: int,
) -> None:
    """The PaymentIntent's amount (minor units at Stripe) and the payment Tally records are
    the invoice's amount due, to the penny, whatever it is."""
    connect_stripe(api)
    customer = new_customer(api, "Exact Payer")
    amount = Decimal(cents) / 100
    invoice_id = insert_invoice(
        app.state.db, account.account_id, customer, status=InvoiceStatus.SENT, balance=amount,
        gross_total=amount, issue_date=date(2024, 6, 1),
    )  # fmt: skip
    owed = Owed(customer, invoice_id, "/portal/c/" + customer["portalUrl"].rsplit("/", 1)[-1])
    setup_id = _card_set_up(portal, owed, localstripe, CARD_OK)
    outcome = ok(_pay(portal, owed, setup_id))
    assert outcome["paymentStatus"] == "PAID"
    [payment] = _payments(app.state.db, account.account_id, invoice_id)
    assert payment.amount == amount
    charged = _stripe(app, account.account_id).retrieve_payment(outcome["paymentId"])
    assert charged.amount == amount  # localstripe leaves amount_received out


# --- refusals ----------------------------------------------------------------------------------


def test_without_stripe_there_is_no_pay_form_and_no_payment(
    app: FastAPI, api: ApiClient, account: Credentials, portal: TestClient
) -> None:
    owed = owed_invoice(app, api, account)
    page = portal.get(owed.page)
    assert page.status_code == 200 and 'id="pay"' not in page.text
    assert "js.stripe.com" not in page.text
    assert "frame-src" not in page.headers["content-security-policy"]
    refused = portal.post(f"{owed.pay}/start", json={})
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "ProviderNotConnected"
    # Connected without the publishable key Stripe.js needs: still no form.
    connect_stripe(api, publishableKey=None)
    assert 'id="pay"' not in portal.get(owed.page).text
    assert portal.post(f"{owed.pay}/start", json={}).status_code == 400


def test_bad_posts_are_refused_and_change_nothing(
    app: FastAPI,
    api: ApiClient,
    account: Credentials,
    portal: TestClient,
    localstripe: LocalStripe,
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    other = owed_invoice(app, api, account, "Someone Else")
    unknown = portal.post(owed.pay, json={"setupId": "seti_x", "card": "4242"})
    assert unknown.status_code == 400 and "card" in unknown.json()["error"]["message"]
    assert portal.post(owed.pay, json={}).status_code == 400  # setupId missing
    # A setup that is no confirmed setup of this customer (another customer's card).
    foreign_setup = _card_set_up(portal, other, localstripe, CARD_OK)
    _start(portal, owed)
    refused = _pay(portal, owed, foreign_setup)
    assert refused.status_code == 400 and "setupId" in refused.json()["error"]["message"]
    # Another customer's invoice through this customer's link: not found.
    crossed = portal.post(f"{owed.link}/invoices/{other.invoice_id}/pay/start", json={})
    assert crossed.status_code == 404
    # A payment id of no attempt of this invoice.
    finish = portal.post(f"{owed.pay}/finish", json={"paymentId": "pi_unknown"})
    assert finish.status_code == 400
    # Cross-site: another origin, another site's fetch, a form post.
    for headers in (
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = portal.post(f"{owed.pay}/start", json={}, headers=headers)
        assert answer.status_code == 403, headers
        assert answer.json()["error"]["type"] == "CrossSiteRequest"
    form = portal.post(f"{owed.pay}/start", data={"a": "b"})
    assert form.status_code == 403 and form.json()["error"]["type"] == "CrossSiteRequest"
    same = portal.post(f"{owed.pay}/start", json={}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    assert _attempts(app.state.db, account.account_id, owed.invoice_id) == []
    assert ok(api.get(f"/api/invoices/{owed.invoice_id}"))["paymentStatus"] == "UNPAID"


def test_an_archived_customers_portal_takes_no_payment(
    app: FastAPI, api: ApiClient, account: Credentials, portal: TestClient
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    ok(api.post(f"/api/customers/{owed.customer['id']}/archive"))
    page = portal.get(owed.page)
    assert page.status_code == 200 and 'id="pay"' not in page.text
    assert portal.post(f"{owed.pay}/start", json={}).status_code == 404


def test_the_service_refuses_a_paid_invoice(
    app: FastAPI, api: ApiClient, account: Credentials, settings: Settings
) -> None:
    connect_stripe(api)
    customer = new_customer(api, "Paid Already")
    invoice_id = insert_invoice(app.state.db, account.account_id, customer)
    with pytest.raises(TallyError) as refused:
        checkout.start(app.state.db, settings, account.account_id, customer["id"], invoice_id)
    assert refused.value.error_type == "InvalidStateTransition"


# --- the CSP -----------------------------------------------------------------------------------


def test_only_a_page_with_a_pay_form_admits_stripe(
    app: FastAPI, api: ApiClient, account: Credentials, portal: TestClient, settings: Settings
) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    page = portal.get(owed.page)
    nonce = page.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    stripe = settings.stripe_js_url.removesuffix("/js.stripe.com/v3/")
    assert page.headers["content-security-policy"] == (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}' {stripe}; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; frame-src {stripe}; "
        f"connect-src 'self' {stripe}; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert f'<script src="{settings.stripe_js_url}" defer></script>' in page.text
    # Served again from the page cache: the same admission.
    assert portal.get(owed.page).headers["content-security-policy"].count(stripe) == 3
    # Pages without a form: the list (its Pay links lead to the invoice), the overview.
    for path in (owed.link + "/invoices", owed.link):
        policy = portal.get(path).headers["content-security-policy"]
        assert stripe not in policy and "frame-src" not in policy, path
    assert f'href="{owed.page}#pay"' in portal.get(owed.link + "/invoices").text


def test_real_stripe_gets_its_documented_origins_only() -> None:
    sources = payment_sources("https://js.stripe.com/v3/")
    assert sources is STRIPE
    policy = content_security_policy(PortalSettingsView(), "n0nce", sources)
    assert policy == (
        "default-src 'self'; "
        "script-src 'self' 'nonce-n0nce' https://js.stripe.com https://*.js.stripe.com; "
        "style-src 'self' 'nonce-n0nce'; img-src 'self' data:; "
        "frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com; "
        "connect-src 'self' https://api.stripe.com; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert payment_sources("javascript:alert(1)") is None
    assert payment_sources("http://127.0.0.1:9/js.stripe.com/v3/") is not None


# --- the payment link in the PDF and the email ---------------------------------------------------


def _pdf(app: FastAPI, account_id: str, invoice_id: str) -> str:
    with app.state.db.transaction() as session:
        document = render.invoice_pdf(session, account_id, invoice_id, settings=app.state.settings)
    return "".join(pdf_text(document).split())


def _email(database: Database, account_id: str, invoice_id: str, tmp_path: Path) -> str:
    """The invoice's email as the sender delivers it now (to the outbox folder): its text and
    HTML bodies."""
    folder = Settings(
        data_dir=tmp_path, database_url=database.url, billing_scheduler=False, public_url=PUBLIC
    )
    message_id = queue_invoice_email(database, account_id, invoice_id, PUBLIC)
    assert send_due(database, folder, account_id=account_id).delivered == [message_id]
    [path] = (tmp_path / "outbox").glob(f"*-{message_id}.eml")
    with path.open("rb") as file:
        message = BytesParser(policy=policy.default).parse(file)
    assert isinstance(message, MimeMessage)
    text, html, _ = parts(message)
    return text + html


def test_the_pdf_and_the_email_carry_the_pay_link_as_the_render_settings_say(
    app: FastAPI, api: ApiClient, account: Credentials, database: Database, tmp_path: Path
) -> None:
    invoice_id, customer = sent_invoice(database, api, account.account_id)
    key = customer["portalUrl"].rsplit("/", 1)[-1]
    pay_link = f"{PUBLIC}/portal/c/{key}/invoices/{invoice_id}#pay"
    # Stripe not connected: no payment link, the invoice's page link as before.
    assert "Payonline" not in _pdf(app, account.account_id, invoice_id)
    email = _email(database, account.account_id, invoice_id, tmp_path / "1")
    assert "#pay" not in email and "Pay now" not in email
    assert f"/invoices/{invoice_id}" in email

    connect_stripe(api)
    pdf = _pdf(app, account.account_id, invoice_id)
    assert "Payonlinebycard:" in pdf
    assert f"/portal/c/{key}/invoices/{invoice_id}#pay" in pdf
    email = _email(database, account.account_id, invoice_id, tmp_path / "2")
    assert f"Pay it online by card:\n{pay_link}" in email
    assert f'href="{pay_link}"' in email and "Pay now" in email

    settings_id = ok(api.get("/api/invoices/render-settings"))["id"]
    hide = {"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}
    ok(api.put(f"/api/invoices/render-settings/{settings_id}", json=hide))
    assert "#pay" not in _pdf(app, account.account_id, invoice_id)
    email = _email(database, account.account_id, invoice_id, tmp_path / "3")
    assert "#pay" not in email and "Pay now" not in email


def test_an_invoice_with_nothing_due_carries_no_pay_link(
    app: FastAPI, api: ApiClient, account: Credentials, database: Database, tmp_path: Path
) -> None:
    connect_stripe(api)
    invoice_id, _ = sent_invoice(database, api, account.account_id, balance=0)
    assert "#pay" not in _pdf(app, account.account_id, invoice_id)
    assert "Payonline" not in _pdf(app, account.account_id, invoice_id)
    email = _email(database, account.account_id, invoice_id, tmp_path)
    assert "#pay" not in email and "Pay now" not in email
