"""The router every API domain uses: auth, idempotency, documented errors."""

from fastapi import APIRouter, Depends

from tally.api.auth import require_api_key
from tally.api.errors import ERROR_RESPONSES
from tally.api.guards import reject_nul_characters, reject_unknown_query_parameters
from tally.api.idempotency import claim_idempotency_key


def api_router(*, tags: list[str]) -> APIRouter:
    """A router for authenticated API endpoints (mounted under /api)."""
    return APIRouter(
        tags=list(tags),
        responses=ERROR_RESPONSES,
        dependencies=[
            Depends(reject_nul_characters),
            Depends(reject_unknown_query_parameters),
            Depends(require_api_key),
            Depends(claim_idempotency_key),
        ],
    )
