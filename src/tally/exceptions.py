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
    """The request is valid but the current state forbids it (duplicate, illegal transition).

    400, as Sequence documents for every refused request; `error_type` names the conflict (one
    subclass each), so a client tells them apart without reading the message. Only
    `StaleVersion` answers 409: the one conflict Sequence documents a 409 for.
    """

    status_code = 400
    error_type = "Conflict"


class DuplicateValue(Conflict):
    """An alias, name, seat type or email already taken where it must be unique; a second
    organization for one owner."""

    error_type = "DuplicateValue"


class InvalidStateTransition(Conflict):
    """The object's status forbids the action (finalize a sent invoice, edit a finished
    schedule, finalize a credit note that credits nothing)."""

    error_type = "InvalidStateTransition"


class ArchivedReference(Conflict):
    """The object, or one the request names, is archived: it takes no new use."""

    error_type = "ArchivedReference"


class ReferenceInUse(Conflict):
    """Something else still refers to the object (a price a schedule bills, a credit note
    applied to invoices), or it already belongs elsewhere."""

    error_type = "ReferenceInUse"


class ReferenceMismatch(Conflict):
    """Objects named together do not belong together: another customer, another currency."""

    error_type = "ReferenceMismatch"


class HierarchyCycle(Conflict):
    """A customer would become its own parent or ancestor."""

    error_type = "HierarchyCycle"


class BalanceExceeded(Conflict):
    """More than a balance or a total leaves (credit beyond an invoice, apply beyond a
    balance, apply to a paid invoice)."""

    error_type = "BalanceExceeded"


class MissingRecipient(Conflict):
    """A document to send by email has nobody to send it to."""

    error_type = "MissingRecipient"


class SellerDetailsMissing(Conflict):
    """An invoice would be issued without the seller's legal name or address."""

    error_type = "SellerDetailsMissing"


class PrimaryContactRequired(Conflict):
    """The change would leave a customer's invoices without a PRIMARY billing contact."""

    error_type = "PrimaryContactRequired"


class LastNotificationType(Conflict):
    """Removing a policy's last type would widen it to every type."""

    error_type = "LastNotificationType"


class IdempotencyKeyReused(Conflict):
    """An `Idempotency-Key` sent again with a different request."""

    error_type = "IdempotencyKeyReused"


class RequestInProgress(Conflict):
    """A request with the same `Idempotency-Key` is still running: retry shortly."""

    error_type = "RequestInProgress"


class ProviderNotConnected(Conflict):
    """A payment needs a provider the account has not connected (or disconnected)."""

    error_type = "ProviderNotConnected"


class PaymentProviderUnavailable(TallyError):
    """The payment provider could not be reached or answered an error that is not the
    customer's: nothing was recorded, and the call is safe to retry (its idempotency key)."""

    status_code = 502
    error_type = "PaymentProviderUnavailable"


class StaleVersion(Conflict):
    """A balance version the client sent is not the current one. 409: Sequence documents it
    on POST /credit-note-applications (its `VersionConflictResponse`)."""

    status_code = 409
    error_type = "StaleVersion"


class NotIssued(Conflict):
    """An e-invoice of a document not issued yet (no number: EN 16931's BT-1 is mandatory) or
    voided. 400 like every state conflict (409 only where Sequence documents one)."""

    error_type = "NotIssued"


class IncompleteEInvoice(Conflict):
    """The document lacks what EN 16931 requires (the merchant's address, a tax
    registration ...); `details` names each missing item. 400, like `NotIssued`."""

    error_type = "IncompleteEInvoice"


class InvalidRequest(TallyError):
    """Well-formed input that breaks a business rule: 400, as Sequence documents for every
    invalid request."""

    status_code = 400
    error_type = "ValidationError"

    @classmethod
    def field(cls, field: str, message: str) -> "InvalidRequest":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])
