"""Dashboard fixtures: a merchant user of the test's account, and a browser signed in as it."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.db import Database
from tests.dashboard.helpers import Merchant, add_user, browser, signed_in


@pytest.fixture
def merchant(database: Database, account: Credentials) -> Merchant:
    return add_user(database, account)


@pytest.fixture
def visitor(app: FastAPI) -> Iterator[TestClient]:
    """A browser nobody signed in with."""
    with browser(app) as client:
        yield client


@pytest.fixture
def dashboard(app: FastAPI, merchant: Merchant) -> Iterator[TestClient]:
    """A browser signed in as `merchant`."""
    with signed_in(app, merchant) as client:
        yield client
