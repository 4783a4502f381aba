"""Stripe webhooks: verified with the account's signing secret, each event applied once by its
id, out of order safe (the payment's current state is asked of Stripe, never read from the
event), other accounts' payments ignored.

localstripe (a real process) delivers its own events to the app served over HTTP; what it never
sends (refund events, payment_intent.canceled / processing / requires_action) is tested with
Stripe-shaped events the test signs itself with the account's secret."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from tally.app import create_app
from tally.core.clock import utcnow
from tally.db import Database
from tally.models import (
    AttemptStatus,
    Payment,
    PaymentProviderName,
    PaymentRefund,
    PaymentStatus,
    ProviderEvent,
)
from tally.payments import connections, records
from tally.settings import Settings
from tests.payments.stripe_support import (
    CARD_3DS,
    CARD_DECLINED_WHEN_CHARGED,
    Merchant,
    count_events,
    event_payload,
    intent_snapshot,
    invoice_state,
    merchant,
    refund_rows,
    signed_headers,
    start_payment,
    stored_events,
    stripe_client,
    wait_for,
)
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe
from tests.support.serving import served_app

GROSS = Decimal("270.00")


@pytest.fixture(scope="module")
def served(settings: Settings, database: Database) -> Iterator[str]:
    """An app of this module's own (same settings and database), served over HTTP for
    localstripe. The app holds nothing between requests (no rate limits in the run's
    settings): one for the module, not one per test (an app takes a second to build)."""
    app: FastAPI = create_app(settings, database)
    with served_app(app) as base_url:
        yield base_url


def register(localstripe: LocalStripe, base_url: str, shop: Merchant) -> None:
    localstripe.register_webhook(
        f"tally-{shop.account_id}", f"{base_url}{shop.webhook_path}", shop.webhook_secret
    )


def paid(database: Database, shop: Merchant) -> None:
    state = wait_for(
        lambda: invoice_state(database, shop), lambda s: s.payment_status is PaymentStatus.PAID
    )
    assert state.balance == 0 and state.payments == 1 and state.paid == GROSS
    assert state.attempt_status == AttemptStatus.SUCCEEDED


def post(
    http: ApiClient | httpx.Client, path: str, payload: bytes, headers: dict[str, str]
) -> httpx.Response:
    return http.post(path, content=payload, headers=headers)


# --- localstripe delivers ---------------------------------------------------------------


def test_localstripes_webhook_alone_makes_the_invoice_paid(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe, served: str
) -> None:
    shop = merchant(api, database)
    register(localstripe, served, shop)
    started = start_payment(database, settings, shop)
    # Nothing applied the provider's answer: the invoice waits for the webhook.
    assert invoice_state(database, shop).payment_status is PaymentStatus.UNPAID
    paid(database, shop)
    events = stored_events(database, shop.account_id)
    applied = [kind for kind, outcome in events.values() if outcome.startswith("applied")]
    assert applied == ["payment_intent.succeeded"]
    with database.transaction() as session:
        payment = session.scalars(
            select(Payment).where(Payment.account_id == shop.account_id)
        ).one()
        assert payment.provider_payment_id == started.payment_id
        assert payment.attempt_id == started.attempt_id


def test_a_declined_charge_fails_the_attempt_by_webhook(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe, served: str
) -> None:
    shop = merchant(api, database)
    register(localstripe, served, shop)
    start_payment(database, settings, shop, card=CARD_DECLINED_WHEN_CHARGED)
    state = wait_for(
        lambda: invoice_state(database, shop), lambda s: s.attempt_status == AttemptStatus.FAILED
    )
    assert state.payment_status is PaymentStatus.UNPAID and state.balance == GROSS
    assert state.payments == 0
    kinds = {kind for kind, outcome in stored_events(database, shop.account_id).values()}
    assert "payment_intent.payment_failed" in kinds


def test_another_accounts_payment_is_ignored(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    served: str,
) -> None:
    shop, other = merchant(api, database), merchant(other_api, database)
    register(localstripe, served, shop)
    register(localstripe, served, other)
    started = start_payment(database, settings, shop)
    paid(database, shop)
    # localstripe sent the same event to the other account's endpoint, signed with its secret.
    event_id = next(
        event_id
        for event_id, (kind, _) in stored_events(database, shop.account_id).items()
        if kind == "payment_intent.succeeded"
    )
    seen = wait_for(lambda: stored_events(database, other.account_id), lambda e: event_id in e)
    assert seen[event_id] == ("payment_intent.succeeded", "ignored: not a payment of this account")
    state = invoice_state(database, other)
    assert state.payment_status is PaymentStatus.UNPAID and state.balance == GROSS
    assert state.payments == 0 and state.attempt_status is None
    with database.transaction() as session:
        assert records.provider_payment(session, other.account_id, started.payment_id) is None


# --- applied once ----------------------------------------------------------------------


def test_the_same_signed_event_replayed_is_applied_once(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    payload = event_payload(
        "payment_intent.succeeded", intent_snapshot(settings, shop, started.payment_id)
    )
    first = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "applied: PENDING -> SUCCEEDED"
    for _ in range(2):  # the very same bytes and signature, and freshly signed
        again = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
        assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    paid(database, shop)
    assert count_events(database, shop.account_id, first.json()["id"]) == 1


@pytest.mark.parametrize("requests", [4])
def test_concurrent_deliveries_of_one_event_apply_it_once(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    served: str,
    requests: int,
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    payload = event_payload(
        "payment_intent.succeeded", intent_snapshot(settings, shop, started.payment_id)
    )
    headers = signed_headers(payload, shop.webhook_secret)
    gate = threading.Barrier(requests)
    answers: list[httpx.Response] = []

    def deliver() -> None:
        with httpx.Client(base_url=served, timeout=60) as client:
            gate.wait()
            answers.append(client.post(shop.webhook_path, content=payload, headers=headers))

    threads = [threading.Thread(target=deliver) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in answers] == [200] * requests
    outcomes = sorted(answer.json()["outcome"] for answer in answers)
    assert outcomes == ["applied: PENDING -> SUCCEEDED"] + ["duplicate"] * (requests - 1)
    paid(database, shop)
    assert count_events(database, shop.account_id, answers[0].json()["id"]) == 1


def _wait_until_a_writer_waits(database: Database) -> None:
    """PostgreSQL: until a request waits on a lock. SQLite shows no waiters: a moment (the
    test holds even if the request comes later: it then finds the event stored)."""
    if database.is_sqlite:
        time.sleep(1)
        return
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )

    def waiting() -> int:
        with database.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    wait_for(waiting, lambda count: count > 0)


def test_a_delivery_racing_one_that_claimed_the_event_applies_nothing(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe, served: str
) -> None:
    """Another delivery of the event has inserted its row, not yet committed: this one, past
    its first look (which cannot see that row), meets the unique key and changes nothing. The
    claimed event is never applied here, so a second application would show as PAID."""
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    snapshot = intent_snapshot(settings, shop, started.payment_id)
    payload = event_payload("payment_intent.succeeded", snapshot, event_id="evt_raced_0001")
    answers: list[httpx.Response] = []

    def deliver() -> None:
        with httpx.Client(base_url=served, timeout=60) as client:
            headers = signed_headers(payload, shop.webhook_secret)
            answers.append(client.post(shop.webhook_path, content=payload, headers=headers))

    racer = threading.Thread(target=deliver)
    with database.transaction() as session:
        session.add(
            ProviderEvent(
                account_id=shop.account_id,
                provider=PaymentProviderName.STRIPE,
                event_id="evt_raced_0001",
                type="payment_intent.succeeded",
                occurred_at=utcnow(),
                outcome="claimed by the other delivery",
            )
        )
        session.flush()
        racer.start()
        _wait_until_a_writer_waits(database)
    racer.join()
    assert answers[0].status_code == 200 and answers[0].json()["outcome"] == "duplicate"
    assert stored_events(database, shop.account_id) == {
        "evt_raced_0001": ("payment_intent.succeeded", "claimed by the other delivery")
    }
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.UNPAID and state.payments == 0


# --- out of order ------------------------------------------------------------------------


def test_a_failure_delivered_after_the_success_leaves_the_invoice_paid(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    current = intent_snapshot(settings, shop, started.payment_id)
    succeeded = event_payload("payment_intent.succeeded", current)
    assert (
        post(
            api, shop.webhook_path, succeeded, signed_headers(succeeded, shop.webhook_secret)
        ).status_code
        == 200
    )
    # An older event, delivered late: its snapshot says the charge failed.
    stale = {
        **current,
        "status": "requires_payment_method",
        "amount_received": 0,
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    failed = event_payload("payment_intent.payment_failed", stale)
    answer = post(
        api,
        shop.webhook_path,
        failed,
        signed_headers(failed, shop.webhook_secret, int(time.time()) - 60),
    )
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "applied: SUCCEEDED -> SUCCEEDED"
    paid(database, shop)


def test_an_events_snapshot_is_not_trusted_its_payment_is_asked_for(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    """A `payment_intent.processing` event (localstripe never sends one) arriving after the
    charge went through: the payment as Stripe has it now is applied."""
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    snapshot = {**intent_snapshot(settings, shop, started.payment_id), "status": "processing"}
    payload = event_payload("payment_intent.processing", snapshot)
    answer = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    assert answer.json()["outcome"] == "applied: PENDING -> SUCCEEDED"
    paid(database, shop)


def test_canceled_and_requires_action_events_move_the_attempt(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
) -> None:
    """localstripe sends neither event: recorded shapes, signed by the test."""
    shop = merchant(api, database)
    started = start_payment(database, settings, shop, card=CARD_3DS)
    payload = event_payload(
        "payment_intent.requires_action", intent_snapshot(settings, shop, started.payment_id)
    )
    answer = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    assert answer.json()["outcome"] == "applied: PENDING -> REQUIRES_ACTION"
    stripe_client(settings, shop).v1.payment_intents.cancel(started.payment_id)
    payload = event_payload(
        "payment_intent.canceled", intent_snapshot(settings, shop, started.payment_id)
    )
    answer = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    assert answer.json()["outcome"] == "applied: REQUIRES_ACTION -> CANCELLED"
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.UNPAID and state.payments == 0
    assert state.attempt_status == AttemptStatus.CANCELLED


# --- refunds made in Stripe --------------------------------------------------------------


def test_a_refund_made_in_stripe_is_recorded_once_by_its_id(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    """localstripe sends no refund event: charge.refunded and refund.created as Stripe shapes
    them, signed by the test; the refund itself is real (made in localstripe)."""
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    client = stripe_client(settings, shop)
    snapshot = intent_snapshot(settings, shop, started.payment_id)
    payload = event_payload("payment_intent.succeeded", snapshot)
    post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    paid(database, shop)

    refund = client.v1.refunds.create(params={"payment_intent": started.payment_id, "amount": 7000})
    charge = client.v1.charges.retrieve(snapshot["latest_charge"]["id"]).to_dict()
    for kind, obj in (
        ("charge.refunded", charge),
        ("refund.created", refund.to_dict()),
        ("charge.refunded", charge),
    ):
        payload = event_payload(kind, obj)
        answer = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
        assert answer.status_code == 200, answer.text
    outcomes = [
        o
        for k, o in stored_events(database, shop.account_id).values()
        if k != "payment_intent.succeeded"
    ]
    assert sum(f"refunds recorded: {refund.id}" in outcome for outcome in outcomes) == 1
    assert refund_rows(database, shop.account_id) == {refund.id: Decimal("70.00")}
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.PARTIALLY_PAID
    assert state.balance == Decimal("70.00") and state.paid == Decimal("200.00")


def test_a_refund_tally_recorded_is_not_recorded_again_by_its_webhook(
    api: ApiClient, database: Database, settings: Settings, localstripe: LocalStripe
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    payload = event_payload(
        "payment_intent.succeeded", intent_snapshot(settings, shop, started.payment_id)
    )
    post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    paid(database, shop)
    # Tally refunds through the provider and writes the refund's row (payments/refunds.py).
    with database.transaction() as session:
        provider = connections.provider_for(session, settings, shop.account_id)
    refund = provider.refund(
        started.payment_id, amount=GROSS, currency="GBP", idempotency_key="r-1"
    )
    with database.transaction() as session:
        payment = records.provider_payment(session, shop.account_id, started.payment_id)
        assert payment is not None
        session.add(
            PaymentRefund(
                account_id=shop.account_id,
                payment_id=payment.id,
                provider_refund_id=refund.id,
                amount=refund.amount,
            )
        )
        records.record_refund(session, shop.account_id, payment.id, refund.amount)
    payload = event_payload(
        "refund.created", stripe_client(settings, shop).v1.refunds.retrieve(refund.id).to_dict()
    )
    answer = post(api, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret))
    assert answer.json()["outcome"] == "applied: SUCCEEDED -> SUCCEEDED"
    state = invoice_state(database, shop)
    assert state.balance == GROSS and state.paid == 0
    assert state.payment_status is PaymentStatus.UNPAID


# --- refused -------------------------------------------------------------------------------


def test_forged_events_are_refused_and_change_nothing(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    anonymous: ApiClient,
) -> None:
    shop = merchant(api, database)
    started = start_payment(database, settings, shop)
    payload = event_payload(
        "payment_intent.succeeded", intent_snapshot(settings, shop, started.payment_id)
    )
    secret = shop.webhook_secret
    altered = payload.replace(b'"livemode": false', b'"livemode": true')
    assert altered != payload
    forgeries = {
        "wrong secret": (payload, signed_headers(payload, "whsec_not_the_accounts_secret")),
        "altered body": (altered, signed_headers(payload, secret)),
        "stale timestamp": (payload, signed_headers(payload, secret, int(time.time()) - 301)),
        "no signature": (payload, {"Content-Type": "application/json"}),
        "garbage signature": (payload, {"Stripe-Signature": "t=abc,v1=zz"}),
    }
    messages = set()
    for name, (body, headers) in forgeries.items():
        answer = post(anonymous, shop.webhook_path, body, headers)
        assert answer.status_code == 400, (name, answer.text)
        assert answer.json()["error"]["type"] == "InvalidSignature", name
        messages.add(answer.json()["error"]["message"])
    # Unknown account, and an account without a signing secret: refused alike, revealing
    # nothing about which.
    headers = signed_headers(payload, secret)
    for path in (
        "/webhooks/stripe/no-such-account",
        "/webhooks/stripe/0193c1f2-0000-7000-8000-000000000000",
    ):
        answer = post(anonymous, path, payload, headers)
        assert answer.status_code == 400
        messages.add(answer.json()["error"]["message"])
    assert len(messages) == 1
    assert stored_events(database, shop.account_id) == {}
    state = invoice_state(database, shop)
    assert state.payment_status is PaymentStatus.UNPAID and state.payments == 0
    assert state.attempt_status == AttemptStatus.PENDING


def test_an_account_without_a_signing_secret_or_disconnected_refuses_alike(
    api: ApiClient, database: Database, settings: Settings, anonymous: ApiClient
) -> None:
    shop = merchant(api, database)
    payload = event_payload("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    headers = signed_headers(payload, shop.webhook_secret)
    api.put("/api/payment-providers/stripe", json={"secretKey": shop.secret_key}).raise_for_status()
    no_secret = post(anonymous, shop.webhook_path, payload, headers)
    api.delete("/api/payment-providers/stripe").raise_for_status()
    disconnected = post(anonymous, shop.webhook_path, payload, headers)
    assert no_secret.status_code == disconnected.status_code == 400
    assert no_secret.json() == disconnected.json()
    assert stored_events(database, shop.account_id) == {}


def test_unknown_query_parameters_are_refused(
    api: ApiClient, database: Database, anonymous: ApiClient
) -> None:
    shop = merchant(api, database)
    payload = event_payload("customer.created", {"id": "cus_x", "object": "customer"})
    answer = post(
        anonymous,
        f"{shop.webhook_path}?livemode=1",
        payload,
        signed_headers(payload, shop.webhook_secret),
    )
    assert answer.status_code == 400 and "livemode" in answer.text
    assert stored_events(database, shop.account_id) == {}


def test_events_tally_does_not_act_on_are_kept_as_ignored(
    api: ApiClient, database: Database, anonymous: ApiClient
) -> None:
    shop = merchant(api, database)
    payload = event_payload("customer.created", {"id": "cus_x", "object": "customer"})
    answer = post(
        anonymous, shop.webhook_path, payload, signed_headers(payload, shop.webhook_secret)
    )
    assert answer.status_code == 200
    assert list(stored_events(database, shop.account_id).values()) == [
        ("customer.created", "ignored: not an event Tally acts on")
    ]


def test_a_signed_body_that_is_no_stripe_event_is_refused(
    api: ApiClient, database: Database, anonymous: ApiClient
) -> None:
    shop = merchant(api, database)
    for body in (b'{"id": "evt_1", "object": "event"}', b"[1, 2]", b"not json"):
        answer = post(anonymous, shop.webhook_path, body, signed_headers(body, shop.webhook_secret))
        assert answer.status_code == 400, answer.text
    assert stored_events(database, shop.account_id) == {}


def test_a_body_that_is_not_text_is_refused_as_unsigned(
    api: ApiClient, database: Database, anonymous: ApiClient
) -> None:
    shop = merchant(api, database)
    body = b"\xff\xfe{}"
    answer = post(anonymous, shop.webhook_path, body, {"Stripe-Signature": "t=1,v1=00"})
    assert answer.status_code == 400 and answer.json()["error"]["type"] == "InvalidSignature"
    assert stored_events(database, shop.account_id) == {}
