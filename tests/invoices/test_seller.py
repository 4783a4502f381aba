"""An invoice names its seller: no invoice is issued while the account lacks its legal name or
address (`accounts.seller`). Finalizing answers 400 naming what is missing and changes
nothing; billing's automatic issue keeps the invoice a draft and says why, once."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tally.accounts import seller
from tally.db import Database
from tally.models import Account
from tests.billing.helpers import Merchant
from tests.conftest import make_account
from tests.credit_notes.helpers import act, add_line, new_note, sent_invoice
from tests.factories import SELLER, new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient

ACTIONS = ("finalize", "finalize-and-send", "mark-as-sent")


@pytest.fixture
def unaddressed(http: TestClient, database: Database) -> tuple[ApiClient, str]:
    """The API as an account without an address, and its id."""
    account = make_account(database, "Nowhere Ltd", address=None)
    return ApiClient(http, (account.api_key, account.api_secret)), account.account_id


def _activity(api: ApiClient, object_id: str) -> list[dict[str, Any]]:
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": object_id}).json()
    return [item for log in logs["items"] for item in log["activityLogItems"]]


@pytest.mark.parametrize("action", ACTIONS)
def test_issuing_without_the_sellers_address_is_refused_and_changes_nothing(
    action: str, unaddressed: tuple[ApiClient, str], database: Database
) -> None:
    api, account_id = unaddressed
    invoice_id = insert_invoice(database, account_id, new_customer(api))
    before = api.get(f"/api/invoices/{invoice_id}").json()

    response = api.post(f"/api/invoices/{invoice_id}/{action}")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "SellerDetailsMissing"
    missing = ["address.line1", "address.town", "address.postcode", "address.country"]
    assert [detail["field"] for detail in error["details"]] == missing
    assert ", ".join(missing) in error["message"]
    assert f"PUT /api/sequence-accounts/{account_id}" in error["message"]
    assert "Settings" in error["message"]
    assert api.get(f"/api/invoices/{invoice_id}").json() == before  # still a DRAFT, no number
    assert _activity(api, invoice_id) == []

    # With an address, the same request issues it, and it takes the first number.
    body = {"address": SELLER}
    assert api.put(f"/api/sequence-accounts/{account_id}", json=body).status_code == 200
    issued = api.post(f"/api/invoices/{invoice_id}/{action}")
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] in ("FINAL", "SENT")
    assert issued.json()["invoiceNumber"] == "INV00001"


def test_the_default_test_account_finalizes(api: ApiClient, database: Database) -> None:
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    invoice_id = insert_invoice(database, account_id, new_customer(api))
    response = api.post(f"/api/invoices/{invoice_id}/finalize")
    assert response.status_code == 200 and response.json()["status"] == "FINAL"


@pytest.mark.parametrize(
    ("name", "address", "missing"),
    [
        ("Acme Ltd", dict(SELLER), []),
        ("Acme Ltd", {**SELLER, "postcode": ""}, ["address.postcode"]),  # the UK uses them
        ("Acme Ltd", {"line1": "1 Queen's Road", "town": "Hong Kong", "country": "HK"}, []),
        ("  ", dict(SELLER), ["companyName"]),
        ("Acme Ltd", {"line1": "1 Road", "postcode": "CB1 1AA", "country": "GB"}, ["address.town"]),
        ("Acme Ltd", None, ["address.line1", "address.town", "address.postcode",
                            "address.country"]),
    ],
    ids=["complete", "no-postcode-in-gb", "hong-kong-has-none", "blank-name", "no-town", "none"],
)  # fmt: skip
def test_what_the_seller_needs(
    name: str, address: dict[str, str] | None, missing: list[str]
) -> None:
    assert seller.missing_details(Account(id="a", name=name, address=address)) == missing


def test_automatic_issue_leaves_the_draft_and_says_why_once(
    unaddressed: tuple[ApiClient, str],
) -> None:
    api, account_id = unaddressed
    merchant = Merchant(api)
    price = merchant.price({"pricingType": "FIXED", "price": "100.00"}, name="Platform")
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01", autoIssueInvoices=True)

    report = merchant.bill("2024-02-01")
    assert report["invoicesFinalized"] == 0
    [january] = [i for i in merchant.invoices(schedule["id"]) if i["status"] == "DRAFT"]
    merchant.bill("2024-02-02")  # every run tries again: still one entry

    [entry] = [e for e in _activity(api, january["id"]) if e["verb"] == "NOT_ISSUED"]
    assert "address.line1" in entry["reason"] and "sequence-accounts" in entry["reason"]
    assert api.get(f"/api/invoices/{january['id']}").json()["status"] == "DRAFT"

    assert (
        api.put(f"/api/sequence-accounts/{account_id}", json={"address": SELLER}).status_code == 200
    )
    merchant.bill("2024-02-03")
    issued = api.get(f"/api/invoices/{january['id']}").json()
    assert issued["status"] in ("FINAL", "SENT") and issued["invoiceNumber"] == "INV00001"


@pytest.mark.parametrize("action", ACTIONS)
def test_a_credit_note_names_its_seller_too(
    action: str, unaddressed: tuple[ApiClient, str], database: Database
) -> None:
    """A credit note is a legal document as its invoice is: the same refusal, nothing
    changed, until the address is set. (The invoice it credits was sent before the rule.)"""
    api, account_id = unaddressed
    customer = new_customer(api)
    invoice_id = sent_invoice(database, account_id, customer)
    note = new_note(api, invoice_id, customer["id"])
    add_line(api, note["id"])
    before = api.get(f"/api/credit-notes/{note['id']}").json()

    response = act(api, note["id"], action)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "SellerDetailsMissing"
    assert error["message"].startswith(f"Cannot {action.replace('-', ' ')} the credit note: ")
    assert "address.line1" in [detail["field"] for detail in error["details"]]
    assert api.get(f"/api/credit-notes/{note['id']}").json() == before

    assert (
        api.put(f"/api/sequence-accounts/{account_id}", json={"address": SELLER}).status_code == 200
    )
    issued = act(api, note["id"], action)
    assert issued.status_code == 200, issued.text
    assert issued.json()["creditNoteNumber"]
