"""A customer with a SENT invoice (gross 270.00 GBP) for every credit note test."""

from typing import Any

import pytest

from tally.accounts.service import Credentials
from tally.db import Database
from tests.credit_notes.helpers import sent_invoice
from tests.factories import new_customer
from tests.support.api_client import ApiClient


@pytest.fixture
def customer(api: ApiClient) -> dict[str, Any]:
    return new_customer(api)


@pytest.fixture
def invoice_id(database: Database, account: Credentials, customer: dict[str, Any]) -> str:
    return sent_invoice(database, account.account_id, customer)
