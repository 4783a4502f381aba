"""The contract walk's steps for tax registrations, users, custom property and field keys,
and schedule duplicate / validate-taxes (see tests/test_contract.py)."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from tally.dashboard.users import create_user
from tally.db import new_id
from tests.factories import customer_body
from tests.schedules.helpers import Setup, new_tax_rate
from tests.support import api_client
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import find_operation, response_errors

Ok = Callable[..., dict[str, Any]]


def walk(ok: Ok, api: ApiClient, app: FastAPI) -> None:
    account_id = ok("GET", "/api/sequence-accounts")["items"][0]["id"]
    customer = ok("POST", "/api/customers", json=customer_body(customProperties={"tier": "a"}))
    ok("GET", "/api/customer-custom-property-keys")
    ok("GET", "/api/customers", params={"sortBy": "customProperties.tier"})

    # Tax registrations.
    mine = {"merchantId": account_id, "taxIdentifier": "GB123456789", "country": "GB"}
    ok("POST", "/api/tax-registrations", json=mine)
    theirs = {"customerId": customer["id"], "taxIdentifier": "DE123456789", "country": "DE"}
    registration = ok("POST", "/api/tax-registrations", json=theirs)
    url = f"/api/tax-registrations/{registration['id']}"
    ok("GET", "/api/tax-registrations")
    ok("GET", url)
    ok("PUT", url, json={**theirs, "taxIdentifier": "DE999999999"})
    ok("GET", f"/api/tax-registrations/for-customer/{customer['id']}")
    ok("GET", f"/api/tax-registrations/for-merchant/{account_id}")
    ok("DELETE", url)

    # Users: two, so one may go.
    with app.state.db.transaction() as session:
        users = [
            create_user(session, account_id, f"{new_id()}@example.com", "x" * 12).id
            for _ in range(2)
        ]
    ok("GET", "/api/users")
    ok("GET", f"/api/users/{users[0]}")
    ok("DELETE", f"/api/users/{users[1]}")

    # Billing schedules: custom field keys, duplicate, validate-taxes (a 200 without a body).
    setup = Setup(api)
    schedule = setup.create(customFields={"region": "EU"})
    ok("GET", "/api/billing-schedule-custom-field-keys")
    ok("GET", "/api/billing-schedules", params={"sortBy": "customFields.region"})
    copy_url = f"/api/billing-schedules/{schedule['id']}/duplicate"
    ok("POST", copy_url, json={"customerId": setup.customer_id})
    body = setup.body(taxRates=[{"priceId": setup.price_id, "taxRateId": new_tax_rate(api)}])
    checked = api.post("/api/billing-schedules/validate-taxes", json=body)
    assert checked.status_code == 200, checked.text
    operation = find_operation("POST", "/api/billing-schedules/validate-taxes")
    assert operation is not None
    assert response_errors(operation, 200, None) == []
    api_client.VALIDATED.add((operation.method, operation.path))
