"""Tax registrations: rules for the merchant's and its customers' tax identifiers.

A registration names exactly one party: a customer of the account, or the merchant (the
account itself, whose id is the `merchantId`). A party holds an identifier once per country;
deleting keeps the row (documents printed with it stay reproducible) and frees the identifier.
"""

from typing import Any

from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.api.references import resolve_one
from tally.core.clock import utcnow
from tally.exceptions import DuplicateValue, InvalidRequest, NotFound
from tally.models import Customer, TaxRegistration
from tally.tax import queries
from tally.tax.registration_schemas import TaxRegistrationIn
from tally.tax.registration_schemes import scheme_of, state_error


def get_registration(session: Session, account_id: str, registration_id: str) -> TaxRegistration:
    registration = queries.tax_registration(session, account_id, registration_id)
    if registration is None:
        raise NotFound.resource("Tax registration", registration_id)
    return registration


def _check_party(session: Session, account_id: str, data: TaxRegistrationIn) -> None:
    """Exactly one owner, and one the caller can see (404 otherwise, as for any id)."""
    if (data.customer_id is None) == (data.merchant_id is None):
        message = "give exactly one of customerId and merchantId"
        raise InvalidRequest(message, details=[{"field": "customerId", "message": message}])
    if data.customer_id is not None:
        resolve_one(session, account_id, Customer, "customerId", data.customer_id)
    elif data.merchant_id != account_id:
        # The merchant is the account: another id is another account's, or none.
        message = f"Merchant {data.merchant_id!r} not found"
        raise NotFound(
            f"merchantId: {message}", details=[{"field": "merchantId", "message": message}]
        )
    problem = state_error(data.country, data.state)
    if problem:
        raise InvalidRequest.field("state", problem)


def _check_unique(
    session: Session, account_id: str, data: TaxRegistrationIn, except_id: str | None = None
) -> None:
    taken = queries.registration_taken(
        session,
        account_id,
        customer_id=data.customer_id,
        merchant_id=data.merchant_id,
        country=data.country,
        identifier=data.tax_identifier,
        except_id=except_id,
    )
    if taken:
        owner = f"Customer {data.customer_id!r}" if data.customer_id else "The merchant"
        raise DuplicateValue(
            f"{owner} already has the tax registration {data.tax_identifier!r} in {data.country}"
        )


def _audited(registration: TaxRegistration) -> dict[str, Any]:
    return {
        "taxIdentifier": registration.tax_identifier,
        "customerId": registration.customer_id,
        "merchantId": registration.merchant_id,
        "country": registration.country,
        "state": registration.state,
        "deletedAt": registration.deleted_at,
    }


def _log(
    session: Session,
    registration: TaxRegistration,
    verb: str,
    summary: str,
    before: dict[str, Any],
) -> None:
    activity.record(
        session,
        registration.account_id,
        verb=verb,
        object_type="TAX_REGISTRATION",
        object_id=registration.id,
        name=f"Tax registration {verb.lower()}",
        summary=summary,
        changes=activity.changed(before, _audited(registration)),
        target_type="CUSTOMER" if registration.customer_id else None,
        target_id=registration.customer_id,
    )


def _apply(registration: TaxRegistration, data: TaxRegistrationIn) -> None:
    registration.tax_identifier = data.tax_identifier
    registration.customer_id = data.customer_id
    registration.merchant_id = data.merchant_id
    registration.country = data.country
    registration.state = data.state
    registration.scheme = scheme_of(data.country)


def create_registration(
    session: Session, account_id: str, data: TaxRegistrationIn
) -> TaxRegistration:
    _check_party(session, account_id, data)
    _check_unique(session, account_id, data)
    registration = TaxRegistration(account_id=account_id)
    _apply(registration, data)
    session.add(registration)
    session.flush()
    summary = f"Tax registration {data.tax_identifier} ({data.country}) added"
    _log(session, registration, "CREATED", summary, {})
    return registration


def update_registration(
    session: Session, account_id: str, registration_id: str, data: TaxRegistrationIn
) -> TaxRegistration:
    registration = get_registration(session, account_id, registration_id)
    _check_party(session, account_id, data)
    _check_unique(session, account_id, data, except_id=registration.id)
    before = _audited(registration)
    _apply(registration, data)
    session.flush()
    if _audited(registration) != before:  # the same registration restated logs nothing
        summary = f"Tax registration {data.tax_identifier} ({data.country}) updated"
        _log(session, registration, "UPDATED", summary, before)
    return registration


def delete_registration(session: Session, account_id: str, registration_id: str) -> TaxRegistration:
    registration = get_registration(session, account_id, registration_id)
    before = _audited(registration)
    registration.deleted_at = utcnow()
    session.flush()
    summary = (
        f"Tax registration {registration.tax_identifier} ({registration.country}) deleted: "
        "new documents no longer print it"
    )
    _log(session, registration, "DELETED", summary, before)
    return registration


def customer_registrations(
    session: Session, account_id: str, customer_id: str
) -> list[TaxRegistration]:
    resolve_one(session, account_id, Customer, "id", customer_id)
    return queries.party_registrations(session, account_id, customer_id=customer_id)


def merchant_registrations(
    session: Session, account_id: str, merchant_id: str
) -> list[TaxRegistration]:
    if merchant_id != account_id:
        raise NotFound.resource("Merchant", merchant_id)
    return queries.party_registrations(session, account_id, merchant_id=merchant_id)
