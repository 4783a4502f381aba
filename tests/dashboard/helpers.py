"""Dashboard test helpers: merchant users made through the service, browser-like clients with
their own cookie jars, and the CSRF tokens pages carry."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tally.accounts.service import Credentials
from tally.dashboard.users import create_user
from tally.db import Database, new_id
from tally.models import ApiKey, DashboardSession

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Merchant:
    account: Credentials
    email: str
    password: str
    user_id: str


def add_user(
    database: Database, account: Credentials, email: str | None = None, password: str = PASSWORD
) -> Merchant:
    # Emails are unique across accounts and the run's database is shared: each its own.
    email = email or f"finance-{new_id()}@example.com"
    with database.transaction() as session:
        user = create_user(session, account.account_id, email, password)
        return Merchant(account=account, email=user.email, password=password, user_id=user.id)


def browser(app: FastAPI, client: tuple[str, int] = ("testclient", 50000)) -> TestClient:
    """A browser: its own cookies, redirects not followed (tests look at them)."""
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False, client=client)


def csrf_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str, **extra: str) -> object:
    form = client.get("/dashboard/sign-in")
    assert form.status_code == 200
    data = {"csrf_token": csrf_token(form.text), "email": email, "password": password, **extra}
    return client.post("/dashboard/sign-in", data=data)


def signed_in(app: FastAPI, merchant: Merchant) -> TestClient:
    client = browser(app)
    answer = sign_in(client, merchant.email, merchant.password)
    assert getattr(answer, "status_code", None) == 303
    return client


def page_token(client: TestClient, path: str = "/dashboard") -> str:
    """The session's CSRF token, as a signed-in page carries it."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_token(page.text)


def live_sessions(database: Database, user_id: str) -> int:
    with database.session(write=False) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(DashboardSession)
                .where(DashboardSession.user_id == user_id, DashboardSession.revoked_at.is_(None))
            )
            or 0
        )


def api_key_row(database: Database, key: str) -> ApiKey:
    with database.session(write=False) as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key == key))
        assert row is not None
        return row


def key_count(database: Database, account_id: str) -> int:
    with database.session(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).select_from(ApiKey).where(ApiKey.account_id == account_id)
            )
            or 0
        )
