"""Retention's export (`metering/retention.py`): a month of usage events, before its partition
is dropped, written as Parquet files under a directory, one per account
(`<dir>/usage-events/<YYYY-MM>/<account id>.parquet`), each whole or absent
(`service.whole_file`). The receipt counts what the files hold, so a month whose files fall
short of its partition is kept."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from tally.exports.queries import Filters
from tally.exports.service import ExportRequest, whole_file, write_export
from tally.exports.writers import Format
from tally.metering.partitions import add_months
from tally.metering.retention import ExportHook, ExportReceipt, MonthToExport


def to_directory(directory: Path) -> ExportHook:
    """The hook writing each month under `directory`."""

    def export(session: Session, month: MonthToExport) -> ExportReceipt:
        target = directory / "usage-events" / f"{month.month:%Y-%m}"
        target.mkdir(parents=True, exist_ok=True)
        # The partition holds every account's events of the month (and only those).
        accounts = sorted(
            session.scalars(text(f"SELECT DISTINCT account_id FROM {month.table}"))  # noqa: S608
        )
        start = datetime.combine(month.month, time(), UTC)
        end = datetime.combine(add_months(month.month, 1), time(), UTC)
        request = ExportRequest("usage-events", Format.PARQUET, Filters(start=start, end=end))
        written = 0
        for account_id in accounts:  # one file, so one query, per account: a job, not a page
            with whole_file(target / f"{account_id}.parquet") as sink:
                written += write_export(session, account_id, request, sink).rows
        return ExportReceipt(str(target), written)

    return export
