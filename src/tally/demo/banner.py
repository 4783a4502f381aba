"""What `tally demo` and `tally serve --demo` print last: where to sign in, with what, and
the demo's API key, portal link and account id, in one framed block."""

from dataclasses import dataclass

from tally.accounts.service import Credentials
from tally.db import Database
from tally.demo.account import DemoUser
from tally.documents.links import portal_url
from tally.portal.sessions import customer_by_reference

PORTAL_CUSTOMER = "globex"  # Globex Corporation, the parent: its portal shows its children


@dataclass(frozen=True)
class Banner:
    base_url: str
    credentials: Credentials
    user: DemoUser
    portal_link: str

    def lines(self) -> list[str]:
        key, secret = self.credentials.api_key, self.credentials.api_secret
        return [
            "Tally is serving the demo account (Acme Analytics).",
            "",
            f"Dashboard:  {self.base_url}/dashboard",
            f"  email:    {self.user.email}",
            f"  password: {self.user.password}",
            "",
            f"API key:    {key}",
            f"API secret: {secret}",
            f"API docs:   {self.base_url}/docs",
            "",
            f"Portal (Globex Corporation): {self.portal_link}",
            f"Account id: {self.credentials.account_id}",
        ]

    def text(self) -> str:
        """The lines in a frame, wide enough for the longest."""
        lines = self.lines()
        width = max(len(line) for line in lines)
        rule = "=" * (width + 4)
        return "\n".join(["", rule, *(f"  {line}".rstrip() for line in lines), rule, ""])


def demo_banner(
    db: Database, credentials: Credentials, user: DemoUser, base_url: str, public_url: str
) -> Banner:
    with db.transaction() as session:  # a portal secret is made on first use
        customer = customer_by_reference(session, PORTAL_CUSTOMER, credentials.account_id)
        link = portal_url(session, customer.id, public_url)
    return Banner(base_url, credentials, user, link)
