"""What every read model shares: the customer's event names, the dialect's metering SQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Select,
    select,
)
from sqlalchemy.orm import Session

from tally.metering.queries import customer_names
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


def customer_aliases(account_id: str, customer_id: str) -> Select[Any]:
    """Every name the customer's events may carry (its id and live aliases), as a subquery."""
    names = customer_names(account_id)
    return select(names.c.alias).where(names.c.subject == customer_id)
