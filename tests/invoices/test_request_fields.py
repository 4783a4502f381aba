"""Sequence's invoice request fields Tally once refused: a line's externalIds, creditGrantId
and revenue treatment; a group's revenue treatment and service period; a one-off invoice's
creditBalances, billingRunId and attachmentAssetIds; a schedule's attachmentAssetIds."""

from decimal import Decimal
from email import policy
from email.message import EmailMessage as MimeMessage
from email.parser import BytesParser
from io import BytesIO
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import Account, Invoice
from tally.notifications.email import queue_document
from tally.notifications.outbox import send_due
from tally.settings import Settings
from tests.attachments.helpers import PDF, upload
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed, linear
from tests.credits.helpers import grant
from tests.factories import new_customer
from tests.invoices.states import get, line_body, ok
from tests.schedules.helpers import update_body
from tests.support.api_client import ApiClient


def one_off(api: ApiClient, customer_id: str, **fields: Any) -> dict[str, Any]:
    body = {"currency": "GBP", "customerId": customer_id, **fields}
    return ok(api.post("/api/invoices", json=body), 201)


def lines_url(invoice_id: str) -> str:
    return f"/api/invoices/{invoice_id}/line-items"


def groups_url(invoice_id: str) -> str:
    return f"/api/invoices/{invoice_id}/line-item-groups"


# ---- lines ---------------------------------------------------------------------------------


def test_a_line_keeps_its_external_ids_grant_and_revenue_treatment(api: ApiClient) -> None:
    customer = new_customer(api)
    credit = grant(api, customer["id"])
    invoice_id = one_off(api, customer["id"])["id"]
    body = line_body(
        externalIds=[{"key": "Xero", "value": "123"}, {"key": "NetSuite", "value": "A-9"}],
        creditGrantId=credit["id"],
        revenueClassification="PREPAYMENT",
        revenueRecognitionMethod="POINT_IN_TIME",
    )
    line = ok(api.post(lines_url(invoice_id), json=body), 201)
    assert line["externalIds"] == body["externalIds"]
    assert (line["creditGrantId"], line["revenueClassification"]) == (credit["id"], "PREPAYMENT")
    assert line["revenueRecognitionMethod"] == "POINT_IN_TIME"
    # A manual line about a grant is no credit drawn: the invoice projects no credit.
    assert get(api, invoice_id)["appliedCreditGrants"] == []

    replaced = ok(api.put(f"{lines_url(invoice_id)}/{line['id']}", json=line_body()))
    assert (replaced["externalIds"], replaced.get("creditGrantId")) == ([], None)
    assert replaced.get("revenueClassification") is None


def test_a_line_refuses_foreign_or_unfit_grants_and_bad_values(
    api: ApiClient, other_api: ApiClient
) -> None:
    customer = new_customer(api)
    invoice_id = one_off(api, customer["id"])["id"]
    foreign = grant(other_api, new_customer(other_api)["id"])
    someone_else = grant(api, new_customer(api, "Other Ltd")["id"])
    dollars = grant(api, customer["id"], currency="USD")
    before = get(api, invoice_id)
    for body, status, field in (
        (line_body(creditGrantId=foreign["id"]), 404, "creditGrantId"),
        (line_body(creditGrantId=someone_else["id"]), 400, "creditGrantId"),
        (line_body(creditGrantId=dollars["id"]), 400, "creditGrantId"),
        (line_body(revenueClassification="EVENTUALLY"), 400, "revenueClassification"),
        (line_body(revenueRecognitionMethod="USAGE_ISH"), 400, "revenueRecognitionMethod"),
        (line_body(externalIds=[{"key": "Xero"}]), 400, "externalIds.0.value"),
        (
            line_body(externalIds=[{"key": "Xero", "value": "1"}, {"key": "Xero", "value": "2"}]),
            400,
            "externalIds",
        ),
    ):
        response = api.post(lines_url(invoice_id), json=body)
        assert response.status_code == status, (body, response.text)
        assert field in response.text
    assert get(api, invoice_id) == before


def test_a_group_s_settings_apply_to_its_lines(api: ApiClient) -> None:
    invoice_id = one_off(api, new_customer(api)["id"])["id"]
    group = ok(
        api.post(
            groups_url(invoice_id),
            json={
                "title": "Platform",
                "revenueRecognitionMethod": "STRAIGHT_LINE",
                "revenueClassification": "EARNED",
                "servicePeriod": {"start": "2024-05-01", "endInclusive": "2024-05-31"},
            },
        ),
        201,
    )
    assert group["revenueRecognitionMethod"] == "STRAIGHT_LINE"
    assert group["servicePeriod"] == {"start": "2024-05-01", "endInclusive": "2024-05-31"}
    inherits = ok(api.post(lines_url(invoice_id), json=line_body(groupId=group["id"])), 201)
    assert (inherits["revenueClassification"], inherits["revenueRecognitionMethod"]) == (
        "EARNED",
        "STRAIGHT_LINE",
    )
    assert inherits["servicePeriod"] == {"startDate": "2024-05-01", "endDate": "2024-05-31"}
    own = ok(
        api.post(
            lines_url(invoice_id),
            json=line_body(
                groupId=group["id"],
                revenueRecognitionMethod="USAGE",
                servicePeriod={"startDate": "2024-05-10", "endDate": "2024-05-12"},
            ),
        ),
        201,
    )
    assert own["revenueRecognitionMethod"] == "USAGE"
    assert own["servicePeriod"] == {"startDate": "2024-05-10", "endDate": "2024-05-12"}
    outside = ok(api.post(lines_url(invoice_id), json=line_body()), 201)
    assert outside.get("revenueClassification") is None

    # "For all line items in this line item group": a new setting reaches every line of it.
    update = {"title": "Platform", "revenueClassification": "BURNDOWN"}
    changed = ok(api.put(f"{groups_url(invoice_id)}/{group['id']}", json=update))
    assert changed.get("servicePeriod") is None
    lines = {line["id"]: line for line in get(api, invoice_id)["lineItems"]}
    assert lines[inherits["id"]]["revenueClassification"] == "BURNDOWN"
    assert lines[own["id"]]["revenueClassification"] == "BURNDOWN"
    assert lines[outside["id"]].get("revenueClassification") is None

    bad = api.post(groups_url(invoice_id), json={"title": "G", "revenueClassification": "X"})
    assert bad.status_code == 400
    backwards = {
        "title": "G",
        "servicePeriod": {"start": "2024-05-02", "endInclusive": "2024-05-01"},
    }
    assert api.post(groups_url(invoice_id), json=backwards).status_code == 400


def test_billing_classifies_its_lines_by_price(api: ApiClient) -> None:
    merchant = Merchant(api)
    customer_id = merchant.customer()
    metric = merchant.usage_metric("Calls", "call", aggregationType="COUNT")
    flat = merchant.price(fixed("100.00"), billingType="IN_ARREARS")
    usage = merchant.price(linear(metric))
    schedule = merchant.schedule(customer_id, [flat, usage], "2024-01-01", "2024-01-31")
    merchant.bill("2024-02-01")
    [invoice] = merchant.invoices(schedule["id"])
    by_price = {line["priceId"]: line for line in invoice["lineItems"]}
    assert by_price[flat]["revenueRecognitionMethod"] == "STRAIGHT_LINE"
    assert by_price[usage]["revenueRecognitionMethod"] == "USAGE"
    assert {line["revenueClassification"] for line in invoice["lineItems"]} == {"EARNED"}


# ---- one-off invoices -------------------------------------------------------------------------


def test_a_one_off_invoice_joins_a_billing_run_of_its_schedule(
    api: ApiClient, other_api: ApiClient
) -> None:
    merchant = Merchant(api)
    customer_id = merchant.customer()
    price = merchant.price(fixed("100.00"), billingType="IN_ARREARS")
    schedule = merchant.schedule(customer_id, [price], "2024-01-01", "2024-01-31")
    merchant.bill("2024-02-01")
    [billed] = merchant.invoices(schedule["id"])
    run_id = billed["billingRunId"]

    joined = one_off(api, customer_id, billingRunId=run_id)
    assert (joined["billingRunId"], joined["billingScheduleId"]) == (run_id, schedule["id"])
    assert joined["billingPeriod"] == {"start": "2024-01-01", "endInclusive": "2024-01-31"}

    other_customer = merchant.customer("Other Ltd")
    other_schedule = merchant.schedule(other_customer, [price], "2024-01-01", "2024-01-31")
    before = ok(api.get("/api/invoices"))["pagination"]["totalResultSize"]
    for fields, status in (
        ({"billingRunId": run_id, "billingScheduleId": other_schedule["id"]}, 400),
        ({"billingRunId": run_id, "customerId": other_customer}, 400),
        ({"billingRunId": "0190d6c1-0000-7000-8000-000000000000"}, 404),
    ):
        body = {"currency": "GBP", "customerId": customer_id, **fields}
        response = api.post("/api/invoices", json=body)
        assert response.status_code == status, (fields, response.text)
    # Another account's run is not found, even for its own ids.
    response = other_api.post(
        "/api/invoices",
        json={
            "currency": "GBP",
            "customerId": new_customer(other_api)["id"],
            "billingRunId": run_id,
        },
    )
    assert response.status_code == 404
    assert ok(api.get("/api/invoices"))["pagination"]["totalResultSize"] == before


def test_credit_balances_as_given_or_as_the_ledger_has_them(api: ApiClient) -> None:
    customer_id = new_customer(api)["id"]
    assert "creditBalances" not in one_off(api, customer_id) or (
        one_off(api, customer_id)["creditBalances"] is None
    )
    grant(api, customer_id, name="Verification 2", amount=7, expiryDate="2999-05-04")
    stated = one_off(api, customer_id)
    assert stated["creditBalances"] == "Verification 2 credit balance: 7/7 (expiring on 4 May 2999)"
    pdf = api.get(f"/api/invoices/{stated['id']}/download")
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert "Verification 2 credit balance: 7/7" in " ".join(text.split())
    given_text = "Prepaid: see your portal"
    assert one_off(api, customer_id, creditBalances=given_text)["creditBalances"] == given_text
    assert one_off(api, customer_id, creditBalances=None).get("creditBalances") is None
    assert (
        api.post(
            "/api/invoices",
            json={"currency": "GBP", "customerId": customer_id, "creditBalances": "x" * 2001},
        ).status_code
        == 400
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
        min_size=1,
        max_size=3,
    )
)
def test_the_stated_balances_are_the_ledger_s(api: ApiClient, amounts: list[Decimal]) -> None:
    customer_id = new_customer(api)["id"]
    for index, amount in enumerate(amounts):
        grant(api, customer_id, name=f"Grant {index}", amount=float(amount))
    statement = one_off(api, customer_id)["creditBalances"]
    stated = [Decimal(part.split(": ")[1].split("/")[0]) for part in statement.split("; ")]
    balances = ok(api.get(f"/api/credits/{customer_id}/balances"))["items"]
    ledger = [Decimal(str(g["currentBalance"])) for item in balances for g in item["grants"]]
    assert sorted(stated) == sorted(ledger) == sorted(amounts)
    assert sum(stated, Decimal(0)) == sum(ledger, Decimal(0))


# ---- attachments ------------------------------------------------------------------------------


def test_an_invoice_lists_its_attachments_and_emails_them(
    api: ApiClient,
    other_api: ApiClient,
    database: Database,
    account: Credentials,
    tmp_path: Path,
) -> None:
    customer_id = new_customer(api)["id"]
    terms = upload(api, "terms.pdf")
    usage = upload(api, "usage.csv", b"metric,qty\napi,3\n")
    invoice = one_off(api, customer_id, attachmentAssetIds=[terms["id"], usage["id"]])
    assert invoice["attachmentAssets"] == [terms, usage]
    assert get(api, invoice["id"])["attachmentAssets"] == [terms, usage]

    foreign = upload(other_api, "theirs.pdf")
    before = ok(api.get("/api/invoices"))["pagination"]["totalResultSize"]
    response = api.post(
        "/api/invoices",
        json={"currency": "GBP", "customerId": customer_id, "attachmentAssetIds": [foreign["id"]]},
    )
    assert response.status_code == 404
    assert "attachmentAssetIds.0" in response.text
    too_many = {"currency": "GBP", "customerId": customer_id, "attachmentAssetIds": ["a"] * 11}
    assert api.post("/api/invoices", json=too_many).status_code == 400
    assert ok(api.get("/api/invoices"))["pagination"]["totalResultSize"] == before

    ok(api.post(lines_url(invoice["id"]), json=line_body()), 201)
    ok(api.post(f"/api/invoices/{invoice['id']}/finalize"))
    with database.transaction() as session:
        row = session.get_one(Invoice, invoice["id"])
        merchant = session.get_one(Account, account.account_id)
        queue_document(session, merchant, row, ["a@example.com"])
    folder = Settings(data_dir=tmp_path, database_url=database.url, billing_scheduler=False)
    send_due(database, folder, account_id=account.account_id)
    [path] = (tmp_path / "outbox").glob("*.eml")
    message = BytesParser(policy=policy.default).parse(path.open("rb"))
    assert isinstance(message, MimeMessage)
    files = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]
    assert files[1:] == [
        ("terms.pdf", "application/pdf", PDF),
        ("usage.csv", "text/csv", b"metric,qty\napi,3\n"),
    ]
    assert files[1][2] == PDF


def test_a_schedule_s_attachments_go_on_its_invoices(api: ApiClient, other_api: ApiClient) -> None:
    merchant = Merchant(api)
    customer_id = merchant.customer()
    price = merchant.price(fixed("100.00"), billingType="IN_ARREARS")
    terms = upload(api, "terms.pdf")
    schedule = merchant.schedule(
        customer_id, [price], "2024-01-01", "2024-01-31", attachmentAssetIds=[terms["id"]]
    )
    assert schedule["attachmentAssets"] == [terms]
    url = f"/api/billing-schedules/{schedule['id']}"
    kept = ok(api.put(url, json=update_body(schedule)))
    assert kept["attachmentAssets"] == [terms]  # left out: kept
    rider = upload(api, "rider.pdf")
    body = update_body(schedule, attachmentAssetIds=[rider["id"], terms["id"]])
    assert ok(api.put(url, json=body))["attachmentAssets"] == [rider, terms]
    merchant.bill("2024-02-01")
    [invoice] = merchant.invoices(schedule["id"])
    assert invoice["attachmentAssets"] == [rider, terms]

    foreign = upload(other_api, "theirs.pdf")
    response = api.post(
        "/api/billing-schedules",
        json={
            "customerId": customer_id,
            "startDate": "2024-01-01",
            "phases": [{"priceIds": [price], "startDate": "2024-01-01"}],
            "attachmentAssetIds": [foreign["id"]],
        },
    )
    assert response.status_code == 404, response.text
