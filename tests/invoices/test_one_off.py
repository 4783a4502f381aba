"""One-off invoices (POST /api/invoices) and the lines and groups of drafts: Sequence's request
shapes, amounts rounded as the billing engine rounds them, totals that always add up."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tally.accounts.service import Credentials
from tally.db import Database
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed
from tests.factories import address, customer_body, new_customer
from tests.invoices.states import conflict, get, invoice_in, line_body, ok
from tests.schedules.helpers import Setup
from tests.support.api_client import ApiClient

D = Decimal


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(
        api,
        contacts=[
            {"name": "Cc", "email": "cc@example.com", "billingPreference": "STANDARD"},
            {"name": "Payer", "email": "payer@example.com", "billingPreference": "PRIMARY"},
            {"name": "Sales", "email": "sales@example.com", "billingPreference": "NONE"},
        ],
    )


def one_off(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    return ok(
        api.post("/api/invoices", json={"currency": "GBP", "customerId": customer_id, **fields}),
        201,
    )


def add_line(api: ApiClient, invoice_id: str, **fields: Any) -> dict[str, Any]:
    return ok(api.post(f"/api/invoices/{invoice_id}/line-items", json=line_body(**fields)), 201)


def test_a_one_off_invoice_takes_the_customer_as_it_is(
    api: ApiClient, customer: dict[str, Any]
) -> None:
    invoice = one_off(api, customer["id"])

    assert invoice["status"] == "DRAFT"
    assert invoice["customerId"] == customer["id"]
    assert invoice["customerLegalCompanyName"] == "Example Ltd"
    assert invoice["customerEmails"] == ["payer@example.com", "cc@example.com"]  # primary first
    assert invoice["customerBillingAddress"] == customer["address"]
    assert invoice["customerShippingAddress"] == customer["address"]
    assert invoice["customerTaxStatus"] == "TAXED"
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == ("0.00",) * 3
    assert invoice["accountingDate"] == datetime.now(ZoneInfo("UTC")).date().isoformat()
    assert invoice["dueDateSource"] == "CALCULATED"
    for absent in ("invoiceNumber", "issueDate", "dueDate", "billingScheduleId", "balance"):
        assert absent not in invoice
    assert get(api, invoice["id"])["lineItems"] == []


def test_a_one_off_invoice_with_every_field(api: ApiClient, customer: dict[str, Any]) -> None:
    shipping = address(line1="2 Dock Road", town="Hull", postcode="HU1 1AA")
    billing = address(line1="3 Bill Street")
    invoice = one_off(
        api,
        customer["id"],
        currency="JPY",
        dueDate="2024-09-30",
        purchaseOrderNumber="PO-1",
        reference="REF-1",
        customerEmails=["ap@example.com"],
        customerLegalCompanyName="Example Trading Ltd",
        customerBillingAddress=billing,
        customerShippingAddress=shipping,
        memo="Thanks",
        paymentOptions=["BANK_TRANSFER", "LINK"],
        billingPeriod={"start": "2024-08-01", "endInclusive": "2024-08-31"},
        metadata=[{"key": "deal", "value": "42"}],
        accountingDate="2024-08-31",
    )

    assert {k: invoice[k] for k in (
        "currency", "dueDate", "dueDateSource", "purchaseOrderNumber", "reference",
        "customerEmails", "customerLegalCompanyName", "memo", "paymentOptions",
        "billingPeriod", "metadata", "accountingDate",
    )} == {
        "currency": "JPY",
        "dueDate": "2024-09-30",
        "dueDateSource": "MANUAL",
        "purchaseOrderNumber": "PO-1",
        "reference": "REF-1",
        "customerEmails": ["ap@example.com"],
        "customerLegalCompanyName": "Example Trading Ltd",
        "memo": "Thanks",
        "paymentOptions": ["BANK_TRANSFER", "LINK"],
        "billingPeriod": {"start": "2024-08-01", "endInclusive": "2024-08-31"},
        "metadata": [{"key": "deal", "value": "42"}],
        "accountingDate": "2024-08-31",
    }  # fmt: skip
    assert invoice["customerShippingAddress"]["line1"] == "2 Dock Road"
    assert invoice["customerBillingAddress"]["line1"] == "3 Bill Street"
    assert invoice["totalTax"] == "0"  # JPY has no minor unit
    final = ok(api.post(f"/api/invoices/{invoice['id']}/finalize"))
    assert (final["dueDate"], final["dueDateSource"]) == ("2024-09-30", "MANUAL")


def test_a_schedule_s_payment_terms_apply_to_its_one_off_invoices(api: ApiClient) -> None:
    setup = Setup(api)
    schedule = setup.create(defaultDueDateDays=7)
    invoice = one_off(api, setup.customer_id, billingScheduleId=schedule["id"])
    assert (invoice["billingScheduleId"], invoice["paymentTermDays"]) == (schedule["id"], 7)


def test_refused_one_off_invoices(
    api: ApiClient, other_api: ApiClient, customer: dict[str, Any]
) -> None:
    other_customer = new_customer(other_api)
    archived = new_customer(api, "Gone Ltd")
    ok(api.post(f"/api/customers/{archived['id']}/archive"))
    other_schedule = Setup(api).create()
    before = ok(api.get("/api/invoices"))["pagination"]["totalResultSize"]

    def refused(status: int, **fields: Any) -> str:
        body = {"currency": "GBP", "customerId": customer["id"], **fields}
        response = api.post("/api/invoices", json=body)
        assert response.status_code == status, response.text
        return str(response.json()["error"]["message"])

    refused(404, customerId=other_customer["id"])
    refused(404, customerId="0190d6c1-0000-7000-8000-000000000000")
    assert "archived" in refused(400, customerId=archived["id"])
    assert "another customer" in refused(400, billingScheduleId=other_schedule["id"])
    refused(404, billingScheduleId="0190d6c1-0000-7000-8000-000000000000")
    refused(400, currency="XXX")
    refused(400, currency=None)
    assert "billingRunId" in refused(404, billingRunId="0190d6c1-0000-7000-8000-000000000000")
    refused(400, billingPeriod={"start": "2024-08-31", "endInclusive": "2024-08-01"})
    refused(400, customerEmails=["not an email"])
    assert ok(api.get("/api/invoices"))["pagination"]["totalResultSize"] == before


def test_line_amounts_are_rounded_half_up_per_line(
    api: ApiClient, customer: dict[str, Any]
) -> None:
    invoice_id = one_off(api, customer["id"])["id"]

    # Sequence's example line: 2 x 20000.10 at 20 %.
    ferraris = add_line(
        api,
        invoice_id,
        title="Ferraris",
        description="Red",
        quantity="2",
        rate="20000.10",
        taxRate="0.2",
        servicePeriod={"startDate": "2022-10-20", "endDate": "2022-10-24"},
    )
    # 3 x 0.125 = 0.375 -> 0.38; tax 0.076 -> 0.08.
    small = add_line(api, invoice_id, title="Small", quantity="3", rate="0.125", taxRate="0.2")
    timed = add_line(
        api,
        invoice_id,
        title="Timed",
        quantity="1",
        rate="-10",
        taxRate="0",
        servicePeriodStart="2024-05-01T00:00:00Z",
        servicePeriodEnd="2024-05-31T00:00:00Z",
        rateDisplay="PERCENTAGE",
    )

    assert (ferraris["netTotal"], ferraris["totalTax"], ferraris["grossTotal"]) == (
        "40000.20",
        "8000.04",
        "48000.24",
    )
    assert ferraris["servicePeriod"] == {"startDate": "2022-10-20", "endDate": "2022-10-24"}
    assert ferraris["servicePeriodStart"] == "2022-10-20T00:00:00Z"
    assert (ferraris["index"], small["index"], timed["index"]) == (0, 1, 2)
    assert (small["netTotal"], small["totalTax"], small["grossTotal"]) == ("0.38", "0.08", "0.46")
    assert (timed["grossTotal"], timed["servicePeriod"]["endDate"]) == ("-10.00", "2024-05-31")
    invoice = get(api, invoice_id)
    assert (invoice["netTotal"], invoice["totalTax"], invoice["grossTotal"]) == (
        "39990.58",
        "8000.12",
        "47990.70",
    )
    assert invoice["editedAt"]
    assert [line["kind"] for line in invoice["lineItems"]] == ["MANUAL"] * 3


def test_jpy_and_tax_exempt_customers(api: ApiClient) -> None:
    exempt = new_customer(api, "Charity", taxStatus="TAX_EXEMPT")
    invoice_id = one_off(api, exempt["id"], currency="JPY")["id"]

    line = add_line(api, invoice_id, quantity="3", rate="333.5", taxRate="0.2")

    # 1000.5 -> 1001 yen; an exempt customer is charged no tax, as billing does.
    assert (line["netTotal"], line["taxRate"], line["totalTax"], line["grossTotal"]) == (
        "1001",
        "0",
        "0",
        "1001",
    )


def test_groups_hold_lines_and_their_totals(api: ApiClient, customer: dict[str, Any]) -> None:
    invoice_id = one_off(api, customer["id"])["id"]
    groups_url = f"/api/invoices/{invoice_id}/line-item-groups"
    cars = ok(api.post(groups_url, json={"title": "Cars", "description": "Fast"}), 201)
    boats = ok(api.post(groups_url, json={"title": "Boats"}), 201)
    red = add_line(api, invoice_id, title="Red", groupId=cars["id"], rate="100")
    blue = add_line(api, invoice_id, title="Blue", groupId=cars["id"], rate="50")
    add_line(api, invoice_id, title="Dinghy", groupId=boats["id"], rate="10")
    loose = add_line(api, invoice_id, title="Loose", rate="1")

    invoice = get(api, invoice_id)
    by_title = {g["title"]: g for g in invoice["lineItemGroups"]}
    assert (by_title["Cars"]["netTotal"], by_title["Cars"]["grossTotal"]) == ("300.00", "360.00")
    assert by_title["Boats"]["netTotal"] == "20.00"
    assert invoice["netTotal"] == "322.00"

    # Update a line: new quantity, moved to the other group.
    moved = ok(
        api.put(
            f"/api/invoices/{invoice_id}/line-items/{blue['id']}",
            json=line_body(title="Blue boat", quantity="1", rate="50", groupId=boats["id"]),
        )
    )
    assert (moved["index"], moved["groupId"], moved["netTotal"]) == (1, boats["id"], "50.00")
    # Move Boats first.
    ok(api.put(f"{groups_url}/{boats['id']}", json={"title": "Boats!", "index": 0}))
    invoice = get(api, invoice_id)
    assert [(g["title"], g["index"], g["netTotal"]) for g in invoice["lineItemGroups"]] == [
        ("Boats!", 0, "70.00"),
        ("Cars", 1, "200.00"),
    ]
    # Delete a line: the others close up.
    deleted = ok(api.delete(f"/api/invoices/{invoice_id}/line-items/{red['id']}"))
    assert deleted["id"] == red["id"]
    invoice = get(api, invoice_id)
    assert [(line["title"], line["index"]) for line in invoice["lineItems"]] == [
        ("Blue boat", 0),
        ("Dinghy", 1),
        ("Loose", 2),
    ]
    # Delete a group: its lines go with it.
    ok(api.delete(f"{groups_url}/{boats['id']}"))
    invoice = get(api, invoice_id)
    assert [line["id"] for line in invoice["lineItems"]] == [loose["id"]]
    assert [(g["title"], g["index"], g["netTotal"]) for g in invoice["lineItemGroups"]] == [
        ("Cars", 0, "0.00")
    ]
    assert (invoice["netTotal"], invoice["grossTotal"]) == ("2.00", "2.40")


def test_line_and_group_requests_refused(
    api: ApiClient,
    other_api: ApiClient,
    customer: dict[str, Any],
) -> None:
    invoice_id = one_off(api, customer["id"])["id"]
    other_invoice = one_off(api, customer["id"])["id"]
    foreign_group = ok(
        api.post(f"/api/invoices/{other_invoice}/line-item-groups", json={"title": "G"}), 201
    )
    merchant = Merchant(other_api)
    foreign_price = merchant.price(fixed())
    line = add_line(api, invoice_id)
    lines_url = f"/api/invoices/{invoice_id}/line-items"
    before = get(api, invoice_id)

    for body, status in (
        (line_body(groupId=foreign_group["id"]), 404),  # another invoice's group
        (line_body(priceId=foreign_price), 404),
        (line_body(externalIds=[{"key": "Nowhere", "value": "1"}]), 400),
        (line_body(revenueRecognitionMethod="SOMETIMES"), 400),
        (line_body(taxRate="1.5"), 400),
        (line_body(taxRate="-0.1"), 400),
        (line_body(quantity="lots"), 400),
        (line_body(rate="NaN"), 400),
        (line_body(title=""), 400),
        (line_body(servicePeriodStart="2024-05-01T00:00:00Z"), 400),
        ({"title": "No amounts"}, 400),
    ):
        response = api.post(lines_url, json=body)
        assert response.status_code == status, (body, response.text)
    assert api.put(f"{lines_url}/{before['id']}", json=line_body()).status_code == 404
    missing_group = api.put(
        f"/api/invoices/{invoice_id}/line-item-groups/{foreign_group['id']}", json={"title": "x"}
    )
    assert missing_group.status_code == 404
    group = api.post(
        f"/api/invoices/{invoice_id}/line-item-groups", json={"title": "G", "taxCategoryId": "t"}
    )
    assert group.status_code == 404  # no such tax category
    assert api.delete(f"/api/invoices/{other_invoice}/line-items/{line['id']}").status_code == 404
    assert get(api, invoice_id) == before


def test_a_price_line_names_its_product(api: ApiClient, customer: dict[str, Any]) -> None:
    merchant = Merchant(api)
    price = merchant.price(fixed())
    invoice_id = one_off(api, customer["id"])["id"]
    line = add_line(api, invoice_id, priceId=price)
    assert (line["priceId"], line["productId"]) == (price, merchant.product_id)


def test_editing_a_billed_draft_takes_it_out_of_billing_s_hands(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price(fixed("100.00"), billingFrequency="MONTHLY")
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01", "2024-12-31")
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    assert january["status"] == "DRAFT" and "editedAt" not in january
    billed_line = january["lineItems"][0]

    changed = ok(
        api.put(
            f"/api/invoices/{january['id']}/line-items/{billed_line['id']}",
            json=line_body(title=billed_line["title"], quantity="2", rate="100", taxRate="0.2"),
        )
    )
    add_line(api, january["id"], title="Setup", quantity="1", rate="50", taxRate="0.2")
    edited = get(api, january["id"])
    merchant.bill("2024-03-01")  # recalculates drafts, but not this one any more

    assert changed["kind"] == "PRICE"  # still the price's line, now edited
    assert get(api, january["id"]) == edited
    assert (edited["netTotal"], edited["grossTotal"]) == ("250.00", "300.00")
    assert edited["editedAt"]


def test_lines_of_other_statuses_are_not_edited(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    for state in ("IN_PROGRESS", "FINAL", "SENT", "VOIDED"):
        invoice_id = invoice_in(database, account.account_id, customer, state)
        invoice = get(api, invoice_id)
        line_id = invoice["lineItems"][0]["id"]
        group_id = invoice["lineItemGroups"][0]["id"]
        url = f"/api/invoices/{invoice_id}"
        for response in (
            api.post(f"{url}/line-items", json=line_body()),
            api.put(f"{url}/line-items/{line_id}", json=line_body()),
            api.delete(f"{url}/line-items/{line_id}"),
            api.post(f"{url}/line-item-groups", json={"title": "G"}),
            api.put(f"{url}/line-item-groups/{group_id}", json={"title": "G"}),
            api.delete(f"{url}/line-item-groups/{group_id}"),
        ):
            conflict(response, state, "cannot edit lines")
        assert get(api, invoice_id) == invoice


# ---- Totals are always the sums of their lines -------------------------------------------

quantities = st.decimals(min_value=-1000, max_value=100000, places=3)
rates = st.decimals(min_value=-500, max_value=5000, places=4)
tax_rates = st.sampled_from([D("0"), D("0.05"), D("0.175"), D("0.2"), D("0.125")])
line_edit = st.fixed_dictionaries(
    {"quantity": quantities, "rate": rates, "taxRate": tax_rates, "group": st.integers(0, 2)}
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), line_edit),
        st.tuples(st.just("update"), st.integers(0, 20), line_edit),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("delete-group"), st.integers(0, 2)),
    ),
    min_size=1,
    max_size=10,
)


def _expected(line: dict[str, Any], tax: bool = True) -> tuple[Decimal, Decimal]:
    cent = D("0.01")
    net = (D(line["quantity"]) * D(line["rate"])).quantize(cent, rounding=ROUND_HALF_UP)
    return net, (net * D(line["taxRate"])).quantize(cent, rounding=ROUND_HALF_UP)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_totals_always_add_up_after_any_edits(api: ApiClient, ops: list[tuple[Any, ...]]) -> None:
    customer_id = ok(api.post("/api/customers", json=customer_body()), 201)["id"]
    invoice_id = one_off(api, customer_id)["id"]
    url = f"/api/invoices/{invoice_id}"
    groups = [
        ok(api.post(f"{url}/line-item-groups", json={"title": f"G{i}"}), 201)["id"]
        for i in range(3)
    ]

    def body(edit: dict[str, Any]) -> dict[str, Any]:
        group = groups[edit["group"] % len(groups)] if groups else None
        return line_body(
            quantity=str(edit["quantity"]),
            rate=str(edit["rate"]),
            taxRate=str(edit["taxRate"]),
            groupId=group,
        )

    for op in ops:
        lines = get(api, invoice_id)["lineItems"]
        if op[0] == "add":
            add_line(api, invoice_id, **body(op[1]))
        elif op[0] == "update" and lines:
            target = lines[op[1] % len(lines)]["id"]
            ok(api.put(f"{url}/line-items/{target}", json=body(op[2])))
        elif op[0] == "delete" and lines:
            ok(api.delete(f"{url}/line-items/{lines[op[1] % len(lines)]['id']}"))
        elif op[0] == "delete-group" and groups:
            ok(api.delete(f"{url}/line-item-groups/{groups.pop(op[1] % len(groups))}"))

    invoice = get(api, invoice_id)
    lines = invoice["lineItems"]
    # Nets per line; tax rounded once per rate, each line's within a cent of net x rate.
    by_rate: dict[Decimal, list[Decimal]] = {}
    for line in lines:
        net, _ = _expected(line)
        tax = D(line["totalTax"])
        assert D(line["netTotal"]) == net
        assert abs(tax - net * D(line["taxRate"])) <= D("0.01")
        assert D(line["grossTotal"]) == net + tax
        rate = by_rate.setdefault(D(line["taxRate"]), [D(0), D(0)])
        rate[0], rate[1] = rate[0] + net, rate[1] + tax
    for rate_value, (net, tax) in by_rate.items():
        assert tax == (net * rate_value).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert [line["index"] for line in lines] == list(range(len(lines)))
    for field in ("netTotal", "totalTax", "grossTotal"):
        assert D(invoice[field]) == sum((D(line[field]) for line in lines), D(0))
        for group in invoice["lineItemGroups"]:
            members = [line for line in lines if line.get("groupId") == group["id"]]
            assert D(group[field]) == sum((D(line[field]) for line in members), D(0))
    assert D(invoice["netTotal"]) + D(invoice["totalTax"]) == D(invoice["grossTotal"])
    # Deleting a group deletes its lines; ungrouped lines carry no groupId.
    assert {line.get("groupId") for line in lines} - {None} <= set(groups)
