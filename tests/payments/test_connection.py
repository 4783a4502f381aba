"""Connecting Stripe: keys stored encrypted, never answered, refused without a key to
encrypt them, and a running localstripe reached with them."""

from decimal import Decimal

from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import PaymentProviderConnection, PaymentProviderName
from tally.payments import connections
from tally.settings import Settings
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

KEYS = {
    "secretKey": "sk_test_tally_0123456789",
    "webhookSecret": "whsec_tally_abcdef",
    "publishableKey": "pk_test_tally_0123",
}


def test_keys_are_stored_encrypted_and_never_answered(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    assert api.get("/api/payment-providers/stripe").json()["connected"] is False
    answer = api.put("/api/payment-providers/stripe", json=KEYS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["connected"] is True
    assert body["secretKeyHint"] == "6789"
    assert body["webhookUrl"].endswith(f"/webhooks/stripe/{account.account_id}")
    assert "sk_test_tally_0123456789" not in answer.text
    assert "whsec_tally_abcdef" not in api.get("/api/payment-providers/stripe").text
    with database.transaction() as session:
        row = session.scalars(
            select(PaymentProviderConnection).where(
                PaymentProviderConnection.account_id == account.account_id
            )
        ).one()
        assert "sk_test" not in row.secret_key_encrypted
        assert "whsec" not in (row.webhook_secret_encrypted or "")
    log = api.get("/api/activity-logs").json()["items"]
    summaries = [item["summary"] for entry in log for item in entry["activityLogItems"]]
    assert "Connected Stripe (secret key ending 6789)" in summaries


def test_unknown_fields_and_malformed_keys_are_refused(api: ApiClient) -> None:
    answer = api.put("/api/payment-providers/stripe", json={**KEYS, "secret": "x"})
    assert answer.status_code == 400 and "secret" in answer.text
    answer = api.put("/api/payment-providers/stripe", json={**KEYS, "secretKey": "pk_live_nope"})
    assert answer.status_code == 400
    assert api.get("/api/payment-providers/stripe").json()["connected"] is False


def test_disconnect_wipes_the_keys(api: ApiClient, other_api: ApiClient) -> None:
    api.put("/api/payment-providers/stripe", json=KEYS).raise_for_status()
    assert other_api.get("/api/payment-providers/stripe").json()["connected"] is False
    assert api.delete("/api/payment-providers/stripe").json()["connected"] is False
    assert api.delete("/api/payment-providers/stripe").status_code == 400


def test_the_stored_keys_reach_stripe(
    api: ApiClient,
    account: Credentials,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
) -> None:
    api.put("/api/payment-providers/stripe", json=KEYS).raise_for_status()
    with database.transaction() as session:
        stripe = connections.provider_for(session, settings, account.account_id)
    customer = stripe.ensure_customer(None, customer_id="c1", name="Acme", email="a@acme.test")
    payment = stripe.create_payment(
        amount=Decimal("12.34"),
        currency="GBP",
        provider_customer_id=customer,
        idempotency_key="test-1",
        metadata={"invoice_id": "i1"},
        off_session=False,
    )
    assert payment.amount == Decimal("12.34") and payment.currency == "GBP"
    assert payment.client_secret
    assert stripe.retrieve_payment(payment.id).id == payment.id
    assert stripe.name is PaymentProviderName.STRIPE
