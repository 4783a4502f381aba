"""Throttling an attacker cannot aim at a victim (issue 16, item 5).

(a) 20 wrong passwords for one email, from 20 addresses, locked that user out, and could be
repeated forever; (b) 20 bad portal links from one address made that address's valid API key
answer 429 (behind a proxy with the default TALLY_FORWARDED_ALLOW_IPS, every client's). Now
each door has its own budget, and sign-ins count per address and per email from one address,
never per email alone: the guesser is slowed, the user is not locked out.
"""

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.dashboard.helpers import PASSWORD, Merchant, add_user, browser, sign_in
from tests.factories import new_customer
from tests.portal.helpers import link_path
from tests.support.api_client import ApiClient

LIMIT = 20  # TALLY_AUTH_FAILURE_LIMIT's default
# A long window: buckets refill at LIMIT / WINDOW a second, and a slow machine must not earn a
# token back between the attempts a test counts (300 s gives one every 15 s).
WINDOW = 3600.0

Browsers = Callable[[str], TestClient]


@pytest.fixture
def deployed(settings: Settings, database: Database) -> FastAPI:
    """An app with the default failure limits, its counts its own."""
    limits = {"auth_failure_limit": LIMIT, "auth_failure_window_seconds": WINDOW}
    return create_app(settings.model_copy(update=limits), database)


@pytest.fixture
def at(deployed: FastAPI) -> Iterator[Browsers]:
    """`at(address)`: a browser at that client address."""
    opened: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = browser(deployed, client=(address, 40000))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


@pytest.fixture
def merchant(database: Database, account: Credentials) -> Merchant:
    return add_user(database, account)


def test_guesses_from_many_addresses_never_lock_the_user_out(
    at: Browsers, merchant: Merchant
) -> None:
    for n in range(LIMIT):
        assert sign_in(at(f"203.0.113.{n}"), merchant.email, "wrong").status_code == 401
    for n in range(LIMIT):  # and again: nothing accumulates against the email
        assert sign_in(at(f"203.0.113.{n}"), merchant.email, "wrong").status_code == 401
    assert sign_in(at("198.51.100.20"), merchant.email, PASSWORD).status_code == 303


def test_a_guesser_at_one_address_is_slowed(at: Browsers, merchant: Merchant) -> None:
    guesser = at("203.0.113.50")
    per_email = LIMIT // 4
    for _ in range(per_email):
        assert sign_in(guesser, merchant.email, "wrong").status_code == 401
    slowed = sign_in(guesser, merchant.email, PASSWORD)
    assert slowed.status_code == 429
    # The bucket refills at per_email a window: the next guess waits its share of it.
    assert 1 <= int(slowed.headers["retry-after"]) <= WINDOW / per_email
    # Other emails from there still count against the address's own budget.
    for n in range(LIMIT - per_email):
        assert sign_in(guesser, f"spray-{n}@example.com", "wrong").status_code == 401
    assert sign_in(guesser, "spray-last@example.com", "wrong").status_code == 429
    # The user, elsewhere, is not affected.
    assert sign_in(at("198.51.100.21"), merchant.email, PASSWORD).status_code == 303


def test_bad_portal_links_do_not_close_the_api_to_their_address(
    at: Browsers, api: ApiClient, account: Credentials
) -> None:
    customer = new_customer(api, legalName="Behind A Proxy Ltd")
    shared = at("10.0.0.1")  # a proxy every client comes through
    bogus = link_path(customer)[:-1] + "x"
    for _ in range(LIMIT):
        assert shared.get(bogus).status_code == 404
    assert shared.get(link_path(customer)).status_code == 429  # the portal door is throttled
    answer = shared.get("/api/customers", auth=(account.api_key, account.api_secret))
    assert answer.status_code == 200, answer.text


def test_bad_api_keys_do_not_close_the_portal_or_the_dashboard(
    at: Browsers, api: ApiClient, merchant: Merchant
) -> None:
    customer = new_customer(api, legalName="Other Door Ltd")
    shared = at("10.0.0.2")
    for _ in range(LIMIT):
        assert shared.get("/api/customers", auth=("tak_nope", "tsk_nope")).status_code == 401
    assert shared.get("/api/customers", auth=("tak_nope", "tsk_nope")).status_code == 429
    assert "Other Door" in shared.get(link_path(customer)).text
    assert sign_in(shared, merchant.email, PASSWORD).status_code == 303
