"""POST /api/invoices/merge: one customer's drafts in one currency become one new draft with
every line; the drafts are voided, never deleted; the totals are their sums."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.accounts.service import Credentials
from tally.db import Database
from tally.exceptions import Conflict
from tests.factories import new_customer
from tests.invoices.states import get, invoice_in, line_body, ok
from tests.support.api_client import ApiClient

D = Decimal


def one_off(api: ApiClient, customer_id: str, currency: str = "GBP", **fields: Any) -> str:
    body = {"currency": currency, "customerId": customer_id, **fields}
    return str(ok(api.post("/api/invoices", json=body), 201)["id"])


def add_line(api: ApiClient, invoice_id: str, **fields: Any) -> dict[str, Any]:
    return ok(api.post(f"/api/invoices/{invoice_id}/line-items", json=line_body(**fields)), 201)


def merge(api: ApiClient, *invoice_ids: str) -> Any:
    return api.post("/api/invoices/merge", json={"invoiceIds": list(invoice_ids)})


def test_drafts_merge_into_a_new_draft_and_are_voided_not_deleted(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    first = one_off(api, customer["id"], memo="First", purchaseOrderNumber="PO-1")
    group = ok(api.post(f"/api/invoices/{first}/line-item-groups", json={"title": "Setup"}), 201)
    add_line(api, first, title="Install", groupId=group["id"])
    add_line(api, first, title="Loose", quantity="1", rate="10.00")
    # A draft billing wrote: two groups, three lines, net 225.00.
    second = invoice_in(database, account.account_id, customer, "DRAFT")

    merged = ok(merge(api, first, second), 201)
    assert merged["id"] not in (first, second)
    assert merged["status"] == "DRAFT"
    assert (merged["memo"], merged["purchaseOrderNumber"]) == ("First", "PO-1")
    assert (merged["netTotal"], merged["totalTax"], merged["grossTotal"]) == (
        "535.00",
        "107.00",
        "642.00",
    )
    detail = get(api, merged["id"])
    titles = [line["title"] for line in detail["lineItems"]]
    assert titles == ["Install", "Loose", "Platform fee", "API calls", "10% off"]
    assert [line["index"] for line in detail["lineItems"]] == [0, 1, 2, 3, 4]
    assert [group["title"] for group in detail["lineItemGroups"]] == [
        "Setup",
        "Platform",
        "Adjustments",
    ]
    install = detail["lineItems"][0]
    assert install["groupId"] == detail["lineItemGroups"][0]["id"]
    assert detail["lineItemGroups"][0]["netTotal"] == "300.00"
    for source in (first, second):
        old = get(api, source)
        assert old["status"] == "VOIDED"
        assert old["lineItems"], "the voided draft keeps its lines"
    # One activity entry, about the merged invoice, naming each draft's change.
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": merged["id"]}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "MERGED"
    assert {"field": f"{first}.status", "before": "DRAFT", "after": "VOIDED"} in entry["metadata"]
    assert {"field": f"{second}.mergedInto", "before": None, "after": merged["id"]} in entry[
        "metadata"
    ]


def test_only_drafts_of_one_customer_and_currency_merge(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer, other = new_customer(api), new_customer(api, "Other Ltd")
    draft = one_off(api, customer["id"])
    euro = one_off(api, customer["id"], "EUR")
    others = one_off(api, other["id"])
    sent = invoice_in(database, account.account_id, customer, "SENT")
    upcoming = invoice_in(database, account.account_id, customer, "IN_PROGRESS")

    refused = merge(api, draft, euro)
    assert refused.status_code == 400
    assert "invoiceIds.1" in refused.text and "EUR" in refused.text
    assert merge(api, draft, others).status_code == 400
    for not_draft in (sent, upcoming):
        response = merge(api, draft, not_draft)
        assert response.status_code == Conflict.status_code, response.text
        assert "cannot merge" in response.json()["error"]["message"]
    assert merge(api, draft, draft).status_code == 400
    assert merge(api, draft).status_code == 400
    assert api.post("/api/invoices/merge", json={"invoiceIds": [draft], "x": 1}).status_code == 400
    # Nothing changed.
    assert get(api, draft)["status"] == "DRAFT"
    assert get(api, upcoming)["status"] == "IN_PROGRESS"


def test_another_accounts_invoice_is_not_found(
    api: ApiClient, other_api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    mine = one_off(api, customer["id"])
    theirs_customer = new_customer(other_api)
    theirs = one_off(other_api, theirs_customer["id"])
    response = merge(api, mine, theirs)
    assert response.status_code == 404
    assert "invoiceIds.1" in response.text
    assert get(api, mine)["status"] == "DRAFT"
    assert ok(other_api.get(f"/api/invoices/{theirs}"))["status"] == "DRAFT"


line_strategy = st.fixed_dictionaries(
    {
        "quantity": st.decimals(min_value=0, max_value=1000, places=3),
        "rate": st.decimals(min_value=-500, max_value=5000, places=4),
        "taxRate": st.sampled_from(["0", "0.05", "0.2", "0.175"]),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drafts=st.lists(st.lists(line_strategy, max_size=4), min_size=2, max_size=3))
def test_merged_totals_are_the_sum_of_the_drafts_and_of_its_lines(
    api: ApiClient, drafts: list[list[dict[str, Decimal | str]]]
) -> None:
    customer = new_customer(api)
    ids = []
    for lines in drafts:
        invoice_id = one_off(api, customer["id"])
        for line in lines:
            add_line(api, invoice_id, **{key: str(value) for key, value in line.items()})
        ids.append(invoice_id)
    sources = [get(api, invoice_id) for invoice_id in ids]
    merged = get(api, ok(merge(api, *ids), 201)["id"])
    lines = merged["lineItems"]
    for total in ("netTotal", "totalTax", "grossTotal"):
        assert D(merged[total]) == sum((D(line[total]) for line in lines), D(0))
    assert D(merged["netTotal"]) == sum((D(source["netTotal"]) for source in sources), D(0))
    assert D(merged["netTotal"]) + D(merged["totalTax"]) == D(merged["grossTotal"])
    # One document now: each rate's tax is its nets x rate rounded once (the drafts' taxes,
    # each rounded on its own, may add up to a cent more or less per rate).
    for rate in {D(line["taxRate"]) for line in lines}:
        net = sum((D(line["netTotal"]) for line in lines if D(line["taxRate"]) == rate), D(0))
        tax = sum((D(line["totalTax"]) for line in lines if D(line["taxRate"]) == rate), D(0))
        assert tax == (net * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("state", ["DRAFT"])
def test_a_merged_invoice_finalizes_like_any_draft(
    state: str, api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api)
    ids = [invoice_in(database, account.account_id, customer, state) for _ in range(2)]
    merged = ok(merge(api, *ids), 201)
    final = ok(api.post(f"/api/invoices/{merged['id']}/finalize"))
    assert final["status"] == "FINAL"
    assert final["balance"] == "540.00"
