"""The e-invoice downloads of the dashboard's invoice page and the customer portal's: the same
XML the API answers (both syntaxes, valid), linked from the invoice pages; a draft has none,
another account's or another customer's invoice is not found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tests.conftest import make_account
from tests.dashboard.helpers import add_user, signed_in
from tests.einvoice.helpers import (
    customer_with_vat,
    e_invoice,
    issued_invoice,
    line,
    ok,
    set_up_merchant,
)
from tests.portal.helpers import link_path, portal_client
from tests.support.api_client import ApiClient
from tests.support.en16931 import assert_valid


@pytest.fixture(scope="module")
def seller(database: Database) -> Credentials:
    return make_account(database, "E-invoice downloads merchant")


@pytest.fixture(scope="module")
def merchant(http: TestClient, seller: Credentials) -> ApiClient:
    """The API as the merchant, with its address and VAT number."""
    api = ApiClient(http, (seller.api_key, seller.api_secret))
    set_up_merchant(api)
    return api


@pytest.fixture
def dashboard(app: FastAPI, database: Database, seller: Credentials) -> Iterator[TestClient]:
    """A finance user of the merchant, signed in to the dashboard."""
    with signed_in(app, add_user(database, seller)) as client:
        yield client


def test_the_dashboard_downloads_what_the_api_answers(
    dashboard: TestClient, merchant: ApiClient
) -> None:
    customer = customer_with_vat(merchant, "Downloads Ltd", "GB300400500")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "2", "30.00")])
    path = f"/dashboard/invoices/{invoice['id']}"

    page = dashboard.get(path)
    assert page.status_code == 200
    for syntax in ("ubl", "cii"):
        assert f"{path}/e-invoice?syntax={syntax}" in page.text
        answer = dashboard.get(f"{path}/e-invoice", params={"syntax": syntax})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/xml")
        assert f"{invoice['invoiceNumber']}.{syntax}.xml" in answer.headers["content-disposition"]
        assert answer.content == e_invoice(merchant, f"/api/invoices/{invoice['id']}", syntax)
        assert_valid(answer.content, syntax)
    assert dashboard.get(f"{path}/e-invoice", params={"syntax": "pdf"}).status_code == 400


def test_the_dashboard_says_why_a_draft_has_none_and_hides_other_accounts(
    dashboard: TestClient, merchant: ApiClient, other_api: ApiClient
) -> None:
    customer = customer_with_vat(merchant, "Draft Downloads Ltd", "GB300400501")
    draft = issued_invoice(merchant, customer["id"], [line("Seat", "1", "5.00")], finalize=False)
    answer = dashboard.get(f"/dashboard/invoices/{draft['id']}/e-invoice?syntax=cii")
    assert answer.status_code == 409
    assert "finalize" in answer.text.lower()

    foreign = customer_with_vat(other_api, "Foreign Ltd", None)
    theirs = ok(
        other_api.post("/api/invoices", json={"currency": "GBP", "customerId": foreign["id"]}), 201
    )
    assert dashboard.get(f"/dashboard/invoices/{theirs['id']}/e-invoice").status_code == 404


def test_the_portal_downloads_a_sent_invoices_xml_for_its_customer_only(
    app: FastAPI, merchant: ApiClient
) -> None:
    customer = customer_with_vat(merchant, "Portal Downloads Ltd", "GB300400502")
    invoice = issued_invoice(merchant, customer["id"], [line("Platform", "1", "99.00")])
    ok(merchant.post(f"/api/invoices/{invoice['id']}/send"))
    neighbour = customer_with_vat(merchant, "Neighbour Ltd", "GB300400503")

    portal = portal_client(app)
    page_path = f"{link_path(customer)}/invoices/{invoice['id']}"
    page = portal.get(page_path)
    assert page.status_code == 200, page.text
    assert "e-invoice?syntax=ubl" in page.text
    for syntax in ("ubl", "cii"):
        answer = portal.get(f"{page_path}/e-invoice", params={"syntax": syntax})
        assert answer.status_code == 200, answer.text
        assert answer.content == e_invoice(merchant, f"/api/invoices/{invoice['id']}", syntax)

    neighbours_path = f"{link_path(neighbour)}/invoices/{invoice['id']}/e-invoice?syntax=ubl"
    assert portal.get(neighbours_path).status_code == 404
