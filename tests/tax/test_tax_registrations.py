"""/api/tax-registrations: the merchant's and customers' tax identifiers, in Sequence's
shapes, tenant scoped, logged, and printed on the invoice PDF."""

from typing import Any

import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.documents import render
from tally.exceptions import Conflict
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.support.api_client import ApiClient

URL = "/api/tax-registrations"


def register(api: ApiClient, **body: Any) -> dict[str, Any]:
    response = api.post(URL, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def logs(api: ApiClient, object_id: str) -> list[dict[str, Any]]:
    """The entries about one object, newest first, as their single items."""
    params = {"activityLogObjectId": object_id}
    items = api.get("/api/activity-logs", params=params).json()["items"]
    return [entry["activityLogItems"][0] for entry in items]


def test_a_customers_registration_round_trips_in_sequence_shape(
    api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)
    created = register(api, taxIdentifier=" DE123456789 ", customerId=customer["id"], country="de")
    assert created == {
        "id": created["id"],
        "sequenceAccountId": account.account_id,
        "taxIdentifier": "DE123456789",
        "customerId": customer["id"],
        "country": "DE",
    }
    assert api.get(f"{URL}/{created['id']}").json() == created
    listed = api.get(URL).json()
    assert listed["items"] == [created] and listed["pagination"]["totalResultSize"] == 1
    mine = api.get(f"{URL}/for-customer/{customer['id']}").json()
    assert mine["items"] == [created]
    assert api.get(f"{URL}/for-merchant/{account.account_id}").json()["items"] == []


def test_the_merchants_registration_uses_the_account_id_and_a_state(
    api: ApiClient, account: Credentials
) -> None:
    created = register(
        api, taxIdentifier="123-456-789", merchantId=account.account_id, country="US", state="CA"
    )
    assert created["merchantId"] == account.account_id and created["state"] == "CA"
    assert "customerId" not in created
    items = api.get(f"{URL}/for-merchant/{account.account_id}").json()["items"]
    assert [item["id"] for item in items] == [created["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"taxIdentifier": "X1", "country": "GB"}, "customerId"),  # no owner
        ({"taxIdentifier": "", "country": "GB", "merchant": True}, "taxIdentifier"),
        ({"taxIdentifier": "   ", "country": "GB", "merchant": True}, "taxIdentifier"),
        ({"taxIdentifier": "a\nb", "country": "GB", "merchant": True}, "taxIdentifier"),
        ({"taxIdentifier": "X" * 101, "country": "GB", "merchant": True}, "taxIdentifier"),
        ({"taxIdentifier": "X1", "country": "ZZ", "merchant": True}, "country"),
        ({"taxIdentifier": "X1", "country": "GB", "state": "CA", "merchant": True}, "state"),
        ({"taxIdentifier": "X1", "country": "US", "state": "QC", "merchant": True}, "state"),
        ({"taxIdentifier": "X1", "country": "US", "state": "XX", "merchant": True}, "state"),
        ({"taxIdentifier": "X1", "country": "GB", "vatNumber": "1", "merchant": True}, "vatNumber"),
    ],
)
def test_invalid_bodies_answer_400_naming_the_field_and_change_nothing(
    api: ApiClient, account: Credentials, body: dict[str, Any], field: str
) -> None:
    body = dict(body)
    if body.pop("merchant", False):
        body["merchantId"] = account.account_id
    response = api.post(URL, json=body)
    assert response.status_code == 400, response.text
    assert field in response.text
    assert api.get(URL).json()["items"] == []


def test_both_owners_at_once_are_refused(api: ApiClient, account: Credentials) -> None:
    customer = new_customer(api)
    body = {
        "taxIdentifier": "X1",
        "country": "GB",
        "customerId": customer["id"],
        "merchantId": account.account_id,
    }
    assert api.post(URL, json=body).status_code == 400


def test_another_accounts_ids_answer_404(
    api: ApiClient, other_api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api)
    mine = register(api, taxIdentifier="GB1", customerId=customer["id"], country="GB")
    theirs_customer = new_customer(other_api)
    other_account = other_api.get("/api/sequence-accounts").json()["items"][0]["id"]

    for url in (f"{URL}/{mine['id']}", f"{URL}/for-customer/{customer['id']}",
                f"{URL}/for-merchant/{account.account_id}"):  # fmt: skip
        assert other_api.get(url).status_code == 404, url
    assert other_api.delete(f"{URL}/{mine['id']}").status_code == 404
    body = {"taxIdentifier": "GB2", "country": "GB", "customerId": theirs_customer["id"]}
    assert other_api.put(f"{URL}/{mine['id']}", json=body).status_code == 404
    # Ids inside a body: another account's customer or merchant is not found either.
    response = api.post(URL, json=body)
    assert response.status_code == 404 and "customerId" in response.text
    response = api.post(URL, json={"taxIdentifier": "GB2", "country": "GB",
                                   "merchantId": other_account})  # fmt: skip
    assert response.status_code == 404 and "merchantId" in response.text
    assert other_api.get(URL).json()["items"] == []
    assert api.get(f"{URL}/{mine['id']}").json() == mine


def test_update_replaces_and_delete_keeps_the_row_out_of_every_list(api: ApiClient) -> None:
    customer = new_customer(api)
    created = register(api, taxIdentifier="FR1", customerId=customer["id"], country="FR")
    body = {"taxIdentifier": "FR40303265045", "customerId": customer["id"], "country": "FR"}
    updated = api.put(f"{URL}/{created['id']}", json=body)
    assert updated.status_code == 200, updated.text
    assert updated.json()["taxIdentifier"] == "FR40303265045"
    assert updated.json()["id"] == created["id"]

    deleted = api.delete(f"{URL}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json() == updated.json()
    assert api.get(f"{URL}/{created['id']}").status_code == 404
    assert api.delete(f"{URL}/{created['id']}").status_code == 404
    assert api.get(URL).json()["items"] == []
    assert api.get(f"{URL}/for-customer/{customer['id']}").json()["items"] == []
    # The identifier is free again once deleted.
    register(api, taxIdentifier="FR40303265045", customerId=customer["id"], country="FR")


def test_a_party_holds_an_identifier_once_per_country(api: ApiClient) -> None:
    customer = new_customer(api)
    register(api, taxIdentifier="NL123B01", customerId=customer["id"], country="NL")
    again = api.post(
        URL, json={"taxIdentifier": "nl123b01", "customerId": customer["id"], "country": "NL"}
    )
    assert again.status_code == Conflict.status_code
    assert "already has the tax registration" in again.json()["error"]["message"]
    # Another customer may hold it (a group's companies share a VAT group number).
    other = new_customer(api, "Sister Ltd")
    register(api, taxIdentifier="NL123B01", customerId=other["id"], country="NL")


def test_create_update_and_delete_are_logged_with_their_changes(api: ApiClient) -> None:
    customer = new_customer(api)
    created = register(api, taxIdentifier="IE1", customerId=customer["id"], country="IE")
    body = {"taxIdentifier": "IE6388047V", "customerId": customer["id"], "country": "IE"}
    assert api.put(f"{URL}/{created['id']}", json=body).status_code == 200
    assert api.put(f"{URL}/{created['id']}", json=body).status_code == 200  # no change
    assert api.delete(f"{URL}/{created['id']}").status_code == 200

    entries = logs(api, created["id"])
    assert sorted(entry["verb"] for entry in entries) == ["CREATED", "DELETED", "UPDATED"]
    update = next(entry for entry in entries if entry["verb"] == "UPDATED")
    change = {"field": "taxIdentifier", "before": "IE1", "after": "IE6388047V"}
    assert change in update["metadata"]
    assert all(entry["activityLogObject"]["entityType"] == "TAX_REGISTRATION" for entry in entries)


def test_the_invoice_pdf_prints_the_sellers_and_the_buyers_tax_ids(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api, "Beispiel GmbH")
    register(api, taxIdentifier="GB987654321", merchantId=account.account_id, country="GB")
    register(api, taxIdentifier="DE123456789", customerId=customer["id"], country="DE")
    register(api, taxIdentifier="98-7654321", customerId=customer["id"], country="US", state="NY")
    someone_else = new_customer(api, "Other Ltd")
    register(api, taxIdentifier="FR00999999999", customerId=someone_else["id"], country="FR")
    invoice_id = insert_invoice(app.state.db, account.account_id, customer)

    with app.state.db.transaction() as session:
        pdf = render.invoice_pdf(
            session, account.account_id, invoice_id, settings=app.state.settings
        )
    text = pdf_text(pdf)

    assert "VAT number GB987654321" in text
    assert "VAT number DE123456789" in text
    assert "Sales tax ID 98-7654321 (US-NY)" in text
    assert "FR00999999999" not in text
    # The seller's id is printed with the merchant, above the buyer's.
    assert text.index("GB987654321") < text.index("Beispiel GmbH") < text.index("DE123456789")
