"""Failed sign-ins are throttled per client address and per email from one address
(ops/limits.py's sign-in budgets): past the limit, a 429 page with Retry-After, right password
included; never per email alone, so a user is never locked out from another address."""

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.dashboard.helpers import PASSWORD, Merchant, browser, live_sessions, sign_in

Browsers = Callable[[str], TestClient]


@pytest.fixture
def throttled(settings: Settings, database: Database) -> Iterator[Browsers]:
    """`throttled(address)`: a browser at that client address, on an app that allows 3
    failed logins per 5 minutes (its buckets its own: other tests' failures do not count)."""
    app = create_app(settings.model_copy(update={"auth_failure_limit": 3}), database)
    opened: list[TestClient] = []

    def make(address: str) -> TestClient:
        client = browser(app, client=(address, 40000))
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.close()


def test_a_client_address_is_throttled(
    throttled: Browsers, database: Database, merchant: Merchant
) -> None:
    client = throttled("203.0.113.7")
    for attempt in range(3):
        assert sign_in(client, f"guess{attempt}@example.com", "wrong").status_code == 401
    refused = sign_in(client, merchant.email, PASSWORD)  # the right password, too late
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Too many attempts" in refused.text
    assert live_sessions(database, merchant.user_id) == 0
    # Another address is not affected.
    assert sign_in(throttled("203.0.113.8"), merchant.email, PASSWORD).status_code == 303


def test_one_email_guessed_from_one_address_is_slowed_there_only(
    throttled: Browsers, database: Database, merchant: Merchant
) -> None:
    # A limit of 3 leaves one failure per email and address (a quarter, at least one).
    guesser = throttled("198.51.100.1")
    assert sign_in(guesser, merchant.email.upper(), "wrong").status_code == 401
    refused = sign_in(guesser, merchant.email, PASSWORD)
    assert refused.status_code == 429
    assert "retry-after" in refused.headers
    # Other emails from that address are still answered; the user elsewhere signs in.
    assert sign_in(guesser, "someone@example.com", "wrong").status_code == 401
    assert sign_in(throttled("198.51.100.99"), merchant.email, PASSWORD).status_code == 303


def test_guesses_at_one_email_from_many_addresses_never_lock_its_user_out(
    throttled: Browsers, database: Database, merchant: Merchant
) -> None:
    for n in range(10):  # ten addresses, one guess each at the same email
        guess = sign_in(throttled(f"198.51.100.{n}"), merchant.email.upper(), "wrong")
        assert guess.status_code == 401
    assert sign_in(throttled("198.51.100.99"), merchant.email, PASSWORD).status_code == 303


def test_bad_api_keys_do_not_close_the_dashboard(throttled: Browsers, merchant: Merchant) -> None:
    client = throttled("192.0.2.44")
    for _ in range(3):
        assert client.get("/api/customers", auth=("tak_nope", "tsk_nope")).status_code == 401
    assert client.get("/api/customers", auth=("tak_nope", "tsk_nope")).status_code == 429
    assert sign_in(client, merchant.email, PASSWORD).status_code == 303
