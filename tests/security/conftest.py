"""An app as deployed by default: no internal webhook receiver allowed (the run's shared app
allows 127.0.0.1 for the webhook tests' local receivers)."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tally.accounts.service import Credentials
from tally.app import create_app
from tally.db import Database
from tally.settings import Settings
from tests.support.api_client import ApiClient


@pytest.fixture(scope="session")
def strict_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allowed_hosts": ""})


@pytest.fixture(scope="session")
def strict_app(strict_settings: Settings, database: Database) -> FastAPI:
    return create_app(strict_settings, database)


@pytest.fixture(scope="session")
def strict_http(strict_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(strict_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def strict_api(strict_http: TestClient, account: Credentials) -> ApiClient:
    """The test's account, through the app without an allow-list."""
    return ApiClient(strict_http, (account.api_key, account.api_secret))
