"""GET /api/invoices/render-settings (get or create) and PUT /api/invoices/render-settings/{id}:
stored per account, and honoured by the invoice PDF (rendered, then read back as text)."""

from typing import Any

import pytest
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tally.documents import render
from tests.documents.helpers import pdf_text
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.invoices.states import ok
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import spec

SETTINGS = "/api/invoices/render-settings"


def pdf(app: FastAPI, account_id: str, invoice_id: str) -> str:
    with app.state.db.transaction() as session:
        document = render.invoice_pdf(session, account_id, invoice_id, settings=app.state.settings)
    return pdf_text(document)


def test_settings_are_made_once_with_the_defaults(api: ApiClient, other_api: ApiClient) -> None:
    first = ok(api.get(SETTINGS))
    assert first == {
        "id": first["id"],
        "paymentLinkDisplay": "SHOW_PAYMENT_LINK",
        "currencyConversionDisplay": "SHOW_CURRENCY_CONVERSION",
    }
    assert ok(api.get(SETTINGS)) == first
    assert ok(other_api.get(SETTINGS))["id"] != first["id"]


def test_hiding_the_payment_link_takes_it_off_the_pdf(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    invoice_id = insert_invoice(app.state.db, account.account_id, new_customer(api))
    link = f"{app.state.settings.public_url}/portal/c/"
    assert "View online" in pdf(app, account.account_id, invoice_id)

    settings = ok(api.get(SETTINGS))
    changed = ok(
        api.put(f"{SETTINGS}/{settings['id']}", json={"paymentLinkDisplay": "HIDE_PAYMENT_LINK"})
    )
    assert changed == {**settings, "paymentLinkDisplay": "HIDE_PAYMENT_LINK"}
    assert ok(api.get(SETTINGS)) == changed
    text = pdf(app, account.account_id, invoice_id)
    assert "View online" not in text
    assert link not in "".join(text.split())
    assert "Total £270.00" in text  # the rest prints as before

    body = {
        "paymentLinkDisplay": "SHOW_PAYMENT_LINK",
        "currencyConversionDisplay": "HIDE_CURRENCY_CONVERSION",
    }
    both = ok(api.put(f"{SETTINGS}/{settings['id']}", json=body))
    assert both["currencyConversionDisplay"] == "HIDE_CURRENCY_CONVERSION"
    assert "View online" in pdf(app, account.account_id, invoice_id)


def test_a_change_is_one_activity_entry(api: ApiClient) -> None:
    settings = ok(api.get(SETTINGS))
    url = f"{SETTINGS}/{settings['id']}"
    ok(api.put(url, json={"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}))
    ok(api.put(url, json={"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}))  # no change: no entry
    logs = api.get("/api/activity-logs", params={"activityLogObjectId": settings["id"]}).json()
    [entry] = [log["activityLogItems"][0] for log in logs["items"]]
    assert entry["verb"] == "UPDATED"
    change = {
        "field": "paymentLinkDisplay",
        "before": "SHOW_PAYMENT_LINK",
        "after": "HIDE_PAYMENT_LINK",
    }
    assert change in entry["metadata"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"paymentLinkDisplay": "BLINK"},
        {"paymentLinkDisplay": "SHOW_PAYMENT_LINK", "currencyConversionDisplay": "MAYBE"},
        {"paymentLinkDisplay": "SHOW_PAYMENT_LINK", "logo": "x"},
    ],
    ids=["missing", "bad-link", "bad-conversion", "unknown-field"],
)
def test_bad_bodies_are_400_and_change_nothing(body: dict[str, Any], api: ApiClient) -> None:
    settings = ok(api.get(SETTINGS))
    assert api.put(f"{SETTINGS}/{settings['id']}", json=body).status_code == 400
    assert ok(api.get(SETTINGS)) == settings


def test_another_accounts_settings_are_not_found(api: ApiClient, other_api: ApiClient) -> None:
    settings = ok(api.get(SETTINGS))
    body = {"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}
    assert other_api.put(f"{SETTINGS}/{settings['id']}", json=body).status_code == 404
    assert ok(api.get(SETTINGS)) == settings
    assert api.get(SETTINGS, params={"id": settings["id"]}).status_code == 400


# Every setting Sequence's render settings offer, and what it does to the document.
ACTING = {
    "paymentLinkDisplay": "the portal link and the Pay link shown or not",
    # Tally keeps no currency conversions (`currency-conversions` is always empty): nothing
    # to show or hide, whichever value is set.
    "currencyConversionDisplay": "nothing: no conversions to show",
}


def html(app: FastAPI, account_id: str, invoice_id: str) -> str:
    with app.state.db.transaction() as session:
        return render.invoice_html(session, account_id, invoice_id, settings=app.state.settings)


def test_every_documented_setting_acts_on_the_document(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    model = "UpdateInvoiceRenderSettingsEndpointUpdateInvoiceRenderSettingsRequestModel"
    assert set(spec()["components"]["schemas"][model]["properties"]) == set(ACTING)
    invoice_id = insert_invoice(app.state.db, account.account_id, new_customer(api))
    settings = ok(api.get(SETTINGS))
    url = f"{SETTINGS}/{settings['id']}"
    shown = html(app, account.account_id, invoice_id)
    assert "View online" in shown

    ok(api.put(url, json={"paymentLinkDisplay": "HIDE_PAYMENT_LINK"}))
    hidden = html(app, account.account_id, invoice_id)
    assert hidden != shown and "View online" not in hidden and "/portal/" not in hidden

    ok(api.put(url, json={"paymentLinkDisplay": "SHOW_PAYMENT_LINK",
                          "currencyConversionDisplay": "HIDE_CURRENCY_CONVERSION"}))  # fmt: skip
    assert html(app, account.account_id, invoice_id) == shown
    conversions = ok(api.get(f"/api/invoices/{invoice_id}/currency-conversions"))
    assert conversions == {"items": []}  # what the setting would show
