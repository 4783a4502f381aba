"""Customer, contact, alias and organization bodies in Sequence's shapes."""

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, EmailStr, Field, model_validator

from tally.api.schemas import Schema
from tally.api.types import Address, PlainText, plain_text
from tally.core.i18n import Language
from tally.models import BillingPreference, Contact, Customer, CustomerStatus, TaxStatus


class IntegrationIdIn(Schema):
    service: str = Field(min_length=1, max_length=100, examples=["Stripe"])
    id: str = Field(min_length=1, max_length=500)
    # Older examples (seed 002's `externalIds`) also send when it was synced and its page.
    last_synced: datetime | None = None
    url: str | None = Field(default=None, max_length=2000)


class IntegrationIdOut(Schema):
    service: str
    id: str
    last_synced: datetime | None = None
    url: str | None = None
    is_pending: bool = False


class ContactIn(Schema):
    name: PlainText = Field(min_length=1, max_length=500)
    email: EmailStr
    billing_preference: BillingPreference


class ContactOut(Schema):
    id: str
    name: str
    email: str
    billing_preference: BillingPreference
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = None


CUSTOMER_LANGUAGE = (
    "Tally extension. The language (en, de, fr, es, nl) of the customer's invoice and credit "
    "note PDFs, emails and portal; numbers, money and dates follow it in the customer's "
    "billing country where that pair has its own conventions (de in AT: de_AT). Null: the "
    "account's language. On update, left out keeps it; null goes back to the account's."
)


class CustomerIn(Schema):
    """Create and update (PUT) body.

    Besides Sequence's current fields it reads the older ones its guides still show
    (`contactName`, `email`, `billingEmails`, `telephone`) and turns them into contacts. On
    update, fields left out keep their values: `contacts`, `parentId`, `customProperties`,
    `integrationIds`, `taxStatus`, `status`; `customerAliases` only adds aliases.
    """

    legal_name: PlainText = Field(min_length=1, max_length=500)
    address: Address
    url: str | None = Field(default=None, max_length=2000)
    label: str | None = Field(default=None, max_length=500)
    tax_status: TaxStatus | None = Field(default=None, description="Defaults to TAXED.")
    status: CustomerStatus | None = None
    customer_aliases: list[str] | None = Field(default=None, max_length=100)
    integration_ids: list[IntegrationIdIn] | None = Field(default=None, max_length=50)
    parent_id: str | None = None
    contacts: list[ContactIn] | None = Field(default=None, max_length=100)
    custom_properties: dict[str, str] | None = None
    contact_name: Annotated[str, Field(max_length=500), AfterValidator(plain_text)] | None = None
    email: EmailStr | None = None
    billing_emails: list[EmailStr] | None = Field(default=None, max_length=100)
    telephone: str | None = Field(default=None, max_length=100)
    # Older fields of Sequence's guides: `externalIds` (seed 002) is `integrationIds`;
    # `paymentReference` (seed 003) is the reference the customer quotes when paying.
    external_ids: list[IntegrationIdIn] | None = Field(default=None, max_length=50)
    payment_reference: str | None = Field(default=None, max_length=500)
    push_to_integrations: bool | None = Field(
        default=None,
        description="Push the customer to connected integrations. Tally connects none, so "
        "there is nothing to push to; accepted for Sequence clients.",
    )
    language: Language | None = Field(default=None, description=CUSTOMER_LANGUAGE)

    @model_validator(mode="after")
    def _one_name_for_integration_ids(self) -> "CustomerIn":
        if self.external_ids is not None:
            if self.integration_ids is not None and self.integration_ids != self.external_ids:
                raise ValueError(
                    "externalIds is the older name of integrationIds: give one, or both the same"
                )
            self.integration_ids, self.external_ids = self.external_ids, None
        return self

    def contacts_requested(self) -> list[ContactIn] | None:
        """The contacts the body asks for: `contacts`, else those the older fields imply."""
        if self.contacts is not None:
            return self.contacts
        if self.email is None and not self.billing_emails:
            return None
        contacts: list[ContactIn] = []
        if self.email is not None:
            contacts.append(
                ContactIn(
                    name=self.contact_name or self.legal_name,
                    email=self.email,
                    billing_preference=BillingPreference.PRIMARY,
                )
            )
        seen = {contact.email.lower() for contact in contacts}
        for email in self.billing_emails or []:
            if email.lower() not in seen:
                seen.add(email.lower())
                contacts.append(
                    ContactIn(
                        name=email, email=email, billing_preference=BillingPreference.STANDARD
                    )
                )
        return contacts


class CustomerIdWithName(Schema):
    id: str
    name: str


class OrganizationOut(Schema):
    id: str
    owner: CustomerIdWithName
    members: list[CustomerIdWithName]


class CustomerOut(Schema):
    """Sequence's `Customer`, plus the older contact fields and the hierarchy."""

    id: str
    sequence_account_id: str
    created_at: datetime
    updated_at: datetime
    legal_name: str
    address: Address
    url: str | None = None
    domain: str | None = None
    label: str | None = None
    tax_status: TaxStatus
    status: CustomerStatus
    integration_ids: list[IntegrationIdOut]
    custom_properties: dict[str, str]
    contacts: list[ContactOut]
    contact_name: str | None = None
    email: str
    billing_emails: list[str]
    telephone: str | None = None
    payment_reference: str | None = None
    customer_aliases: list[str]
    parent_id: str | None = None
    children: list[CustomerIdWithName]
    organizations: list[OrganizationOut]
    archived_at: datetime | None = None
    # Tally's extension: the customer's permanent portal link (`/portal/c/{secret}`).
    portal_url: str | None = None
    language: str | None = Field(default=None, description=CUSTOMER_LANGUAGE)

    @classmethod
    def build(
        cls,
        customer: Customer,
        organizations: list[OrganizationOut],
        portal_url: str | None = None,
    ) -> "CustomerOut":
        contacts = customer.active_contacts
        primary = _primary(contacts)
        return cls(
            id=customer.id,
            sequence_account_id=customer.account_id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            legal_name=customer.legal_name,
            address=Address.model_validate(customer.address),
            url=customer.url,
            domain=_domain(customer.url),
            label=customer.label,
            tax_status=customer.tax_status,
            status=customer.status,
            integration_ids=[IntegrationIdOut.model_validate(i) for i in customer.integration_ids],
            custom_properties=customer.custom_properties,
            contacts=[ContactOut.model_validate(contact) for contact in contacts],
            contact_name=primary.name if primary else None,
            email=primary.email if primary else "",
            billing_emails=[
                c.email for c in contacts if c.billing_preference is BillingPreference.STANDARD
            ],
            telephone=customer.telephone,
            payment_reference=customer.payment_reference,
            customer_aliases=[alias.value for alias in customer.aliases],
            parent_id=customer.parent_id,
            children=[CustomerIdWithName(id=c.id, name=c.legal_name) for c in customer.children],
            organizations=organizations,
            archived_at=customer.archived_at,
            portal_url=portal_url,
            language=customer.language,
        )


def _primary(contacts: list[Contact]) -> Contact | None:
    for contact in contacts:
        if contact.billing_preference is BillingPreference.PRIMARY:
            return contact
    return contacts[0] if contacts else None


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"//{url}").hostname
    return host.removeprefix("www.") if host else None


class ContactList(Schema):
    items: list[ContactOut]


class AliasIn(Schema):
    customer_id: str
    value: str = Field(min_length=1, max_length=500)
    label: str | None = Field(default=None, max_length=500)


class AliasUpdate(Schema):
    label: str | None = Field(default=None, max_length=500)


class AliasOut(Schema):
    id: str
    sequence_account_id: str = Field(validation_alias="account_id")
    customer_id: str
    value: str
    label: str | None = None
    created_at: datetime
    deleted_at: datetime | None = None


class OrganizationIn(Schema):
    owner_id: str
    member_ids: list[str] = Field(max_length=1000)


class OrganizationMembers(Schema):
    customer_ids: list[str] = Field(max_length=1000)
