"""Tax categories (Tally's /api/tax-categories) and what they decide: an invoice group with a
`taxCategoryId` taxes its lines at the category's published rate for the customer's country
and state, as Sequence looks rates up by tax category and customer location."""

from decimal import Decimal
from typing import Any

from tests.factories import address, new_customer, tax_rate_body
from tests.invoices.states import get, line_body, ok
from tests.support.api_client import ApiClient


def category(api: ApiClient, name: str = "SaaS") -> dict[str, Any]:
    return ok(api.post("/api/tax-categories", json={"name": name, "description": "Software"}), 201)


def rate(api: ApiClient, category_id: str, amount: str, **fields: Any) -> dict[str, Any]:
    body = tax_rate_body(amount=amount, taxCategoryId=category_id, **fields)
    return ok(api.post("/api/tax-rates", json=body), 201)


def test_a_category_is_created_listed_and_read(api: ApiClient, other_api: ApiClient) -> None:
    saas = category(api)
    assert (saas["name"], saas["description"]) == ("SaaS", "Software")
    assert ok(api.get(f"/api/tax-categories/{saas['id']}")) == saas
    assert [item["id"] for item in ok(api.get("/api/tax-categories"))["items"]] == [saas["id"]]
    assert other_api.get(f"/api/tax-categories/{saas['id']}").status_code == 404
    assert ok(other_api.get("/api/tax-categories"))["items"] == []
    assert api.post("/api/tax-categories", json={"name": ""}).status_code == 400
    assert api.post("/api/tax-categories", json={"name": "x", "colour": "red"}).status_code == 400


def test_a_group_s_category_taxes_its_lines_at_the_customer_s_rate(api: ApiClient) -> None:
    saas = category(api)
    rate(api, saas["id"], "0.2", country="GB")
    rate(api, saas["id"], "0.0725", country="US", region="CA")
    rate(api, saas["id"], "0.05", country="US")
    rate(api, category(api, "Books")["id"], "0", country="GB")
    for country, state, expected, tax in (
        ("GB", None, "0.2", "20.00"),
        ("US", "CA", "0.0725", "7.25"),
        ("US", "NY", "0.05", "5.00"),
    ):
        where = address(country=country, state=state) if state else address(country=country)
        customer = new_customer(api, f"Buyer {country} {state}", address=where)
        invoice_id = ok(
            api.post("/api/invoices", json={"currency": "USD", "customerId": customer["id"]}), 201
        )["id"]
        body = {"title": "Platform", "taxCategoryId": saas["id"]}
        group = ok(api.post(f"/api/invoices/{invoice_id}/line-item-groups", json=body), 201)
        assert group["taxCategory"] == {"id": saas["id"], "name": "SaaS"}
        line = ok(
            api.post(
                f"/api/invoices/{invoice_id}/line-items",
                json=line_body(groupId=group["id"], quantity="1", rate="100.00", taxRate="0.5"),
            ),
            201,
        )
        assert (line["taxRate"], line["totalTax"], line["grossTotal"]) == (
            expected,
            tax,
            str(Decimal("100.00") + Decimal(tax)),
        )
        invoice = get(api, invoice_id)
        assert invoice["totalTax"] == tax


def test_a_category_set_later_retaxes_the_group_s_lines(api: ApiClient) -> None:
    saas = category(api)
    rate(api, saas["id"], "0.2", country="GB")
    customer = new_customer(api)
    invoice_id = ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]}), 201
    )["id"]
    groups = f"/api/invoices/{invoice_id}/line-item-groups"
    group = ok(api.post(groups, json={"title": "Platform"}), 201)
    lines = f"/api/invoices/{invoice_id}/line-items"
    body = line_body(groupId=group["id"], quantity="1", rate="10.00", taxRate="0")
    ok(api.post(lines, json=body), 201)
    assert get(api, invoice_id)["totalTax"] == "0.00"
    changed = ok(
        api.put(f"{groups}/{group['id']}", json={"title": "Platform", "taxCategoryId": saas["id"]})
    )
    assert changed["totalTax"] == "2.00"
    assert (get(api, invoice_id)["totalTax"], get(api, invoice_id)["grossTotal"]) == (
        "2.00",
        "12.00",
    )


def test_unknown_foreign_or_rateless_categories_are_refused(
    api: ApiClient, other_api: ApiClient
) -> None:
    customer = new_customer(api)  # in GB
    invoice_id = ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]}), 201
    )["id"]
    groups = f"/api/invoices/{invoice_id}/line-item-groups"
    theirs = category(other_api)
    rate(other_api, theirs["id"], "0.2", country="GB")
    rateless = category(api, "Exports")
    rate(api, rateless["id"], "0.1", country="FR")
    unpublished = category(api, "Drafts")
    rate(api, unpublished["id"], "0.1", country="GB", isPublished=False)
    before = get(api, invoice_id)
    for category_id, status in (
        (theirs["id"], 404),
        ("0190d6c1-0000-7000-8000-000000000000", 404),
        (rateless["id"], 400),
        (unpublished["id"], 400),
    ):
        response = api.post(groups, json={"title": "G", "taxCategoryId": category_id})
        assert response.status_code == status, response.text
        assert "taxCategoryId" in response.text
    assert get(api, invoice_id) == before


def test_tax_exempt_customers_pay_no_category_tax(api: ApiClient) -> None:
    saas = category(api)
    rate(api, saas["id"], "0.2", country="GB")
    customer = new_customer(api, taxStatus="TAX_EXEMPT")
    invoice_id = ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer["id"]}), 201
    )["id"]
    body = {"title": "Platform", "taxCategoryId": saas["id"]}
    group = ok(api.post(f"/api/invoices/{invoice_id}/line-item-groups", json=body), 201)
    line = ok(
        api.post(
            f"/api/invoices/{invoice_id}/line-items",
            json=line_body(groupId=group["id"], taxRate="0.2"),
        ),
        201,
    )
    assert (line["taxRate"], line["totalTax"]) == ("0", "0.00")
