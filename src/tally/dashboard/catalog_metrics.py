"""The catalog's usage and seat metrics: the forms creating them, through the API's
`UsageMetricIn` and `SeatMetricIn` and the services `POST /api/usage-metrics` and
`POST /api/seat-metrics` call. They are listed on the catalog's overview (`catalog.py`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from tally.api.deps import DbSession
from tally.dashboard.catalog_forms import (
    CATALOG,
    Problems,
    catalog_page,
    compact,
    failed,
    from_service,
    from_validation,
    options,
    present,
)
from tally.dashboard.sessions import Viewer
from tally.dashboard.web import PostedForm, SignedInViewer
from tally.exceptions import Conflict, InvalidRequest
from tally.metering import metrics as metric_service
from tally.metering.schemas import UsageMetricIn
from tally.models import AggregationType
from tally.models.scoped import get_account
from tally.seats import service as seat_service
from tally.seats.schemas import SeatMetricIn

router = APIRouter(prefix=CATALOG, include_in_schema=False)

AGGREGATIONS = [a.value for a in AggregationType if a is not AggregationType.CUSTOM]


# --- usage metrics ---------------------------------------------------------------------------


def _usage_metric_form(
    request: Request, viewer: Viewer, values: dict[str, str], errors: Problems, status: int = 200
) -> HTMLResponse:
    return catalog_page(
        request,
        "usage_metric_form.html",
        viewer,
        status,
        values=values,
        errors=errors,
        aggregations=options(AGGREGATIONS),
    )


@router.get("/usage-metrics/new")
def new_usage_metric(request: Request, viewer: SignedInViewer) -> Response:
    return _usage_metric_form(request, viewer, {"aggregation_type": "COUNT"}, Problems())


@router.post("/usage-metrics")
def create_usage_metric(request: Request, form: PostedForm, session: DbSession) -> Response:
    data = compact(
        {
            "name": present(form.get("name")),
            "description": present(form.get("description")),
            "eventType": present(form.get("event_type")),
            "aggregationType": present(form.get("aggregation_type")),
            "aggregationProperty": present(form.get("aggregation_property")),
            "unit": present(form.get("unit")),
        }
    )
    try:
        body = UsageMetricIn.model_validate(data)
        account = get_account(session, form.viewer.account_id)
        metric_service.create_metric(session, account, body)
    except ValidationError as invalid:
        errors = from_validation(invalid)
        if not any(errors.fields.values()) and errors.messages:  # a rule about the whole form
            errors.fields["aggregation_property"] = errors.messages[0].split(": ", 1)[-1]
        return _usage_metric_form(request, form.viewer, form.fields, errors, 422)
    except (InvalidRequest, Conflict) as refused:
        status = failed(session, refused)
        return _usage_metric_form(request, form.viewer, form.fields, from_service(refused), status)
    return RedirectResponse(f"{CATALOG}?done=usage-metric-created", status_code=303)


# --- seat metrics ----------------------------------------------------------------------------


@router.get("/seat-metrics/new")
def new_seat_metric(request: Request, viewer: SignedInViewer) -> Response:
    return catalog_page(request, "seat_metric_form.html", viewer, values={}, errors=Problems())


@router.post("/seat-metrics")
def create_seat_metric(request: Request, form: PostedForm, session: DbSession) -> Response:
    data = compact(
        {
            "seatType": present(form.get("seat_type")),
            "label": present(form.get("label")),
            "description": present(form.get("description")),
        }
    )
    try:
        body = SeatMetricIn.model_validate(data)
        seat_service.create_seat_metric(session, form.viewer.account_id, body)
    except ValidationError as invalid:
        errors = from_validation(invalid)
        return catalog_page(
            request, "seat_metric_form.html", form.viewer, 422, values=form.fields, errors=errors
        )
    except (InvalidRequest, Conflict) as refused:
        status = failed(session, refused)
        return catalog_page(
            request,
            "seat_metric_form.html",
            form.viewer,
            status,
            values=form.fields,
            errors=from_service(refused),
        )
    return RedirectResponse(f"{CATALOG}?done=seat-metric-created", status_code=303)
