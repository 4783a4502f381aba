"""Walking a list endpoint page by page, as a client would."""

from typing import Any

from tests.support.api_client import ApiClient


def walk(
    api: ApiClient, path: str, limit: int, sort_order: str | None = None
) -> tuple[list[str], list[dict[str, Any]]]:
    """Follow `after` cursors to the end: the ids seen, in order, and every page."""
    ids: list[str] = []
    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if sort_order:
            params["sortOrder"] = sort_order
        if cursor:
            params["after"] = cursor
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        page = dict(response.json())
        assert len(page["items"]) <= limit
        pages.append(page)
        ids += [item["id"] for item in page["items"]]
        cursor = page["pagination"].get("after")
        if cursor is None:
            return ids, pages
