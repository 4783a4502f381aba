"""Tenant isolation over the whole portal: every /portal route, walked with one customer's
credentials against another customer's objects (in the same account and in another one), and
with no, expired, tampered and rotated-away credentials. A new portal route fails the guard
until it is listed here with what it must answer.

Each customer has something of its own on every page (name, a SENT invoice, a billing period,
a credit grant). The other customer's own answer to the very same request is checked first,
so its marks are really there to leak (and sit in the page cache), then the attempt must
answer 404 (an object that is not the viewer's), or the viewer's own data without a trace of
the other customer's.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from tally.core.clock import utcnow
from tally.db import Database
from tally.models import InvoiceStatus
from tests.billing.helpers import Merchant
from tests.catalog.price_bodies import fixed
from tests.invoices.helpers import insert_invoice
from tests.portal.helpers import (
    COOKIE,
    issue_session,
    portal_client,
    portal_key,
    rotate_link,
    set_session_expiry,
    signed_in_client,
)
from tests.schedules.helpers import created, ok
from tests.support.api_client import ApiClient

Kind = Literal["link", "cookie", "token", "exchange"]
LINK = "/portal/c/{portal_key}"
SESSION = "/portal/s"
EXCHANGE = "/portal/session"
# Served to anyone, carry no customer data: the documents' stylesheet and the static files.
PUBLIC = {("GET", "/portal/static/document.css"), ("MOUNT", "/portal/static")}


def portal_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every route the app serves under /portal, as (method, template); mounts as MOUNT."""
    return {
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if context.path and context.path.startswith("/portal")
        for method in (context.methods or {"MOUNT"})
    }


@dataclass(frozen=True)
class PortalCustomer:
    """A customer with something of its own on every portal page, and its credentials."""

    id: str
    name: str
    portal_key: str
    token: str  # a live session's
    invoice_id: str  # SENT, in a billing period of its schedule
    invoice_number: str
    period_start: str
    schedule_id: str
    grant_name: str

    @property
    def marks(self) -> set[str]:
        """What no one else may ever see."""
        return {
            self.id,
            self.name,
            self.portal_key,
            self.token,
            self.invoice_id,
            self.invoice_number,
            self.period_start,
            self.schedule_id,
            self.grant_name,
        }


def account_id_of(api: ApiClient) -> str:
    return str(ok(api.get("/api/sequence-accounts"))["items"][0]["id"])


def portal_customer(
    api: ApiClient, database: Database, name: str, number: str, period_start: date
) -> PortalCustomer:
    merchant = Merchant(api)
    customer_id = merchant.customer(name)
    customer = ok(api.get(f"/api/customers/{customer_id}"))
    schedule = merchant.schedule(
        customer_id, [merchant.price(fixed("10.00"))], period_start.isoformat()
    )
    period_end = period_start + timedelta(days=27)
    invoice_id = insert_invoice(
        database,
        account_id_of(api),
        customer,
        status=InvoiceStatus.SENT,
        invoice_number=number,
        billing_schedule_id=schedule["id"],
        billing_period_start=period_start,
        billing_period_end=period_end,
        accounting_date=period_end,
        invoice_date=period_end + timedelta(days=1),
        issue_date=period_end + timedelta(days=1),
    )
    grant_name = f"{name} credits"
    grant = {
        "customerId": customer_id,
        "name": grant_name,
        "creditUnitType": "CURRENCY",
        "currency": "GBP",
        "amount": 10,
    }
    created(api.post("/api/credits", json=grant))
    return PortalCustomer(
        id=customer_id,
        name=name,
        portal_key=portal_key(customer),
        token=str(issue_session(api, customer_id)["token"]),
        invoice_id=invoice_id,
        invoice_number=number,
        period_start=period_start.isoformat(),
        schedule_id=str(schedule["id"]),
        grant_name=grant_name,
    )


# --- what each route is tried with ---------------------------------------------------------

Of = Callable[[PortalCustomer], str]


@dataclass(frozen=True)
class Probe:
    """One route: its path and query naming `target`'s objects; the status when the viewer
    is another customer and what that answer shows of the viewer's own (None: nothing to
    show); what the owner's own answer shows (proof the marks are there to leak)."""

    path: Of
    params: Callable[[PortalCustomer], dict[str, str]]
    foreign: int
    viewer_sees: Of | None
    owner_sees: Of | None
    body: dict[str, str] | None = None  # a POST's JSON body; None: a GET
    owner_status: int = 200  # a POST reaching the service for the owner may still refuse it


def _none(_: PortalCustomer) -> dict[str, str]:
    return {}


def _at(path: str) -> Of:
    return lambda _: path


def _name(c: PortalCustomer) -> str:
    return c.name


# Pages print the viewer's name in their header; an unknown period or a search for another
# customer's invoice number is the viewer's own page, showing nothing of the other's.
PAGES: dict[str, Probe] = {
    "": Probe(_at(""), _none, 200, _name, _name),
    "/invoices": Probe(_at("/invoices"), lambda c: {"q": c.invoice_number}, 200, _name,
                       lambda c: c.invoice_id),
    "/invoices/{invoice_id}": Probe(lambda c: f"/invoices/{c.invoice_id}", _none, 404, None,
                                    lambda c: c.invoice_number),
    "/invoices/{invoice_id}/pdf": Probe(lambda c: f"/invoices/{c.invoice_id}/pdf", _none, 404,
                                        None, None),
    # The victim's invoice charges tax and its account has no VAT number: no e-invoice (409).
    "/invoices/{invoice_id}/e-invoice": Probe(lambda c: f"/invoices/{c.invoice_id}/e-invoice",
                                              lambda c: {"syntax": "ubl"}, 404, None, None,
                                              owner_status=409),
    "/usage": Probe(_at("/usage"), lambda c: {"period": c.period_start}, 200, _name, _name),
    "/credits": Probe(_at("/credits"), _none, 200, lambda c: c.grant_name,
                      lambda c: c.grant_name),
}  # fmt: skip
JSON_API: dict[str, Probe] = {
    "/portal/api/profile": Probe(_at(""), _none, 200, _name, _name),
    "/portal/api/subscriptions": Probe(_at(""), _none, 200, lambda c: c.schedule_id,
                                       lambda c: c.schedule_id),
    "/portal/api/invoices": Probe(_at(""), lambda c: {"number": c.invoice_number}, 200, None,
                                  lambda c: c.invoice_id),
    "/portal/api/alerts": Probe(_at(""), _none, 200, None, None),
    "/portal/api/wallet": Probe(_at(""), _none, 200, lambda c: c.grant_name,
                                lambda c: c.grant_name),
    "/portal/api/usage": Probe(_at(""), lambda c: {"period": c.period_start}, 404, None,
                               lambda c: c.period_start),
}  # fmt: skip
# The Pay form's posts (`portal/payments.py`): another customer's invoice is 404 before any
# payment rule is looked at; the owner's reaches the rules, which refuse it here (400: the
# account takes no card payments, the setup or payment is unknown).
PAY: dict[str, Probe] = {
    "/invoices/{invoice_id}/pay/start": Probe(
        lambda c: f"/invoices/{c.invoice_id}/pay/start", _none, 404, None, None, {}, 400
    ),
    "/invoices/{invoice_id}/pay": Probe(
        lambda c: f"/invoices/{c.invoice_id}/pay", _none, 404, None, None,
        {"setupId": "seti_unknown"}, 400,
    ),
    "/invoices/{invoice_id}/pay/finish": Probe(
        lambda c: f"/invoices/{c.invoice_id}/pay/finish", _none, 404, None, None,
        {"paymentId": "pi_unknown"}, 400,
    ),
}  # fmt: skip
# The token's exchange for the cookie names no object: the viewer's own token, a redirect.
EXCHANGE_PROBE = Probe(_at(""), _none, 303, None, None)


def attempts() -> dict[tuple[str, str], tuple[Kind, str, Probe]]:
    """(method, route template): the credential it takes, its path template, its probe."""
    found: dict[tuple[str, str], tuple[Kind, str, Probe]] = {}
    for suffix, probe in PAGES.items():
        found["GET", LINK + suffix] = ("link", LINK + suffix, probe)
        found["GET", SESSION + suffix] = ("cookie", SESSION + suffix, probe)
    for suffix, probe in PAY.items():
        found["POST", LINK + suffix] = ("link", LINK + suffix, probe)
        found["POST", SESSION + suffix] = ("cookie", SESSION + suffix, probe)
    for path, probe in JSON_API.items():
        found["GET", path] = ("token", path, probe)
    found["GET", EXCHANGE] = ("exchange", EXCHANGE, EXCHANGE_PROBE)
    return found


def test_every_portal_route_is_listed(app: FastAPI) -> None:
    assert set(attempts()) | PUBLIC == portal_routes(app), "a new portal route needs a line here"


# --- asking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credential:
    """What a visitor presents: a link's key, or a token (as the cookie, header or exchange)."""

    key: str | None
    token: str | None


def ask(
    app: FastAPI, kind: Kind, template: str, probe: Probe, credential: Credential,
    target: PortalCustomer,
) -> httpx.Response:  # fmt: skip
    """`template`'s route with `credential`, naming `target`'s objects, from a new browser."""
    path, params = probe.path(target), probe.params(target)
    headers: dict[str, str] = {}
    if kind == "link":
        url = f"/portal/c/{credential.key or ''}{path}"
    elif kind == "cookie":
        url = SESSION + path
        if credential.token is not None:
            headers["Cookie"] = f"{COOKIE}={credential.token}"
    elif kind == "token":
        url = template
        if credential.token is not None:
            headers["X-Session-Token"] = credential.token
    else:
        url = EXCHANGE
        params = {"token": credential.token} if credential.token is not None else {}
    with closing(portal_client(app)) as client:
        if probe.body is not None:
            return client.post(url, json=probe.body, headers=headers)
        return client.get(url, params=params, headers=headers)


def visible(response: httpx.Response) -> str:
    """The answer's body as text (a PDF's bytes too, marks are ASCII) and its headers."""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return response.content.decode("latin-1") + "\n" + headers


def leaked(response: httpx.Response, owner: PortalCustomer, sent: dict[str, str]) -> set[str]:
    """The owner's marks in the answer, but for those the request itself carried (a search
    box shows what was typed)."""
    echoed = set(sent.values())
    body = visible(response)
    return {mark for mark in owner.marks - echoed if mark in body}


def credential_of(customer: PortalCustomer) -> Credential:
    return Credential(customer.portal_key, customer.token)


# --- one customer's credentials, another customer's objects ----------------------------------


@pytest.fixture(params=["same account", "another account"])
def victim_api(request: pytest.FixtureRequest, api: ApiClient, other_api: ApiClient) -> ApiClient:
    return api if request.param == "same account" else other_api


def test_a_customers_credentials_never_reach_another_customers_objects(
    app: FastAPI, api: ApiClient, victim_api: ApiClient, database: Database
) -> None:
    viewer = portal_customer(api, database, "Alpha Anvils Ltd", "ALPHA-7781", date(2024, 1, 1))
    victim = portal_customer(
        victim_api, database, "Bravo Secrets plc", "BRAVO-4417", date(2023, 2, 13)
    )
    for route, (kind, template, probe) in sorted(attempts().items()):
        # The victim's own answer to the same request: its marks are there to be leaked.
        own = ask(app, kind, template, probe, credential_of(victim), victim)
        expected = 303 if kind == "exchange" else probe.owner_status
        assert own.status_code == expected, (route, own.text[:300])
        if probe.owner_sees is not None:
            assert probe.owner_sees(victim) in own.text, route
        if template.endswith("/pdf"):
            assert own.headers["content-type"] == "application/pdf"

        answer = ask(app, kind, template, probe, credential_of(viewer), victim)
        assert answer.status_code == probe.foreign, (route, answer.status_code, answer.text[:300])
        assert not leaked(answer, victim, probe.params(victim)), route
        if probe.viewer_sees is not None:  # the viewer's own answer, not an error
            assert probe.viewer_sees(viewer) in answer.text, route


# --- no, expired, tampered and rotated-away credentials --------------------------------------

Failure = Literal["none", "expired", "tampered", "rotated"]


def _tampered(secret: str) -> str:
    return secret[:-1] + ("A" if secret[-1] != "A" else "B")


def bad_credential(
    api: ApiClient, database: Database, customer: PortalCustomer, failure: Failure
) -> Credential:
    """A credential of `customer` that no longer (or never did) open its portal."""
    if failure == "none":
        return Credential(None, None)
    if failure == "expired":
        # Links never expire: a dead session token where the link's key goes.
        token = str(issue_session(api, customer.id)["token"])
        set_session_expiry(database, token, utcnow() - timedelta(seconds=1))
        return Credential(token, token)
    if failure == "tampered":
        return Credential(_tampered(customer.portal_key), _tampered(customer.token))
    rotate_link(api, customer.id)  # the old key and every session issued under it die
    return Credential(customer.portal_key, customer.token)


REFUSED = {"link": 404, "cookie": 401, "token": 401, "exchange": 401}


@pytest.mark.parametrize("failure", ["none", "expired", "tampered", "rotated"])
def test_every_route_refuses_a_bad_credential_and_shows_nothing(
    app: FastAPI, api: ApiClient, database: Database, failure: Failure
) -> None:
    owner = portal_customer(api, database, "Charlie Ledger Co", "CHARLIE-0042", date(2024, 3, 1))
    bad = bad_credential(api, database, owner, failure)
    for route, (kind, template, probe) in sorted(attempts().items()):
        # The owner's own objects: only the credential is wrong.
        answer = ask(app, kind, template, probe, bad, owner)
        assert answer.status_code == REFUSED[kind], (route, answer.status_code)
        assert not leaked(answer, owner, probe.params(owner)), route
        assert "set-cookie" not in answer.headers, route

    # The refusals are the credential's: a good one of each kind opens the same customer.
    live = ok(api.get(f"/api/customers/{owner.id}"))
    fresh = Credential(portal_key(live), str(issue_session(api, owner.id)["token"]))
    for kind, template, probe in (
        ("link", LINK, PAGES[""]),
        ("token", "/portal/api/profile", JSON_API["/portal/api/profile"]),
    ):
        assert owner.name in ask(app, kind, template, probe, fresh, owner).text
    browser = signed_in_client(app, api, owner.id)
    assert owner.name in browser.get(SESSION).text
