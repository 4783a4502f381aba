"""Inputs at the edges the fuzzer drove Tally to, kept as plain requests.

Each one is bad input that must be refused with a clear 4xx in the documented error shape
(the ApiClient checks the shape) and change nothing.
"""

from tally.db import Database
from tests.fuzz.billing_objects import make_billing_objects
from tests.support.api_client import ApiClient

BEYOND_64_BITS = 2**70  # PostgreSQL BIGINT and SQLite INTEGER both stop at 2**63 - 1


def test_balance_versions_beyond_64_bits_are_a_version_conflict(
    api: ApiClient, database: Database
) -> None:
    objects = make_billing_objects(api, database)
    note_id, invoice_id = objects["credit_note"], objects["sent_invoice"]
    assert api.post(f"/api/credit-notes/{note_id}/finalize").status_code == 200
    before = api.get(f"/api/invoices/{invoice_id}").json()

    response = api.post(
        "/api/credit-note-applications",
        json={
            "creditNoteId": note_id,
            "invoiceId": invoice_id,
            "amount": 1,
            "currency": "GBP",
            "creditNoteBalanceVersion": BEYOND_64_BITS,
            "invoiceBalanceVersion": BEYOND_64_BITS,
        },
    )

    assert response.status_code == 409
    assert response.json()["error"]["type"] == "StaleVersion"
    after = api.get(f"/api/invoices/{invoice_id}").json()
    assert (after["balance"], after["balanceVersion"]) == (
        before["balance"],
        before["balanceVersion"],
    )


def test_tax_rate_version_beyond_64_bits_is_not_found(api: ApiClient, database: Database) -> None:
    tax_rate = make_billing_objects(api, database)["tax_rate"]

    response = api.get(f"/api/tax-rates/{tax_rate}/versions/{BEYOND_64_BITS}")

    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "NotFound",
        "message": f"Tax rate '{tax_rate}' has no version {BEYOND_64_BITS}",
    }


def test_a_cursor_that_is_not_ours_is_a_bad_request(api: ApiClient) -> None:
    response = api.get("/api/customers", params={"after": "\x1f"})

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "BadRequest",
        "message": "Invalid pagination cursor '\\x1f'.",
    }


def test_after_and_before_together_are_a_bad_request(api: ApiClient) -> None:
    response = api.get("/api/invoices/any/line-items", params={"after": "a", "before": "b"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Give either `after` or `before`, not both."


def test_nul_in_a_body_is_refused_and_nothing_is_created(api: ApiClient) -> None:
    response = api.post(
        "/api/products",
        content=b'{"name": "Platform\\u0000 access"}',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
    assert api.get("/api/products").json()["items"] == []


def test_a_huge_line_item_group_index_on_an_invoice_is_refused(
    api: ApiClient, database: Database
) -> None:
    objects = make_billing_objects(api, database)
    url = f"/api/invoices/{objects['invoice']}/line-item-groups/{objects['invoice_group']}"

    response = api.put(url, json={"title": "Moved", "index": BEYOND_64_BITS})

    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "index", "message": "Input should be less than or equal to 10000"}
    ]
    groups = api.get(f"/api/invoices/{objects['invoice']}/line-item-groups").json()["items"]
    assert [group["title"] for group in groups] == ["Services"]


def test_a_timestamp_filter_with_no_utc_equivalent_is_a_bad_request(api: ApiClient) -> None:
    """0001-01-01T00:00+01:00 is before the first instant UTC can hold (it was a 500)."""
    for name, value in (
        ("eventTimestampAfter", "0001-01-01T00:00:00+01:00"),
        ("eventTimestampBefore", "9999-12-31T23:59:59-01:00"),
    ):
        answer = api.get("/api/usage-events", params={name: value})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["details"][0]["field"] == name
