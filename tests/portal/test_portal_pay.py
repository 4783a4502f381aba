"""Paying an invoice from the portal (`payments/checkout.py`, `portal/payments.py`) against a
real localstripe: the browser's Stripe.js calls are made as localstripe-v3.js makes them
(`pay_support`), Tally's as the portal's script makes them."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tests.portal.pay_support import (
    CARD_OK,
    confirm_setup,
    connect_stripe,
    owed_invoice,
)
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe


def test_smoke(app: FastAPI, api: ApiClient, account: Credentials, portal: TestClient, localstripe: LocalStripe) -> None:
    connect_stripe(api)
    owed = owed_invoice(app, api, account)
    page = portal.get(owed.page)
    assert page.status_code == 200, page.text
    print(page.headers["content-security-policy"])
    assert 'id="pay"' in page.text
    started = portal.post(f"{owed.pay}/start", json={})
    assert started.status_code == 200, started.text
    setup = confirm_setup(localstripe, started.json()["clientSecret"], CARD_OK)
    paid = portal.post(owed.pay, json={"setupId": setup, "saveCard": True})
    assert paid.status_code == 200, paid.text
    print(paid.json())
    print(api.get(f"/api/invoices/{owed.invoice_id}").json()["paymentStatus"])
