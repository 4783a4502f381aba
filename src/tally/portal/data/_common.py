"""What every read model shares: zero, the open statuses, the palette, the metering SQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from tally.metering.sql import MeteringSQL, metering_sql
from tally.models import (
    InvoiceStatus,
)

ZERO = Decimal(0)
OPEN_STATUSES = (InvoiceStatus.IN_PROGRESS, InvoiceStatus.DRAFT)
# One colour per metric on the usage graph, in this order (Okabe-Ito: told apart by people
# with colour-blindness too).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#8C6D1F", "#000000")


def metering_dialect(session: Session) -> MeteringSQL:
    return metering_sql(session)
