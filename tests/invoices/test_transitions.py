"""Every lifecycle action in every state: the legal ones move the invoice where Sequence says,
the illegal ones answer 400 `InvalidStateTransition` with the reason and leave the invoice
exactly as it was."""

from typing import Any

import httpx
import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.factories import new_customer
from tests.invoices.states import STATES, get, invoice_in, line_body, patch
from tests.support.api_client import ApiClient

ACTIONS = [
    "finalize",
    "send",
    "finalize-and-send",
    "mark-as-sent",
    "void",
    "draft",
    "delete",
    "payment-status",
    "patch-sent",
    "add-line",
]

# What each action makes of each state: the new status, GONE (deleted), or --- (refused: a
# 400 `InvalidStateTransition`).
# Columns in the order of ACTIONS.
MATRIX = """
state               finalize send  f&s   mark  void   draft delete  paid  patch add-line
IN_PROGRESS         ---      ---   ---   ---   ---    DRAFT GONE    ---   ---   ---
DRAFT               FINAL    ---   SENT  SENT  VOIDED ---   GONE    ---   ---   DRAFT
FINAL               ---      SENT  SENT  SENT  VOIDED ---   ---     FINAL ---   ---
FINAL_PAID          ---      SENT  SENT  SENT  ---    ---   ---     FINAL ---   ---
SENT                ---      ---   ---   ---   VOIDED ---   ---     SENT  SENT  ---
SENT_PARTIALLY_PAID ---      ---   ---   ---   ---    ---   ---     SENT  SENT  ---
SENT_PAID           ---      ---   ---   ---   ---    ---   ---     SENT  SENT  ---
SENT_UNCOLLECTIBLE  ---      ---   ---   ---   VOIDED ---   ---     SENT  SENT  ---
VOIDED              ---      ---   ---   ---   ---    ---   ---     ---   ---   ---
"""


def _cases() -> list[tuple[str, str, str]]:
    rows = [line.split() for line in MATRIX.strip().splitlines()[1:]]
    assert {row[0] for row in rows} == set(STATES), "every state has a row"
    return [
        (row[0], action, expected)
        for row in rows
        for action, expected in zip(ACTIONS, row[1:], strict=True)
    ]


def act(api: ApiClient, invoice_id: str, action: str) -> httpx.Response:
    url = f"/api/invoices/{invoice_id}"
    if action == "delete":
        return api.delete(url)
    if action == "payment-status":
        return api.put(f"{url}/payment-status", json={"paymentStatus": "PARTIALLY_PAID"})
    if action == "patch-sent":
        return patch(api, f"{url}/sent", {"memo": "Thanks again"})
    if action == "add-line":
        return api.post(f"{url}/line-items", json=line_body())
    return api.post(f"{url}/{action}")


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(api)


@pytest.mark.parametrize(("state", "action", "expected"), _cases())
def test_every_action_in_every_state(
    api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
    state: str,
    action: str,
    expected: str,
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, state)
    before = get(api, invoice_id)

    response = act(api, invoice_id, action)

    if expected == "---":
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "InvalidStateTransition"
        message = response.json()["error"]["message"]
        assert before["status"] in message and "cannot" in message, message
        assert get(api, invoice_id) == before, "a refused action changes nothing"
        return
    assert response.status_code in (200, 201), response.text
    if expected == "GONE":
        assert response.json()["status"] == before["status"]  # the invoice as it was
        assert api.get(f"/api/invoices/{invoice_id}").status_code == 404
        return
    assert get(api, invoice_id)["status"] == expected


def test_refusals_say_why(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    def refusal(state: str, action: str) -> str:
        invoice_id = invoice_in(database, account.account_id, customer, state)
        response = act(api, invoice_id, action)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "InvalidStateTransition"
        return str(response.json()["error"]["message"])

    assert "UNPAID or UNCOLLECTIBLE" in refusal("SENT_PAID", "void")
    assert "credit note" in refusal("SENT_PARTIALLY_PAID", "void")
    assert "/draft" in refusal("IN_PROGRESS", "finalize")
    assert "finalize-and-send" in refusal("DRAFT", "send")
    assert "void" in refusal("FINAL", "delete")
    assert "credit note" in refusal("SENT", "delete")
    assert "only SENT invoices" in refusal("FINAL", "patch-sent")
    assert "FINAL or SENT" in refusal("DRAFT", "payment-status")
    assert "credit note" in refusal("SENT", "add-line")


def test_unknown_and_foreign_invoices_are_404(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    account: Credentials,
    customer: dict[str, Any],
) -> None:
    invoice_id = invoice_in(database, account.account_id, customer, "DRAFT")
    for action in ACTIONS:
        assert act(other_api, invoice_id, action).status_code == 404, action
        assert act(api, "0190d6c1-0000-7000-8000-000000000000", action).status_code == 404
    assert get(api, invoice_id)["status"] == "DRAFT"
