"""The customer form's fields, and the API's `CustomerIn` body they make.

A form posts each field once (`web.form_fields` keeps the first of repeated names), so the
contacts are numbered rows (`contact-0-name` ...); aliases, integration ids and custom
properties are text areas of one entry per line. The body is given to `CustomerIn` as the
API's JSON would be, so every rule (required fields, emails, one primary contact, countries)
is the API's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tally.customers.schemas import CustomerOut

ADDRESS_FIELDS = ("line1", "line2", "town", "state", "postcode", "country")
EXTRA_CONTACT_ROWS = 2
MAX_CONTACT_ROWS = 12  # the form's field budget (web.MAX_FORM_FIELDS) holds this many


@dataclass
class ContactRow:
    name: str = ""
    email: str = ""
    billing_preference: str = "STANDARD"

    def blank(self) -> bool:
        return not self.name.strip() and not self.email.strip()


@dataclass
class CustomerForm:
    legal_name: str = ""
    url: str = ""
    label: str = ""
    telephone: str = ""
    tax_status: str = "TAXED"
    status: str = "ACTIVE"
    language: str = ""  # "": the account's
    parent_id: str = ""
    address: dict[str, str] = field(default_factory=dict)
    contacts: list[ContactRow] = field(default_factory=list)
    aliases: str = ""
    existing_aliases: list[str] = field(default_factory=list)
    integration_ids: str = ""
    custom_properties: str = ""

    @classmethod
    def blank(cls) -> CustomerForm:
        form = cls(contacts=[ContactRow(billing_preference="PRIMARY")])
        form.pad()
        return form

    def pad(self) -> None:
        """Room for new contacts below the existing ones."""
        filled = [row for row in self.contacts if not row.blank()]
        rows = filled + [ContactRow() for _ in range(EXTRA_CONTACT_ROWS)]
        if not filled:
            rows[0].billing_preference = "PRIMARY"
        self.contacts = rows[:MAX_CONTACT_ROWS]


def form_from_fields(fields: dict[str, str]) -> CustomerForm:
    form = CustomerForm(
        legal_name=fields.get("legal_name", ""),
        url=fields.get("url", ""),
        label=fields.get("label", ""),
        telephone=fields.get("telephone", ""),
        tax_status=fields.get("tax_status", ""),
        status=fields.get("status", ""),
        language=fields.get("language", ""),
        parent_id=fields.get("parent_id", ""),
        address={name: fields.get(f"address_{name}", "") for name in ADDRESS_FIELDS},
        contacts=[
            ContactRow(
                name=fields.get(f"contact-{i}-name", ""),
                email=fields.get(f"contact-{i}-email", ""),
                billing_preference=fields.get(f"contact-{i}-billing_preference", ""),
            )
            for i in range(MAX_CONTACT_ROWS)
        ],
        aliases=fields.get("aliases", ""),
        integration_ids=fields.get("integration_ids", ""),
        custom_properties=fields.get("custom_properties", ""),
    )
    form.contacts = [row for row in form.contacts if not row.blank()]
    return form


def form_from_view(view: CustomerOut) -> CustomerForm:
    address = view.address.model_dump()
    form = CustomerForm(
        legal_name=view.legal_name,
        url=view.url or "",
        label=view.label or "",
        telephone=view.telephone or "",
        tax_status=view.tax_status.value,
        status=view.status.value,
        language=view.language or "",
        parent_id=view.parent_id or "",
        address={name: str(address.get(name) or "") for name in ADDRESS_FIELDS},
        contacts=[ContactRow(c.name, c.email, c.billing_preference.value) for c in view.contacts],
        existing_aliases=list(view.customer_aliases),
        integration_ids="\n".join(f"{i.service}: {i.id}" for i in view.integration_ids),
        custom_properties="\n".join(f"{k}={v}" for k, v in view.custom_properties.items()),
    )
    form.pad()
    return form


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _optional(value: str) -> str | None:
    return value.strip() or None


def payload(form: CustomerForm) -> dict[str, Any]:
    """The API's JSON body (camelCase) for create and for a full update."""
    address = {name: form.address.get(name, "").strip() for name in ADDRESS_FIELDS}
    body: dict[str, Any] = {
        "legalName": form.legal_name.strip(),
        "address": {
            "line1": address["line1"],
            "line2": address["line2"] or None,
            "town": address["town"],
            "state": address["state"] or None,
            "postcode": address["postcode"],
            "country": address["country"].upper(),
        },
        "url": _optional(form.url),
        "label": _optional(form.label),
        "telephone": _optional(form.telephone),
        "taxStatus": form.tax_status or None,
        "status": form.status or None,
        "language": form.language or None,
        "parentId": form.parent_id or None,
        "contacts": [
            {
                "name": row.name.strip(),
                "email": row.email.strip(),
                "billingPreference": row.billing_preference,
            }
            for row in form.contacts
            if not row.blank()
        ],
        "customerAliases": _lines(form.aliases),
        "integrationIds": [
            {"service": service.strip(), "id": identifier.strip()}
            for service, _, identifier in (
                line.partition(":") for line in _lines(form.integration_ids)
            )
        ],
        "customProperties": {
            key.strip(): value.strip()
            for key, _, value in (line.partition("=") for line in _lines(form.custom_properties))
        },
    }
    return body


# --- errors, by the form's fields ------------------------------------------------------------

# The form's labels, for the messages ("Country: choose a country").
LABELS = {
    "legalName": "Legal name",
    "url": "Website",
    "taxStatus": "Tax status",
    "parentId": "Parent",
    "address": "Address",
    "address.line1": "Address line 1",
    "address.line2": "Address line 2",
    "address.town": "Town",
    "address.state": "State",
    "address.postcode": "Postcode",
    "address.country": "Country",
    "contacts": "Contacts",
    "customerAliases": "Aliases",
    "integrationIds": "Integration ids",
    "customProperties": "Custom properties",
}
_TOP = {
    "legalName": "legal_name",
    "url": "url",
    "label": "label",
    "telephone": "telephone",
    "taxStatus": "tax_status",
    "status": "status",
    "language": "language",
    "parentId": "parent_id",
    "customerAliases": "aliases",
    "integrationIds": "integration_ids",
    "customProperties": "custom_properties",
}


def error_field(loc: Sequence[str | int]) -> str:
    """The form field an error of `CustomerIn` (or of the service, by its field path) is
    about: `address.country` -> `address_country`, `contacts.1.email` -> `contact-1-email`
    (the form's contact rows are the body's contacts, in order), `legalName` -> `legal_name`."""
    parts = [part for part in loc if part != "body"]
    if not parts:
        return ""
    head = str(parts[0])
    if head == "address":
        return f"address_{parts[1]}" if len(parts) > 1 and parts[1] in ADDRESS_FIELDS else ""
    if head == "contacts" and len(parts) > 2 and isinstance(parts[1], int):
        name = {"billingPreference": "billing_preference"}.get(str(parts[2]), str(parts[2]))
        return f"contact-{parts[1]}-{name}"
    return _TOP.get(head, "")
