"""Payments recorded by hand: partial allowed, never more than due, only on issued invoices;
the invoice's amount due, payment status and `paymentAllocations` follow; listed, fetched,
and another account's are not found."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import InvoiceStatus
from tests.invoices.helpers import counting_statements
from tests.payments.helpers import error, invoice, new_customer, owed_invoice, pay
from tests.support.api_client import ApiClient


def test_a_partial_then_the_rest_pays_the_invoice(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = owed_invoice(api, database, account.account_id, customer, gross="270.00")

    first = pay(
        api, invoice_id, "100.50", paidOn="2024-06-10", reference="BACS 123", method="CHEQUE"
    )
    assert first["invoiceId"] == invoice_id and first["customerId"] == customer["id"]
    assert (first["origin"], first["method"]) == ("MANUAL", "CHEQUE")
    assert (first["amount"], first["currency"], first["refundedAmount"]) == (
        "100.50",
        "GBP",
        "0.00",
    )
    assert (first["paidOn"], first["reference"]) == ("2024-06-10", "BACS 123")
    assert "providerPaymentId" not in first and first["createdAt"]
    after_first = invoice(api, invoice_id)
    assert (after_first["balance"], after_first["paymentStatus"]) == ("169.50", "PARTIALLY_PAID")
    [allocation] = after_first["paymentAllocations"]
    assert allocation["paymentId"] == first["id"] and allocation["amount"] == "100.50"
    assert allocation["origin"] == "MANUAL"
    assert allocation["paidAt"].startswith("2024-06-10T00:00:00")

    second = pay(api, invoice_id, "169.50")
    assert second["method"] == "BANK_TRANSFER"  # the default
    today = api.get("/api/customers/" + customer["id"] + "/balance").json()["asOf"]
    assert second["paidOn"] == today  # the account's today by default
    paid = invoice(api, invoice_id)
    assert (paid["balance"], paid["paymentStatus"]) == ("0.00", "PAID")
    assert [a["paymentId"] for a in paid["paymentAllocations"]] == [first["id"], second["id"]]
    listed = api.get("/api/invoices", params={"customerId": customer["id"]}).json()["items"]
    assert [a["amount"] for a in listed[0]["paymentAllocations"]] == ["100.50", "169.50"]

    page = api.get(f"/api/invoices/{invoice_id}/payments", params={"sortOrder": "ASC"}).json()
    assert [p["id"] for p in page["items"]] == [first["id"], second["id"]]
    assert api.get(f"/api/payments/{first['id']}").json() == first

    log = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id}).json()
    summaries = [entry["activityLogItems"][0]["summary"] for entry in log["items"]]
    assert any("100.50 GBP received (recorded by hand, BACS 123)" in s for s in summaries)


def test_more_than_due_is_refused_and_changes_nothing(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = owed_invoice(api, database, account.account_id, gross="50.00")
    pay(api, invoice_id, "20.00")
    refused = error(api.post(f"/api/invoices/{invoice_id}/payments", json={"amount": "30.01"}))
    assert refused["type"] == "BalanceExceeded"
    assert invoice(api, invoice_id)["balance"] == "30.00"
    assert (
        api.get(f"/api/invoices/{invoice_id}/payments").json()["pagination"]["totalResultSize"] == 1
    )


def test_drafts_and_voided_invoices_take_no_payment(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    for status in (InvoiceStatus.DRAFT, InvoiceStatus.VOIDED):
        invoice_id = owed_invoice(
            api, database, account.account_id, customer, status=status, number=f"V-{status}"
        )
        answer = api.post(f"/api/invoices/{invoice_id}/payments", json={"amount": "1.00"})
        assert error(answer)["type"] == "InvalidStateTransition"
        assert invoice(api, invoice_id)["paymentAllocations"] == []


def test_bad_bodies_are_refused(api: ApiClient, database: Database, account: Credentials) -> None:
    invoice_id = owed_invoice(api, database, account.account_id)
    url = f"/api/invoices/{invoice_id}/payments"
    for body, named in [
        ({"amount": "10.00", "paidAt": "2024-06-01"}, "paidAt"),
        ({"amount": "10.001"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "10.00", "method": "CARD"}, "method"),
        ({"amount": "10.00", "paidOn": "2999-01-01"}, "paidOn"),
        ({"amount": "10.00", "reference": "line\nbreak"}, "reference"),
        ({}, "amount"),
    ]:
        assert named in error(api.post(url, json=body))["message"], body
    assert invoice(api, invoice_id)["balance"] == "270.00"


def test_another_accounts_invoices_and_payments_are_not_found(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    invoice_id = owed_invoice(api, database, account.account_id, customer)
    payment = pay(api, invoice_id, "10.00")
    assert (
        other_api.post(f"/api/invoices/{invoice_id}/payments", json={"amount": "1.00"}).status_code
        == 404
    )
    assert other_api.get(f"/api/invoices/{invoice_id}/payments").status_code == 404
    assert other_api.get(f"/api/payments/{payment['id']}").status_code == 404
    assert (
        other_api.post(f"/api/payments/{payment['id']}/refund", json={"amount": "1.00"}).status_code
        == 404
    )
    assert other_api.get(f"/api/customers/{customer['id']}/balance").status_code == 404
    assert (
        other_api.get("/api/payments", params={"customerId": customer["id"]}).json()["items"] == []
    )
    assert invoice(api, invoice_id)["balance"] == "260.00"


def test_the_list_filters_and_pages(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    acme, globex = new_customer(api, "Acme"), new_customer(api, "Globex")
    acme_invoice = owed_invoice(api, database, account.account_id, acme, number="A-1")
    globex_invoice = owed_invoice(api, database, account.account_id, globex, number="G-1")
    acme_payments = [pay(api, acme_invoice, f"{n}.00")["id"] for n in (1, 2, 3)]
    globex_payment = pay(api, globex_invoice, "9.00")["id"]

    everything = api.get("/api/payments", params={"limit": 100}).json()
    assert {p["id"] for p in everything["items"]} == {*acme_payments, globex_payment}
    by_customer = api.get("/api/payments", params={"customerId": acme["id"]}).json()
    assert [p["id"] for p in by_customer["items"]] == acme_payments[::-1]  # newest first
    by_invoice = api.get("/api/payments", params={"invoiceId": globex_invoice}).json()
    assert [p["id"] for p in by_invoice["items"]] == [globex_payment]
    first = api.get("/api/payments", params={"customerId": acme["id"], "limit": 2}).json()
    assert first["pagination"]["totalResultSize"] == 3 and len(first["items"]) == 2
    rest = api.get(
        "/api/payments",
        params={"customerId": acme["id"], "limit": 2, "after": first["pagination"]["after"]},
    ).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == acme_payments[::-1]
    assert error(api.get("/api/payments", params={"customer": acme["id"]}))["message"]


def test_a_page_of_invoices_reads_its_payments_in_one_query(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    for n in range(3):
        invoice_id = owed_invoice(api, database, account.account_id, customer, number=f"P-{n}")
        pay(api, invoice_id, "1.00")
        pay(api, invoice_id, "2.00")
    with counting_statements(database) as statements:
        page = api.get("/api/invoices", params={"customerId": customer["id"]}).json()
    assert [len(item["paymentAllocations"]) for item in page["items"]] == [2, 2, 2]
    assert len([s for s in statements if "FROM payments" in s]) == 1


def test_the_customer_balance_adds_up_its_invoices_credit_and_payments(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    today = date.fromisoformat(api.get(f"/api/customers/{customer['id']}/balance").json()["asOf"])
    overdue = owed_invoice(
        api, database, account.account_id, customer, gross="100.00", due=date(2020, 1, 1),
        number="B-1",
    )  # fmt: skip
    not_due = owed_invoice(
        api, database, account.account_id, customer, gross="40.00", due=date(2999, 1, 1),
        number="B-2",
    )  # fmt: skip
    paid = owed_invoice(api, database, account.account_id, customer, gross="10.00", number="B-3")
    euros = owed_invoice(
        api, database, account.account_id, customer, gross="7.00", currency="EUR", number="B-4"
    )
    owed_invoice(
        api, database, account.account_id, customer, gross="999.00", number="B-5",
        status=InvoiceStatus.VOIDED,
    )  # fmt: skip
    pay(api, overdue, "30.00")
    pay(api, paid, "10.00")
    pay(api, not_due, "0.01")

    balance = api.get(f"/api/customers/{customer['id']}/balance").json()
    assert balance["customerId"] == customer["id"] and balance["asOf"] == today.isoformat()
    by_currency = {b["currency"]: b for b in balance["balances"]}
    gbp_owed = Decimal("100.00") - 30 + Decimal("40.00") - Decimal("0.01")
    assert by_currency["GBP"] == {
        "currency": "GBP",
        "outstanding": str(gbp_owed),
        "overdue": "70.00",
        "unappliedCredit": "0.00",
        "paymentsReceived": "40.01",
        "refunded": "0.00",
    }
    assert by_currency["EUR"]["outstanding"] == "7.00"
    assert by_currency["EUR"]["overdue"] == "7.00"  # due 2024-07-01, SENT, unpaid
    assert invoice(api, euros)["isOverdue"] is True
