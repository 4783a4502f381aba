"""What a customer needs to check an invoice line, billed for real and read back from the
PDF: a graduated price's tiers (units, rate, amount, adding up to the line), a volume
price's one tier, a discount netted into a line as an amount of its own, and the tax
summary per rate."""

from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.documents import render
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import graduated, volume
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import GroupSpec, LineSpec, insert_invoice
from tests.invoices.states import line_body
from tests.metering.helpers import event, send
from tests.schedules.helpers import phase
from tests.support.api_client import ApiClient

D = Decimal
TIERS = [
    {"upperBound": "1000", "price": "0.015", "fee": "0", "isPricePercentage": False},
    {"upperBound": "5000", "price": "0.012", "fee": "5.00", "isPricePercentage": False},
    {"price": "0.01", "fee": "0", "isPricePercentage": False},
]


def invoice_text(app: FastAPI, account_id: str, invoice_id: str) -> str:
    with app.state.db.transaction() as session:
        pdf = render.invoice_pdf(session, account_id, invoice_id, settings=app.state.settings)
    return pdf_text(pdf)


def billed(api: ApiClient, structure: dict[str, Any], units: str, **phase_fields: Any) -> Any:
    """January's invoice of a schedule billing `structure` on `units` units of usage."""
    merchant = Merchant(api)
    metric = merchant.usage_metric(
        "Units", "units", aggregationType="SUM", aggregationProperty="units"
    )
    price = merchant.price({**structure, "usageMetricId": metric}, name="API calls")
    customer = merchant.customer()
    send(api, event(customer, "2024-01-10T10:00:00Z", "units", units=units))
    schedule = merchant.schedule(
        customer, [], "2024-01-01", phases=[phase([price], "2024-01-01", None, **phase_fields)]
    )
    merchant.bill("2024-02-01")
    return merchant, merchant.invoice_for(schedule["id"], "2024-01-01")


def test_a_graduated_line_shows_each_tier_and_they_add_up_to_it(
    api: ApiClient, app: FastAPI
) -> None:
    merchant, invoice = billed(api, graduated("", TIERS), "3333")
    [line] = invoice["lineItems"]
    # 1,000 x 0.015 = 15; 2,333 x 0.012 + 5 = 32.996; 0 in the third tier
    assert line["netTotal"] == "48.00"
    assert line["tiers"] == [
        {"tier": 1, "lowerBound": "0", "upperBound": "1000", "quantity": "1000",
         "rate": "0.015", "flatFee": "0", "amount": "15", "allUnits": False},
        {"tier": 2, "lowerBound": "1000", "upperBound": "5000", "quantity": "2333",
         "rate": "0.012", "flatFee": "5", "amount": "32.996", "allUnits": False},
    ]  # fmt: skip

    text = invoice_text(app, merchant.account_id, invoice["id"])

    assert "API calls" in text
    assert "3,333 20% £48.00" in text  # no blended rate: the tiers say it
    assert "Tier 1 (up to 1,000) 1,000 £0.015 £15.00" in text
    assert "Tier 2 (1,001 \u2013 5,000) + £5.00 flat fee 2,333 £0.012 £33.00" in text
    assert "Tier 3" not in text
    assert D("15.00") + D("33.00") == D(line["netTotal"])
    assert "0.014" not in text  # 48 / 3,333, the rate that said nothing


def test_a_volume_line_shows_the_tier_applied(api: ApiClient, app: FastAPI) -> None:
    merchant, invoice = billed(api, volume("", TIERS), "3000")
    [line] = invoice["lineItems"]
    assert line["netTotal"] == "41.00"  # every unit at 0.012, plus the tier's 5.00

    text = invoice_text(app, merchant.account_id, invoice["id"])

    assert "All units at tier 2 (1,001 \u2013 5,000) + £5.00 flat fee 3,000 £0.012 £41.00" in text
    assert "Tier 1" not in text and "tier 3" not in text


def test_a_netted_percentage_discount_shows_as_its_own_amount(api: ApiClient, app: FastAPI) -> None:
    merchant = Merchant(api)
    platform = merchant.price({"pricingType": "FIXED", "price": "250.00"}, name="Platform")
    discount = {
        "type": "PERCENTAGE",
        "amount": 10,
        "message": "Launch offer",
        "separateLineItem": False,
    }
    schedule = merchant.schedule(
        merchant.customer(),
        [],
        "2024-01-01",
        phases=[phase([platform], "2024-01-01", None, discounts=[discount])],
    )
    merchant.bill("2024-02-01")
    invoice = merchant.invoice_for(schedule["id"], "2024-01-01")
    [line] = invoice["lineItems"]
    assert (line["netTotal"], line["rate"]) == ("225.00", "250.00")  # the API as before

    text = invoice_text(app, merchant.account_id, invoice["id"])

    assert "1 £250.00 20% £250.00" in text  # the line before its discount
    assert "Discount 10% \u00b7 Launch offer -£25.00" in text
    assert "Net total £225.00" in text


def test_the_tax_summary_has_one_row_per_rate_with_zero_rated_lines(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    lines = [
        LineSpec(0, 0, "Standard", D(1), D(100), D("0.2"), D(100), D(20), D(120)),
        LineSpec(1, 0, "Reduced", D(1), D(50), D("0.05"), D(50), D("2.50"), D("52.50")),
        LineSpec(2, 0, "Zero rated", D(1), D(30), D(0), D(30), D(0), D(30)),
        LineSpec(3, 0, "More standard", D(2), D(10), D("2E-1"), D(20), D(4), D(24)),
    ]
    invoice_id = insert_invoice(
        app.state.db,
        account.account_id,
        new_customer(api),
        groups=[GroupSpec(0, "Platform", D(200), D("26.50"), D("226.50"))],
        lines=lines,
        net_total=D(200),
        total_tax=D("26.50"),
        gross_total=D("226.50"),
    )

    text = invoice_text(app, account.account_id, invoice_id)

    assert "Tax 20% £120.00 £24.00" in text  # 0.2 and 2E-1 are one rate
    assert "Tax 5% £50.00 £2.50" in text
    assert "Tax 0% £30.00 £0.00" in text
    assert text.count("Tax 20%") == 1
    assert "Net total £200.00" in text and "Total £226.50" in text


def test_a_line_edited_by_hand_drops_its_tiers(api: ApiClient, app: FastAPI) -> None:
    merchant, invoice = billed(api, graduated("", TIERS), "3333")
    [line] = invoice["lineItems"]
    url = f"/api/invoices/{invoice['id']}/line-items/{line['id']}"

    same = api.put(url, json={**line_body(title="Calls"), "quantity": "3333",
                               "rate": line["rate"], "taxRate": line["taxRate"]})  # fmt: skip
    assert same.status_code == 200, same.text
    assert len(same.json()["tiers"]) == 2  # renamed, priced the same: the tiers still hold

    fewer = api.put(url, json={**line_body(title="Calls"), "quantity": "3000",
                                "rate": line["rate"], "taxRate": line["taxRate"]})  # fmt: skip
    assert fewer.status_code == 200, fewer.text
    assert "tiers" not in fewer.json()  # 3,000 x the blended rate: no longer the tiers' sum

    text = invoice_text(app, merchant.account_id, invoice["id"])
    assert "Tier 1" not in text
    assert f"3,000 £{line['rate']} 20%" in text  # quantity x rate, as the line now is
