"""One merchant account per test module (with its address and VAT number): e-invoice tests
make their customers and invoices in it, so the module pays for the set-up once."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tally.db import Database
from tests.conftest import make_account
from tests.einvoice.helpers import set_up_merchant
from tests.support.api_client import ApiClient


@pytest.fixture(scope="module")
def merchant(http: TestClient, database: Database) -> Iterator[ApiClient]:
    """The API as a merchant with an address, a company number and a GB VAT number."""
    credentials = make_account(database, "E-invoicing merchant")
    api = ApiClient(http, (credentials.api_key, credentials.api_secret))
    set_up_merchant(api)
    yield api
