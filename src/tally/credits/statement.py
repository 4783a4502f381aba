"""The statement of a customer's credit balances an invoice prints (Sequence's
`creditBalances`: "Verification 2 credit balance: 7/7 (expiring on 4 May 2023)")."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from tally.core.wire import plain
from tally.credits.service import customer_credits

MAX_LENGTH = 2000


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def balances_statement(
    session: Session, account_id: str, customer_id: str, today: date
) -> str | None:
    """One entry per grant the customer can use today with credits left, in the ledger's
    order: "<name> credit balance: <balance>/<granted> (expiring on <day>)", balances exact as
    the ledger sums them; None when there is none. Entries that would pass MAX_LENGTH are
    summed up as "and N more"."""
    entries = [
        f"{held.grant.name} credit balance: {plain(held.balance)}/{plain(held.grant.amount)}"
        + (f" (expiring on {_day(held.grant.expiry_date)})" if held.grant.expiry_date else "")
        for held in customer_credits(session, account_id, customer_id).grants
        if held.balance > 0
        and held.grant.effective_date <= today
        and (held.grant.expiry_date is None or held.grant.expiry_date >= today)
    ]
    if not entries:
        return None
    shown: list[str] = []
    for index, entry in enumerate(entries):
        rest = len(entries) - index - 1
        more = f"; and {rest} more" if rest else ""
        if len("; ".join([*shown, entry])) + len(more) > MAX_LENGTH - 20:
            return "; ".join(shown) + f"; and {len(entries) - index} more"
        shown.append(entry)
    return "; ".join(shown)
