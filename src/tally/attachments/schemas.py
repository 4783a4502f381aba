"""Sequence's AssetResponse: an uploaded file as invoices and schedules list it."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from tally.api.schemas import Schema


class AssetType(StrEnum):
    IMAGE = "IMAGE"
    DOCUMENT = "DOCUMENT"
    BINARY = "BINARY"


class AssetFormat(StrEnum):
    JPEG = "JPEG"
    JPG = "JPG"
    PNG = "PNG"
    PDF = "PDF"
    CSV = "CSV"
    TXT = "TXT"
    RTF = "RTF"
    MD = "MD"
    XLS = "XLS"
    XLSX = "XLSX"
    XLSM = "XLSM"
    DOC = "DOC"
    DOCX = "DOCX"
    ZIP = "ZIP"
    ODT = "ODT"
    ODS = "ODS"


class AssetOut(Schema):
    """Sequence's AssetResponse; `url` downloads the file (with the API key)."""

    id: str
    created_by: str
    type: AssetType
    format: AssetFormat
    file_name: str
    file_size_bytes: int
    url: str
    created_at: datetime

    @classmethod
    def build(cls, asset: dict[str, Any], base_url: str) -> "AssetOut":
        """From the details an invoice or a schedule keeps (`service.details`)."""
        return cls(
            id=asset["id"],
            created_by=asset["createdBy"],
            type=AssetType(asset["type"]),
            format=AssetFormat(asset["format"]),
            file_name=asset["fileName"],
            file_size_bytes=asset["fileSizeBytes"],
            url=f"{base_url.rstrip('/')}/api/attachments/{asset['id']}/download",
            created_at=datetime.fromisoformat(asset["createdAt"]),
        )
