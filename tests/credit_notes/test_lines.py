"""A draft credit note's line items and groups: totals as on invoices (net = quantity x rate,
tax = net x tax rate, each rounded half up to the minor unit; sums for groups and the credit
note), and the caps: over an invoice's credit notes that are not voided, never more credited
of a line than it was invoiced for, nor more than the invoice's total."""

from typing import Any

from tally.accounts.service import Credentials
from tally.db import Database
from tests.credit_notes.helpers import (
    act,
    add_line,
    created,
    invoice_lines,
    issued_note,
    line_body,
    new_note,
    ok,
    refused,
    sent_invoice,
)
from tests.factories import new_customer
from tests.invoices.helpers import D, GroupSpec, LineSpec
from tests.support.api_client import ApiClient


def totals(document: dict[str, Any]) -> tuple[str, str, str]:
    return document["netTotal"], document["totalTax"], document["grossTotal"]


def test_lines_are_rounded_half_up_and_summed(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note = new_note(api, invoice_id, customer["id"])
    url = f"/api/credit-notes/{note['id']}"
    product = created(api.post("/api/products", json={"name": "Calls"}))["id"]
    group = created(
        api.post(f"{url}/line-item-groups", json={"title": "Usage", "description": "May"})
    )
    assert group == {
        "id": group["id"],
        "creditNoteId": note["id"],
        "title": "Usage",
        "description": "May",
        "index": 0,
        "netTotal": "0.00",
        "totalTax": "0.00",
        "grossTotal": "0.00",
    }
    # 3 x 0.125 = 0.375 -> 0.38; tax 0.076 -> 0.08.
    first = add_line(
        api, note["id"], title="Calls", quantity="3", rate="0.125", groupId=group["id"],
        servicePeriod={"start": "2024-05-01", "endInclusive": "2024-05-31"},
        externalIds=[{"key": "Xero", "value": "X-1"}], revenueRecognitionMethod="POINT_IN_TIME",
        revenueClassification="EARNED", productId=product, description="Overcharged",
    )  # fmt: skip
    assert first == {
        "id": first["id"],
        "creditNoteId": note["id"],
        "groupId": group["id"],
        "title": "Calls",
        "description": "Overcharged",
        "quantity": "3",
        "rate": "0.125",
        "taxRate": "0.2",
        "index": 0,
        "netTotal": "0.38",
        "totalTax": "0.08",
        "grossTotal": "0.46",
        "rateDisplay": "ABSOLUTE",
        "externalIds": [{"key": "Xero", "value": "X-1"}],
        "servicePeriod": {"start": "2024-05-01", "endInclusive": "2024-05-31"},
        "revenueRecognitionMethod": "POINT_IN_TIME",
        "revenueClassification": "EARNED",
        "productId": product,
    }
    # 2 x 12.345 = 24.69; tax 4.938 -> 4.94.
    second = add_line(api, note["id"], quantity="2", rate="12.345", groupId=group["id"])
    third = add_line(api, note["id"], quantity="1", rate="5", tax_rate="0")
    assert (totals(second), second["index"], third["index"]) == (("24.69", "4.94", "29.63"), 1, 2)

    # Tax is rounded once per rate: 25.07 x 0.2 = 5.014 -> 5.01 (per line 0.08 + 4.94 = 5.02);
    # the first line rounded furthest up (0.076 -> 0.08), so it gives the cent back: 0.07.
    current = ok(api.get(url))
    assert totals(current) == ("30.07", "5.01", "35.08")
    assert totals(current["lineItemGroups"][0]) == ("25.07", "5.01", "30.08")
    assert totals(current["lineItems"][0]) == ("0.38", "0.07", "0.45")
    assert [line["id"] for line in current["lineItems"]] == [first["id"], second["id"], third["id"]]
    listed = ok(api.get(f"{url}/line-items", params={"sortOrder": "DESC"}))["items"]
    assert [line["id"] for line in listed] == [third["id"], second["id"], first["id"]]
    assert ok(api.get(f"{url}/line-item-groups"))["items"][0]["grossTotal"] == "30.08"

    changed = ok(
        api.put(f"{url}/line-items/{second['id']}", json=line_body(quantity="1", rate="1"))
    )
    assert (totals(changed), changed["groupId"]) == (("1.00", "0.20", "1.20"), group["id"])
    assert totals(ok(api.get(url))) == ("6.38", "0.28", "6.66")
    deleted = ok(api.delete(f"{url}/line-items/{first['id']}"))
    assert deleted["id"] == first["id"]
    assert totals(ok(api.get(url))) == ("6.00", "0.20", "6.20")

    renamed = ok(api.put(f"{url}/line-item-groups/{group['id']}", json={"title": "Calls"}))
    assert (renamed["title"], renamed.get("description"), renamed["grossTotal"]) == (
        "Calls", None, "1.20",
    )  # fmt: skip
    # A group goes with its lines.
    assert ok(api.delete(f"{url}/line-item-groups/{group['id']}"))["id"] == group["id"]
    current = ok(api.get(url))
    assert ([line["id"] for line in current["lineItems"]], current["lineItemGroups"]) == (
        [third["id"]], [],
    )  # fmt: skip
    assert totals(current) == ("5.00", "0.00", "5.00")


def test_amounts_follow_the_currency_minor_unit(
    api: ApiClient, database: Database, account: Credentials, customer: dict[str, Any]
) -> None:
    yen = sent_invoice(
        database, account.account_id, customer, currency="JPY", groups=[], lines=[],
        net_total=D("10000"), total_tax=D("1000"), gross_total=D("11000"),
    )  # fmt: skip
    note = new_note(api, yen, customer["id"], currency="JPY")
    line = add_line(api, note["id"], quantity="3", rate="333.5", tax_rate="0.1")  # 1000.5 -> 1001
    assert (totals(line), line["rate"]) == (("1001", "100", "1101"), "333.5")


def test_a_line_credits_a_line_of_the_invoice(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    platform = invoice_lines(api, invoice_id)["Platform fee"]
    note = new_note(api, invoice_id, customer["id"])
    line = add_line(api, note["id"], lineItemId=platform["id"], rate="50")
    assert (line["lineItemId"], line["priceId"]) == (platform["id"], platform["priceId"])
    same = add_line(api, note["id"], invoiceLineItemIds=[platform["id"]], rate="1")
    assert same["lineItemId"] == platform["id"]

    url = f"/api/credit-notes/{note['id']}/line-items"
    calls = invoice_lines(api, invoice_id)["API calls"]
    for body in (
        line_body(invoiceLineItemIds=[platform["id"], calls["id"]]),
        line_body(lineItemId=platform["id"], invoiceLineItemIds=[calls["id"]]),
        line_body(lineItemId=platform["id"], rate="-1"),  # credits a positive amount
        line_body(creditNoteId="another-note"),
        line_body(taxRate="1.5"),
        line_body(quantity="many"),
    ):
        refused(api.post(url, json=body), 400)
    # What names no line, group or product of this credit note's invoice: 404, as in a path.
    for body in (
        line_body(lineItemId="not-a-line"),
        line_body(invoiceLineItemIds=["not-a-line"]),
        line_body(groupId="not-a-group"),
        line_body(productId="not-a-product"),
    ):
        refused(api.post(url, json=body), 404)
    body = {"title": "Platform", "lineItemGroupId": "not-a-group"}
    refused(api.post(f"/api/credit-notes/{note['id']}/line-item-groups", json=body), 404)
    assert len(ok(api.get(url))["items"]) == 2


def test_an_invoice_line_is_never_credited_beyond_its_amount(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    platform = invoice_lines(api, invoice_id)["Platform fee"]  # 100.00 + 20 % = 120.00
    first = new_note(api, invoice_id, customer["id"])
    add_line(api, first["id"], lineItemId=platform["id"], rate="60")
    second = new_note(api, invoice_id, customer["id"])
    line = add_line(api, second["id"], lineItemId=platform["id"], rate="40")
    url = f"/api/credit-notes/{second['id']}"
    before = ok(api.get(url))

    # 60 + 41 net > 100, across two credit notes.
    message = refused(
        api.post(f"{url}/line-items", json=line_body(lineItemId=platform["id"], rate="1")),
        "BalanceExceeded",
    )
    assert "Platform fee" in message
    refused(
        api.put(f"{url}/line-items/{line['id']}", json=line_body(rate="40.01")), "BalanceExceeded"
    )
    # Net within, gross beyond: 40 net at 25 % is 50 gross, 72 + 50 > 120.
    refused(
        api.put(f"{url}/line-items/{line['id']}", json=line_body(rate="40", taxRate="0.25")),
        "BalanceExceeded",
    )
    assert ok(api.get(url)) == before

    # Exactly the line's amount is fine, and a voided credit note credits nothing.
    ok(api.put(f"{url}/line-items/{line['id']}", json=line_body(rate="40")))
    ok(act(api, first["id"], "void"))
    ok(api.put(f"{url}/line-items/{line['id']}", json=line_body(rate="100")))
    refused(
        api.post(f"{url}/line-items", json=line_body(lineItemId=platform["id"], rate="0.01")),
        "BalanceExceeded",
    )
    # A deleted draft credits nothing either.
    ok(api.delete(url))
    again = new_note(api, invoice_id, customer["id"])
    add_line(api, again["id"], lineItemId=platform["id"], rate="100")


def test_credit_notes_never_credit_more_than_the_invoice(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    first = issued_note(api, invoice_id, customer["id"], rate="200")  # 240.00 of 270.00
    note = new_note(api, invoice_id, customer["id"])
    add_line(api, note["id"], rate="25")  # 30.00: 270.00 in all
    assert ok(api.get(f"/api/credit-notes/{first['id']}"))["grossTotal"] == "240.00"
    url = f"/api/credit-notes/{note['id']}/line-items"
    message = refused(api.post(url, json=line_body(rate="0.01")), "BalanceExceeded")
    assert "INV-T1" in message
    # A negative line lowers the total, and its deletion is checked too.
    negative = add_line(api, note["id"], rate="-10")
    add_line(api, note["id"], rate="10")
    refused(api.delete(f"{url}/{negative['id']}"), "BalanceExceeded")
    assert ok(api.get(f"/api/credit-notes/{note['id']}"))["grossTotal"] == "30.00"


def test_credits_against_an_invoice_without_lines_named(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    customer = new_customer(api, "Lines Ltd")
    invoice_id = sent_invoice(
        database, account.account_id, customer,
        groups=[GroupSpec(0, "Platform", D("10"), D("2"), D("12"))],
        lines=[LineSpec(0, 0, "Seat", D("1"), D("10"), D("0.2"), D("10"), D("2"), D("12"))],
        net_total=D("10"), total_tax=D("2"), gross_total=D("12"),
    )  # fmt: skip
    invoice_group = ok(api.get(f"/api/invoices/{invoice_id}/line-item-groups"))["items"][0]
    note = new_note(api, invoice_id, customer["id"])
    url = f"/api/credit-notes/{note['id']}/line-item-groups"
    body = {"title": "Platform", "lineItemGroupId": invoice_group["id"]}
    assert created(api.post(url, json=body))["lineItemGroupId"] == invoice_group["id"]
    add_line(api, note["id"], rate="10")
    refused(
        api.post(f"/api/credit-notes/{note['id']}/line-items", json=line_body(rate="0.01")),
        "BalanceExceeded",
    )


def test_lines_of_an_issued_credit_note_do_not_change(
    api: ApiClient, customer: dict[str, Any], invoice_id: str
) -> None:
    note = issued_note(api, invoice_id, customer["id"])
    url = f"/api/credit-notes/{note['id']}"
    line, group = note["lineItems"][0], {"title": "G"}
    assert "only a DRAFT" in refused(
        api.post(f"{url}/line-items", json=line_body()), "InvalidStateTransition"
    )
    refused(
        api.put(f"{url}/line-items/{line['id']}", json=line_body(rate="1")),
        "InvalidStateTransition",
    )
    refused(api.delete(f"{url}/line-items/{line['id']}"), "InvalidStateTransition")
    refused(api.post(f"{url}/line-item-groups", json=group), "InvalidStateTransition")
    assert ok(api.get(url)) == note
    refused(api.get("/api/credit-notes/nope/line-items"), 404)
    refused(
        api.put(f"/api/credit-notes/{note['id']}/line-item-groups/nope", json=group),
        "InvalidStateTransition",
    )


def _yen_invoice(api: ApiClient, customer_id: str, rates: list[str]) -> str:
    """A SENT JPY invoice of one line per amount in `rates`, all at 10%."""
    body = {"currency": "JPY", "customerId": customer_id}
    invoice_id = str(created(api.post("/api/invoices", json=body))["id"])
    for n, rate in enumerate(rates):
        line = {"title": f"Line {n}", "quantity": "1", "rate": rate, "taxRate": "0.1"}
        created(api.post(f"/api/invoices/{invoice_id}/line-items", json=line))
    ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
    ok(api.post(f"/api/invoices/{invoice_id}/mark-as-sent"))
    return invoice_id


def test_a_credit_note_rounds_each_rate_once(api: ApiClient, customer: dict[str, Any]) -> None:
    """Crediting the whole invoice line by line owes what the invoice owed, rate by rate."""
    invoice_id = _yen_invoice(api, customer["id"], ["15", "25"])
    invoice = ok(api.get(f"/api/invoices/{invoice_id}"))
    assert [line["totalTax"] for line in invoice["lineItems"]] == ["1", "3"]  # 40 x 10% = 4
    note = new_note(api, invoice_id, customer["id"], currency="JPY")
    for line in invoice["lineItems"]:
        add_line(api, note["id"], lineItemId=line["id"], rate=line["rate"], tax_rate="0.1")
    current = ok(api.get(f"/api/credit-notes/{note['id']}"))
    assert totals(current) == ("40", "4", "44")
    assert [line["totalTax"] for line in current["lineItems"]] == ["1", "3"]


def test_a_yen_line_credited_alone_owes_its_own_rounding(
    api: ApiClient, customer: dict[str, Any]
) -> None:
    """The 15 yen line owes 1 yen on its invoice (40 x 10% = 4, shared 1 + 3), 2 credited
    alone (1.5 rounds up): the line's cap allows that one yen; the invoice's totals do not
    allow crediting the 25 yen line alone too (2 + 3 = 5 > 4)."""
    invoice_id = _yen_invoice(api, customer["id"], ["15", "25"])
    first, second = ok(api.get(f"/api/invoices/{invoice_id}"))["lineItems"]
    note = new_note(api, invoice_id, customer["id"], currency="JPY")
    line = add_line(api, note["id"], lineItemId=first["id"], rate="15", tax_rate="0.1")
    assert totals(line) == ("15", "2", "17")
    other = new_note(api, invoice_id, customer["id"], currency="JPY")
    url = f"/api/credit-notes/{other['id']}/line-items"
    body = line_body(lineItemId=second["id"], rate="25", tax_rate="0.1")
    message = refused(api.post(url, json=body), "BalanceExceeded")
    assert "would credit 45 JPY gross" in message
