"""PUT and PATCH /api/invoices/{id}: a DRAFT's own fields change as given, other statuses
refuse and nothing changes, every change is one activity log entry."""

from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import Conflict
from tests.attachments.helpers import upload
from tests.factories import address, new_customer
from tests.invoices.states import STATES, get, invoice_in, line_body, ok
from tests.support.api_client import ApiClient

CHANGES: dict[str, Any] = {
    "dueDate": "2024-08-15",
    "purchaseOrderNumber": "PO-77",
    "reference": "Q3 order",
    "customerEmails": ["billing@acme.example", "cfo@acme.example"],
    "customerLegalCompanyName": "Acme Widgets plc",
    "customerBillingAddress": address(line1="1 New Street", town="Leeds", postcode="LS1 1AA"),
    "customerShippingAddress": address(line1="2 Dock Road", town="Hull", postcode="HU1 1AA"),
    "memo": "Thanks for your business",
    "paymentOptions": ["BANK_TRANSFER", "LINK"],
    "billingPeriod": {"start": "2024-05-02", "endInclusive": "2024-06-01"},
    "metadata": [{"key": "deal", "value": "D-1"}],
    "accountingDate": "2024-06-02",
}


def draft(database: Database, account: Credentials, api: ApiClient, **columns: Any) -> str:
    return invoice_in(database, account.account_id, new_customer(api), "DRAFT", **columns)


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_draft_takes_every_documented_field(
    method: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    answer = ok(api.request(method, f"/api/invoices/{invoice_id}", json=CHANGES))
    stored = get(api, invoice_id)
    for body in (answer, stored):
        for field, value in CHANGES.items():
            assert body[field] == value, field
        assert body["dueDateSource"] == "MANUAL"
        assert "paymentTermDays" not in body
        assert body["status"] == "DRAFT"
        assert (body["netTotal"], body["grossTotal"]) == ("225.00", "270.00")


def test_fields_left_out_stay_and_null_clears_an_optional_one(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api, memo="Keep me", reference="R-1")
    url = f"/api/invoices/{invoice_id}"
    body = ok(api.request("PATCH", url, json={"reference": None, "dueDate": None}))
    assert body["memo"] == "Keep me"
    assert "reference" not in body
    assert "dueDate" not in body
    assert body["dueDateSource"] == "CALCULATED"
    # Finalized now, the due date comes from the payment terms again.
    final = ok(api.post(f"{url}/finalize"))
    assert final["dueDate"] > final["issueDate"]


def test_put_changes_the_currency_and_recalculates_the_lines(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    created = ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]}), 201
    )
    url = f"/api/invoices/{created['id']}"
    ok(api.post(f"{url}/line-items", json=line_body(quantity="3", rate="0.125")), 201)
    assert get(api, created["id"])["netTotal"] == "0.38"  # 0.375 half up
    body = ok(api.put(url, json={"currency": "JPY"}))
    assert (body["currency"], body["netTotal"], body["totalTax"], body["grossTotal"]) == (
        "JPY",
        "0",
        "0",
        "0",
    )
    detail = get(api, created["id"])
    assert detail["lineItems"][0]["netTotal"] == "0"
    # PATCH does not document currency: refused, naming it.
    refused = api.request("PATCH", url, json={"currency": "EUR"})
    assert refused.status_code == 400
    assert "currency" in refused.text


@pytest.mark.parametrize(
    "state", ["IN_PROGRESS", "FINAL", "SENT", "VOIDED"], ids=lambda state: state.lower()
)
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_statuses_refuse_and_nothing_changes(
    state: str, method: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = invoice_in(database, account.account_id, new_customer(api), state)
    before = get(api, invoice_id)
    response = api.request(method, f"/api/invoices/{invoice_id}", json={"memo": "Changed"})
    assert response.status_code == Conflict.status_code, response.text
    assert f"is {STATES[state]['status'].value}" in response.json()["error"]["message"]
    assert get(api, invoice_id) == before


@pytest.mark.parametrize(
    "body",
    [
        {"customerLegalCompanyName": None},
        {"customerBillingAddress": None},
        {"accountingDate": None},
        {"dueDate": "next week"},
        {"customerEmails": ["not an address"]},
        {"paymentOptions": ["CHEQUE"]},
        {"creditBalances": "x" * 2001},
        {"attachmentAssetIds": ["a"] * 11},
        {"notAField": 1},
        {"billingPeriod": {"start": "2024-06-01", "endInclusive": "2024-05-01"}},
    ],
    ids=lambda body: next(iter(body)),
)
def test_bad_input_is_400_and_changes_nothing(
    body: dict[str, Any], api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    before = get(api, invoice_id)
    response = api.put(f"/api/invoices/{invoice_id}", json=body)
    assert response.status_code == 400, response.text
    assert get(api, invoice_id) == before


def test_another_accounts_invoice_is_not_found(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    for method in ("PUT", "PATCH"):
        response = other_api.request(method, f"/api/invoices/{invoice_id}", json={"memo": "x"})
        assert response.status_code == 404
    assert "memo" not in get(api, invoice_id)


def test_billing_run_must_be_the_invoice_schedules(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)  # a one-off: no schedule, no run
    response = api.request("PATCH", f"/api/invoices/{invoice_id}", json={"billingRunId": "0" * 36})
    assert response.status_code == 404
    assert "billingRunId" in response.text


def test_a_change_is_one_activity_entry_with_before_and_after(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    ok(api.request("PATCH", f"/api/invoices/{invoice_id}", json={"memo": "New memo"}))
    ok(api.request("PATCH", f"/api/invoices/{invoice_id}", json={"memo": "New memo"}))  # idle
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "UPDATED"
    assert {"field": "memo", "before": None, "after": "New memo"} in entry["metadata"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_a_draft_takes_attachments_and_a_credit_balances_statement(
    method: str, api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    url = f"/api/invoices/{invoice_id}"
    terms, usage = upload(api, "terms.pdf"), upload(api, "usage.csv", b"metric,qty\napi,3\n")
    statement = "Verification 2 credit balance: 7/7 (expiring on 4 May 2999)"
    body = {"attachmentAssetIds": [terms["id"], usage["id"]], "creditBalances": statement}
    answer = ok(api.request(method, url, json=body))
    for shown in (answer, get(api, invoice_id)):
        assert shown["attachmentAssets"] == [terms, usage]
        assert shown["creditBalances"] == statement
    # Another account's attachment, or one more than ten: refused, nothing changes.
    before = get(api, invoice_id)
    foreign = upload(other_api, "theirs.pdf")
    refused = api.request(method, url, json={"attachmentAssetIds": [usage["id"], foreign["id"]]})
    assert refused.status_code == 404
    assert "attachmentAssetIds.1" in refused.text
    too_many = api.request(method, url, json={"attachmentAssetIds": [terms["id"]] * 11})
    assert too_many.status_code == 400
    assert "attachmentAssetIds" in too_many.text
    assert get(api, invoice_id) == before
    # Left out, they stay; given, they replace; null clears.
    assert ok(api.request(method, url, json={"memo": "m"}))["attachmentAssets"] == [terms, usage]
    assert ok(api.request(method, url, json={"attachmentAssetIds": [usage["id"]]}))[
        "attachmentAssets"
    ] == [usage]
    cleared = ok(
        api.request(method, url, json={"attachmentAssetIds": None, "creditBalances": None})
    )
    assert cleared["attachmentAssets"] == []
    assert "creditBalances" not in cleared or cleared["creditBalances"] is None


def test_attachment_and_statement_changes_are_logged(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    invoice_id = draft(database, account, api)
    url = f"/api/invoices/{invoice_id}"
    terms = upload(api, "terms.pdf")
    body = {"attachmentAssetIds": [terms["id"]], "creditBalances": "3/5 credits"}
    ok(api.request("PATCH", url, json=body))
    ok(api.request("PUT", url, json=body))  # the same again: no change, no entry
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "UPDATED"
    assert {"field": "attachmentAssetIds", "before": [], "after": [terms["id"]]} in entry[
        "metadata"
    ]
    assert {"field": "creditBalances", "before": None, "after": "3/5 credits"} in entry["metadata"]
