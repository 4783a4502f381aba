"""Customer aliases: the merchant's own ids for a customer, usable in usage events.

Unique per account among live aliases, case-sensitive, and never equal to another customer's
id (a customer's id is always an alias of its own). Events may name an alias before it
exists; they count for the customer once it does.
"""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tally.activity import service as activity
from tally.core.clock import utcnow
from tally.db import is_unique_violation
from tally.exceptions import DuplicateValue, NotFound
from tally.models import Customer, CustomerAlias


def add_aliases(
    session: Session, customer: Customer, values: list[str], *, label: str | None = None
) -> list[CustomerAlias]:
    wanted = [value for value in dict.fromkeys(values) if value]
    if not wanted:
        return []
    taken = set(
        session.scalars(
            select(CustomerAlias.value).where(
                CustomerAlias.account_id == customer.account_id,
                CustomerAlias.value.in_(wanted),
                CustomerAlias.deleted_at.is_(None),
            )
        )
    ) | set(
        session.scalars(
            select(Customer.id).where(
                Customer.account_id == customer.account_id, Customer.id.in_(wanted)
            )
        )
    )
    if taken:
        raise DuplicateValue(f"Alias already in use in this account: {', '.join(sorted(taken))}")
    aliases = [
        CustomerAlias(account_id=customer.account_id, customer_id=customer.id, value=v, label=label)
        for v in wanted
    ]
    session.add_all(aliases)
    try:
        session.flush()
    except IntegrityError as exc:
        if is_unique_violation(exc):  # a concurrent request took the value first
            raise DuplicateValue(
                f"Alias already in use in this account: {', '.join(wanted)}"
            ) from exc
        raise
    return aliases


def alias_query(account_id: str, value: str | None = None) -> Select[CustomerAlias]:
    query = select(CustomerAlias).where(
        CustomerAlias.account_id == account_id, CustomerAlias.deleted_at.is_(None)
    )
    return query.where(CustomerAlias.value == value) if value is not None else query


def get_alias(session: Session, account_id: str, alias_id: str) -> CustomerAlias:
    alias = session.scalar(alias_query(account_id).where(CustomerAlias.id == alias_id))
    if alias is None:
        raise NotFound.resource("Customer alias", alias_id)
    return alias


def update_alias(
    session: Session, account_id: str, alias_id: str, label: str | None
) -> CustomerAlias:
    alias = get_alias(session, account_id, alias_id)
    alias.label = label
    session.flush()
    return alias


def delete_alias(session: Session, account_id: str, alias_id: str) -> CustomerAlias:
    alias = get_alias(session, account_id, alias_id)
    alias.deleted_at = utcnow()
    session.flush()
    activity.record(
        session,
        account_id,
        verb="DELETED",
        object_type="CUSTOMER_ALIAS",
        object_id=alias.id,
        name="Customer alias deleted",
        summary=f"Alias {alias.value!r} deleted: usage events naming it no longer count",
        changes=activity.changed({"deletedAt": None}, {"deletedAt": alias.deleted_at}),
        target_type="CUSTOMER",
        target_id=alias.customer_id,
    )
    return alias


def customer_id_for_alias(session: Session, account_id: str, alias: str) -> str:
    """The customer an alias names: a live alias value, or the customer's own id."""
    customer_id = session.scalar(
        alias_query(account_id, alias).with_only_columns(CustomerAlias.customer_id)
    ) or session.scalar(
        select(Customer.id).where(Customer.account_id == account_id, Customer.id == alias)
    )
    if customer_id is None:
        raise NotFound(f"No customer has the alias {alias!r}")
    return customer_id
