"""Webhooks for every payment event, whoever reports it: a payment recorded by hand or by a
provider is PAYMENT_SUCCEEDED; an attempt failing is PAYMENT_FAILED once, however often the
provider reports the failure."""

from decimal import Decimal

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import AttemptStatus, PaymentAttempt, PaymentProviderName
from tally.payments import attempts
from tally.payments.providers import ProviderPayment
from tests.payments.collecting import listen, payment_events
from tests.payments.helpers import owed_invoice, pay
from tests.support.api_client import ApiClient


def test_each_payment_recorded_by_hand_is_an_event(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    listen(api)
    invoice_id = owed_invoice(api, database, account.account_id)
    pay(api, invoice_id, "1.00")
    pay(api, invoice_id, "2.00")
    assert payment_events(database, account.account_id, invoice_id) == ["PAYMENT_SUCCEEDED"] * 2


def test_a_failed_attempt_is_one_event_however_often_it_is_reported(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    listen(api)
    invoice_id = owed_invoice(api, database, account.account_id)
    failed = ProviderPayment(
        id="pi_declined",
        status=AttemptStatus.FAILED,
        amount=Decimal("1.00"),
        amount_received=Decimal(0),
        currency="GBP",
        failure_message="Your card was declined.",
    )
    with database.transaction() as session:
        attempt, _ = attempts.claim(
            session,
            account.account_id,
            invoice_id,
            provider=PaymentProviderName.STRIPE,
            off_session=True,
        )
        attempt_id = attempt.id
    for _ in range(3):  # the charge's answer, the webhook, the reconciliation job
        with database.transaction() as session:
            attempt = session.get_one(PaymentAttempt, attempt_id)
            attempts.apply(session, account.account_id, attempt, failed)
            assert attempt.status is AttemptStatus.FAILED
    assert payment_events(database, account.account_id, invoice_id) == ["PAYMENT_FAILED"]
