"""Payment provider credentials, encrypted at rest with a key derived from TALLY_SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) authenticates what it decrypts, so
a changed key or a tampered column fails loudly instead of sending garbage to a provider."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tally.exceptions import TallyError

_INFO = b"tally payment provider credentials v1"


class SecretKeyMissing(TallyError):
    """No TALLY_SECRET_KEY: credentials can be neither stored nor read."""

    status_code = 503
    error_type = "SecretKeyMissing"


class UndecryptableSecret(TallyError):
    """A stored credential does not decrypt with the configured key (the key changed)."""

    status_code = 503
    error_type = "UndecryptableSecret"


def _fernet(secret_key: str | None) -> Fernet:
    if not secret_key:
        raise SecretKeyMissing(
            "TALLY_SECRET_KEY is not set: payment provider credentials cannot be stored or "
            "used without it."
        )
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(secret_key: str | None, plaintext: str) -> str:
    return _fernet(secret_key).encrypt(plaintext.encode()).decode()


def decrypt(secret_key: str | None, ciphertext: str) -> str:
    try:
        return _fernet(secret_key).decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise UndecryptableSecret(
            "A stored payment credential does not decrypt with TALLY_SECRET_KEY: was the key "
            "changed? Connect the provider again."
        ) from error
