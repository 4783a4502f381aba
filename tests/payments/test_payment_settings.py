"""Sequence's payment settings: the account's and its Stripe collection settings (one row each,
made on first read), a customer's, a billing schedule's and an invoice's (one live row each,
deleted by marking), and the precedence that decides how an invoice is collected."""

from typing import Any

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import (
    BillingSchedulePaymentSettings,
    CustomerPaymentSettings,
    Invoice,
    PaymentProviderName,
)
from tally.payments.preferences import Preference, collection_preference
from tests.factories import new_customer
from tests.invoices.helpers import counting_statements, insert_invoice
from tests.schedules.helpers import Setup, created, ok
from tests.support.api_client import ApiClient

STRIPE_KEYS = {"secretKey": "sk_test_settings_1234", "webhookSecret": "whsec_settings"}
CUSTOMERS = "/api/payments/settings/customers"
SCHEDULES = "/api/payments/settings/billing-schedules"
INVOICES = "/api/payments/settings/invoices"
STRIPE = "/api/stripe/collections/settings"


def refused(response: Any, status: int, error_type: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    if error_type is not None:
        assert error["type"] == error_type, error
    return error


def account_id(api: ApiClient) -> str:
    return str(api.get("/api/sequence-accounts").json()["items"][0]["id"])


# --- the account's ---------------------------------------------------------------------------


def test_account_settings_are_made_once_and_updated_by_their_id(
    api: ApiClient, other_api: ApiClient
) -> None:
    first = ok(api.get("/api/payments/settings"))
    assert first["failureNotifications"] == {
        "merchantNotifications": "SEND_NOTIFICATIONS",
        "customerNotifications": "SEND_NOTIFICATIONS",
    }
    assert ok(api.get("/api/payments/settings"))["id"] == first["id"]
    body = {
        "failureNotifications": {
            "merchantNotifications": "DO_NOT_SEND_NOTIFICATIONS",
            "customerNotifications": "SEND_NOTIFICATIONS",
        }
    }
    changed = ok(api.put(f"/api/payments/settings/{first['id']}", json=body))
    assert changed == {"id": first["id"], **body}
    assert ok(api.get("/api/payments/settings")) == changed
    # Another account's id, or none of the account's: not found, nothing changes.
    theirs = ok(other_api.get("/api/payments/settings"))["id"]
    refused(api.put(f"/api/payments/settings/{theirs}", json=body), 404)
    refused(other_api.put(f"/api/payments/settings/{first['id']}", json=body), 404)
    assert (
        ok(other_api.get("/api/payments/settings"))["failureNotifications"]
        == (first["failureNotifications"])
    )
    error = refused(api.put(f"/api/payments/settings/{first['id']}", json={**body, "x": 1}), 400)
    assert "x" in error["message"]


def test_stripe_settings_change_only_the_fields_given(api: ApiClient, account: Credentials) -> None:
    first = ok(api.get(STRIPE))
    assert first == {
        "id": first["id"],
        "sequenceAccountId": account.account_id,
        "enableAutomaticPayments": False,
        "autoEnableStripePayments": False,
        "retryOffsetDays": [3, 7, 14],
        "retryAnchor": "SENT_DATE",
    }
    url = f"{STRIPE}/{first['id']}"
    changed = ok(api.put(url, json={"enableAutomaticPayments": True, "retryAnchor": "DUE_DATE"}))
    assert changed == {**first, "enableAutomaticPayments": True, "retryAnchor": "DUE_DATE"}
    # Sequence's own example: day 0 is the anchor's day.
    body = {"autoEnableStripePayments": True, "retryOffsetDays": [0, 7, 14]}
    changed = ok(api.put(url, json={**body, "enableAutomaticPayments": None}))
    assert changed == {**first, **body, "enableAutomaticPayments": True, "retryAnchor": "DUE_DATE"}
    assert ok(api.put(url, json={})) == changed
    assert ok(api.get(STRIPE)) == changed


@pytest.mark.parametrize(
    "days",
    [
        [7, 3],
        [3, 3],
        [-1, 3],
        [3, 366],
        list(range(1, 12)),
        ["3"],
        [3.5],
        [True],
        "3,7",
    ],
    ids=["decreasing", "repeated", "negative", "over a year", "eleven", "text", "fraction",
         "boolean", "not a list"],
)  # fmt: skip
def test_retry_days_are_whole_increasing_days_within_a_year(api: ApiClient, days: Any) -> None:
    settings = ok(api.get(STRIPE))
    body = {"retryOffsetDays": days, "enableAutomaticPayments": True}
    error = refused(api.put(f"{STRIPE}/{settings['id']}", json=body), 400)
    assert "retryOffsetDays" in error["message"]
    assert ok(api.get(STRIPE)) == settings


def test_stripe_settings_of_another_id_are_not_found(api: ApiClient, other_api: ApiClient) -> None:
    theirs = ok(other_api.get(STRIPE))
    refused(api.put(f"{STRIPE}/{theirs['id']}", json={"enableAutomaticPayments": True}), 404)
    assert ok(other_api.get(STRIPE)) == theirs


# --- a customer's ----------------------------------------------------------------------------


def test_customer_settings_live_once_and_are_deleted_by_marking(
    api: ApiClient, database: Database
) -> None:
    customer = new_customer(api)["id"]
    made = created(api.post(CUSTOMERS, json={"customerId": customer, "paymentProvider": "STRIPE"}))
    assert made["customerId"] == customer and made["paymentProvider"] == "STRIPE"
    assert made["sequenceAccountId"] == account_id(api)
    again = {"customerId": customer, "paymentProvider": "NONE"}
    refused(api.post(CUSTOMERS, json=again), 400, "DuplicateValue")
    url = f"{CUSTOMERS}/{made['id']}"
    assert ok(api.get(url)) == made
    changed = ok(api.put(url, json={"paymentProvider": "GOCARDLESS"}))
    assert changed == {**made, "paymentProvider": "GOCARDLESS"}

    assert ok(api.delete(url)) == changed  # as it was
    refused(api.get(url), 404)
    refused(api.put(url, json={"paymentProvider": "STRIPE"}), 404)
    refused(api.delete(url), 404)
    with database.session(write=False) as session:
        kept = session.get(CustomerPaymentSettings, made["id"])
        assert kept is not None and kept.deleted_at is not None
    fresh = created(api.post(CUSTOMERS, json=again))
    assert fresh["id"] != made["id"] and fresh["paymentProvider"] == "NONE"


def test_another_accounts_customer_or_settings_are_not_found(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = new_customer(other_api)["id"]
    error = refused(
        api.post(CUSTOMERS, json={"customerId": theirs, "paymentProvider": "STRIPE"}), 404
    )
    assert "customerId" in error["message"]
    their_settings = created(
        other_api.post(CUSTOMERS, json={"customerId": theirs, "paymentProvider": "STRIPE"})
    )
    url = f"{CUSTOMERS}/{their_settings['id']}"
    refused(api.get(url), 404)
    refused(api.put(url, json={"paymentProvider": "NONE"}), 404)
    refused(api.delete(url), 404)
    assert ok(other_api.get(url)) == their_settings


def test_an_unknown_provider_is_refused(api: ApiClient) -> None:
    customer = new_customer(api)["id"]
    body = {"customerId": customer, "paymentProvider": "PAYPAL"}
    assert "paymentProvider" in refused(api.post(CUSTOMERS, json=body), 400)["message"]


# --- a billing schedule's --------------------------------------------------------------------


def test_schedule_settings_are_the_schedules_payment_provider_and_auto_charge(
    api: ApiClient,
) -> None:
    setup = Setup(api)
    schedule = setup.create()
    assert "paymentProvider" not in schedule and schedule["autoCharge"] is False
    refused(api.get(f"{SCHEDULES}/for-billing-schedule/{schedule['id']}"), 404)

    body = {"billingScheduleId": schedule["id"], "paymentProvider": "STRIPE", "autoCharge": True}
    made = created(api.post(SCHEDULES, json=body))
    assert made == {**body, "id": made["id"], "sequenceAccountId": account_id(api)}
    assert ok(api.get(f"{SCHEDULES}/for-billing-schedule/{schedule['id']}")) == made
    shown = ok(api.get(f"/api/billing-schedules/{schedule['id']}"))
    assert (shown["paymentProvider"], shown["autoCharge"]) == ("STRIPE", True)
    refused(api.post(SCHEDULES, json=body), 400, "DuplicateValue")

    url = f"{SCHEDULES}/{made['id']}"
    changed = ok(api.put(url, json={"paymentProvider": "GOCARDLESS"}))  # autoCharge kept
    assert (changed["paymentProvider"], changed["autoCharge"]) == ("GOCARDLESS", True)
    changed = ok(api.put(url, json={"paymentProvider": "GOCARDLESS", "autoCharge": False}))
    shown = ok(api.get(f"/api/billing-schedules/{schedule['id']}"))
    assert (shown["paymentProvider"], shown["autoCharge"]) == ("GOCARDLESS", False)

    assert ok(api.delete(url)) == changed
    refused(api.get(f"{SCHEDULES}/for-billing-schedule/{schedule['id']}"), 404)
    shown = ok(api.get(f"/api/billing-schedules/{schedule['id']}"))
    assert "paymentProvider" not in shown and shown["autoCharge"] is False


def test_a_schedule_created_with_a_provider_has_its_settings_and_its_copy_too(
    api: ApiClient, database: Database
) -> None:
    setup = Setup(api)
    schedule = setup.create(paymentProvider="STRIPE", autoCharge=True)
    settings = ok(api.get(f"{SCHEDULES}/for-billing-schedule/{schedule['id']}"))
    assert (settings["paymentProvider"], settings["autoCharge"]) == ("STRIPE", True)
    copy = created(
        api.post(
            f"/api/billing-schedules/{schedule['id']}/duplicate",
            json={"customerId": setup.customer_id},
        )
    )
    assert (copy["paymentProvider"], copy["autoCharge"]) == ("STRIPE", True)
    copied = ok(api.get(f"{SCHEDULES}/for-billing-schedule/{copy['id']}"))
    assert copied["id"] != settings["id"]
    with database.session(write=False) as session:
        rows = session.scalars(
            select(BillingSchedulePaymentSettings).where(
                BillingSchedulePaymentSettings.billing_schedule_id == schedule["id"]
            )
        ).all()
    assert len(rows) == 1  # one truth: the schedule keeps no copy of its own


def test_auto_charge_without_a_provider_is_refused(api: ApiClient) -> None:
    setup = Setup(api)
    response = api.post("/api/billing-schedules", json=setup.body(autoCharge=True))
    assert "autoCharge" in refused(response, 400)["message"]
    assert ok(api.get("/api/billing-schedules"))["items"] == []


def test_another_accounts_schedule_is_not_found(api: ApiClient, other_api: ApiClient) -> None:
    theirs = Setup(other_api).create()
    body = {"billingScheduleId": theirs["id"], "paymentProvider": "STRIPE"}
    assert "billingScheduleId" in refused(api.post(SCHEDULES, json=body), 404)["message"]
    made = created(other_api.post(SCHEDULES, json=body))
    refused(api.get(f"{SCHEDULES}/for-billing-schedule/{theirs['id']}"), 404)
    refused(api.get(f"{SCHEDULES}/{made['id']}"), 404)
    refused(api.delete(f"{SCHEDULES}/{made['id']}"), 404)
    assert ok(other_api.get(f"{SCHEDULES}/{made['id']}"))["autoCharge"] is False


# --- an invoice's ----------------------------------------------------------------------------


def test_invoice_settings_belong_to_the_invoices_customer(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    customer = new_customer(api)
    invoice = insert_invoice(database, account.account_id, customer)
    refused(api.get(f"{INVOICES}/for-invoice/{invoice}"), 404)
    other = new_customer(api, "Other Ltd")["id"]
    mismatch = {"invoiceId": invoice, "customerId": other, "paymentProvider": "STRIPE"}
    error = refused(api.post(INVOICES, json=mismatch), 400, "ReferenceMismatch")
    assert "customerId" in error["message"]

    made = created(api.post(INVOICES, json={"invoiceId": invoice, "paymentProvider": "STRIPE"}))
    assert (made["invoiceId"], made["customerId"]) == (invoice, customer["id"])
    assert ok(api.get(f"{INVOICES}/for-invoice/{invoice}")) == made
    again = {"invoiceId": invoice, "customerId": customer["id"], "paymentProvider": "NONE"}
    refused(api.post(INVOICES, json=again), 400, "DuplicateValue")
    url = f"{INVOICES}/{made['id']}"
    changed = ok(api.put(url, json={"paymentProvider": "NONE"}))
    assert ok(api.get(url)) == changed == {**made, "paymentProvider": "NONE"}
    assert ok(api.delete(url)) == changed
    refused(api.get(f"{INVOICES}/for-invoice/{invoice}"), 404)
    assert created(api.post(INVOICES, json=again))["id"] != made["id"]


def test_another_accounts_invoice_is_not_found(
    api: ApiClient, other_api: ApiClient, database: Database
) -> None:
    customer = new_customer(other_api)
    theirs = insert_invoice(database, account_id(other_api), customer)
    body = {"invoiceId": theirs, "paymentProvider": "STRIPE"}
    assert "invoiceId" in refused(api.post(INVOICES, json=body), 404)["message"]
    refused(api.get(f"{INVOICES}/for-invoice/{theirs}"), 404)


def test_each_change_is_in_the_activity_log(api: ApiClient) -> None:
    customer = new_customer(api)["id"]
    made = created(api.post(CUSTOMERS, json={"customerId": customer, "paymentProvider": "STRIPE"}))
    ok(api.put(f"{CUSTOMERS}/{made['id']}", json={"paymentProvider": "STRIPE"}))  # no change
    ok(api.put(f"{CUSTOMERS}/{made['id']}", json={"paymentProvider": "NONE"}))
    ok(api.delete(f"{CUSTOMERS}/{made['id']}"))
    page = api.get("/api/activity-logs", params={"activityLogObjectId": made["id"]}).json()
    items = [log["activityLogItems"][0] for log in page["items"]]
    assert [item["verb"] for item in items] == ["DELETED", "UPDATED", "CREATED"]
    assert {"field": "paymentProvider", "before": "STRIPE", "after": "NONE"} in items[1]["metadata"]
    assert {item["activityLogTarget"]["id"] for item in items} == {customer}


# --- precedence ------------------------------------------------------------------------------


def preference(database: Database, account_id: str, invoice_id: str) -> Preference:
    with database.session(write=False) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        return collection_preference(session, account_id, invoice)


def test_precedence_is_invoice_then_schedule_then_customer_then_account(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    setup = Setup(api)
    schedule = setup.create()
    customer = ok(api.get(f"/api/customers/{setup.customer_id}"))
    invoice = insert_invoice(
        database, account.account_id, customer, billing_schedule_id=schedule["id"]
    )

    def now() -> tuple[str, bool, str]:
        found = preference(database, account.account_id, invoice)
        return found.provider.value, found.auto_charge, found.source

    # Nothing set, Stripe not connected: nothing collects it.
    assert now() == ("NONE", False, "ACCOUNT")
    stripe = ok(api.get(STRIPE))
    ok(api.put(f"{STRIPE}/{stripe['id']}", json={"autoEnableStripePayments": True}))
    assert now() == ("NONE", False, "ACCOUNT")  # still not connected
    ok(api.put("/api/payment-providers/stripe", json=STRIPE_KEYS))
    assert now() == ("STRIPE", False, "ACCOUNT")
    ok(api.put(f"{STRIPE}/{stripe['id']}", json={"enableAutomaticPayments": True}))
    assert now() == ("STRIPE", True, "ACCOUNT")

    by_customer = {"customerId": customer["id"], "paymentProvider": "GOCARDLESS"}
    created(api.post(CUSTOMERS, json=by_customer))
    assert now() == ("GOCARDLESS", True, "CUSTOMER")

    by_schedule = {"billingScheduleId": schedule["id"], "paymentProvider": "NONE"}
    made = created(api.post(SCHEDULES, json=by_schedule))
    assert now() == ("NONE", False, "BILLING_SCHEDULE")  # the schedule's autoCharge: false
    ok(api.put(f"{SCHEDULES}/{made['id']}", json={"paymentProvider": "STRIPE", "autoCharge": True}))
    ok(api.put(f"{STRIPE}/{stripe['id']}", json={"enableAutomaticPayments": False}))
    assert now() == ("STRIPE", True, "BILLING_SCHEDULE")

    by_invoice = created(api.post(INVOICES, json={"invoiceId": invoice, "paymentProvider": "NONE"}))
    assert now() == ("NONE", True, "INVOICE")

    ok(api.delete(f"{INVOICES}/{by_invoice['id']}"))
    assert now() == ("STRIPE", True, "BILLING_SCHEDULE")
    ok(api.delete(f"{SCHEDULES}/{made['id']}"))
    assert now() == ("GOCARDLESS", False, "CUSTOMER")
    ok(api.delete("/api/payment-providers/stripe"))
    assert now() == ("GOCARDLESS", False, "CUSTOMER")


def test_an_invoice_without_a_schedule_reads_its_customers_settings(
    api: ApiClient, account: Credentials, database: Database, other_api: ApiClient
) -> None:
    customer = new_customer(api)
    invoice = insert_invoice(database, account.account_id, customer)
    created(api.post(CUSTOMERS, json={"customerId": customer["id"], "paymentProvider": "STRIPE"}))
    # Another account's settings and connection change nothing here.
    theirs = ok(other_api.get(STRIPE))
    body = {"enableAutomaticPayments": True, "autoEnableStripePayments": True}
    ok(other_api.put(f"{STRIPE}/{theirs['id']}", json=body))
    ok(other_api.put("/api/payment-providers/stripe", json=STRIPE_KEYS))
    found = preference(database, account.account_id, invoice)
    assert found == Preference(PaymentProviderName.STRIPE, False, "CUSTOMER")


def test_the_preference_is_one_query(
    api: ApiClient, account: Credentials, database: Database
) -> None:
    setup = Setup(api)
    schedule = setup.create(paymentProvider="STRIPE", autoCharge=True)
    customer = ok(api.get(f"/api/customers/{setup.customer_id}"))
    invoice_id = insert_invoice(
        database, account.account_id, customer, billing_schedule_id=schedule["id"]
    )
    with database.session(write=False) as session:
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None
        with counting_statements(database) as statements:
            found = collection_preference(session, account.account_id, invoice)
    assert found == Preference(PaymentProviderName.STRIPE, True, "BILLING_SCHEDULE")
    assert len(statements) == 1, statements
