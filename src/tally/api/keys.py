"""API key secrets: how they are stored (hashed) and checked. Accounts issue and revoke keys;
the API's auth checks them here, below every domain."""

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.models import ApiKey


def hash_secret(secret: str) -> str:
    # Secrets are 256 random bits, so a fast hash is as safe as a slow one here: slowness only
    # protects guessable passwords. A slow KDF would add ~50 ms to every API call.
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(session: Session, key: str, secret: str) -> ApiKey | None:
    """The live API key matching both parts, or None. Compares in constant time."""
    api_key = session.scalar(select(ApiKey).where(ApiKey.key == key, ApiKey.revoked_at.is_(None)))
    candidate = hash_secret(secret)
    expected = api_key.secret_hash if api_key else hash_secret(secrets.token_urlsafe(32))
    if hmac.compare_digest(candidate, expected) and api_key is not None:
        return api_key
    return None
