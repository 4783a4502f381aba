"""A customer's credits page (`/dashboard/credits/customers/{id}`): its balances and ledger,
its top-ups with their invoices, the "Buy credits" form, and its auto-recharge settings with
their recent recharges. The forms build the API's bodies (`CreditTopUpCreate`,
`AutoRechargeSet`), so their validation is the API's, and write through the same workflow
and service as `POST /api/credit-top-ups` and `PUT /api/customers/{id}/auto-recharges/{c}`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.api.types import Currency
from tally.core.wire import plain
from tally.credits import auto_recharge, presenters, service, top_ups
from tally.credits.top_up_schemas import AutoRechargeSet, CreditTopUpCreate
from tally.customers.service import get_customer
from tally.dashboard import sessions
from tally.dashboard.form_errors import NUMBER, from_service, from_validation, said
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, render
from tally.exceptions import InvalidRequest, NotFound, TallyError
from tally.models import GrantWhen
from tally.models.scoped import get_account
from tally.workflows import credit_top_ups

CREDITS = HOME + "/credits"
Body = TypeVar("Body", bound=BaseModel)
router = APIRouter(prefix=CREDITS, include_in_schema=False)

TOP_UP_FIELDS = ("currency", "amount", "cost", "grantWhen", "name")
RECHARGE_FIELDS = ("currency", "belowBalance", "rechargeAmount", "cost", "monthlyCap")
NUMBERS = ("amount", "cost", "belowBalance", "rechargeAmount", "monthlyCap")
LABELS = {
    "currency": "Currency",
    "amount": "Credits",
    "cost": "Price",
    "grantWhen": "Credits usable",
    "name": "Name",
    "belowBalance": "When the balance falls below",
    "rechargeAmount": "Buy this many credits",
    "monthlyCap": "At most a month",
}
DONE = {
    "granted": "Credits granted.",
    "bought": "Credits bought: the invoice is issued.",
    "recharge": "Auto-recharge saved.",
    "recharge-off": "Auto-recharge turned off.",
}


class FormErrors(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _field(loc: Sequence[str | int]) -> str:
    return str(loc[0]) if loc else ""


def _body(model: type[Body], fields: dict[str, str], names: Sequence[str], **more: Any) -> Body:
    """The API's body from the form: empty fields left out, numbers exact."""
    data: dict[str, Any] = dict(more)
    errors: dict[str, str] = {}
    for name in names:
        raw = fields.get(name, "").strip()
        if not raw or name in more:
            continue
        if name in NUMBERS:
            try:
                data[name] = Decimal(raw)
            except InvalidOperation:
                errors[name] = said(LABELS[name], NUMBER)
        else:
            data[name] = raw
    try:
        body = model.model_validate(data)
    except ValidationError as invalid:
        for field, message in from_validation(invalid, _field, LABELS).by_field(names).items():
            errors.setdefault(field, message)
    if errors:
        raise FormErrors(errors)
    return body


def _shown(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Rows as the template reads them: their columns, amounts as exact plain text."""
    return [
        {
            column.key: plain(value) if isinstance(value, Decimal) else value
            for column in row.__table__.columns
            for value in [getattr(row, column.key)]
        }
        for row in rows
    ]


def customer_page(
    request: Request,
    session: Session,
    viewer: sessions.Viewer,
    customer_id: str,
    *,
    status: int = 200,
    done: str | None = None,
    posted: str | None = None,
    fields: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        credits = service.customer_credits(session, viewer.account_id, customer_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    customer = get_customer(session, viewer.account_id, customer_id)
    currency = get_account(session, viewer.account_id).currency
    buy = {"currency": currency, "grantWhen": GrantWhen.ON_PAYMENT.value, "name": "Credit top-up"}
    recharge = {"currency": currency}
    if posted == "buy":
        buy.update(fields or {})
    elif posted == "recharge":
        recharge.update(fields or {})
    return render(
        request,
        "dashboard/credits/customer.html",
        viewer=viewer,
        active=CREDITS,
        status_code=status,
        customer=customer,
        balances=presenters.balances_out(credits).items,
        top_ups=_shown(top_ups.customer_top_ups(session, viewer.account_id, customer_id)),
        auto_recharges=[
            {**row, "price": row["cost"] or row["recharge_amount"]}
            for row in _shown(
                auto_recharge.customer_auto_recharges(session, viewer.account_id, customer_id)
            )
        ],
        recharges=_shown(
            auto_recharge.customer_recharges(session, viewer.account_id, customer_id, 20)
        ),
        currencies=[c.value for c in Currency],
        grant_whens=[w.value for w in GrantWhen],
        buy=buy,
        recharge=recharge,
        posted=posted,
        errors=errors or {},
        labels=LABELS,
        done=DONE.get(done or ""),
    )


@router.post("/customers/{customer_id}/top-ups")
def buy_credits(
    request: Request, customer_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    try:
        body = _body(CreditTopUpCreate, form.fields, TOP_UP_FIELDS, customerId=customer_id)
        account = get_account(session, viewer.account_id)
        credit_top_ups.create_top_up(session, account, body)
    except FormErrors as invalid:
        errors = invalid.errors
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    except TallyError as refused:  # the service's own checks; nothing was written
        session.rollback()
        errors = from_service(refused, _field, LABELS).by_field(TOP_UP_FIELDS)
    else:
        return RedirectResponse(
            f"{CREDITS}/customers/{customer_id}?done=bought#top-ups", status_code=303
        )
    return customer_page(
        request, session, viewer, customer_id, status=422, posted="buy",
        fields=form.fields, errors=errors,
    )  # fmt: skip


@router.post("/customers/{customer_id}/auto-recharge")
def set_auto_recharge(
    request: Request, customer_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    currency = form.fields.get("currency", "")
    try:
        if currency not in {c.value for c in Currency}:
            raise FormErrors({"currency": said(LABELS["currency"], "choose a currency")})
        body = _body(AutoRechargeSet, form.fields, RECHARGE_FIELDS[1:])
        auto_recharge.set_auto_recharge(session, viewer.account_id, customer_id, currency, body)
    except FormErrors as invalid:
        errors = invalid.errors
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    except (InvalidRequest, TallyError) as refused:
        session.rollback()
        errors = from_service(refused, _field, LABELS).by_field(RECHARGE_FIELDS)
    else:
        return RedirectResponse(
            f"{CREDITS}/customers/{customer_id}?done=recharge#auto-recharge", status_code=303
        )
    return customer_page(
        request, session, viewer, customer_id, status=422, posted="recharge",
        fields=form.fields, errors=errors,
    )  # fmt: skip


@router.post("/customers/{customer_id}/auto-recharge/{currency}/delete")
def turn_off_auto_recharge(
    customer_id: str, currency: str, form: PostedForm, session: DbSession
) -> Response:
    try:
        auto_recharge.delete_auto_recharge(session, form.viewer.account_id, customer_id, currency)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing
    return RedirectResponse(
        f"{CREDITS}/customers/{customer_id}?done=recharge-off#auto-recharge", status_code=303
    )
