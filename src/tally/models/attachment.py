"""Files a merchant uploads to send with invoices (Sequence's attachment assets)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base, TenantMixin


class Attachment(TenantMixin, Base):
    """One uploaded file, kept in the database with its row: it is backed up, restored,
    replicated and tenant-scoped with everything else, and an upload and the invoice that
    names it commit together. Size is capped (`attachments.service.MAX_BYTES`), so rows stay
    small. `content` is loaded only when the file itself is read."""

    __tablename__ = "attachments"

    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(10))  # Sequence's AssetFormat: PDF, PNG ...
    type: Mapped[str] = mapped_column(String(10))  # Sequence's AssetType: DOCUMENT or IMAGE
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_by: Mapped[str | None] = mapped_column(String(36), default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
