"""The contract walk's steps for payment settings: the account's, Stripe collection, and a
customer's, a billing schedule's and an invoice's (see tests/test_contract.py)."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tests.factories import customer_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient

Ok = Callable[..., dict[str, Any]]
SETTINGS = "/api/payments/settings"


def walk(ok: Ok, api: ApiClient, app: FastAPI, account_id: str) -> None:
    account = ok("GET", SETTINGS)
    notifications = {
        "merchantNotifications": "DO_NOT_SEND_NOTIFICATIONS",
        "customerNotifications": "SEND_NOTIFICATIONS",
    }
    ok("PUT", f"{SETTINGS}/{account['id']}", json={"failureNotifications": notifications})
    stripe = ok("GET", "/api/stripe/collections/settings")
    ok(
        "PUT",
        f"/api/stripe/collections/settings/{stripe['id']}",
        json={"enableAutomaticPayments": True, "retryAnchor": "DUE_DATE", "retryOffsetDays": [1]},
    )

    customer = ok("POST", "/api/customers", json=customer_body(legalName="Payer"))
    made = ok(
        "POST",
        f"{SETTINGS}/customers",
        json={"customerId": customer["id"], "paymentProvider": "STRIPE"},
    )
    ok("GET", f"{SETTINGS}/customers/{made['id']}")
    ok("PUT", f"{SETTINGS}/customers/{made['id']}", json={"paymentProvider": "NONE"})
    ok("DELETE", f"{SETTINGS}/customers/{made['id']}")

    schedule = Setup(api).create()
    body = {"billingScheduleId": schedule["id"], "paymentProvider": "STRIPE", "autoCharge": True}
    made = ok("POST", f"{SETTINGS}/billing-schedules", json=body)
    ok("GET", f"{SETTINGS}/billing-schedules/{made['id']}")
    ok("GET", f"{SETTINGS}/billing-schedules/for-billing-schedule/{schedule['id']}")
    ok("PUT", f"{SETTINGS}/billing-schedules/{made['id']}", json={"paymentProvider": "NONE"})
    ok("DELETE", f"{SETTINGS}/billing-schedules/{made['id']}")

    invoice = insert_invoice(app.state.db, account_id, customer)
    made = ok(
        "POST", f"{SETTINGS}/invoices", json={"invoiceId": invoice, "paymentProvider": "STRIPE"}
    )
    ok("GET", f"{SETTINGS}/invoices/{made['id']}")
    ok("GET", f"{SETTINGS}/invoices/for-invoice/{invoice}")
    ok("PUT", f"{SETTINGS}/invoices/{made['id']}", json={"paymentProvider": "NONE"})
    ok("DELETE", f"{SETTINGS}/invoices/{made['id']}")
