"""Attachments: files uploaded once, then named by id on invoices and billing schedules
(Sequence's `attachmentAssetIds`) and sent with the invoice email.

Kept in the database, not on disk: one backup, one restore and one tenant scope for
everything; an upload needs no shared volume between API servers and workers; and a
database row cannot be half written. Files are capped at `MAX_BYTES`, so rows stay small.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from sqlalchemy.orm import Session, undefer

from tally.activity import service as activity
from tally.api import references
from tally.attachments.schemas import AssetFormat, AssetType
from tally.exceptions import InvalidRequest
from tally.models import Attachment
from tally.models.scoped import scoped

MAX_BYTES = 10 * 1024 * 1024

# Each format: its media type, the asset type, and the first bytes a real file starts with
# (None: text, which must be UTF-8).
_FORMATS: dict[AssetFormat, tuple[str, AssetType, tuple[bytes, ...] | None]] = {
    AssetFormat.PDF: ("application/pdf", AssetType.DOCUMENT, (b"%PDF-",)),
    AssetFormat.PNG: ("image/png", AssetType.IMAGE, (b"\x89PNG\r\n\x1a\n",)),
    AssetFormat.JPEG: ("image/jpeg", AssetType.IMAGE, (b"\xff\xd8\xff",)),
    AssetFormat.JPG: ("image/jpeg", AssetType.IMAGE, (b"\xff\xd8\xff",)),
    AssetFormat.CSV: ("text/csv", AssetType.DOCUMENT, None),
    AssetFormat.TXT: ("text/plain", AssetType.DOCUMENT, None),
    AssetFormat.MD: ("text/markdown", AssetType.DOCUMENT, None),
    AssetFormat.RTF: ("application/rtf", AssetType.DOCUMENT, (b"{\\rtf",)),
    AssetFormat.DOC: ("application/msword", AssetType.DOCUMENT, (b"\xd0\xcf\x11\xe0",)),
    AssetFormat.XLS: ("application/vnd.ms-excel", AssetType.DOCUMENT, (b"\xd0\xcf\x11\xe0",)),
    AssetFormat.DOCX: (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        AssetType.DOCUMENT,
        (b"PK\x03\x04",),
    ),
    AssetFormat.XLSX: (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        AssetType.DOCUMENT,
        (b"PK\x03\x04",),
    ),
    AssetFormat.XLSM: (
        "application/vnd.ms-excel.sheet.macroEnabled.12",
        AssetType.DOCUMENT,
        (b"PK\x03\x04",),
    ),
    AssetFormat.ODT: (
        "application/vnd.oasis.opendocument.text",
        AssetType.DOCUMENT,
        (b"PK\x03\x04",),
    ),
    AssetFormat.ODS: (
        "application/vnd.oasis.opendocument.spreadsheet",
        AssetType.DOCUMENT,
        (b"PK\x03\x04",),
    ),
    AssetFormat.ZIP: ("application/zip", AssetType.BINARY, (b"PK\x03\x04", b"PK\x05\x06")),
}
_CONTROL = {chr(code) for code in range(32)} | {"\x7f", "/", "\\", '"'}


def _format(file_name: str) -> AssetFormat:
    suffix = PurePath(file_name).suffix.lstrip(".").upper()
    try:
        return AssetFormat(suffix)
    except ValueError:
        accepted = ", ".join(f".{fmt.value.lower()}" for fmt in AssetFormat)
        raise InvalidRequest.field("fileName", f"has no accepted extension ({accepted})") from None


def _check(file_name: str, content: bytes) -> AssetFormat:
    if not file_name or len(file_name) > 255 or any(ch in _CONTROL for ch in file_name):
        raise InvalidRequest.field(
            "fileName", "must be 1-255 characters, without control characters, slashes or quotes"
        )
    if not content:
        raise InvalidRequest.field("body", "is empty: send the file's bytes as the request body")
    if len(content) > MAX_BYTES:
        raise InvalidRequest.field("body", f"is larger than {MAX_BYTES} bytes")
    fmt = _format(file_name)
    magic = _FORMATS[fmt][2]
    if magic is None:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest.field(
                "body", f"is not UTF-8 text, as a .{fmt.value.lower()} file is"
            ) from None
        if "\x00" in content.decode("utf-8"):
            raise InvalidRequest.field("body", "text must not contain NUL characters")
    elif not content.startswith(magic):
        raise InvalidRequest.field("body", f"is not a {fmt.value} file (its first bytes say so)")
    return fmt


def upload(
    session: Session, account_id: str, created_by: str, file_name: str, content: bytes
) -> Attachment:
    """Store a file; its format comes from the name's extension and must match its bytes."""
    fmt = _check(file_name, content)
    media_type, asset_type, _ = _FORMATS[fmt]
    attachment = Attachment(
        account_id=account_id,
        file_name=file_name,
        media_type=media_type,
        format=fmt.value,
        type=asset_type.value,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_by=created_by,
    )
    session.add(attachment)
    session.flush()
    activity.record(
        session,
        account_id,
        verb="CREATED",
        object_type="ATTACHMENT",
        object_id=attachment.id,
        name=file_name,
        summary=f"Attachment {file_name!r} uploaded ({len(content)} bytes)",
    )
    return attachment


def get(
    session: Session, account_id: str, attachment_id: str, *, content: bool = False
) -> Attachment:
    query = scoped(Attachment, account_id).where(
        Attachment.id == attachment_id, Attachment.deleted_at.is_(None)
    )
    if content:
        query = query.options(undefer(Attachment.content))
    found = session.scalar(query)
    if found is None:
        raise references.not_found("id", "Attachment", attachment_id)
    return found


def details(attachment: Attachment) -> dict[str, Any]:
    """What an invoice or a schedule keeps of an attachment it names."""
    return {
        "id": attachment.id,
        "createdBy": attachment.created_by or attachment.account_id,
        "type": attachment.type,
        "format": attachment.format,
        "fileName": attachment.file_name,
        "fileSizeBytes": attachment.size_bytes,
        "createdAt": attachment.created_at.isoformat(),
    }


def resolve_details(
    session: Session, account_id: str, field: str, ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The details of the attachments `ids` names, in their order, once each; 404 naming
    the field for an id that is not an attachment of the account."""
    found = references.resolve(session, account_id, Attachment, references.fields(field, ids))
    return [details(found[attachment_id]) for attachment_id in dict.fromkeys(ids)]


def contents(session: Session, account_id: str, ids: Sequence[str]) -> list[Attachment]:
    """The attachments `ids` names with their bytes, in that order (those since deleted are
    left out), for an email."""
    if not ids:
        return []
    rows = session.scalars(
        scoped(Attachment, account_id)
        .where(Attachment.id.in_(list(ids)), Attachment.deleted_at.is_(None))
        .options(undefer(Attachment.content))
    )
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
