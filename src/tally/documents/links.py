"""Links into the customer portal, as documents and emails print them.

A link carries the customer's portal secret (`Customer.portal_secret`), never its id; the
secret is made the first time a link is needed.
"""

import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tally.exceptions import NotFound
from tally.models import Customer


def portal_secret(session: Session, customer_id: str) -> str:
    """The customer's portal secret, made now if it has none.

    The customer id must come from a row already read within the caller's account (an
    invoice's customer): ids are unique across accounts, so this needs no account filter.
    Two requests making a secret at once keep one: the UPDATE only fills a missing secret
    (on PostgreSQL the second waits for the first's row lock, then finds it set), and the
    secret is read back afterwards."""
    secret = session.scalar(select(Customer.portal_secret).where(Customer.id == customer_id))
    if secret is None:
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.portal_secret.is_(None))
            .values(portal_secret=secrets.token_urlsafe(32))
            .execution_options(synchronize_session=False)
        )
        secret = session.scalar(select(Customer.portal_secret).where(Customer.id == customer_id))
    if secret is None:
        raise NotFound.resource("Customer", customer_id)
    return secret


def portal_url(session: Session, customer_id: str, base_url: str, path: str = "") -> str:
    """`{base_url}/portal/{secret}{path}`: the customer's portal, or a page of it
    (`/invoices/{id}`). `base_url` is `Settings.public_url`."""
    return f"{base_url.rstrip('/')}/portal/{portal_secret(session, customer_id)}{path}"


def invoice_path(invoice_id: str) -> str:
    """The portal page of one invoice."""
    return f"/invoices/{invoice_id}"
