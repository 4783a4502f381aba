"""Read-your-writes fences for a read replica (`tally.replicas`): written and read there with
SQL of its own, outside any request's transaction."""

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from tally.models.base import Base


class ReplicaFence(Base):
    """The primary's WAL position after a client's latest write. Keyed by client (an API key
    id, a hashed portal credential), not by account: an API key that ingests all day must not
    keep the account's portal on the primary. Holds no tenant data."""

    __tablename__ = "replica_fences"

    client: Mapped[str] = mapped_column(String(80), primary_key=True)
    lsn: Mapped[int] = mapped_column(BigInteger)
    written_at: Mapped[datetime]
