"""/api/products: create, read, list (with the `name` filter), update, archive."""

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.factories import product_body
from tests.support.api_client import ApiClient
from tests.support.paging import walk


def create(api: ApiClient, **overrides: object) -> dict[str, Any]:
    response = api.post("/api/products", json=product_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def total(api: ApiClient, query: str = "") -> int:
    return int(api.get(f"/api/products{query}").json()["pagination"]["totalResultSize"])


def timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


def test_seed_002_product_request_answers_201(api: ApiClient) -> None:
    # Sequence's seat-billing guide (seed 002), request and response.
    response = api.post(
        "/api/products", json={"name": "Example product", "label": "Example product"}
    )

    assert response.status_code == 201
    product = response.json()
    assert set(product) == {"id", "name", "label", "createdAt", "updatedAt"}
    assert uuid.UUID(product["id"]).version == 7
    assert product["name"] == "Example product"
    assert product["label"] == "Example product"
    created, updated = timestamp(product["createdAt"]), timestamp(product["updatedAt"])
    assert abs(updated - created) < timedelta(seconds=5)
    assert abs(datetime.now(created.tzinfo) - created) < timedelta(minutes=5)
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_create_with_every_field(api: ApiClient) -> None:
    category = str(uuid.uuid4())
    product = create(api, name="API calls", label="Usage: API requests", taxCategoryId=category)
    assert product["name"] == "API calls"
    assert product["label"] == "Usage: API requests"
    assert product["taxCategoryId"] == category
    assert "archivedAt" not in product
    assert api.get(f"/api/products/{product['id']}").json() == product


def test_label_is_optional(api: ApiClient) -> None:
    response = api.post("/api/products", json={"name": "Just a name"})
    assert response.status_code == 201
    product = response.json()
    assert product["name"] == "Just a name"
    assert "label" not in product
    assert "taxCategoryId" not in product


def test_names_keep_unicode_and_need_not_be_unique(api: ApiClient) -> None:
    first = create(api, name="Café Größe ☕ 東京")
    second = create(api, name="Café Größe ☕ 東京")
    assert first["id"] != second["id"]
    assert api.get(f"/api/products/{first['id']}").json()["name"] == "Café Größe ☕ 東京"
    assert total(api) == 2


# --- validation ------------------------------------------------------------------------------


def test_missing_name_is_400_and_nothing_is_written(api: ApiClient) -> None:
    for body in ({"label": "No name"}, {}):
        response = api.post("/api/products", json=body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert error["details"][0]["field"] == "name"
    assert total(api) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", None),
        ("name", "x" * 501),
        ("name", ["a list"]),
        ("label", "x" * 501),
        ("taxCategoryId", "x" * 37),
    ],
)
def test_invalid_values_are_400_and_nothing_is_written(
    api: ApiClient, field: str, value: object
) -> None:
    response = api.post("/api/products", json=product_body(**{field: value}))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"][0]["field"] == field
    assert total(api) == 0


def test_malformed_json_is_a_400_and_writes_nothing(api: ApiClient) -> None:
    response = api.post(
        "/api/products",
        content=b'{"name": "Broken"',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
    assert total(api) == 0


def test_a_body_that_is_not_an_object_is_rejected(api: ApiClient) -> None:
    for body in (["Example product"], "Example product", 42):
        response = api.post("/api/products", json=body)
        assert 400 <= response.status_code < 500, body
    assert total(api) == 0


# --- update ----------------------------------------------------------------------------------


def test_put_replaces_the_product(api: ApiClient) -> None:
    product = create(api, name="Old name", label="Old label", taxCategoryId=str(uuid.uuid4()))
    response = api.put(
        f"/api/products/{product['id']}", json={"name": "New name", "label": "New label"}
    )

    assert response.status_code == 200
    updated = response.json()
    assert updated["id"] == product["id"]
    assert updated["name"] == "New name"
    assert updated["label"] == "New label"
    # PUT is a full replace, as in Sequence: a field left out is cleared.
    assert "taxCategoryId" not in updated
    assert updated["createdAt"] == product["createdAt"]
    assert timestamp(updated["updatedAt"]) >= timestamp(product["updatedAt"])
    assert api.get(f"/api/products/{product['id']}").json() == updated
    assert total(api) == 1


def test_invalid_updates_are_rejected_and_change_nothing(api: ApiClient) -> None:
    product = create(api)
    url = f"/api/products/{product['id']}"
    for body in ({"name": ""}, {"label": "No name"}, {"name": "x" * 501}):
        response = api.put(url, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["type"] == "ValidationError"
    malformed = api.put(url, content=b'{"name":', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert api.get(url).json() == product


# --- archive ---------------------------------------------------------------------------------


def test_archive_sets_archived_at_and_is_idempotent(api: ApiClient) -> None:
    product = create(api)
    response = api.post(f"/api/products/{product['id']}/archive")

    assert response.status_code == 200
    archived = response.json()
    archived_at = timestamp(archived["archivedAt"])
    assert archived_at >= timestamp(product["createdAt"])
    assert archived["id"] == product["id"]
    assert archived["name"] == product["name"]
    assert archived["label"] == product["label"]
    assert archived["createdAt"] == product["createdAt"]
    assert api.get(f"/api/products/{product['id']}").json() == archived

    again = api.post(f"/api/products/{product['id']}/archive")
    assert again.status_code == 200
    assert again.json() == archived
    assert again.json()["archivedAt"] == archived["archivedAt"]


def test_archive_leaves_other_products_alone(api: ApiClient) -> None:
    kept = create(api, name="Kept")
    doomed = create(api, name="Archived")
    api.post(f"/api/products/{doomed['id']}/archive")
    assert api.get(f"/api/products/{kept['id']}").json() == kept


# --- tenancy ---------------------------------------------------------------------------------


def test_another_accounts_products_are_404(api: ApiClient, other_api: ApiClient) -> None:
    theirs = create(other_api, name="Their product")
    mine = create(api, name="My product")
    for product_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        url = f"/api/products/{product_id}"
        responses = [
            api.get(url),
            api.put(url, json=product_body(name="Hijacked")),
            api.post(f"{url}/archive"),
        ]
        for response in responses:
            assert response.status_code == 404, (response.request.method, response.request.url)
            assert response.json()["error"]["type"] == "NotFound"
    assert other_api.get(f"/api/products/{theirs['id']}").json() == theirs
    assert [p["id"] for p in api.get("/api/products").json()["items"]] == [mine["id"]]
    assert [p["id"] for p in api.get("/api/products?name=Their product").json()["items"]] == []
    assert [p["id"] for p in other_api.get("/api/products").json()["items"]] == [theirs["id"]]


# --- list ------------------------------------------------------------------------------------


def test_list_filters_by_name(api: ApiClient, other_api: ApiClient) -> None:
    platform = create(api, name="Platform access")
    seats = create(api, name="Editor seats")
    create(other_api, name="Platform access")

    def ids(query: str) -> list[str]:
        page = api.get(f"/api/products{query}").json()
        assert page["pagination"]["totalResultSize"] == len(page["items"])
        return [p["id"] for p in page["items"]]

    assert sorted(ids("")) == sorted([platform["id"], seats["id"]])
    assert ids("?name=Platform access") == [platform["id"]]
    assert ids("?name=Platform%20access") == [platform["id"]]
    assert ids("?name=Editor seats") == [seats["id"]]
    assert ids("?name=Nothing like it") == []


def test_list_pages_through_every_product_newest_first(api: ApiClient) -> None:
    created = [create(api, name=f"Product {n}") for n in range(5)]
    newest_first = [p["id"] for p in reversed(created)]

    seen, pages = walk(api, "/api/products", limit=2)
    assert [page["pagination"]["totalResultSize"] for page in pages] == [5, 5, 5]
    assert seen == newest_first

    first = api.get("/api/products?limit=2").json()
    second = api.get(f"/api/products?limit=2&after={first['pagination']['after']}").json()
    back = api.get(f"/api/products?limit=2&before={second['pagination']['before']}").json()
    assert back["items"] == first["items"]

    ascending = api.get("/api/products?sortOrder=ASC").json()
    assert [p["id"] for p in ascending["items"]] == [p["id"] for p in created]


def test_name_filter_pages_too(api: ApiClient) -> None:
    same = [create(api, name="Seat") for _ in range(3)]
    create(api, name="Other")
    page = api.get("/api/products?name=Seat&limit=2").json()
    assert page["pagination"]["totalResultSize"] == 3
    assert [p["id"] for p in page["items"]] == [same[2]["id"], same[1]["id"]]
    rest = api.get(f"/api/products?name=Seat&limit=2&after={page['pagination']['after']}").json()
    assert [p["id"] for p in rest["items"]] == [same[0]["id"]]
    assert rest["pagination"].get("after") is None


def test_list_rejects_bad_paging(api: ApiClient) -> None:
    for query in ("?limit=0", "?limit=101", "?limit=many"):
        assert api.get(f"/api/products{query}").status_code == 400, query
    assert api.get("/api/products?after=a&before=a").status_code == 400
