"""What the portal payment tests share: an account with Stripe (localstripe) connected, an
owed invoice in its customer's portal, and the calls Stripe.js makes in a browser (confirming
a card setup, 3-D Secure), made the way localstripe-v3.js makes them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tally.accounts.service import Credentials
from tests.factories import new_customer
from tests.invoices.helpers import insert_invoice
from tests.invoices.states import ok
from tests.portal.helpers import link_path
from tests.support.api_client import ApiClient
from tests.support.localstripe import LocalStripe

PUBLISHABLE_KEY = "pk_test_tally_portal"
KEYS = {
    "secretKey": "sk_test_tally_portal_0123",
    "webhookSecret": "whsec_tally_portal",
    "publishableKey": PUBLISHABLE_KEY,
}
CARD_OK = "4242424242424242"
CARD_DECLINED_WHEN_CHARGED = "4000000000000341"  # localstripe: saves fine, declines charges
CARD_3DS = "4000002760003184"  # localstripe: 3-D Secure for setups and payments


def connect_stripe(api: ApiClient, **overrides: Any) -> None:
    ok(api.put("/api/payment-providers/stripe", json={**KEYS, **overrides}))


@dataclass(frozen=True)
class Owed:
    customer: dict[str, Any]
    invoice_id: str
    link: str  # /portal/c/{key}

    @property
    def page(self) -> str:
        return f"{self.link}/invoices/{self.invoice_id}"

    @property
    def pay(self) -> str:
        return f"{self.page}/pay"


def owed_invoice(app: FastAPI, api: ApiClient, account: Credentials, name: str = "Payer") -> Owed:
    """A SENT GBP invoice of £270.00, unpaid, of a new customer."""
    customer = new_customer(api, name)
    invoice_id = insert_invoice(app.state.db, account.account_id, customer)
    ok(api.post(f"/api/invoices/{invoice_id}/finalize"))
    ok(api.post(f"/api/invoices/{invoice_id}/mark-as-sent"))
    return Owed(customer, invoice_id, link_path(customer))


def confirm_setup(stripe: LocalStripe, client_secret: str, number: str) -> str:
    """What `stripe.confirmCardSetup` does in the browser: the card goes to Stripe, never to
    Tally. Returns the setup's id; a card that needs 3-D Secure is authenticated."""
    match = re.match(r"^(seti_\w+)_secret_", client_secret)
    assert match is not None, client_secret
    setup_id = match[1]
    body = {
        "key": PUBLISHABLE_KEY,
        "use_stripe_sdk": True,
        "client_secret": client_secret,
        "payment_method_data": {
            "type": "card",
            "card": {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"},
            "billing_details": {"address": {"postal_code": "42424"}},
        },
    }
    url = f"{stripe.url}/v1/setup_intents/{setup_id}/confirm"
    answer = httpx.post(url, json=body, timeout=10).json()
    if answer.get("status") == "requires_action":
        again = {"key": PUBLISHABLE_KEY, "use_stripe_sdk": True, "client_secret": client_secret}
        answer = httpx.post(url, json=again, timeout=10).json()
    assert answer.get("status") == "succeeded", answer
    _attach_as_stripe_does(stripe, setup_id)
    return setup_id


def _attach_as_stripe_does(stripe: LocalStripe, setup_id: str) -> None:
    """Stripe attaches a confirmed setup's card to the setup's customer; localstripe does not
    (a gap of the fake): done here, so that what Tally keeps or detaches can be seen."""
    auth = {"Authorization": f"Bearer {KEYS['secretKey']}"}
    setup = httpx.get(f"{stripe.url}/v1/setup_intents/{setup_id}", headers=auth, timeout=10)
    body = setup.json()
    attached = httpx.post(
        f"{stripe.url}/v1/payment_methods/{body['payment_method']}/attach",
        data={"customer": body["customer"]},
        headers=auth,
        timeout=10,
    )
    assert attached.status_code == 200, attached.text


def authenticate(stripe: LocalStripe, client_secret: str, *, success: bool = True) -> None:
    """What `stripe.confirmCardPayment` does for 3-D Secure: the customer confirms (or not)."""
    match = re.match(r"^(pi_\w+)_secret_", client_secret)
    assert match is not None, client_secret
    answer = httpx.post(
        f"{stripe.url}/v1/payment_intents/{match[1]}/_authenticate?success={str(success).lower()}",
        json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def intents_of(stripe: LocalStripe, invoice_id: str) -> list[dict[str, Any]]:
    """Every PaymentIntent localstripe holds for the invoice (by the metadata Tally gives
    them), paged through: localstripe's list takes no `customer` filter."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"starting_after": after} if after else {})}
        page = httpx.get(
            f"{stripe.url}/v1/payment_intents",
            params=params,
            headers={"Authorization": f"Bearer {KEYS['secretKey']}"},
            timeout=10,
        ).json()
        found += [
            intent
            for intent in page["data"]
            if (intent.get("metadata") or {}).get("tally_invoice_id") == invoice_id
        ]
        if not page.get("has_more") or not page["data"]:
            return found
        after = page["data"][-1]["id"]
