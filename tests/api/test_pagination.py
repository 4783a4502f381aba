"""Keyset pagination: limit, after, before, sortOrder, totalResultSize."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.api_client import ApiClient
from tests.support.paging import walk

PRODUCTS = 13


@pytest.fixture
def product_ids(api: ApiClient) -> list[str]:
    """Ids in creation order."""
    return [
        api.post("/api/products", json={"name": f"Product {n:02}"}).json()["id"]
        for n in range(PRODUCTS)
    ]


def page(api: ApiClient, **params: Any) -> dict[str, Any]:
    response = api.get("/api/products", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_first_page_newest_first_with_total(api: ApiClient, product_ids: list[str]) -> None:
    first = page(api, limit=5)
    assert [item["id"] for item in first["items"]] == product_ids[::-1][:5]
    assert first["pagination"]["totalResultSize"] == PRODUCTS
    assert "before" not in first["pagination"]  # no such page: left out, never null
    assert first["pagination"].get("after") is not None


def test_before_goes_back_to_the_previous_page(api: ApiClient, product_ids: list[str]) -> None:
    first = page(api, limit=4)
    second = page(api, limit=4, after=first["pagination"].get("after"))
    back = page(api, limit=4, before=second["pagination"].get("before"))
    assert back["items"] == first["items"]
    assert "before" not in back["pagination"]
    assert back["pagination"].get("after") == first["pagination"].get("after")


def test_the_default_limit_is_20_and_bounds_are_enforced(api: ApiClient) -> None:
    for n in range(21):
        api.post("/api/products", json={"name": f"P{n}"})
    assert len(page(api)["items"]) == 20
    for limit in (0, 101, -1):
        response = api.get("/api/products", params={"limit": limit})
        assert response.status_code == 400
        assert response.json()["error"]["details"][0]["field"] == "limit"


def test_bad_cursors_are_rejected(api: ApiClient) -> None:
    assert api.get("/api/products", params={"after": "%%%"}).status_code == 400
    both = api.get("/api/products", params={"after": "x", "before": "y"})
    assert both.status_code == 400
    assert "either" in both.json()["error"]["message"]


def test_an_empty_list(api: ApiClient) -> None:
    # No page after nor before: both cursors left out, as Sequence's schema types them as
    # non-null strings in most of its list shapes.
    assert page(api) == {"items": [], "pagination": {"totalResultSize": 0}}


def test_the_last_page_leaves_after_out(api: ApiClient, product_ids: list[str]) -> None:
    last = page(api, limit=PRODUCTS)
    assert len(last["items"]) == PRODUCTS
    assert last["pagination"] == {"totalResultSize": PRODUCTS}
    beyond = page(api, limit=2, after=page(api, limit=PRODUCTS - 2)["pagination"]["after"])
    assert set(beyond["pagination"]) == {"before", "totalResultSize"}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    limit=st.integers(min_value=1, max_value=PRODUCTS + 2),
    sort_order=st.sampled_from(["ASC", "DESC"]),
)
def test_walking_all_pages_sees_every_item_once_in_order(
    api: ApiClient, product_ids: list[str], limit: int, sort_order: str
) -> None:
    ids, pages = walk(api, "/api/products", limit, sort_order)
    expected = product_ids if sort_order == "ASC" else product_ids[::-1]
    assert ids == expected
    assert len(pages) == max(1, -(-PRODUCTS // limit))
    # Walking back from the last page with `before` retraces the same pages.
    back_ids: list[str] = [item["id"] for item in pages[-1]["items"]]
    cursor = pages[-1]["pagination"].get("before")
    while cursor:
        previous = page(api, limit=limit, sortOrder=sort_order, before=cursor)
        back_ids = [item["id"] for item in previous["items"]] + back_ids
        cursor = previous["pagination"].get("before")
    assert back_ids == expected


def test_new_items_do_not_shift_a_walk_in_progress(api: ApiClient, product_ids: list[str]) -> None:
    first = page(api, limit=5)
    api.post("/api/products", json={"name": "Newer than the walk"})
    second = page(api, limit=5, after=first["pagination"].get("after"))
    assert [item["id"] for item in second["items"]] == product_ids[::-1][5:10]
    assert second["pagination"]["totalResultSize"] == PRODUCTS + 1
