"""A draft invoice's lines, edited from its page: add a line, change one (title, description,
quantity, rate, tax rate, group), delete one.

Every change is the API's own: the form is read into `LineItemIn` (the body of
`POST/PUT /api/invoices/{id}/line-items`) and given to `invoices.drafts` (`add_line`,
`update_line`, `delete_line`), which refuse anything but a DRAFT, recalculate the totals and
write the activity log entry and the INVOICE_UPDATED event. A change keeps what the form does
not show of the line (its price, service period, external ids, revenue treatment, credit
grant), since the API's PUT replaces the whole line. The tax rate is typed as a percentage
("20" is 20 %); the API's fraction is that divided by 100, exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import get_database
from tally.core.wire import plain
from tally.dashboard import sessions
from tally.dashboard.form_errors import Problems, from_service, label, phrase
from tally.dashboard.web import HOME, DashboardPageError, PostedForm, SignedInViewer, render
from tally.db import REQUEST_STATE, TRACE_ID, Database
from tally.documents import render as documents
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.invoices import drafts, service
from tally.invoices.schemas import LineItemIn
from tally.models import Invoice, InvoiceLineItem, InvoiceStatus
from tally.models.scoped import get_account
from tally.ops.logging import request_id

INVOICES = HOME + "/invoices"
FIELDS = ("title", "description", "quantity", "rate", "tax_rate", "group_id")
LABELS = {
    "title": "Title",
    "description": "Description",
    "quantity": "Quantity",
    "rate": "Rate",
    "taxRate": "Tax rate",
    "tax_rate": "Tax rate",
    "groupId": "Group",
}
TAX_RATE_RANGE = "enter a percentage from 0 to 100, e.g. 20"
NOT_A_DRAFT = "Only a draft invoice's lines can change: this invoice is {status}. Nothing changed."

router = APIRouter(include_in_schema=False)
Db = Annotated[Database, Depends(get_database)]


@dataclass(frozen=True)
class LineRow:
    """One line of the draft's lines table, as people read it."""

    id: str
    title: str
    description: str
    group: str
    quantity: str
    rate: str
    tax_rate: str
    net: str
    tax: str
    gross: str


@dataclass(frozen=True)
class LinesTable:
    rows: list[LineRow]
    groups: list[tuple[str, str]]  # (id, title) for the group pickers
    net: str
    tax: str
    gross: str


def percent(fraction: Decimal) -> str:
    """A tax rate fraction as the percentage the form shows: 0.2 -> "20", 0.125 -> "12.5"."""
    return plain(fraction.scaleb(2))


def table(invoice: Invoice) -> LinesTable:
    """The draft's lines and totals (`invoice` with its lines and groups loaded)."""
    formatter = documents.Formatter(invoice.currency)
    money = formatter.money
    groups = {group.id: group.title for group in invoice.groups}
    rows = [
        LineRow(
            id=line.id,
            title=line.title,
            description=line.description or "",
            group=groups.get(line.group_id or "", ""),
            quantity=formatter.quantity(line.quantity, line.rate_display),
            rate=formatter.rate(line.rate, line.rate_display),  # as the document: £0.125
            tax_rate=percent(line.tax_rate) + "%",
            net=money(line.net_total),
            tax=money(line.total_tax),
            gross=money(line.gross_total),
        )
        for line in invoice.line_items
    ]
    return LinesTable(
        rows=rows,
        groups=[(group.id, group.title) for group in invoice.groups],
        net=money(invoice.net_total),
        tax=money(invoice.total_tax),
        gross=money(invoice.gross_total),
    )


# --- the form --------------------------------------------------------------------------------


def _values(line: InvoiceLineItem) -> dict[str, str]:
    return {
        "title": line.title,
        "description": line.description or "",
        "quantity": plain(line.quantity),
        "rate": plain(line.rate),
        "tax_rate": percent(line.tax_rate),
        "group_id": line.group_id or "",
    }


def _kept(line: InvoiceLineItem | None) -> dict[str, Any]:
    """What the form does not show of an existing line, as the API's body carries it."""
    if line is None:
        return {}
    kept: dict[str, Any] = {
        "priceId": line.price_id,
        "rateDisplay": str(line.rate_display),
        "externalIds": list(line.external_ids or []),
        "creditGrantId": line.credit_grant_id,
        "revenueClassification": line.revenue_classification,
        "revenueRecognitionMethod": line.revenue_recognition_method,
    }
    if line.service_period_start is not None and line.service_period_end is not None:
        kept["servicePeriod"] = {
            "startDate": line.service_period_start.isoformat(),
            "endDate": line.service_period_end.isoformat(),
        }
    return kept


def _form_field(loc: Sequence[str | int]) -> str:
    names = {"taxRate": "tax_rate", "groupId": "group_id"}
    head = str(loc[0]) if loc else ""
    return names.get(head, head if head in FIELDS else "")


def line_request(fields: dict[str, str], line: InvoiceLineItem | None) -> LineItemIn:
    """`LineItemIn` from the form (and what it keeps of `line`); `FormProblems` saying each
    field's error for people otherwise."""
    problems = Problems()
    data: dict[str, Any] = _kept(line)
    data["title"] = fields.get("title", "").strip()
    data["description"] = fields.get("description", "").strip() or None
    data["groupId"] = fields.get("group_id", "") or None
    for name in ("quantity", "rate"):
        data[name] = fields.get(name, "").strip()
    raw_rate = fields.get("tax_rate", "").strip() or "0"
    try:
        tax_rate = Decimal(raw_rate)
        if not tax_rate.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.add("Tax rate", "enter a percentage, e.g. 20", "tax_rate")
        data["taxRate"] = "0"  # said already: the other fields are still checked
    else:
        data["taxRate"] = str(tax_rate.scaleb(-2))
    try:
        body = LineItemIn.model_validate(data)
    except ValidationError as invalid:
        for item in invalid.errors():
            loc = tuple(item["loc"])
            name = _form_field(loc)
            text = TAX_RATE_RANGE if name == "tax_rate" else phrase(item)
            problems.add(label(loc, LABELS) if loc else "", text, name)
    if problems:
        raise FormProblems(problems)
    return body


class FormProblems(Exception):
    def __init__(self, problems: Problems) -> None:
        super().__init__(problems.messages)
        self.problems = problems


# --- pages and posts -------------------------------------------------------------------------


def _line_page(
    request: Request,
    db: Database,
    viewer: sessions.Viewer,
    invoice_id: str,
    line_id: str | None,
    values: dict[str, str] | None = None,
    errors: Problems | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The line's form (a new line's when `line_id` is None), with the posted values and
    their errors when a post was refused."""
    with db.session(write=False) as session:
        invoice = _invoice(session, viewer.account_id, invoice_id)
        _require_draft(invoice)
        line = _line(invoice, line_id) if line_id else None
        groups = [(group.id, group.title) for group in invoice.groups]
        shown = values if values is not None else (_values(line) if line else {})
        facts = {"id": invoice.id, "name": invoice.invoice_number or "Draft invoice"}
    return render(
        request,
        "dashboard/invoices/line_form.html",
        viewer=viewer,
        active=INVOICES,
        status_code=status,
        invoice=facts,
        line_id=line_id,
        values=shown,
        groups=groups,
        errors=errors or Problems(),
    )


def _invoice(session: Session, account_id: str, invoice_id: str) -> Invoice:
    try:
        return service.get_invoice(session, account_id, invoice_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


def _line(invoice: Invoice, line_id: str) -> InvoiceLineItem:
    for line in invoice.line_items:
        if line.id == line_id:
            return line
    raise DashboardPageError.not_found()


def _require_draft(invoice: Invoice) -> None:
    if invoice.status is not InvoiceStatus.DRAFT:
        message = NOT_A_DRAFT.format(status=invoice.status.value.lower())
        raise DashboardPageError(409, "Not a draft", message)


def _change(
    request: Request,
    db: Database,
    form: PostedForm,
    invoice_id: str,
    line_id: str | None,
    done: str,
    change: Callable[[Session, Any, InvoiceLineItem | None], object],
) -> Response:
    """Run `change(session, account, line)` in one transaction (the line read first, so a
    change keeps what the form does not show), then back to the invoice's page; refused:
    the form again with each field's message, nothing changed."""
    viewer = form.viewer
    try:
        with db.transaction() as session:
            # Who acts, for the activity log (as `api/deps.get_session` tells its sessions).
            session.info[REQUEST_STATE] = request.state
            session.info[TRACE_ID] = request_id.get()
            invoice = _invoice(session, viewer.account_id, invoice_id)
            _require_draft(invoice)
            line = _line(invoice, line_id) if line_id else None
            change(session, get_account(session, viewer.account_id), line)
    except FormProblems as refused:
        errors = refused.problems
    except NotFound as missing:
        if not missing.details:  # the invoice or the line (another account's: the same)
            raise DashboardPageError.not_found() from missing
        errors = from_service(missing, _form_field, LABELS)  # a group or price it names
    except Conflict as conflict:  # no longer a draft, since the page was shown
        raise DashboardPageError(409, "Not a draft", conflict.message) from conflict
    except InvalidRequest as invalid:
        errors = from_service(invalid, _form_field, LABELS)
    else:
        return RedirectResponse(f"{INVOICES}/{invoice_id}?done={done}#lines", status_code=303)
    return _line_page(request, db, viewer, invoice_id, line_id, form.fields, errors, 422)


@router.get("/{invoice_id}/lines/new")
def new_line(request: Request, invoice_id: str, viewer: SignedInViewer, db: Db) -> Response:
    return _line_page(request, db, viewer, invoice_id, None)


@router.post("/{invoice_id}/lines/new")
def add_line(request: Request, invoice_id: str, form: PostedForm, db: Db) -> Response:
    def add(session: Session, account: Any, _: InvoiceLineItem | None) -> object:
        return drafts.add_line(session, account, invoice_id, line_request(form.fields, None))

    return _change(request, db, form, invoice_id, None, "line-added", add)


@router.get("/{invoice_id}/lines/{line_id}/edit")
def edit_line_form(
    request: Request, invoice_id: str, line_id: str, viewer: SignedInViewer, db: Db
) -> Response:
    return _line_page(request, db, viewer, invoice_id, line_id)


@router.post("/{invoice_id}/lines/{line_id}/edit")
def edit_line(
    request: Request, invoice_id: str, line_id: str, form: PostedForm, db: Db
) -> Response:
    def update(session: Session, account: Any, line: InvoiceLineItem | None) -> object:
        body = line_request(form.fields, line)
        return drafts.update_line(session, account, invoice_id, line_id, body)

    return _change(request, db, form, invoice_id, line_id, "line-changed", update)


@router.post("/{invoice_id}/lines/{line_id}/delete")
def delete_line(
    request: Request, invoice_id: str, line_id: str, form: PostedForm, db: Db
) -> Response:
    def delete(session: Session, account: Any, _: InvoiceLineItem | None) -> object:
        return drafts.delete_line(session, account, invoice_id, line_id)

    return _change(request, db, form, invoice_id, line_id, "line-deleted", delete)
