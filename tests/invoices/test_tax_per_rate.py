"""Tax rounded once per rate on drafts (ARCHITECTURE.md "Rounding tax per rate"): after every
change to a draft's lines its rates owe their nets x rate rounded once, shared among their
lines; a line edit is still one activity entry."""

from typing import Any

from tests.factories import new_customer
from tests.invoices.states import get, line_body, ok
from tests.support.api_client import ApiClient


def _yen_draft(api: ApiClient, customer_id: str) -> str:
    body = {"currency": "JPY", "customerId": customer_id}
    return str(ok(api.post("/api/invoices", json=body), 201)["id"])


def _add(api: ApiClient, invoice_id: str, rate: str) -> dict[str, Any]:
    body = line_body(quantity="1", rate=rate, taxRate="0.1")
    return ok(api.post(f"/api/invoices/{invoice_id}/line-items", json=body), 201)


def _taxes(invoice: dict[str, Any]) -> tuple[list[str], str, str]:
    lines = invoice["lineItems"]
    return [line["totalTax"] for line in lines], invoice["totalTax"], invoice["grossTotal"]


def test_a_line_edit_moves_its_rate_s_tax_and_stays_one_entry(api: ApiClient) -> None:
    customer = new_customer(api)
    invoice_id = _yen_draft(api, customer["id"])
    url = f"/api/invoices/{invoice_id}"
    first = _add(api, invoice_id, "15")
    assert first["totalTax"] == "2"  # alone at its rate: 1.5 -> 2
    second = _add(api, invoice_id, "25")
    # 40 x 10% = 4, not 2 + 3: the first line rounded 0.5 up as the second did, it goes first.
    assert second["totalTax"] == "3"
    assert _taxes(get(api, invoice_id)) == (["1", "3"], "4", "44")

    # 15 + 36 = 51 x 10% = 5.1 -> 5; per line 2 + 4 = 6, the 15 rounded furthest up (0.5).
    body = line_body(quantity="1", rate="36", taxRate="0.1")
    ok(api.put(f"{url}/line-items/{second['id']}", json=body))
    invoice = get(api, invoice_id)
    assert _taxes(invoice) == (["1", "4"], "5", "56")
    assert [line["grossTotal"] for line in invoice["lineItems"]] == ["16", "40"]
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id}).json()
    verbs = [log["activityLogItems"][0]["verb"] for log in logs["items"]]
    assert sorted(verbs).count("LINE_ITEM_UPDATED") == 1  # the other line's yen is no edit

    # Alone again, the 36 owes its own rounding: 3.6 -> 4; the 15 deleted.
    ok(api.delete(f"{url}/line-items/{first['id']}"))
    assert _taxes(get(api, invoice_id)) == (["4"], "4", "40")


def test_merging_drafts_rounds_each_rate_once_on_the_merged_one(api: ApiClient) -> None:
    customer = new_customer(api)
    drafts = [_yen_draft(api, customer["id"]) for _ in range(2)]
    _add(api, drafts[0], "15")
    _add(api, drafts[1], "25")
    assert [get(api, d)["totalTax"] for d in drafts] == ["2", "3"]

    merged = ok(api.post("/api/invoices/merge", json={"invoiceIds": drafts}), 201)
    assert _taxes(get(api, merged["id"])) == (["1", "3"], "4", "44")


def test_a_currency_change_rounds_each_rate_once_in_the_new_currency(api: ApiClient) -> None:
    customer = new_customer(api)
    body = {"currency": "GBP", "customerId": customer["id"]}
    invoice_id = ok(api.post("/api/invoices", json=body), 201)["id"]
    _add(api, invoice_id, "15")
    _add(api, invoice_id, "25")
    assert _taxes(get(api, invoice_id)) == (["1.50", "2.50"], "4.00", "44.00")

    ok(api.put(f"/api/invoices/{invoice_id}", json={"currency": "JPY"}))
    assert _taxes(get(api, invoice_id)) == (["1", "3"], "4", "44")
