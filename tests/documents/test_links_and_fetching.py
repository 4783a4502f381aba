"""Portal links and what rendering may load."""

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from tally.accounts.service import Credentials
from tally.documents.links import portal_url
from tally.documents.urls import MAX_FILE_BYTES, LocalUrlFetcher, RefusedUrl
from tally.models import Customer
from tests.documents.helpers import DATA_LOGO, PNG_PIXEL
from tests.factories import new_customer
from tests.support.api_client import ApiClient


def test_a_portal_url_makes_the_customers_secret_once_and_keeps_it(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer_id = new_customer(api)["id"]
    with app.state.db.transaction() as session:
        first = portal_url(session, customer_id, "https://billing.example.com/", "/invoices/x")
    with app.state.db.transaction() as session:
        again = portal_url(session, customer_id, "https://billing.example.com")
        secret = session.scalar(select(Customer.portal_secret).where(Customer.id == customer_id))

    assert secret is not None and len(secret) == 43
    assert first == f"https://billing.example.com/portal/c/{secret}/invoices/x"
    assert again == f"https://billing.example.com/portal/c/{secret}"
    assert customer_id not in first


def test_a_portal_url_uses_a_secret_the_customer_already_has(
    app: FastAPI, api: ApiClient, account: Credentials
) -> None:
    customer_id = new_customer(api)["id"]
    with app.state.db.transaction() as session:
        session.execute(
            update(Customer).where(Customer.id == customer_id).values(portal_secret="rotated")
        )
    with app.state.db.transaction() as session:
        assert portal_url(session, customer_id, "http://h") == "http://h/portal/c/rotated"


def test_the_fetcher_reads_data_urls_and_files_under_its_directories_only(
    tmp_path: Path,
) -> None:
    allowed = tmp_path / "data"
    allowed.mkdir()
    logo = allowed / "logo.png"
    logo.write_bytes(PNG_PIXEL)
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(PNG_PIXEL)
    too_big = allowed / "huge.png"
    too_big.write_bytes(b"\0" * (MAX_FILE_BYTES + 1))
    fetcher = LocalUrlFetcher([allowed])

    assert fetcher.fetch(DATA_LOGO).read() == PNG_PIXEL
    assert fetcher.fetch(logo.as_uri()).read() == PNG_PIXEL
    for refused in (
        "http://127.0.0.1:9/logo.png",  # never sent: refused before any connection
        "https://127.0.0.1:9/logo.png",
        "ftp://127.0.0.1:9/logo.png",
        outside.as_uri(),
        (allowed / ".." / "elsewhere.png").as_uri(),
        too_big.as_uri(),
        allowed.as_uri(),  # a directory
        "file:///dev/zero",
        "file:///etc/passwd",
    ):
        with pytest.raises(RefusedUrl):
            fetcher.fetch(refused)
