"""/api/customer-aliases and the alias lookups on /api/customers (seed 001).

Aliases are unique per account among live ones, case-sensitive, never equal to another
customer's id; a customer's own id always works as an alias of its own.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import customer_body, new_customer
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error


def post_alias(
    api: ApiClient, customer_id: str, value: str, label: str | None = None, **kwargs: Any
) -> httpx.Response:
    body: dict[str, Any] = {"customerId": customer_id, "value": value}
    if label is not None:
        body["label"] = label
    return api.post("/api/customer-aliases", json=body, **kwargs)


def created_alias(
    api: ApiClient, customer_id: str, value: str, label: str | None = None
) -> dict[str, Any]:
    response = post_alias(api, customer_id, value, label)
    assert response.status_code == 201, response.text
    return dict(response.json())


def alias_page(api: ApiClient, query: str = "") -> dict[str, Any]:
    response = api.get(f"/api/customer-aliases{query}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def alias_values(api: ApiClient, query: str = "") -> list[str]:
    return [alias["value"] for alias in alias_page(api, query)["items"]]


def customer_aliases(api: ApiClient, customer_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/customers/{customer_id}/aliases")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def by_alias(api: ApiClient, alias: str) -> httpx.Response:
    return api.get(f"/api/customers/by-alias/{quote(alias, safe='')}")


def total_aliases(api: ApiClient) -> int:
    return int(alias_page(api)["pagination"]["totalResultSize"])


def total_customers(api: ApiClient) -> int:
    return int(
        api.get("/api/customers?includeArchived=true").json()["pagination"]["totalResultSize"]
    )


# --- create and read -------------------------------------------------------------------------


def test_create_returns_the_alias_in_sequence_shape(api: ApiClient) -> None:
    customer = new_customer(api)
    response = post_alias(api, customer["id"], "crm-42", label="CRM ID")
    assert response.status_code == 201
    alias = response.json()
    assert uuid.UUID(alias["id"])
    assert alias["sequenceAccountId"] == customer["sequenceAccountId"]
    assert alias["customerId"] == customer["id"]
    assert alias["value"] == "crm-42"
    assert alias["label"] == "CRM ID"
    assert alias["createdAt"]
    assert "deletedAt" not in alias

    assert customer_aliases(api, customer["id"]) == [alias]
    assert alias_page(api)["items"] == [alias]
    refreshed = api.get(f"/api/customers/{customer['id']}").json()
    assert refreshed["customerAliases"] == ["crm-42"]
    found = by_alias(api, "crm-42")
    assert found.status_code == 200
    assert found.json() == refreshed


def test_a_label_is_optional(api: ApiClient) -> None:
    customer = new_customer(api)
    alias = created_alias(api, customer["id"], "no-label")
    assert "label" not in alias
    explicit_null = api.post(
        "/api/customer-aliases",
        json={"customerId": customer["id"], "value": "null-label", "label": None},
    )
    assert explicit_null.status_code == 201
    assert "label" not in explicit_null.json()


def test_by_alias_finds_the_customer_by_alias_or_by_its_own_id(api: ApiClient) -> None:
    acme = new_customer(api, legalName="Acme")
    globex = new_customer(api, legalName="Globex")
    created_alias(api, acme["id"], "acct:42 / eu")
    created_alias(api, globex["id"], "globex-1")

    assert by_alias(api, "acct:42 / eu").json()["id"] == acme["id"]
    assert by_alias(api, "globex-1").json()["id"] == globex["id"]
    assert by_alias(api, acme["id"]).json()["legalName"] == "Acme"
    assert by_alias(api, globex["id"]).json()["legalName"] == "Globex"
    for unknown in ("nobody", str(uuid.uuid4()), "ACCT:42 / EU"):
        response = by_alias(api, unknown)
        assert response.status_code == 404, unknown
        assert response.json()["error"]["type"] == "NotFound"


def test_a_customers_aliases_are_listed_on_the_customer(api: ApiClient) -> None:
    acme = new_customer(api)
    globex = new_customer(api)
    first = created_alias(api, acme["id"], "acme-1", label="CRM")
    second = created_alias(api, acme["id"], "acme-2")
    created_alias(api, globex["id"], "globex-1")
    assert customer_aliases(api, acme["id"]) == [first, second]
    assert [a["value"] for a in customer_aliases(api, globex["id"])] == ["globex-1"]
    assert customer_aliases(api, new_customer(api)["id"]) == []
    assert api.get(f"/api/customers/{uuid.uuid4()}/aliases").status_code == 404


# --- list ------------------------------------------------------------------------------------


def test_list_filters_by_value(api: ApiClient) -> None:
    acme = new_customer(api)
    globex = new_customer(api)
    created_alias(api, acme["id"], "acme-1")
    created_alias(api, acme["id"], "acme-2")
    wanted = created_alias(api, globex["id"], "globex-1")

    page = alias_page(api, "?value=globex-1")
    assert page["items"] == [wanted]
    assert page["pagination"]["totalResultSize"] == 1
    assert alias_values(api, "?value=acme") == []  # an exact match, not a prefix
    assert alias_values(api, "?value=GLOBEX-1") == []
    assert sorted(alias_values(api)) == ["acme-1", "acme-2", "globex-1"]


def test_list_paginates_with_cursors(api: ApiClient) -> None:
    customer = new_customer(api)
    values = [f"alias-{i}" for i in range(5)]
    for value in values:
        created_alias(api, customer["id"], value)

    seen: list[str] = []
    cursor = ""
    pages = 0
    while True:
        page = alias_page(api, f"?limit=2{cursor}")
        pages += 1
        assert page["pagination"]["totalResultSize"] == 5
        seen += [alias["value"] for alias in page["items"]]
        after = page["pagination"].get("after")
        if after is None:
            break
        cursor = f"&after={after}"
    assert pages == 3
    assert seen == list(reversed(values))  # newest first by default

    ascending = alias_page(api, "?limit=3&sortOrder=ASC")
    assert [a["value"] for a in ascending["items"]] == values[:3]
    rest = alias_page(api, f"?limit=3&sortOrder=ASC&after={ascending['pagination']['after']}")
    assert [a["value"] for a in rest["items"]] == values[3:]
    assert rest["pagination"].get("after") is None
    back = alias_page(api, f"?limit=3&sortOrder=ASC&before={rest['pagination']['before']}")
    assert [a["value"] for a in back["items"]] == values[:3]


# --- update and delete -----------------------------------------------------------------------


def test_update_changes_only_the_label(api: ApiClient) -> None:
    customer = new_customer(api)
    other = new_customer(api)
    alias = created_alias(api, customer["id"], "crm-1", label="Old")
    # The value and the customer are not the update's to change: refused, naming them.
    refused = api.put(
        f"/api/customer-aliases/{alias['id']}",
        json={"label": "CRM ID", "value": "changed", "customerId": other["id"]},
    )
    assert refused.status_code == 400
    named = [detail["field"] for detail in refused.json()["error"]["details"]]
    assert sorted(named) == ["customerId", "value"]
    response = api.put(f"/api/customer-aliases/{alias['id']}", json={"label": "CRM ID"})
    assert response.status_code == 200
    updated = response.json()
    assert updated == {**alias, "label": "CRM ID"}
    assert alias_page(api)["items"] == [updated]
    assert by_alias(api, "crm-1").json()["id"] == customer["id"]
    assert by_alias(api, "changed").status_code == 404

    cleared = api.put(f"/api/customer-aliases/{alias['id']}", json={"label": None})
    assert cleared.status_code == 200
    assert "label" not in cleared.json()
    assert "label" not in customer_aliases(api, customer["id"])[0]


def test_delete_answers_the_alias_and_frees_its_value(api: ApiClient) -> None:
    acme = new_customer(api)
    globex = new_customer(api)
    alias = created_alias(api, acme["id"], "reused", label="CRM")
    response = api.delete(f"/api/customer-aliases/{alias['id']}")
    assert response.status_code == 200
    deleted = response.json()
    assert deleted["deletedAt"]
    assert {k: v for k, v in deleted.items() if k != "deletedAt"} == alias

    assert alias_values(api) == []
    assert alias_values(api, "?value=reused") == []
    assert customer_aliases(api, acme["id"]) == []
    assert api.get(f"/api/customers/{acme['id']}").json()["customerAliases"] == []
    assert by_alias(api, "reused").status_code == 404
    assert api.delete(f"/api/customer-aliases/{alias['id']}").status_code == 404
    assert api.put(f"/api/customer-aliases/{alias['id']}", json={"label": "x"}).status_code == 404

    again = created_alias(api, globex["id"], "reused")
    assert again["id"] != alias["id"]
    assert by_alias(api, "reused").json()["id"] == globex["id"]
    assert alias_page(api, "?value=reused")["items"] == [again]


def test_unknown_alias_ids_are_404(api: ApiClient) -> None:
    for alias_id in (str(uuid.uuid4()), "nope"):
        response = api.put(f"/api/customer-aliases/{alias_id}", json={"label": "x"})
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "NotFound"
        assert api.delete(f"/api/customer-aliases/{alias_id}").status_code == 404


# --- uniqueness ------------------------------------------------------------------------------


def test_a_duplicate_value_is_a_conflict_and_writes_nothing(api: ApiClient) -> None:
    acme = new_customer(api)
    globex = new_customer(api)
    original = created_alias(api, acme["id"], "taken", label="first")
    for customer in (acme, globex):
        response = post_alias(api, customer["id"], "taken", label="second")
        assert "taken" in conflict_error(response, "DuplicateValue")["message"]
    assert alias_page(api)["items"] == [original]
    assert customer_aliases(api, globex["id"]) == []


def test_values_are_case_sensitive(api: ApiClient) -> None:
    upper = new_customer(api, legalName="Upper")
    lower = new_customer(api, legalName="Lower")
    created_alias(api, upper["id"], "Acme")
    created_alias(api, lower["id"], "acme")
    assert by_alias(api, "Acme").json()["id"] == upper["id"]
    assert by_alias(api, "acme").json()["id"] == lower["id"]
    assert by_alias(api, "ACME").status_code == 404
    assert alias_values(api, "?value=acme") == ["acme"]
    assert alias_values(api, "?value=Acme") == ["Acme"]
    conflict_error(post_alias(api, lower["id"], "Acme"), "DuplicateValue")
    assert total_aliases(api) == 2


def test_an_alias_equal_to_a_customer_id_is_a_conflict(api: ApiClient) -> None:
    acme = new_customer(api)
    globex = new_customer(api)
    response = post_alias(api, acme["id"], globex["id"])
    conflict_error(response, "DuplicateValue")
    assert total_aliases(api) == 0
    # The id still names its own customer.
    assert by_alias(api, globex["id"]).json()["id"] == globex["id"]

    before = total_customers(api)
    conflict = api.post("/api/customers", json=customer_body(customerAliases=[acme["id"]]))
    conflict_error(conflict, "DuplicateValue")
    assert total_customers(api) == before


def test_the_same_value_may_exist_in_two_accounts(api: ApiClient, other_api: ApiClient) -> None:
    mine = new_customer(api, legalName="Mine")
    theirs = new_customer(other_api, legalName="Theirs")
    my_alias = created_alias(api, mine["id"], "shared")
    their_alias = created_alias(other_api, theirs["id"], "shared")
    assert my_alias["id"] != their_alias["id"]
    assert my_alias["sequenceAccountId"] != their_alias["sequenceAccountId"]
    assert by_alias(api, "shared").json()["legalName"] == "Mine"
    assert by_alias(other_api, "shared").json()["legalName"] == "Theirs"
    assert alias_page(api)["items"] == [my_alias]
    assert alias_page(other_api, "?value=shared")["items"] == [their_alias]


def test_another_accounts_aliases_and_customers_are_404(
    api: ApiClient, other_api: ApiClient
) -> None:
    mine = new_customer(api)
    theirs = new_customer(other_api)
    their_alias = created_alias(other_api, theirs["id"], "their-alias", label="Theirs")

    response = post_alias(api, theirs["id"], "sneaky")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFound"
    their_url = f"/api/customer-aliases/{their_alias['id']}"
    assert api.put(their_url, json={"label": "x"}).status_code == 404
    assert api.delete(their_url).status_code == 404
    assert api.get(f"/api/customers/{theirs['id']}/aliases").status_code == 404
    assert by_alias(api, "their-alias").status_code == 404
    assert by_alias(api, theirs["id"]).status_code == 404
    assert alias_values(api, "?value=their-alias") == []
    assert other_api.get(f"/api/customers/{mine['id']}/aliases").status_code == 404

    assert total_aliases(api) == 0
    assert alias_page(other_api)["items"] == [their_alias]


def test_validation_errors_are_400_and_write_nothing(api: ApiClient) -> None:
    customer = new_customer(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"value": "x"}, "customerId"),
        ({"customerId": customer["id"]}, "value"),
        ({"customerId": customer["id"], "value": ""}, "value"),
        ({"customerId": customer["id"], "value": 42}, "value"),
        ({"customerId": customer["id"], "value": "x" * 501}, "value"),
    ]
    for body, field in cases:
        response = api.post("/api/customer-aliases", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert field in {detail["field"] for detail in error["details"]}
    assert total_aliases(api) == 0


def test_an_archived_customer_gets_no_new_aliases(api: ApiClient) -> None:
    customer = new_customer(api)
    api.post(f"/api/customers/{customer['id']}/archive")
    response = post_alias(api, customer["id"], "late")
    assert "archived" in conflict_error(response, "ArchivedReference")["message"]
    assert total_aliases(api) == 0


# --- aliases in the customer body ------------------------------------------------------------


def test_aliases_given_when_creating_a_customer(api: ApiClient) -> None:
    customer = new_customer(api, customerAliases=["crm-1", "billing-1", "crm-1", ""])
    assert customer["customerAliases"] == ["crm-1", "billing-1"]
    aliases = customer_aliases(api, customer["id"])
    assert [a["value"] for a in aliases] == ["crm-1", "billing-1"]
    assert all(a["customerId"] == customer["id"] and "label" not in a for a in aliases)
    assert by_alias(api, "billing-1").json()["id"] == customer["id"]
    assert sorted(alias_values(api)) == ["billing-1", "crm-1"]


def test_a_taken_alias_in_the_create_body_creates_nothing(api: ApiClient) -> None:
    new_customer(api, customerAliases=["taken"])
    response = api.post(
        "/api/customers", json=customer_body(legalName="Late", customerAliases=["fresh", "taken"])
    )
    assert "taken" in conflict_error(response, "DuplicateValue")["message"]
    assert total_customers(api) == 1
    assert alias_values(api) == ["taken"]
    assert by_alias(api, "fresh").status_code == 404


def test_aliases_given_on_update_are_added(api: ApiClient) -> None:
    customer = new_customer(api, customerAliases=["first"])
    url = f"/api/customers/{customer['id']}"

    updated = api.put(url, json=customer_body(customerAliases=["second"]))
    assert updated.status_code == 200
    assert updated.json()["customerAliases"] == ["first", "second"]

    # Leaving them out keeps them.
    assert api.put(url, json=customer_body()).json()["customerAliases"] == ["first", "second"]

    # A read-modify-write round trip restates the aliases the customer already has.
    current = api.get(url).json()
    body = customer_body(customerAliases=[*current["customerAliases"], "third"])
    round_trip = api.put(url, json=body)
    assert round_trip.status_code == 200, round_trip.text
    assert round_trip.json()["customerAliases"] == ["first", "second", "third"]
    assert total_aliases(api) == 3

    # Another customer's alias is still refused.
    other = new_customer(api, customerAliases=["theirs"])
    conflict = api.put(url, json=customer_body(customerAliases=["theirs", "fourth"]))
    conflict_error(conflict, "DuplicateValue")
    assert api.get(url).json()["customerAliases"] == ["first", "second", "third"]
    assert customer_aliases(api, other["id"])[0]["value"] == "theirs"


# --- concurrency and retries -----------------------------------------------------------------


def test_concurrent_creates_of_one_value_make_exactly_one_alias(
    app: FastAPI, api: ApiClient
) -> None:
    customer = new_customer(api)
    rounds = 10
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        # Each thread has its own client, so the two requests really run side by side.
        clients = [
            ApiClient(stack.enter_context(TestClient(app, raise_server_exceptions=False)), api.auth)
            for _ in range(2)
        ]
        for round_ in range(rounds):
            value = f"race-{round_}"
            barrier = threading.Barrier(len(clients), timeout=30)

            def send(
                client: ApiClient, value: str = value, barrier: Any = barrier
            ) -> tuple[int, str]:
                barrier.wait()
                response = post_alias(client, customer["id"], value)
                return response.status_code, response.json().get("error", {}).get("type", "")

            futures = [pool.submit(send, client) for client in clients]
            statuses = sorted(future.result(timeout=60) for future in futures)
            assert statuses == [(201, ""), (400, "DuplicateValue")], (value, statuses)

    for round_ in range(rounds):
        page = alias_page(api, f"?value=race-{round_}")
        assert page["pagination"]["totalResultSize"] == 1
        assert page["items"][0]["customerId"] == customer["id"]
    assert total_aliases(api) == rounds
    assert len(customer_aliases(api, customer["id"])) == rounds


def test_a_retry_with_the_same_idempotency_key_replays_the_alias(api: ApiClient) -> None:
    customer = new_customer(api)
    headers = {"Idempotency-Key": "alias-once"}
    first = post_alias(api, customer["id"], "crm-7", label="CRM", headers=headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    retry = post_alias(api, customer["id"], "crm-7", label="CRM", headers=headers)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert alias_page(api)["items"] == [first.json()]

    # The key is tied to its request; without a key the duplicate is refused as usual.
    other_body = post_alias(api, customer["id"], "crm-8", headers=headers)
    conflict_error(other_body, "IdempotencyKeyReused")
    conflict_error(post_alias(api, customer["id"], "crm-7", label="CRM"), "DuplicateValue")
    assert total_aliases(api) == 1
