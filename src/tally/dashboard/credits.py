"""The dashboard's Credits section: the account's live grants with their balances, a
customer's balances (per currency for cash, per metric for usage credits) with every ledger
entry, and the form granting credits.

The grant form builds the API's `CreditGrantCreate` from its fields, so its validation is the
API's own, and `workflows.credit_grants.create_grant` writes the grant and its ledger entry as for
`POST /api/credits`. Balances are `credits.presenters.balances_out`, the API's answer to
`GET /api/credits/{customer}/balances`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.pagination import PageParams, paginate
from tally.api.types import Currency
from tally.core.wire import plain
from tally.credits import service
from tally.credits.schemas import CreditGrantCreate
from tally.customers.queries import customer_choices, customer_names
from tally.dashboard import credits_top_ups, sessions
from tally.dashboard.form_errors import NUMBER, from_service, from_validation, said
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer, render
from tally.documents import render as documents
from tally.exceptions import BadRequest, InvalidRequest, NotFound
from tally.metering import queries as metering_queries
from tally.models import CreditGrant, CreditUnitType
from tally.models.scoped import get_account
from tally.workflows import credit_grants

CREDITS = HOME + "/credits"
PAGE_SIZE = 20

router = APIRouter(prefix=CREDITS, include_in_schema=False)

# The grant form's fields: the API's names (camelCase), as `CreditGrantCreate` reads them.
GRANT_FIELDS = (
    "customerId",
    "name",
    "creditUnitType",
    "currency",
    "metricId",
    "amount",
    "costOfCredit",
    "effectiveDate",
    "expiryDate",
    "creditsPerCurrencyUnit",
)
NUMBERS = ("amount", "costOfCredit", "creditsPerCurrencyUnit")
LABELS = {
    "customerId": "Customer",
    "name": "Name",
    "creditUnitType": "Kind",
    "currency": "Currency",
    "metricId": "Usage metric",
    "amount": "Credits",
    "costOfCredit": "Cost of credit",
    "effectiveDate": "Usable from",
    "expiryDate": "Last usable day",
    "createInvoice": "Invoice the cost",
    "creditsPerCurrencyUnit": "Credits per currency unit",
}


def _amount(grant: CreditGrant, credits: Decimal) -> str:
    """Cash credits as money (£100.00); usage credits and converted wallets as numbers."""
    if grant.metric_id is None and grant.credits_per_currency_unit is None:
        return documents.Formatter(grant.currency).money(credits)
    return plain(credits)


# --- reading the form ------------------------------------------------------------------------


def _grant_field(loc: Sequence[str | int]) -> str:
    return str(loc[0]) if loc else ""


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def grant_request(fields: dict[str, str]) -> CreditGrantCreate:
    """The API's request body from the form: empty fields left out, numbers as Decimals (as
    the API reads JSON numbers: exactly)."""
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in GRANT_FIELDS:
        raw = fields.get(name, "").strip()
        if not raw:
            continue
        if name in NUMBERS:
            try:
                data[name] = Decimal(raw)
            except InvalidOperation:
                errors[name] = said(LABELS[name], NUMBER)
                continue
        else:
            data[name] = raw
    data["createInvoice"] = fields.get("createInvoice") == "true"
    try:
        body = CreditGrantCreate.model_validate(data)
    except ValidationError as invalid:
        said_errors = from_validation(invalid, _grant_field, LABELS).by_field(GRANT_FIELDS)
        for field, message in said_errors.items():
            errors.setdefault(field, message)
    if errors:
        raise FormErrors(errors)
    return body


# --- pages -----------------------------------------------------------------------------------


def _choices(session: Session, account_id: str) -> dict[str, Any]:
    customers = customer_choices(session, account_id)
    metrics = metering_queries.metrics(session, account_id)
    return {
        "customers": [(c.id, c.legal_name) for c in customers],
        "metrics": [(m.id, m.name) for m in metrics],
        "currencies": [currency.value for currency in Currency],
        "unit_types": [unit.value for unit in CreditUnitType],
    }


def _credits_page(
    request: Request,
    session: Session,
    viewer: sessions.Viewer,
    *,
    status: int = 200,
    fields: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    query = request.query_params
    customer_id = query.get("customerId") or None
    paging = PageParams(
        limit=PAGE_SIZE, after=query.get("after") or None, before=query.get("before") or None
    )
    try:
        page = paginate(
            session, service.grants_query(viewer.account_id, customer_id), CreditGrant.id, paging
        )
    except BadRequest as wrong:
        raise DashboardPageError(400, "Bad request", wrong.message) from wrong
    balances = service.current_balances(session, viewer.account_id, [g.id for g in page.rows])
    choices = _choices(session, viewer.account_id)
    names = dict(choices["customers"])
    missing = {g.customer_id for g in page.rows} - names.keys()  # archived customers' grants
    names.update(customer_names(session, viewer.account_id, missing))
    rows = [
        {
            "id": grant.id,
            "name": grant.name,
            "customer_id": grant.customer_id,
            "customer": names.get(grant.customer_id, grant.customer_id),
            "kind": grant.credit_unit_type.value,
            "currency": grant.currency,
            "amount": _amount(grant, grant.amount),
            "balance": _amount(grant, balances[grant.id]),
            "effective_date": grant.effective_date,
            "expiry_date": grant.expiry_date,
        }
        for grant in page.rows
    ]
    kept = {"customerId": customer_id} if customer_id else {}
    form = dict.fromkeys((*GRANT_FIELDS, "createInvoice"), "")
    currency = get_account(session, viewer.account_id).currency  # its default currency
    form.update({"creditUnitType": "CURRENCY", "currency": currency})
    form.update({name: value for name, value in (fields or {}).items() if name in form})
    if customer_id and not fields:
        form["customerId"] = customer_id
    return render(
        request,
        "dashboard/credits/list.html",
        viewer=viewer,
        active=CREDITS,
        status_code=status,
        rows=rows,
        customer_id=customer_id or "",
        older="?" + urlencode({**kept, "after": page.pagination.after})
        if page.pagination.after
        else None,
        newer="?" + urlencode({**kept, "before": page.pagination.before})
        if page.pagination.before
        else None,
        form=form,
        errors=errors or {},
        labels=LABELS,
        **choices,
    )


@router.get("")
def credits_page(request: Request, viewer: SignedInViewer, session: DbSession) -> Response:
    return _credits_page(request, session, viewer)


@router.post("")
def grant_credits(request: Request, form: PostedForm, session: DbSession) -> Response:
    viewer = form.viewer
    try:
        body = grant_request(form.fields)
        grant = credit_grants.create_grant(session, get_account(session, viewer.account_id), body)
    except FormErrors as invalid:
        errors = invalid.errors
    except NotFound as missing:  # another account's customer or metric, as the API answers
        raise DashboardPageError.not_found() from missing
    except InvalidRequest as refused:
        # The service's own checks (amount places, expiry): its message, by field when it
        # names one. Nothing was written: it checks first, and this rolls back.
        session.rollback()
        errors = from_service(refused, _grant_field, LABELS).by_field(GRANT_FIELDS)
    else:
        return RedirectResponse(
            f"{CREDITS}/customers/{grant.customer_id}?done=granted", status_code=303
        )
    return _credits_page(request, session, viewer, status=422, fields=form.fields, errors=errors)


@router.get("/customers/{customer_id}")
def customer_credits(
    request: Request,
    customer_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: str | None = None,
) -> Response:
    return credits_top_ups.customer_page(request, session, viewer, customer_id, done=done)
