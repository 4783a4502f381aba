"""HTTP Basic authentication with an API key and secret; every request acts as one account."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from tally.api.deps import get_database
from tally.api.keys import authenticate
from tally.db import Database
from tally.exceptions import Unauthorized
from tally.ops.limits import Limits


class _ApiKeyBasic(HTTPBasic):
    """FastAPI's Basic scheme (it documents the API in OpenAPI), with a clearer error."""

    def make_not_authenticated_error(self) -> HTTPException:
        return HTTPException(
            status_code=401,
            detail="Malformed Basic credentials: expected base64 of 'key:secret'.",
            headers=self.make_authenticate_headers(),
        )


basic_scheme = _ApiKeyBasic(
    auto_error=False,
    realm="Tally API",
    description="Your API key as the user name and your API secret as the password.",
)


@dataclass(frozen=True)
class Principal:
    account_id: str
    api_key_id: str


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(basic_scheme)],
    db: Annotated[Database, Depends(get_database)],
) -> Principal:
    if credentials is None:
        raise Unauthorized("Authentication required: HTTP Basic with your API key and secret.")
    if not credentials.username or not credentials.password:
        raise Unauthorized("Malformed Basic credentials: expected 'key:secret'.")
    limits: Limits | None = getattr(request.app.state, "limits", None)
    client = request.client.host if request.client else "unknown"
    if limits is not None:
        limits.check_failures("api", client)  # 429 after too many bad API keys from here
    # Its own short read: the request's unit of work has not started yet, so on SQLite a
    # write transaction opened later never waits on this one.
    with db.lookup_session() as session:
        api_key = authenticate(session, credentials.username, credentials.password)
    if api_key is None:
        if limits is not None:
            limits.failed("api", client)
        raise Unauthorized("Invalid API key or secret.")
    if limits is not None:
        limits.check_key(api_key.id, request.method, request.url.path)
    principal = Principal(account_id=api_key.account_id, api_key_id=api_key.id)
    request.state.principal = principal
    request.state.read_client = f"api:{api_key.id}"  # whose writes its reads follow
    return principal


CurrentAccount = Annotated[Principal, Depends(require_api_key)]
