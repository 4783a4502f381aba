"""Customers' `customProperties`: stored, replaced when given, sortable on GET /customers
(`sortBy=customProperties.<key>`), and their keys listed by GET /customer-custom-property-keys."""

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import customer_body
from tests.support.api_client import ApiClient


def walk(api: ApiClient, params: dict[str, str]) -> list[str]:
    """Every customer's id, following `after` cursors to the end."""
    ids: list[str] = []
    cursor = None
    while True:
        response = api.get(
            "/api/customers", params={**params, **({"after": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["pagination"].get("after")
        if not cursor:
            return ids


def create(api: ApiClient, name: str, **properties: str) -> dict[str, Any]:
    body = customer_body(legalName=name, customProperties=properties)
    response = api.post("/api/customers", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def names(page: dict[str, Any]) -> list[str]:
    return [item["legalName"] for item in page["items"]]


def test_properties_are_stored_and_replaced_only_when_given(api: ApiClient) -> None:
    customer = create(api, "Acme", tier="gold", region="EU")
    assert customer["customProperties"] == {"tier": "gold", "region": "EU"}
    url = f"/api/customers/{customer['id']}"
    kept = api.put(url, json=customer_body(legalName="Acme Ltd")).json()
    assert kept["customProperties"] == {"tier": "gold", "region": "EU"}
    replaced = api.put(url, json=customer_body(customProperties={"tier": "silver"})).json()
    assert replaced["customProperties"] == {"tier": "silver"}
    refused = api.put(url, json=customer_body(customProperties={"tier": 3}))
    assert refused.status_code == 400
    assert api.get(url).json()["customProperties"] == {"tier": "silver"}


def test_sorting_by_a_custom_property_in_both_directions(api: ApiClient) -> None:
    create(api, "Bronze Co", tier="bronze")
    create(api, "No Tier Co", region="US")
    create(api, "Gold Co", tier="gold")
    create(api, "Silver Co", tier="silver")
    ascending = api.get(
        "/api/customers", params={"sortBy": "customProperties.tier", "sortOrder": "ASC"}
    )
    assert ascending.status_code == 200, ascending.text
    assert names(ascending.json()) == ["No Tier Co", "Bronze Co", "Gold Co", "Silver Co"]
    descending = api.get("/api/customers", params={"sortBy": "customProperties.tier"}).json()
    assert names(descending) == ["Silver Co", "Gold Co", "Bronze Co", "No Tier Co"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tiers=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=7),
    limit=st.integers(1, 3),
    ascending=st.booleans(),
)
def test_paging_by_a_custom_property_visits_every_customer_once_in_order(
    api: ApiClient, tiers: list[str | None], limit: int, ascending: bool
) -> None:
    label = f"run-{uuid.uuid4()}"
    made = []
    for index, tier in enumerate(tiers):
        properties = {"tier": tier} if tier is not None else {}
        body = customer_body(legalName=f"C{index}", label=label, customProperties=properties)
        response = api.post("/api/customers", json=body)
        assert response.status_code == 201
        made.append((tier or "", response.json()["id"]))
    params = {
        "sortBy": "customProperties.tier",
        "sortOrder": "ASC" if ascending else "DESC",
        "label": label,
        "limit": str(limit),
    }
    seen = walk(api, params)
    expected = [customer_id for _, customer_id in sorted(made, reverse=not ascending)]
    assert seen == expected


def test_keys_in_use_are_listed_once_each(api: ApiClient, other_api: ApiClient) -> None:
    assert api.get("/api/customer-custom-property-keys").json() == {"items": []}
    create(api, "A", tier="gold", region="EU")
    create(api, "B", region="US", segment="smb")
    archived = create(api, "C", legacy="yes")
    assert api.post(f"/api/customers/{archived['id']}/archive").status_code == 200
    create(other_api, "Theirs", secret="x")
    keys = api.get("/api/customer-custom-property-keys")
    assert keys.status_code == 200, keys.text
    assert keys.json() == {"items": ["legacy", "region", "segment", "tier"]}
    assert api.get("/api/customer-custom-property-keys", params={"x": "1"}).status_code == 400
