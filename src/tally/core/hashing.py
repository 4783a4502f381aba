"""What the database keeps instead of a secret: API key secrets, dashboard and portal session
tokens and portal link secrets are stored as `hash_token(value)` and looked up by it.

They are all 256 random bits, so a fast hash is as safe as a slow one: slowness only protects
guessable passwords (dashboard passwords use argon2), and a slow KDF would add ~50 ms to every
API call. Standard library only: the bottom layer."""

import hashlib


def hash_token(value: str) -> str:
    """SHA-256 hex of a random token or secret (64 characters)."""
    return hashlib.sha256(value.encode()).hexdigest()
