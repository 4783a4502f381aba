"""A draft invoice's lines edited from its dashboard page, through the services the API's
`/api/invoices/{id}/line-items` calls: add, change, delete; the totals recalculated exactly
(nets rounded per line, tax once per rate); an activity log entry for each change; errors said
next to their fields with nothing changed; no controls on an invoice that is not a draft, and
a post to one refused with a message; another account's invoice not found."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.dashboard.helpers import page_token
from tests.factories import new_customer
from tests.support.api_client import ApiClient

INVOICES = "/dashboard/invoices"
CENT = Decimal("0.01")


def new_draft(api: ApiClient) -> str:
    customer = new_customer(api, "Lines Ltd")
    answer = api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def invoice_of(api: ApiClient, invoice_id: str) -> dict[str, Any]:
    answer = api.get(f"/api/invoices/{invoice_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def post(dashboard: TestClient, path: str, **data: str) -> Any:
    token = page_token(dashboard, "/dashboard/invoices")
    return dashboard.post(path, data={"csrf_token": token, **data})


def line(title: str, quantity: str, rate: str, tax_rate: str = "20", **more: str) -> dict[str, str]:
    return {"title": title, "quantity": quantity, "rate": rate, "tax_rate": tax_rate, **more}


def expected_totals(lines: list[tuple[str, str, str]]) -> tuple[Decimal, Decimal, Decimal]:
    """Net per line rounded half up to the penny; tax once per rate on the rate's rounded
    nets; gross their sum: computed here, not by Tally."""
    nets = [(Decimal(q) * Decimal(r)).quantize(CENT, ROUND_HALF_UP) for q, r, _ in lines]
    by_rate: dict[Decimal, Decimal] = {}
    for net, (_, _, rate) in zip(nets, lines, strict=True):
        by_rate[Decimal(rate)] = by_rate.get(Decimal(rate), Decimal(0)) + net
    tax = sum(
        ((total * rate / 100).quantize(CENT, ROUND_HALF_UP) for rate, total in by_rate.items()),
        Decimal(0),
    )
    net = sum(nets, Decimal(0))
    return net, tax, net + tax


def assert_totals(api: ApiClient, invoice_id: str, lines: list[tuple[str, str, str]]) -> None:
    net, tax, gross = expected_totals(lines)
    invoice = invoice_of(api, invoice_id)
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == (
        f"{net:.2f}",
        f"{tax:.2f}",
        f"{gross:.2f}",
    )


def test_add_change_and_delete_lines_with_exact_totals_and_activity(
    dashboard: TestClient, api: ApiClient
) -> None:
    invoice_id = new_draft(api)
    page = dashboard.get(f"{INVOICES}/{invoice_id}")
    assert page.status_code == 200 and 'id="add-line"' in page.text

    added = post(dashboard, f"{INVOICES}/{invoice_id}/lines/new", **line("Setup", "3", "12.50"))
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{INVOICES}/{invoice_id}?done=line-added#lines"
    post(dashboard, f"{INVOICES}/{invoice_id}/lines/new", **line("Calls", "2", "0.125"))
    assert_totals(api, invoice_id, [("3", "12.50", "20"), ("2", "0.125", "20")])

    lines = invoice_of(api, invoice_id)["lineItems"]
    assert [item["title"] for item in lines] == ["Setup", "Calls"]
    calls = lines[1]["id"]
    form = dashboard.get(f"{INVOICES}/{invoice_id}/lines/{calls}/edit")
    assert form.status_code == 200 and 'value="Calls"' in form.text and 'value="0.125"' in form.text
    changed = post(
        dashboard,
        f"{INVOICES}/{invoice_id}/lines/{calls}/edit",
        **line("Calls (May)", "3", "0.125", "5", description="Minutes over the plan"),
    )
    assert changed.status_code == 303, changed.text
    after = invoice_of(api, invoice_id)["lineItems"][1]
    assert after["title"] == "Calls (May)" and after["description"] == "Minutes over the plan"
    assert (after["quantity"], after["taxRate"]) == ("3", "0.05")
    assert_totals(api, invoice_id, [("3", "12.50", "20"), ("3", "0.125", "5")])

    page = dashboard.get(changed.headers["location"]).text
    assert "Line saved" in page and "Calls (May)" in page
    expected_gross = expected_totals([("3", "12.50", "20"), ("3", "0.125", "5")])[2]
    assert f"£{expected_gross:.2f}" in page.split('id="lines-gross">')[1]

    setup = invoice_of(api, invoice_id)["lineItems"][0]["id"]
    deleted = post(dashboard, f"{INVOICES}/{invoice_id}/lines/{setup}/delete")
    assert deleted.status_code == 303
    assert [item["title"] for item in invoice_of(api, invoice_id)["lineItems"]] == ["Calls (May)"]
    assert_totals(api, invoice_id, [("3", "0.125", "5")])

    logged = api.get("/api/activity-logs", params={"activityLogObjectId": invoice_id, "limit": 100})
    assert logged.status_code == 200, logged.text
    items = logged.json()["items"]
    summaries = [item["summary"] for entry in items for item in entry["activityLogItems"]]
    for what in ("'Setup' added", "'Calls' added", "'Calls (May)' changed", "'Setup' deleted"):
        assert any(what in summary for summary in summaries), (what, summaries)
    activity = dashboard.get(f"{INVOICES}/{invoice_id}").text.split('id="activity"')[1]
    assert "Line &#39;Setup&#39; deleted" in activity


def test_a_change_keeps_what_the_form_does_not_show(dashboard: TestClient, api: ApiClient) -> None:
    invoice_id = new_draft(api)
    made = api.post(
        f"/api/invoices/{invoice_id}/line-items",
        json={
            "title": "Support",
            "quantity": "1",
            "rate": "100",
            "taxRate": "0.2",
            "servicePeriod": {"startDate": "2024-05-01", "endDate": "2024-05-31"},
            "externalIds": [{"key": "Xero", "value": "X-1"}],
        },
    )
    assert made.status_code == 201, made.text
    line_id = made.json()["id"]
    answer = post(
        dashboard, f"{INVOICES}/{invoice_id}/lines/{line_id}/edit", **line("Support+", "2", "100")
    )
    assert answer.status_code == 303, answer.text
    after = invoice_of(api, invoice_id)["lineItems"][0]
    assert after["title"] == "Support+" and after["netTotal"] == "200.00"
    assert after["servicePeriod"] == {"startDate": "2024-05-01", "endDate": "2024-05-31"}
    assert after["externalIds"] == [{"key": "Xero", "value": "X-1"}]


def test_errors_are_said_next_to_their_fields_and_nothing_changes(
    dashboard: TestClient, api: ApiClient
) -> None:
    invoice_id = new_draft(api)
    before = invoice_of(api, invoice_id)
    answer = post(
        dashboard,
        f"{INVOICES}/{invoice_id}/lines/new",
        **line("", "three", "12.50", "150"),
    )
    assert answer.status_code == 422
    page = answer.text
    assert 'id="title-error">Title: fill this in<' in page
    assert 'id="quantity-error">Quantity: enter a number, e.g. 12.50<' in page
    assert 'id="tax_rate-error">Tax rate: enter a percentage from 0 to 100, e.g. 20<' in page
    assert 'aria-describedby="quantity-error"' in page
    assert 'value="12.50"' in page  # what was typed comes back
    assert "Input should be" not in page and "Value error" not in page
    bad_rate = post(dashboard, f"{INVOICES}/{invoice_id}/lines/new", **line("X", "1", "1", "abc"))
    assert 'id="tax_rate-error">Tax rate: enter a percentage, e.g. 20<' in bad_rate.text
    assert bad_rate.text.count("Tax rate: enter a percentage") == 2  # by the field, in the list
    assert invoice_of(api, invoice_id) == before


def test_an_issued_invoice_has_no_line_controls_and_refuses_line_posts(
    dashboard: TestClient, api: ApiClient
) -> None:
    invoice_id = new_draft(api)
    post(dashboard, f"{INVOICES}/{invoice_id}/lines/new", **line("Setup", "1", "10"))
    line_id = invoice_of(api, invoice_id)["lineItems"][0]["id"]
    assert api.post(f"/api/invoices/{invoice_id}/void").status_code == 200
    page = dashboard.get(f"{INVOICES}/{invoice_id}").text
    assert 'id="add-line"' not in page and "/lines/" not in page
    before = invoice_of(api, invoice_id)
    for path, data in (
        (f"{INVOICES}/{invoice_id}/lines/new", line("More", "1", "1")),
        (f"{INVOICES}/{invoice_id}/lines/{line_id}/edit", line("Changed", "1", "1")),
        (f"{INVOICES}/{invoice_id}/lines/{line_id}/delete", {}),
    ):
        refused = post(dashboard, path, **data)
        assert refused.status_code == 409, refused.text
        assert "Only a draft invoice&#39;s lines can change" in refused.text
    assert dashboard.get(f"{INVOICES}/{invoice_id}/lines/new").status_code == 409
    assert invoice_of(api, invoice_id) == before


def test_another_accounts_invoice_and_lines_are_not_found(
    dashboard: TestClient, api: ApiClient, other_api: ApiClient
) -> None:
    theirs = new_draft(other_api)
    made = other_api.post(
        f"/api/invoices/{theirs}/line-items",
        json={"title": "Theirs", "quantity": "1", "rate": "1", "taxRate": "0"},
    )
    line_id = made.json()["id"]
    assert dashboard.get(f"{INVOICES}/{theirs}/lines/new").status_code == 404
    assert (
        post(dashboard, f"{INVOICES}/{theirs}/lines/new", **line("X", "1", "1")).status_code == 404
    )
    assert post(dashboard, f"{INVOICES}/{theirs}/lines/{line_id}/delete").status_code == 404
    mine = new_draft(api)
    assert post(dashboard, f"{INVOICES}/{mine}/lines/{line_id}/delete").status_code == 404
    assert len(invoice_of(other_api, theirs)["lineItems"]) == 1


def test_line_posts_need_the_csrf_token(dashboard: TestClient, api: ApiClient) -> None:
    invoice_id = new_draft(api)
    answer = dashboard.post(f"{INVOICES}/{invoice_id}/lines/new", data=line("X", "1", "1"))
    assert answer.status_code == 403
    assert invoice_of(api, invoice_id)["lineItems"] == []


def test_a_line_goes_into_a_group_chosen_by_name(dashboard: TestClient, api: ApiClient) -> None:
    invoice_id = new_draft(api)
    group = api.post(f"/api/invoices/{invoice_id}/line-item-groups", json={"title": "Services"})
    assert group.status_code == 201, group.text
    group_id = group.json()["id"]
    page = dashboard.get(f"{INVOICES}/{invoice_id}").text
    assert f'<option value="{group_id}">Services</option>' in page
    answer = post(
        dashboard,
        f"{INVOICES}/{invoice_id}/lines/new",
        **line("Audit", "1", "80", group_id=group_id),
    )
    assert answer.status_code == 303, answer.text
    [made] = invoice_of(api, invoice_id)["lineItems"]
    assert made["groupId"] == group_id
    [shown] = invoice_of(api, invoice_id)["lineItemGroups"]
    assert shown["netTotal"] == "80.00" and shown["grossTotal"] == "96.00"
    unknown = post(
        dashboard,
        f"{INVOICES}/{invoice_id}/lines/new",
        **line("Audit", "1", "80", group_id="00000000-0000-0000-0000-000000000000"),
    )
    assert unknown.status_code == 422
    assert 'id="group_id-error">Group: ' in unknown.text
    assert len(invoice_of(api, invoice_id)["lineItems"]) == 1
