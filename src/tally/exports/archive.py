"""Retention's export (`metering/retention.py`): a month of usage events, before its partition
is dropped, written as Parquet files under a directory, one per account
(`<dir>/usage-events/<YYYY-MM>/<account id>.parquet`), each whole or absent (written beside
and renamed once on disk). The receipt counts what the files hold, so a month whose files
fall short of its partition is kept."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from tally.db import new_id
from tally.exports.queries import Filters
from tally.exports.service import ExportRequest, write_export
from tally.exports.writers import Format
from tally.metering.retention import ExportHook, ExportReceipt, MonthToExport


def _following(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


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
        end = datetime.combine(_following(month.month), time(), UTC)
        request = ExportRequest("usage-events", Format.PARQUET, Filters(start=start, end=end))
        written = 0
        for account_id in accounts:  # one file, so one query, per account: a job, not a page
            path = target / f"{account_id}.parquet"
            partial = path.with_name(f".{path.name}.{new_id()}.partial")
            try:
                with partial.open("wb") as sink:
                    written += write_export(session, account_id, request, sink).rows
                    sink.flush()
                    os.fsync(sink.fileno())
                partial.replace(path)
            finally:
                partial.unlink(missing_ok=True)
        return ExportReceipt(str(target), written)

    return export
