"""GET /api/exports/usage-events, /api/exports/invoices and /api/exports/invoice-lines (Tally
extensions): the account's data as one Parquet or CSV file, streamed as it is written."""

from itertools import chain
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from tally.api.auth import CurrentAccount
from tally.api.deps import acting_transaction, get_database
from tally.api.downloads import download_headers
from tally.api.errors import ERROR_RESPONSES
from tally.api.routing import api_router
from tally.core.clock import utcnow
from tally.db import Database
from tally.exports.queries import Filters
from tally.exports.service import ExportRequest, checked, record_export, stream_export
from tally.exports.writers import Format

router = api_router(tags=["Exports"])

FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, streamed as it is written (`Content-Disposition` names it). "
        "Columns are named as the API names the fields; money is exact (Parquet "
        "decimal128(38, 4), CSV the API's text), quantities and rates the API's exact text, "
        "timestamps UTC. A Parquet file cut short (a failure mid-stream) has no footer and "
        "reads as invalid.",
        "content": {
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    400: {
        **ERROR_RESPONSES[400],
        "description": "A wrong or unknown query parameter, or `to` not after `from`.",
    },
}

Db = Annotated[Database, Depends(get_database)]
FormatParam = Annotated[
    Format, Query(description="`parquet` (the default) or `csv` (UTF-8, RFC 4180).")
]
Start = Annotated[
    AwareDatetime | None,
    Query(alias="from", description="Inclusive, with its offset: 2024-05-01T00:00:00Z."),
]
End = Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive.")]
CustomerId = Annotated[
    str | None, Query(alias="customerId", description="Only this customer's invoices.")
]


def _streamed(request: Request, db: Db, account_id: str, export: ExportRequest) -> Response:
    export = checked(export)
    chunks = stream_export(db, account_id, export)
    # Run the query before answering: a failing database answers 503, not a file cut short.
    first = next(chunks)
    with acting_transaction(request) as session:
        record_export(session, account_id, export)
    return StreamingResponse(
        chain([first], chunks),
        media_type=export.format.content_type,
        headers=download_headers(export.filename(utcnow())),
    )


@router.get(
    "/exports/usage-events",
    summary="Export usage events (Parquet or CSV)",
    description="The account's usage events whose `eventTimestamp` is in [`from`, `to`), "
    "oldest first, with the fields of `GET /usage-events` (`eventProperties` as the JSON "
    "text stored). Leaves an activity log entry.",
    response_class=Response,
    responses=FILE_RESPONSES,
)
def export_usage_events(
    request: Request,
    account: CurrentAccount,
    db: Db,
    format: FormatParam = Format.PARQUET,
    start: Start = None,
    end: End = None,
    customer_alias: Annotated[
        list[str] | None,
        Query(alias="customerAlias", description="Only these aliases' events (repeatable)."),
    ] = None,
    event_type: Annotated[str | None, Query(alias="eventType")] = None,
) -> Response:
    filters = Filters(
        start=start, end=end, customer_aliases=tuple(customer_alias or ()), event_type=event_type
    )
    export = ExportRequest("usage-events", format, filters)
    return _streamed(request, db, account.account_id, export)


INVOICE_RANGE = (
    " whose `updatedAt` is in [`from`, `to`) (an export from where the last one ended picks "
    "up every invoice created or changed since)"
)


@router.get(
    "/exports/invoices",
    summary="Export invoices (Parquet or CSV)",
    description="The account's invoices" + INVOICE_RANGE + ", one row each with the fields "
    "of `GET /invoices` (billingPeriod flattened; addresses, emails and metadata as JSON "
    "text). Leaves an activity log entry.",
    response_class=Response,
    responses=FILE_RESPONSES,
)
def export_invoices(
    request: Request,
    account: CurrentAccount,
    db: Db,
    format: FormatParam = Format.PARQUET,
    start: Start = None,
    end: End = None,
    customer_id: CustomerId = None,
) -> Response:
    export = ExportRequest("invoices", format, Filters(start, end, customer_id=customer_id))
    return _streamed(request, db, account.account_id, export)


@router.get(
    "/exports/invoice-lines",
    summary="Export invoice lines (Parquet or CSV)",
    description="The lines of the account's invoices" + INVOICE_RANGE + ", with the fields "
    "of `GET /invoices/{id}/line-items` and the invoice's currency. Leaves an activity log "
    "entry.",
    response_class=Response,
    responses=FILE_RESPONSES,
)
def export_invoice_lines(
    request: Request,
    account: CurrentAccount,
    db: Db,
    format: FormatParam = Format.PARQUET,
    start: Start = None,
    end: End = None,
    customer_id: CustomerId = None,
) -> Response:
    export = ExportRequest("invoice-lines", format, Filters(start, end, customer_id=customer_id))
    return _streamed(request, db, account.account_id, export)
