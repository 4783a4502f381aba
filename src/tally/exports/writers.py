"""Tables written a batch at a time to a binary sink: Parquet (pyarrow, a row group per
batch) or CSV (the standard library's `csv`, UTF-8, RFC 4180 line ends). Neither keeps more
than one batch in memory."""

import csv
import io
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from tally.exports.datasets import Column, Kind, Values, csv_row

# Money as exact decimals: 38 digits, 4 places (the most any ISO 4217 currency has).
MONEY = pa.decimal128(38, 4)
ARROW_TYPES = {
    Kind.TEXT: pa.string(),
    Kind.JSON: pa.string(),
    Kind.NUMBER: pa.string(),
    Kind.MONEY: MONEY,
    Kind.INTEGER: pa.int64(),
    Kind.DATE: pa.date32(),
    Kind.INSTANT: pa.timestamp("us", tz="UTC"),
}


class Format(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"

    @property
    def label(self) -> str:
        return "Parquet" if self is Format.PARQUET else "CSV"

    @property
    def media_type(self) -> str:
        return "application/vnd.apache.parquet" if self is Format.PARQUET else "text/csv"

    @property
    def content_type(self) -> str:
        """What an HTTP answer says: CSV is text, so it names its encoding."""
        return self.media_type + ("; charset=utf-8" if self is Format.CSV else "")


class Sink(Protocol):
    """Where an export goes: a file, a socket's stream, an object store's output stream."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


class Counted:
    """The sink, counting the bytes written to it (what the file weighs, even where the sink
    cannot say: a socket, an object store's stream). Closing it is its owner's business."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.written = 0
        self.closed = False  # pyarrow asks

    def write(self, data: bytes) -> int:
        self.sink.write(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        self.sink.flush()

    def tell(self) -> int:
        return self.written


class TableWriter(Protocol):
    def write(self, rows: Sequence[Values]) -> None: ...

    def close(self) -> None: ...


def arrow_schema(columns: Sequence[Column]) -> Any:
    return pa.schema(
        [pa.field(c.name, ARROW_TYPES[c.kind], nullable=not c.required) for c in columns]
    )


class ParquetTable:
    def __init__(self, columns: Sequence[Column], sink: Counted) -> None:
        self.schema = arrow_schema(columns)
        # zstd: compact, and read by every engine a warehouse runs (Spark, DuckDB, BigQuery,
        # Snowflake, Athena).
        self._writer = pq.ParquetWriter(sink, self.schema, compression="zstd")

    def write(self, rows: Sequence[Values]) -> None:
        if not rows:
            return
        columns = zip(*rows, strict=True)
        arrays = [
            pa.array(values, type=field.type)
            for values, field in zip(columns, self.schema, strict=True)
        ]
        self._writer.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self._writer.close()  # the footer: a file cut short before it is unreadable


class CsvTable:
    """Values written as the API writes them, never changed for a spreadsheet's sake (no
    leading apostrophe before `=`): the file is data for a loader, kept exact."""

    def __init__(self, columns: Sequence[Column], sink: Counted) -> None:
        self._columns = list(columns)
        self._sink = sink
        self._text = io.StringIO()
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._csv.writerow([column.name for column in columns])
        self._flush()

    def _flush(self) -> None:
        self._sink.write(self._text.getvalue().encode())
        self._text.seek(0)
        self._text.truncate()

    def write(self, rows: Sequence[Values]) -> None:
        self._csv.writerows(csv_row(self._columns, values) for values in rows)
        self._flush()

    def close(self) -> None:
        self._flush()


def open_table(format: Format, columns: Sequence[Column], sink: Counted) -> TableWriter:
    if format is Format.PARQUET:
        return ParquetTable(columns, sink)
    return CsvTable(columns, sink)
