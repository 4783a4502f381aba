"""API key secrets: how they are stored (hashed) and checked. Accounts issue and revoke keys;
the API's auth checks them here, below every domain."""

import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.core.hashing import hash_token
from tally.models import ApiKey


def authenticate(session: Session, key: str, secret: str) -> ApiKey | None:
    """The live API key matching both parts, or None. Compares in constant time."""
    api_key = session.scalar(select(ApiKey).where(ApiKey.key == key, ApiKey.revoked_at.is_(None)))
    candidate = hash_token(secret)
    expected = api_key.secret_hash if api_key else hash_token(secrets.token_urlsafe(32))
    if hmac.compare_digest(candidate, expected) and api_key is not None:
        return api_key
    return None
