"""Refusals as the API answers them: a state conflict is a 400 whose `type` names it."""

from typing import Any

import httpx


def conflict_error(response: httpx.Response, error_type: str) -> dict[str, Any]:
    """The error of a request refused by the current state: 400, `type` naming the conflict
    (as Sequence documents only 400 for a refused request)."""
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == error_type, response.text
    return error
