"""Refunds made in Stripe, however their events arrive (repeated, interleaved, as
charge.refunded or refund.* events): each refund is recorded once and the invoice's amount due
is its gross total less what was received plus what was given back, to the minor unit."""

from __future__ import annotations

import random
from decimal import Decimal
from itertools import count

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.db import Database
from tally.models import PaymentStatus
from tally.settings import Settings
from tests.payments.stripe_support import (
    event_payload,
    intent_snapshot,
    invoice_state,
    merchant,
    refund_rows,
    signed_headers,
    start_payment,
    stripe_client,
)
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

GROSS_MINOR = 27000  # the test invoice: 270.00 GBP
CENT = Decimal("0.01")
numbers = count(1)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    refunds=st.lists(
        st.integers(min_value=1, max_value=GROSS_MINOR), min_size=1, max_size=3
    ).filter(lambda amounts: sum(amounts) <= GROSS_MINOR),
    deliveries=st.lists(st.integers(min_value=1, max_value=3), min_size=3, max_size=3),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_every_refund_is_recorded_once_and_the_amount_due_agrees(
    api: ApiClient,
    database: Database,
    settings: Settings,
    localstripe: LocalStripe,
    refunds: list[int],
    deliveries: list[int],
    seed: int,
) -> None:
    # One account for every example: each its own invoice (and a fresh connection).
    shop = merchant(api, database, invoice_number=f"INV-R{next(numbers)}")
    started = start_payment(database, settings, shop)
    paid = event_payload(
        "payment_intent.succeeded", intent_snapshot(settings, shop, started.payment_id)
    )
    api.post(shop.webhook_path, content=paid, headers=signed_headers(paid, shop.webhook_secret))
    client = stripe_client(settings, shop)
    events = []
    for amount, times in zip(refunds, deliveries, strict=False):
        refund = client.v1.refunds.create(
            params={"payment_intent": started.payment_id, "amount": amount}
        ).to_dict()
        for _ in range(times):
            kind = random.Random(seed + times).choice(
                ["charge.refunded", "refund.created", "refund.updated"]
            )
            events.append(event_payload(kind, refund if kind.startswith("refund") else {
                "id": refund["charge"], "object": "charge", "payment_intent": started.payment_id,
            }))  # fmt: skip
    random.Random(seed).shuffle(events)
    for payload in events:
        answer = api.post(
            shop.webhook_path, content=payload, headers=signed_headers(payload, shop.webhook_secret)
        )
        assert answer.status_code == 200, answer.text

    refunded = sum(refunds) * CENT
    assert sorted(refund_rows(database, shop.account_id, started.payment_id).values()) == sorted(
        a * CENT for a in refunds
    )
    state = invoice_state(database, shop)
    assert state.payments == 1
    assert state.balance == refunded
    assert state.paid == GROSS_MINOR * CENT - refunded
    expected = (
        PaymentStatus.PAID
        if refunded == 0
        else PaymentStatus.UNPAID
        if refunded == GROSS_MINOR * CENT
        else PaymentStatus.PARTIALLY_PAID
    )
    assert state.payment_status is expected
