"""A threshold invoice and the final invoice that deducts it pass EN 16931 in both syntaxes:
the deduction is a negative line at the rate it deducts, carrying the tax it charged."""

from decimal import Decimal

from fastapi import FastAPI

from tally.documents import render
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import linear
from tests.documents.helpers import pdf_text
from tests.einvoice.helpers import (
    account_id_of,
    api_totals,
    customer_with_vat,
    ok,
    set_up_merchant,
    totals,
    valid_both,
)
from tests.metering.helpers import event, send
from tests.schedules.helpers import phase
from tests.support.api_client import ApiClient


def test_threshold_and_final_invoices_are_valid_e_invoices(api: ApiClient, app: FastAPI) -> None:
    set_up_merchant(api)
    merchant = Merchant(api, currency="GBP")
    metric = merchant.usage_metric(
        "Compute", "compute", aggregationType="SUM", aggregationProperty="units"
    )
    price = merchant.price(linear(metric, pricePerUnit="0.333"), name="Compute")
    customer = customer_with_vat(api, "Buyer Ltd", "GB987654321")["id"]
    stage = phase([price], "2024-01-01", None, thresholdInvoicing={"amount": "50.00"})
    schedule = merchant.schedule(customer, [price], "2024-01-01", phases=[stage])
    for day, units in (("05", "170"), ("12", "163"), ("20", "41")):
        send(api, event(customer, f"2024-01-{day}T10:00:00Z", "compute", units=units))
        merchant.bill(f"2024-01-{day}")
    merchant.bill("2024-02-01")
    invoices = merchant.invoices(schedule["id"])
    issued = [i for i in invoices if i["status"] in ("FINAL", "SENT")]
    assert len(issued) == 2
    final = next(i for i in invoices if i["invoiceDate"] == "2024-02-01")
    ok(api.post(f"/api/invoices/{final['id']}/finalize"))
    for invoice in [*issued, final]:
        path = f"/api/invoices/{invoice['id']}"
        stored = ok(api.get(path))
        for syntax, xml in valid_both(api, path).items():
            assert totals(xml, syntax) == api_totals(stored), syntax
    # 374 units x 0.333 = 124.54 net, 24.91 tax (20 %, rounded once): the three agree.
    documents = [ok(api.get(f"/api/invoices/{i['id']}")) for i in [*issued, final]]
    assert sum(Decimal(d["netTotal"]) for d in documents) == Decimal("124.54")
    assert sum(Decimal(d["totalTax"]) for d in documents) == Decimal("24.91")
    # The PDF shows each deduction as a line of its own, naming the invoice it deducts.
    with app.state.db.transaction() as session:
        pdf = render.invoice_pdf(
            session, account_id_of(api), final["id"], settings=app.state.settings
        )
    text = " ".join(pdf_text(pdf).split())
    for invoice in issued:
        assert f"Invoiced at threshold: {invoice['invoiceNumber']}" in text
