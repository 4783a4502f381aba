"""Errors that services raise and the API turns into `{"error": {"type", "message"}}`.

Each carries its HTTP status so a service can say what went wrong without knowing about HTTP
responses; `tally.api.errors` renders them.
"""

from typing import Any


class TallyError(Exception):
    status_code = 400
    error_type = "BadRequest"
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(TallyError):
    pass


class Unauthorized(TallyError):
    status_code = 401
    error_type = "Unauthorized"
    headers = {"WWW-Authenticate": 'Basic realm="Tally API"'}  # noqa: RUF012


class NotFound(TallyError):
    """Unknown id, or an id of another account: the two must look the same."""

    status_code = 404
    error_type = "NotFound"

    @classmethod
    def resource(cls, kind: str, identifier: str) -> "NotFound":
        return cls(f"{kind} {identifier!r} not found")


class Conflict(TallyError):
    """The request is valid but the current state forbids it (duplicate, illegal transition)."""

    status_code = 409
    error_type = "Conflict"


class InvalidRequest(TallyError):
    """Well-formed input that breaks a business rule: 400, as Sequence documents for every
    invalid request."""

    status_code = 400
    error_type = "ValidationError"

    @classmethod
    def field(cls, field: str, message: str) -> "InvalidRequest":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])
