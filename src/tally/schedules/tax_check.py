"""Validating a schedule's taxes before it is created or updated (Sequence's POST
/billing-schedules/validate-taxes): the tax strategy that would apply, checked without
writing anything. Tally computes tax from the schedule's own tax rates (no tax engine), so
the strategy is sound when:

- every id resolves in the account and the terms pass what creating them checks (tax rates
  not archived, each for a price the phases bill);
- a TAXED customer has a tax rate for every price billed: one left out is billed untaxed;
- a REVERSE_CHARGED customer has a tax registration: a reverse-charged invoice must show the
  buyer's VAT number (EN 16931 BR-AE-02), and Tally prints it from there.

A TAX_EXEMPT customer's invoices carry no tax, whatever rates the schedule names.
"""

from sqlalchemy.orm import Session

from tally.api import references
from tally.exceptions import InvalidRequest
from tally.models import Attachment, Customer, TaxStatus
from tally.schedules import service
from tally.schedules.schemas import ScheduleCreate
from tally.tax import queries as tax_queries


def validate_taxes(session: Session, account_id: str, data: ScheduleCreate) -> None:
    customer = references.resolve_one(session, account_id, Customer, "customerId", data.customer_id)
    attachments = references.fields("attachmentAssetIds", data.attachment_asset_ids or [])
    references.resolve(session, account_id, Attachment, attachments)
    billed = service.check_terms(session, account_id, data)
    for index, phase in enumerate(data.phases):
        for number, grant in enumerate(phase.credit_grants or []):
            if grant.id is not None:  # as on create: a new schedule has no grant to keep
                field = f"phases.{index}.creditGrants.{number}.id"
                raise references.not_found(field, "Phase credit grant", grant.id)
    if customer.tax_status is TaxStatus.TAXED:
        taxed = {item.price_id for item in data.tax_rates or []}
        untaxed = [price_id for price_id in billed if price_id not in taxed]
        if untaxed:
            raise InvalidRequest.field(
                "taxRates",
                f"customer {customer.id!r} is taxed, but no tax rate is given for price(s) "
                f"{', '.join(map(repr, untaxed))}: they would be billed without tax",
            )
    elif customer.tax_status is TaxStatus.REVERSE_CHARGED:
        registrations = tax_queries.party_registrations(
            session, account_id, customer_id=customer.id
        )
        if not registrations:
            raise InvalidRequest.field(
                "customerId",
                f"customer {customer.id!r} is reverse charged but has no tax registration: "
                "its invoices must show its VAT number (POST /tax-registrations)",
            )
