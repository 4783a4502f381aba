"""The router every API domain uses: auth, idempotency, error docs, Sequence's JSON style."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.routing import APIRoute

from tally.api.auth import require_api_key
from tally.api.errors import ERROR_RESPONSES
from tally.api.idempotency import claim_idempotency_key, finish_idempotent_request


class TallyRoute(APIRoute):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Sequence omits empty optional fields rather than writing nulls.
        kwargs["response_model_exclude_none"] = True
        super().__init__(*args, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except BaseException:
                await finish_idempotent_request(request, None)
                raise
            await finish_idempotent_request(request, response)
            return response

        return route_handler


def api_router(*, tags: list[str]) -> APIRouter:
    """A router for authenticated API endpoints (mounted under /api)."""
    return APIRouter(
        tags=list(tags),
        route_class=TallyRoute,
        responses=ERROR_RESPONSES,
        dependencies=[Depends(require_api_key), Depends(claim_idempotency_key)],
    )
