"""The catalog's tax rates: create one, see its versions, change it (a change adds a version),
through the API's `TaxRateIn`/`TaxRateUpdate` and the services behind `/api/tax-rates`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tally.api.deps import DbSession
from tally.dashboard.catalog_forms import (
    CATALOG,
    Problems,
    catalog_page,
    checked,
    compact,
    failed,
    from_service,
    from_validation,
    notice,
    present,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import DashboardPageError, PostedForm, SignedInViewer
from tally.exceptions import Conflict, InvalidRequest, NotFound
from tally.models import TaxRate
from tally.tax import service as tax_service
from tally.tax.schemas import TaxRateIn, TaxRateUpdate

router = APIRouter(prefix=CATALOG, include_in_schema=False)


# --- tax rates -------------------------------------------------------------------------------


def _tax_rate_data(form_fields: dict[str, str]) -> dict[str, Any]:
    def field(name: str) -> str | None:
        return present(form_fields.get(name, ""))

    return compact(
        {
            "isPublished": checked(form_fields.get("is_published", "")),
            "name": field("name"),
            "invoiceName": field("invoice_name"),
            "invoiceShortName": field("invoice_short_name"),
            "description": field("description"),
            "amount": field("amount"),
            "country": (field("country") or "").upper() or None,
            "region": field("region"),
        }
    )


@router.get("/tax-rates/new")
def new_tax_rate(request: Request, viewer: SignedInViewer) -> Response:
    values = {"is_published": "on"}
    return catalog_page(request, "tax_rate_form.html", viewer, values=values, errors=Problems())


@router.post("/tax-rates")
def create_tax_rate(request: Request, form: PostedForm, session: DbSession) -> Response:
    try:
        body = TaxRateIn.model_validate(_tax_rate_data(form.fields))
        tax_rate = tax_service.create_tax_rate(session, form.viewer.account_id, body)
    except ValidationError as invalid:
        errors = from_validation(invalid)
        return catalog_page(
            request, "tax_rate_form.html", form.viewer, 422, values=form.fields, errors=errors
        )
    except (InvalidRequest, Conflict) as refused:
        status = failed(session, refused)
        return catalog_page(
            request,
            "tax_rate_form.html",
            form.viewer,
            status,
            values=form.fields,
            errors=from_service(refused),
        )
    return RedirectResponse(
        f"{CATALOG}/tax-rates/{tax_rate.id}?done=tax-rate-created", status_code=303
    )


def _tax_rate(session: Session, account_id: str, tax_rate_id: str) -> TaxRate:
    try:
        return tax_service.get_tax_rate(session, account_id, tax_rate_id)
    except NotFound as missing:
        raise DashboardPageError.not_found() from missing


def _tax_rate_page(
    request: Request,
    session: Session,
    viewer: Viewer,
    tax_rate: TaxRate,
    values: dict[str, str] | None = None,
    errors: Problems | None = None,
    status: int = 200,
    done: str | None = None,
) -> HTMLResponse:
    current = tax_rate.current
    if values is None:
        values = {
            "name": current.name,
            "invoice_name": current.invoice_name,
            "invoice_short_name": current.invoice_short_name,
            "description": current.description or "",
            "amount": str(current.amount),
            "country": current.country,
            "region": current.region or "",
            "is_published": "on" if current.is_published else "",
        }
    versions = tax_service.list_versions(session, tax_rate)
    return catalog_page(
        request,
        "tax_rate.html",
        viewer,
        status,
        notice=notice(done),
        tax_rate=tax_rate,
        versions=list(reversed(versions)),
        values=values,
        errors=errors or Problems(),
    )


@router.get("/tax-rates/{tax_rate_id}")
def tax_rate_page(
    request: Request,
    tax_rate_id: str,
    viewer: SignedInViewer,
    session: DbSession,
    done: Annotated[str | None, Query()] = None,
) -> Response:
    tax_rate = _tax_rate(session, viewer.account_id, tax_rate_id)
    return _tax_rate_page(request, session, viewer, tax_rate, done=done)


@router.post("/tax-rates/{tax_rate_id}")
def update_tax_rate(
    request: Request, tax_rate_id: str, form: PostedForm, session: DbSession
) -> Response:
    viewer = form.viewer
    tax_rate = _tax_rate(session, viewer.account_id, tax_rate_id)
    try:
        body = TaxRateUpdate.model_validate({**_tax_rate_data(form.fields), "id": tax_rate.id})
        tax_service.update_tax_rate(session, viewer.account_id, tax_rate.id, body)
    except ValidationError as invalid:
        errors = from_validation(invalid)
        return _tax_rate_page(request, session, viewer, tax_rate, form.fields, errors, 422)
    except (InvalidRequest, Conflict) as refused:
        status = failed(session, refused)
        tax_rate = _tax_rate(session, viewer.account_id, tax_rate_id)
        errors = from_service(refused)
        return _tax_rate_page(request, session, viewer, tax_rate, form.fields, errors, status)
    return RedirectResponse(
        f"{CATALOG}/tax-rates/{tax_rate.id}?done=tax-rate-updated", status_code=303
    )
