"""HTTP Basic authentication with an API key and secret; every request acts as one account."""

import base64
import binascii
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tally.accounts.service import authenticate
from tally.api.deps import get_database
from tally.db import Database
from tally.exceptions import Unauthorized


@dataclass(frozen=True)
class Principal:
    account_id: str
    api_key_id: str


def _basic_credentials(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("Authentication required: HTTP Basic with your API key and secret.")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("Use HTTP Basic authentication with your API key and secret.")
    try:
        key, separator, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("Malformed Basic credentials.") from exc
    if not separator or not key or not secret:
        raise Unauthorized("Malformed Basic credentials: expected key:secret.")
    return key, secret


def require_api_key(request: Request, db: Annotated[Database, Depends(get_database)]) -> Principal:
    key, secret = _basic_credentials(request.headers.get("Authorization"))
    # Its own short read: the request's unit of work has not started yet, so on SQLite a
    # write transaction opened later never waits on this one.
    with db.session(write=False) as session:
        api_key = authenticate(session, key, secret)
    if api_key is None:
        raise Unauthorized("Invalid API key or secret.")
    principal = Principal(account_id=api_key.account_id, api_key_id=api_key.id)
    request.state.principal = principal
    return principal


CurrentAccount = Annotated[Principal, Depends(require_api_key)]
