"""Fuzz every /api and /v1 operation with invalid input (schemathesis's negative mode) and the
documented examples: whatever a client sends, Tally answers 4xx in the documented shape and
never 5xx. Bad input changes nothing is checked by the plain tests of each domain."""

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from tally.db import Database
from tests.fuzz.billing_objects import BillingObjects
from tests.fuzz.document import openapi_document
from tests.fuzz.test_openapi_fuzz import name_known_objects, names_known_objects
from tests.support.api_client import ApiClient

# Ten invalid cases per operation in CI (about 30 s a database); 40 found nothing more on either
# database when this was written. Operations without any input to break are skipped by
# schemathesis ("Impossible to generate negative test cases").
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {
            "mode": "negative",
            "max-examples": 10,
            "deterministic": True,
            "with-security-parameters": False,
        },
        "phases": {"coverage": {"enabled": False}},
    }
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]

_document = openapi_document()
schema = schemathesis.openapi.from_dict(_document, config=CONFIG).include(path_regex="^/(api|v1)/")


@pytest.fixture
def client(app: FastAPI, api: ApiClient) -> Iterator[requests.Session]:
    with asgi.get_client(app) as session:
        session.auth = api.auth
        yield session


@pytest.fixture
def billing_objects(api: ApiClient, database: Database) -> BillingObjects:
    return BillingObjects(api, database)


@schema.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_invalid_input_is_a_documented_4xx(
    case: schemathesis.Case, client: requests.Session, billing_objects: BillingObjects
) -> None:
    if names_known_objects(case):
        name_known_objects(case, billing_objects)
    response = case.call(session=client, base_url=f"http://{asgi.HOST}")
    case.validate_response(response, checks=CHECKS)
