"""A duplicated billing schedule bills exactly what its source bills: through a variant of
its own of each list price the source bills (with the source variant's terms, even after the
template changed), with the days each discount applies, without the deleted discounts, and
sending the same attachments."""

from typing import Any

from tally.exceptions import Conflict
from tests.attachments.helpers import upload
from tests.billing.helpers import Merchant, totals
from tests.catalog.price_bodies import fixed
from tests.schedules.helpers import created, ok, phase
from tests.support.api_client import ApiClient

START, END = "2024-01-01", "2024-04-30"
PERIODS = ("2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01")


def _list_price_body(merchant: Merchant, amount: str) -> dict[str, Any]:
    return {
        "productId": merchant.product_id,
        "name": "Support",
        "currency": merchant.currency,
        "structure": fixed(amount),
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
        "integrationIds": [],
        "customMetricParameters": [],
    }


def _discount(kind: str, amount: Any, message: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "amount": amount, "message": message, "separateLineItem": True, **fields}


def _source(merchant: Merchant) -> tuple[dict[str, Any], str, str]:
    """A £1,000 platform fee and a £300 support list price, monthly for four months: 10 % off
    support, £50 off in February only, and a 20 % discount deleted since. Its list price id
    and the schedule as it is now."""
    platform = merchant.price(fixed("1000.00"), name="Platform")
    list_price = str(
        created(merchant.api.post("/api/list-prices", json=_list_price_body(merchant, "300.00")))[
            "id"
        ]
    )
    terms = upload(merchant.api, "terms.pdf")
    discounts = [
        _discount("PERCENTAGE", 10, "Support discount", restrictToPrices=[list_price]),
        _discount("NOMINAL", 50, "February goodwill"),
        _discount("PERCENTAGE", 20, "Withdrawn offer"),
    ]
    source = merchant.schedule(
        merchant.customer("Source Ltd"),
        [platform],
        START,
        END,
        taxed=False,
        phases=[phase([platform], START, END, listPriceIds=[list_price], discounts=discounts)],
        taxRates=[
            {"priceId": platform, "taxRateId": merchant.tax_rate_id},
            {"priceId": list_price, "taxRateId": merchant.tax_rate_id},
        ],
        attachmentAssetIds=[terms["id"]],
        recurrenceDayOfMonth=1,
    )
    _, goodwill, withdrawn = (d["id"] for d in source["phases"][0]["discounts"])
    narrowed = {
        "billingScheduleId": source["id"], "priceIds": [], "separateLineItem": True,
        "amount": 50, "discountCalculationType": "NOMINAL", "message": "February goodwill",
        "validFrom": "2024-02-01", "validTo": "2024-02-29",
    }  # fmt: skip
    ok(merchant.api.put(f"/api/discounts/{goodwill}", json=narrowed))
    ok(merchant.api.delete(f"/api/discounts/{withdrawn}"))
    # The template changes: the source's variant (and so the copy's) keeps £300.
    changed = _list_price_body(merchant, "999.00")
    ok(merchant.api.put(f"/api/list-prices/{list_price}", json=changed))
    return ok(merchant.api.get(f"/api/billing-schedules/{source['id']}")), list_price, platform


def _lines(invoice: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return sorted(
        (line["title"], line["quantity"], line["rate"], line["netTotal"], line["totalTax"])
        for line in invoice["lineItems"]
    )


def test_a_duplicate_bills_what_its_source_bills(api: ApiClient) -> None:
    merchant = Merchant(api)
    source, list_price, platform = _source(merchant)
    [source_variant] = set(source["phases"][0]["priceIds"]) - {platform}

    copy = created(
        api.post(
            f"/api/billing-schedules/{source['id']}/duplicate",
            json={"customerId": merchant.customer("Copy Ltd")},
        )
    )
    [copy_variant] = set(copy["phases"][0]["priceIds"]) - {platform}
    # A variant of its own, of the same list price, with the source variant's terms.
    assert copy_variant != source_variant
    variant = ok(api.get(f"/api/prices/{copy_variant}"))
    assert variant["listPriceId"] == list_price
    assert variant["structure"] == ok(api.get(f"/api/prices/{source_variant}"))["structure"]
    [support_discount, goodwill] = copy["phases"][0]["discounts"]
    assert support_discount["restrictToPrices"] == [copy_variant]
    assert {item["priceId"] for item in copy["taxRates"]} == {platform, copy_variant}
    days = ok(api.get(f"/api/discounts/{goodwill['id']}"))
    assert (days["message"], days["validFrom"], days["validTo"]) == (
        "February goodwill",
        "2024-02-01",
        "2024-02-29",
    )
    assert copy["attachmentAssets"] == source["attachmentAssets"] != []
    assert ok(api.get(f"/api/billing-schedules/{source['id']}")) == source

    ok(api.put(f"/api/billing-schedules/{copy['id']}/activate"))
    merchant.bill("2024-05-01")
    for start in PERIODS:
        by_source = merchant.invoice_for(source["id"], start)
        by_copy = merchant.invoice_for(copy["id"], start)
        assert _lines(by_copy) == _lines(by_source), start
        assert totals(by_copy) == totals(by_source), start
    # The discounts' days and the template's change are what those amounts show.
    january = totals(merchant.invoice_for(copy["id"], "2024-01-01"))
    february = totals(merchant.invoice_for(copy["id"], "2024-02-01"))
    assert str(january[0]) == "1270.00"  # 1000 + 300 - 10 % of 300; the deleted 20 % not taken
    assert str(february[0]) == "1220.00"  # and £50 off in February only


def test_a_list_price_archived_since_refuses_the_duplicate(api: ApiClient) -> None:
    merchant = Merchant(api)
    source, list_price, _ = _source(merchant)
    ok(api.post(f"/api/list-prices/{list_price}/archive"))
    prices_before = ok(api.get("/api/prices", params={"limit": 100}))["pagination"]
    response = api.post(
        f"/api/billing-schedules/{source['id']}/duplicate",
        json={"customerId": merchant.customer("Copy Ltd")},
    )
    assert response.status_code == Conflict.status_code, response.text
    assert "archived" in response.json()["error"]["message"]
    listed = ok(api.get("/api/billing-schedules"))
    assert listed["pagination"]["totalResultSize"] == 1
    assert ok(api.get("/api/prices", params={"limit": 100}))["pagination"] == prices_before
