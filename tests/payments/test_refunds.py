"""Refunds: more than is left to refund is refused; a credit note documents each refund
and is applied to the invoice; a Stripe payment is refunded at Stripe (the real localstripe);
without Stripe connected nothing changes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import stripe

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import PaymentAttempt, PaymentProviderName
from tally.payments import attempts, connections, provider_refunds, queries, refunds
from tally.settings import Settings
from tests.payments.helpers import error, invoice, new_customer, owed_invoice, pay, refund
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

KEYS = {"secretKey": "sk_test_refunds_0123456789", "webhookSecret": "whsec_refunds_abcdef"}


def _note(api: ApiClient, note_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/credit-notes/{note_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_refund_is_documented_by_a_credit_note_applied_to_the_invoice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = owed_invoice(
        api, database, account.account_id, customer, gross="120.00", net="100.00"
    )
    payment = pay(api, invoice_id, "120.00", reference="BACS 9")

    done = refund(api, payment["id"], "30.00", reason="Damaged goods")
    assert done["payment"]["refundedAmount"] == "30.00" and "providerRefundId" not in done
    note = _note(api, done["creditNoteId"])
    assert (note["status"], note["invoiceId"], note["customerId"]) == (
        "FINAL",
        invoice_id,
        customer["id"],
    )
    # The invoice's tax share (20 of 120) of the refund, and nothing left to apply.
    assert (note["grossTotal"], note["netTotal"], note["totalTax"]) == ("30.00", "25.00", "5.00")
    assert note["creditNoteNumber"] and note["memo"] == "Damaged goods"
    assert note["balance"] == "0.00"
    paid = invoice(api, invoice_id)
    assert (paid["balance"], paid["paymentStatus"]) == ("0.00", "PAID")
    assert [a["amount"] for a in paid["paymentAllocations"]] == ["90.00"]

    too_much = api.post(f"/api/payments/{payment['id']}/refund", json={"amount": "90.01"})
    assert error(too_much)["type"] == "BalanceExceeded"
    rest = refund(api, payment["id"], "90.00")
    last = _note(api, rest["creditNoteId"])
    # Apportioned on everything credited: 100 net of 120 in all, to the cent.
    assert (last["grossTotal"], last["netTotal"], last["totalTax"]) == ("90.00", "75.00", "15.00")
    assert api.get(f"/api/payments/{payment['id']}").json()["refundedAmount"] == "120.00"
    assert invoice(api, invoice_id)["paymentAllocations"][0]["amount"] == "0.00"
    assert (
        error(api.post(f"/api/payments/{payment['id']}/refund", json={"amount": "0.01"}))["type"]
        == "BalanceExceeded"
    )

    balance = api.get(f"/api/customers/{customer['id']}/balance").json()["balances"]
    assert balance == [
        {
            "currency": "GBP",
            "outstanding": "0.00",
            "overdue": "0.00",
            "unappliedCredit": "0.00",
            "paymentsReceived": "120.00",
            "refunded": "120.00",
        }
    ]
    log = api.get("/api/activity-logs", params={"limit": 100}).json()["items"]
    items = [entry["activityLogItems"][0] for entry in log]
    refunded = [i for i in items if i["verb"] == "PAYMENT_REFUNDED"]
    assert len(refunded) == 2
    assert f"documented by credit note {note['creditNoteNumber']}" in refunded[-1]["summary"]
    issued = [i for i in items if i["verb"] == "ISSUED"]
    assert {i["activityLogObject"]["id"] for i in issued} == {note["id"], last["id"]}


def test_a_partly_paid_invoice_keeps_what_it_owed(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = owed_invoice(api, database, account.account_id, gross="100.00")
    payment = pay(api, invoice_id, "40.00")
    refund(api, payment["id"], "10.00")
    after = invoice(api, invoice_id)
    assert (after["balance"], after["paymentStatus"]) == ("60.00", "PARTIALLY_PAID")


def test_bad_refunds_are_refused(api: ApiClient, database: Database, account: Credentials) -> None:
    invoice_id = owed_invoice(api, database, account.account_id)
    payment = pay(api, invoice_id, "10.00")
    url = f"/api/payments/{payment['id']}/refund"
    for body, named in [
        ({"amount": "1.00", "why": "x"}, "why"),
        ({"amount": "0.001"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"reason": "no amount"}, "amount"),
    ]:
        assert named in error(api.post(url, json=body))["message"], body
    assert error(api.post("/api/payments/nope/refund", json={"amount": "1.00"}), 404)
    assert api.get(f"/api/payments/{payment['id']}").json()["refundedAmount"] == "0.00"


def _stripe_payment(
    api: ApiClient,
    database: Database,
    settings: Settings,
    account_id: str,
    localstripe: LocalStripe,
    invoice_id: str,
) -> str:
    """Collect the invoice's amount due with a saved 4242 card, as automatic collection does:
    the attempt claimed, the PaymentIntent made, what Stripe says applied. The intent's id."""
    api.put("/api/payment-providers/stripe", json=KEYS).raise_for_status()
    with database.transaction() as session:
        provider = connections.provider_for(session, settings, account_id)
    customer = provider.ensure_customer(None, customer_id=invoice_id, name="Acme", email=None)
    client = stripe.StripeClient(KEYS["secretKey"], base_addresses={"api": localstripe.url})
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"}
    method = client.v1.payment_methods.create(params={"type": "card", "card": card})
    client.v1.payment_methods.attach(method.id, params={"customer": customer})
    with database.transaction() as session:
        attempt, new = attempts.claim(
            session, account_id, invoice_id, provider=PaymentProviderName.STRIPE, off_session=True
        )
        assert new
        attempt_id, key, amount = attempt.id, attempt.idempotency_key, attempt.amount
    paid = provider.create_payment(
        amount=amount,
        currency="GBP",
        provider_customer_id=customer,
        idempotency_key=key,
        metadata={"tally_invoice_id": invoice_id},
        off_session=True,
        payment_method_id=method.id,
    )
    with database.transaction() as session:
        claimed = session.get(PaymentAttempt, attempt_id)
        assert claimed is not None and claimed.account_id == account_id
        attempts.apply(session, account_id, claimed, paid)
    return paid.id


def test_a_stripe_payment_is_refunded_at_stripe(
    api: ApiClient,
    database: Database,
    account: Credentials,
    settings: Settings,
    localstripe: LocalStripe,
) -> None:
    invoice_id = owed_invoice(api, database, account.account_id, gross="50.00")
    intent = _stripe_payment(api, database, settings, account.account_id, localstripe, invoice_id)
    paid = invoice(api, invoice_id)
    assert paid["paymentStatus"] == "PAID"
    assert paid["integrationPaymentStatuses"] == {"stripe": "PAID"}
    [allocation] = paid["paymentAllocations"]
    assert (allocation["origin"], allocation["amount"]) == ("STRIPE", "50.00")
    payment = api.get(f"/api/payments/{allocation['paymentId']}").json()
    assert (payment["origin"], payment["providerPaymentId"]) == ("STRIPE", intent)
    assert "method" not in payment

    done = refund(api, payment["id"], "12.34", reason="Goodwill")
    client = stripe.StripeClient(KEYS["secretKey"], base_addresses={"api": localstripe.url})
    at_stripe = client.v1.refunds.list(params={"payment_intent": intent}).data
    assert [(r.id, r.amount, r.currency) for r in at_stripe] == [
        (done["providerRefundId"], 1234, "gbp")
    ]
    assert _note(api, done["creditNoteId"])["grossTotal"] == "12.34"
    assert invoice(api, invoice_id)["integrationPaymentStatuses"] == {"stripe": "PAID"}

    # A retried request (its Idempotency-Key) is answered as the first was: no second refund.
    retry = {"Idempotency-Key": "refund-rest-once"}
    url = f"/api/payments/{payment['id']}/refund"
    first = api.post(url, json={"amount": "37.66"}, headers=retry)
    again = api.post(url, json={"amount": "37.66"}, headers=retry)
    assert first.status_code == again.status_code == 200, again.text
    rest = first.json()
    assert again.json() == rest
    amounts = sorted(r.amount for r in client.v1.refunds.list(params={"payment_intent": intent}))
    assert amounts == [1234, 3766] and rest["providerRefundId"]
    assert invoice(api, invoice_id)["integrationPaymentStatuses"] == {"stripe": "REFUNDED"}
    with database.transaction() as session:
        provider = connections.provider_for(session, settings, account.account_id)
    assert provider.retrieve_payment(intent).amount_refunded == Decimal("50.00")
    # Stripe's webhooks about the refunds Tally asked for find them known: nothing twice.
    balance = invoice(api, invoice_id)["balance"]
    for reported in provider.refunds_of(intent):
        with database.transaction() as session:
            known = provider_refunds.record_provider_refund(
                session, account.account_id, payment["id"], reported
            )
        assert known is None
    assert invoice(api, invoice_id)["balance"] == balance


def test_the_provider_key_changes_only_with_what_was_refunded_before(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = owed_invoice(api, database, account.account_id)
    payment_id = pay(api, invoice_id, "10.00")["id"]
    with database.transaction() as session:
        payment = queries.get_payment(session, account.account_id, payment_id)
        first = refunds.idempotency_key(account.account_id, payment, Decimal("0"))
        assert first == refunds.idempotency_key(account.account_id, payment, Decimal("0.00"))
        after = refunds.idempotency_key(account.account_id, payment, Decimal("2.50"))
    assert first != after and payment_id in first and after.endswith("-250")


def test_without_stripe_connected_a_stripe_refund_changes_nothing(
    api: ApiClient,
    database: Database,
    account: Credentials,
    settings: Settings,
    localstripe: LocalStripe,
) -> None:
    customer = new_customer(api)
    invoice_id = owed_invoice(api, database, account.account_id, customer, gross="20.00")
    intent = _stripe_payment(api, database, settings, account.account_id, localstripe, invoice_id)
    payment_id = invoice(api, invoice_id)["paymentAllocations"][0]["paymentId"]
    api.delete("/api/payment-providers/stripe").raise_for_status()
    refused = api.post(f"/api/payments/{payment_id}/refund", json={"amount": "5.00"})
    assert error(refused)["type"] == "ProviderNotConnected"
    assert api.get(f"/api/payments/{payment_id}").json()["refundedAmount"] == "0.00"
    notes = api.get("/api/credit-notes", params={"customerId": customer["id"]}).json()
    assert notes["items"] == []
    client = stripe.StripeClient(KEYS["secretKey"], base_addresses={"api": localstripe.url})
    assert client.v1.refunds.list(params={"payment_intent": intent}).data == []
