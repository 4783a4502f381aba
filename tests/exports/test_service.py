"""The core the CLI, the API and the retention job share: batches (a server-side cursor on
PostgreSQL, a Parquet row group per batch), files whole or not at all, and values exact
whatever the amounts and properties (hypothesis)."""

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from tally.accounts.service import Credentials
from tally.core.wire import money, plain, rate_text
from tally.db import Database
from tally.exceptions import InvalidRequest
from tally.exports.datasets import INVOICE_LINES, USAGE_EVENTS
from tally.exports.queries import Filters
from tally.exports.service import ExportRequest, export_to_file, stream_export, write_export
from tally.exports.writers import Counted, Format, open_table
from tests.exports.helpers import csv_rows, parquet_rows, seed
from tests.support.api_client import ApiClient


def test_each_batch_is_a_row_group_read_through_a_server_side_cursor(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    cursors: list[str] = []

    def watch(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "usage_events" in statement:
            cursors.append(type(cursor).__name__)

    sink = io.BytesIO()
    event.listen(database.engine, "before_cursor_execute", watch)
    try:
        with database.session(write=False) as session:
            request = ExportRequest("usage-events", Format.PARQUET)
            written = write_export(session, account.account_id, request, sink, batch_rows=2)
    finally:
        event.remove(database.engine, "before_cursor_execute", watch)
    assert (written.rows, written.bytes) == (3, len(sink.getvalue()))
    metadata = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [2, 1]
    assert len(cursors) == 1
    if not database.is_sqlite:  # psycopg's named cursor: rows fetched a batch at a time
        assert cursors == ["ServerCursor"]


def test_the_stream_is_the_file_a_batch_at_a_time(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    seed(api, database, account.account_id)
    request = ExportRequest("invoice-lines", Format.CSV)
    chunks = list(stream_export(database, account.account_id, request, batch_rows=3))
    # The header once the query ran, then 3 + 3 + 2 lines, then the (empty) close.
    assert [chunk.count(b"\r\n") for chunk in chunks] == [1, 3, 3, 2, 0]
    with database.session(write=False) as session:
        whole = io.BytesIO()
        write_export(session, account.account_id, request, whole)
    assert b"".join(chunks) == whole.getvalue()


def test_a_file_is_written_whole_or_not_at_all(
    api: ApiClient, database: Database, account: Credentials, tmp_path: Path
) -> None:
    seed(api, database, account.account_id)
    target = tmp_path / "events.parquet"
    target.write_bytes(b"the previous export")
    refused = ExportRequest("usage-events", filters=Filters(customer_id="x"))
    with pytest.raises(InvalidRequest, match="customerId"):
        export_to_file(database, account.account_id, refused, target)
    assert list(tmp_path.iterdir()) == [target]
    assert target.read_bytes() == b"the previous export"

    written = export_to_file(database, account.account_id, ExportRequest("usage-events"), target)
    assert list(tmp_path.iterdir()) == [target]
    assert (written.rows, written.bytes, written.path) == (3, target.stat().st_size, target)
    assert len(parquet_rows(target.read_bytes())) == 3


def test_requests_are_checked_before_anything_is_read() -> None:
    aware = datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidRequest, match="dataset"):
        next(stream_export(None, "a", ExportRequest("customers")))  # type: ignore[arg-type]
    for filters, field in [
        (Filters(start=datetime(2024, 5, 1)), "from"),  # noqa: DTZ001
        (Filters(start=aware, end=aware), "to"),
        (Filters(event_type="x"), "eventType"),
    ]:
        with pytest.raises(InvalidRequest, match=field):
            next(stream_export(None, "a", ExportRequest("invoices", filters=filters)))  # type: ignore[arg-type]


CURRENCIES = ["GBP", "JPY", "KWD", "CLF", "EUR"]
amounts = st.decimals(min_value=-(10**15), max_value=10**15, places=6, allow_nan=False)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=9, max_value=10**20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _written(dataset: Any, format: Format, rows: list[Any]) -> bytes:
    sink = io.BytesIO()
    table = open_table(format, dataset.columns, Counted(sink))
    table.write([dataset.values(row) for row in rows])
    table.close()
    return sink.getvalue()


def _line(currency: str, quantity: Decimal, rate: Decimal, net: Decimal, display: str) -> Any:
    return SimpleNamespace(
        id="l", invoice_id="i", group_id=None, line_index=0, kind="PRICE", title="t",
        description=None, quantity=quantity, rate=rate, rate_display=display,
        tax_rate=Decimal("0.2"), net_total=net, total_tax=-net, gross_total=net * 2,
        currency=currency, price_id=None, product_id=None, credit_grant_id=None,
        service_period_start=date(2024, 5, 1), service_period_end=date(2024, 5, 31),
        revenue_classification=None, revenue_recognition_method=None,
    )  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    currency=st.sampled_from(CURRENCIES),
    quantity=amounts,
    rate=amounts,
    net=amounts,
    display=st.sampled_from(["ABSOLUTE", "PERCENTAGE"]),
)
def test_amounts_read_back_exactly_as_the_api_writes_them(
    currency: str, quantity: Decimal, rate: Decimal, net: Decimal, display: str
) -> None:
    line = _line(currency, quantity, rate, net, display)
    [parquet] = parquet_rows(_written(INVOICE_LINES, Format.PARQUET, [line]))
    [text] = csv_rows(_written(INVOICE_LINES, Format.CSV, [line]))
    for name, amount in (("netTotal", net), ("totalTax", -net), ("grossTotal", net * 2)):
        assert parquet[name] == Decimal(money(amount, currency))
        assert text[name] == money(amount, currency)
    assert parquet["quantity"] == text["quantity"] == plain(quantity)
    assert parquet["rate"] == text["rate"] == rate_text(rate, currency, display)


def _json_text(value: Any) -> str:
    """JSON with decimals written digit for digit (as a sender's raw body has them)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=60, deadline=None)
@given(properties=st.dictionaries(st.text(max_size=10), json_values, max_size=4))
def test_event_properties_read_back_digit_for_digit(properties: dict[str, Any]) -> None:
    stored = _json_text(properties)
    row = SimpleNamespace(
        id="e", customer_event_id="c", customer_alias="a", event_type="t",
        event_timestamp=datetime(2024, 5, 1, 12, 30, 0, 1, tzinfo=UTC),
        properties_json=stored, account_id="x",
    )  # fmt: skip
    [parquet] = parquet_rows(_written(USAGE_EVENTS, Format.PARQUET, [row]))
    [text] = csv_rows(_written(USAGE_EVENTS, Format.CSV, [row]))
    assert parquet["eventProperties"] == text["eventProperties"] == stored
    assert json.loads(text["eventProperties"], parse_float=Decimal) == properties
    assert parquet["eventTimestamp"] == row.event_timestamp
    assert text["eventTimestamp"] == "2024-05-01T12:30:00.000001Z"
