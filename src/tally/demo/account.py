"""Demo data for `make run`: one account with customers, contacts, aliases and a tax rate,
and a year of their billing (`story`), created once, and a dashboard user. Their credentials
are kept in the data directory so later runs can print them again (the database itself only
holds hashes)."""

import json
import os
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from tally.accounts.service import Credentials, create_account
from tally.api.types import Address
from tally.customers.schemas import ContactIn, CustomerIn
from tally.customers.service import create_customer
from tally.dashboard.users import create_user, find_user, generate_password, hash_password
from tally.db import Database
from tally.demo import story
from tally.models import Account, BillingPreference, TaxStatus
from tally.tax.schemas import TaxRateIn
from tally.tax.service import create_tax_rate

CREDENTIALS_FILE = "demo-credentials.json"
USER_FILE = "demo-dashboard-user.json"
DEMO_EMAIL = "finance@acme-analytics.example"


def _address(line1: str, town: str, postcode: str, country: str) -> Address:
    return Address(line1=line1, town=town, postcode=postcode, country=country)


def _contact(name: str, email: str, preference: BillingPreference) -> ContactIn:
    return ContactIn(name=name, email=email, billing_preference=preference)


def _populate(session: Session, account_id: str) -> str:
    """The customers and the UK VAT rate (its id)."""
    primary, standard = BillingPreference.PRIMARY, BillingPreference.STANDARD
    globex = create_customer(
        session,
        account_id,
        CustomerIn(
            legal_name="Globex Corporation",
            address=_address("1 Globex Plaza", "London", "EC1A 1BB", "GB"),
            url="https://globex.example",
            label="Enterprise",
            contacts=[
                _contact("Hank Scorpio", "hank@globex.example", primary),
                _contact("Accounts Payable", "ap@globex.example", standard),
            ],
            customer_aliases=["globex", "globex-prod"],
        ),
    )
    create_customer(
        session,
        account_id,
        CustomerIn(
            legal_name="Globex Research Ltd",
            address=_address("2 Globex Plaza", "London", "EC1A 1BC", "GB"),
            contacts=[_contact("Lab Finance", "finance@research.globex.example", primary)],
            customer_aliases=["globex-research"],
            parent_id=globex.id,
        ),
    )
    create_customer(
        session,
        account_id,
        CustomerIn(
            legal_name="Initech Inc",
            address=Address(
                line1="4120 Freidrich Lane",
                town="Austin",
                state="TX",
                postcode="78744",
                country="US",
            ),
            tax_status=TaxStatus.TAX_EXEMPT,
            contacts=[_contact("Bill Lumbergh", "bill@initech.example", primary)],
            customer_aliases=["initech"],
        ),
    )
    create_customer(
        session,
        account_id,
        CustomerIn(
            legal_name="Globex Labs Ltd",
            address=_address("3 Science Park", "Cambridge", "CB4 0WS", "GB"),
            contacts=[_contact("Labs Operations", "ops@labs.globex.example", primary)],
            customer_aliases=["globex-labs"],
            parent_id=globex.id,
        ),
    )
    return create_tax_rate(
        session,
        account_id,
        TaxRateIn(
            is_published=True,
            name="UK VAT",
            invoice_name="Value Added Tax",
            invoice_short_name="VAT",
            description="Standard rate of VAT in the United Kingdom",
            amount=Decimal("0.2"),
            country="GB",
        ),
    ).id


SELLER_ADDRESS = {
    "line1": "10 Analytics Row",
    "town": "Manchester",
    "postcode": "M1 1AE",
    "country": "GB",
}
COMPANY_NUMBER = "09876543"


def load_demo(db: Database, data_dir: Path) -> tuple[Credentials, bool]:
    """The demo account's credentials, and whether they were created by this call."""
    path = data_dir / CREDENTIALS_FILE
    if path.exists():
        saved = Credentials(**json.loads(path.read_text()))
        with db.transaction() as session:
            existing = session.get(Account, saved.account_id)
            if existing is not None:
                if not existing.address:  # a demo made before invoices needed one
                    existing.address = dict(SELLER_ADDRESS)
                    existing.company_number = existing.company_number or COMPANY_NUMBER
                return saved, False
    with db.transaction() as session:
        account, credentials = create_account(
            session,
            "Acme Analytics (demo)",
            country="GB",
            currency="GBP",
            timezone="Europe/London",
            # A seller's legal name and address: an invoice must carry them (`accounts.seller`).
            address=dict(SELLER_ADDRESS),
            company_number=COMPANY_NUMBER,
        )
        vat = _populate(session, account.id)
    story.tell(db, account.id, vat)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials.__dict__, indent=2))
    os.chmod(path, 0o600)
    return credentials, True


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str


def load_demo_user(db: Database, data_dir: Path, account_id: str) -> DemoUser:
    """The demo account's dashboard user, created once; its password is kept like the API
    secret. Emails are unique across accounts, so should the demo email belong to an earlier
    demo account (its files deleted, its database kept), this one gets its own address."""
    path = data_dir / USER_FILE
    if path.exists():
        saved = DemoUser(**json.loads(path.read_text()))
        with db.session(write=False) as session:
            user = find_user(session, saved.email)
            if user is not None and user.account_id == account_id:
                return saved
    password = generate_password()
    with db.transaction() as session:
        email = DEMO_EMAIL
        user = find_user(session, email)
        if user is not None and user.account_id != account_id:
            email = f"finance+{account_id}@acme-analytics.example"
            user = find_user(session, email)
        if user is None:
            create_user(session, account_id, email, password)
        else:  # its saved password was lost: it gets a new one
            user.password_hash = hash_password(password)
    demo_user = DemoUser(email=email, password=password)
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(demo_user), indent=2))
    os.chmod(path, 0o600)
    return demo_user
