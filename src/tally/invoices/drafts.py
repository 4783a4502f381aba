"""Invoices people write: one-off invoices (`POST /api/invoices`), and the lines and groups of
any DRAFT invoice, billing's included.

A line's amounts are calculated the way the billing engine calculates them: net = quantity x
rate and tax = net x taxRate, each rounded half up to the currency's minor unit; a group's
and the invoice's totals are the sums of their lines, so net + tax = gross always holds.
Changing a line or a group marks the invoice edited: billing no longer recalculates it, which
would throw the change away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tally.api import references
from tally.attachments.service import resolve_details
from tally.billed.lines import NO_TOTALS, line_totals, retax, sums_by_group
from tally.billed.locks import lock_document
from tally.core.clock import local_today, utcnow
from tally.credits.statement import balances_statement
from tally.db import new_id
from tally.engine.money import ZERO
from tally.exceptions import ArchivedReference, InvalidRequest, NotFound
from tally.invoices import audit
from tally.invoices.lifecycle import require
from tally.invoices.schemas import (
    InvoiceCreate,
    LineItemGroupIn,
    LineItemGroupUpdate,
    LineItemIn,
)
from tally.models import (
    Account,
    BillingPreference,
    BillingRun,
    BillingSchedule,
    Contact,
    CreditGrant,
    Customer,
    DueDateSource,
    Invoice,
    InvoiceLineItem,
    InvoiceLineItemGroup,
    InvoiceStatus,
    LineKind,
    Price,
    TaxCategory,
    TaxRateVersion,
    TaxStatus,
)
from tally.notifications.events import INVOICE, NotificationType, emit
from tally.tax.categories import rate_for

# ---- One-off invoices --------------------------------------------------------------------


def _locked_live_customer(session: Session, account_id: str, customer_id: str) -> Customer:
    """The customer, held (FOR SHARE) until commit: archiving it meanwhile waits, then voids
    this draft with its other open invoices."""
    customer = references.resolve_one(
        session, account_id, Customer, "customerId", customer_id, lock="share"
    )
    if customer.archived_at is not None:
        raise ArchivedReference(f"Customer {customer_id!r} is archived: it is invoiced no more")
    return customer


def billing_emails(session: Session, account_id: str, customer_id: str) -> list[str]:
    """The customer's billing contacts' emails, the primary first, as billing snapshots
    them: contacts who opted out of billing email are left out."""
    contacts = session.execute(
        select(Contact.email, Contact.billing_preference)
        .where(
            Contact.account_id == account_id,
            Contact.customer_id == customer_id,
            Contact.archived_at.is_(None),
            Contact.billing_preference != BillingPreference.NONE,
        )
        .order_by(Contact.id)
    ).all()
    ordered = sorted(contacts, key=lambda c: c.billing_preference is not BillingPreference.PRIMARY)
    return list(dict.fromkeys(contact.email for contact in ordered))


def create_invoice(session: Session, account: Account, data: InvoiceCreate) -> Invoice:
    """A DRAFT one-off invoice, without lines yet; announced as INVOICE_CREATED.

    With a billing run, it belongs to that run's schedule and (unless given) bills its
    period. Attachments named are sent with it. Without `creditBalances`, it states the
    customer's credit balances as the ledger has them today."""
    customer = _locked_live_customer(session, account.id, data.customer_id)
    run = None
    if data.billing_run_id is not None:
        run = references.resolve_one(
            session, account.id, BillingRun, "billingRunId", data.billing_run_id
        )
    schedule = None
    if data.billing_schedule_id is not None:
        schedule = references.resolve_one(
            session, account.id, BillingSchedule, "billingScheduleId", data.billing_schedule_id
        )
    attachments = resolve_details(
        session, account.id, "attachmentAssetIds", data.attachment_asset_ids or []
    )
    if run is not None:
        if schedule is None:  # the run's schedule stands in for one left out
            schedule = session.get_one(BillingSchedule, run.billing_schedule_id)
        elif run.billing_schedule_id != schedule.id:
            raise InvalidRequest.field(
                "billingRunId", "is a billing run of another billing schedule"
            )
    terms = None
    if schedule is not None:
        if schedule.customer_id != customer.id:
            field = "billingScheduleId" if data.billing_schedule_id else "billingRunId"
            raise InvalidRequest.field(field, "is the schedule of another customer than customerId")
        terms = schedule.default_due_date_days
    emails = data.customer_emails
    if emails is None:
        emails = billing_emails(session, account.id, customer.id)

    def address(given: Any) -> dict[str, Any] | None:
        return None if given is None else dict(given.model_dump(mode="json", exclude_none=True))

    period = data.billing_period
    today = local_today(account.timezone)
    credit_balances = data.credit_balances
    if "credit_balances" not in data.model_fields_set:
        credit_balances = balances_statement(session, account.id, customer.id, today)
    invoice = Invoice(
        id=new_id(),
        account_id=account.id,
        customer_id=customer.id,
        billing_schedule_id=schedule.id if schedule else None,
        status=InvoiceStatus.DRAFT,
        currency=data.currency.value,
        due_date=data.due_date,
        due_date_source=(
            DueDateSource.MANUAL if data.due_date is not None else DueDateSource.CALCULATED
        ),
        payment_term_days=None if data.due_date is not None else terms,
        billing_run_id=run.id if run else None,
        billing_period_start=(
            period.start if period else run.billing_period_start if run else None
        ),
        billing_period_end=(
            period.end_inclusive if period else run.billing_period_end if run else None
        ),
        accounting_date=data.accounting_date or today,
        credit_balances=credit_balances,
        attachment_assets=attachments,
        purchase_order_number=data.purchase_order_number,
        reference=data.reference,
        memo=data.memo,
        customer_legal_company_name=data.customer_legal_company_name or customer.legal_name,
        customer_emails=[str(email) for email in emails],
        customer_billing_address=address(data.customer_billing_address) or customer.address,
        customer_shipping_address=address(data.customer_shipping_address),
        customer_tax_status=customer.tax_status.value,
        metadata_items=[item.model_dump() for item in data.metadata],
        payment_options=[option.value for option in data.payment_options],
    )
    session.add(invoice)
    session.flush()
    audit.created(session, invoice)
    emit(session, account.id, NotificationType.INVOICE_CREATED, INVOICE, [invoice.id])
    return invoice


# ---- Lines and groups of drafts ----------------------------------------------------------


def _draft(session: Session, account_id: str, invoice_id: str) -> Invoice:
    """The invoice with its lines and groups, row-locked; refused unless it is a DRAFT."""
    invoice = lock_document(session, Invoice, account_id, invoice_id, with_lines=True)
    require(invoice, "edit lines", [InvoiceStatus.DRAFT])
    return invoice


def _line(invoice: Invoice, line_id: str) -> InvoiceLineItem:
    for line in invoice.line_items:
        if line.id == line_id:
            return line
    raise NotFound.resource("Line item", line_id)


def _group(invoice: Invoice, group_id: str) -> InvoiceLineItemGroup:
    for group in invoice.groups:
        if group.id == group_id:
            return group
    raise NotFound.resource("Line item group", group_id)


def _renumber(rows: Sequence[InvoiceLineItem | InvoiceLineItemGroup]) -> None:
    """Indexes 0, 1, 2 ... in the rows' order, touching only those that move."""
    for index, row in enumerate(rows):
        if row.index != index:
            row.index = index


def _recalculate(invoice: Invoice) -> None:
    """Lines taxed per rate again, then group and invoice totals as the sums of their
    (rounded) lines; the invoice is edited."""
    retax(invoice.line_items, invoice.currency)
    by_group, overall = sums_by_group(
        (line.group_id, line.net_total, line.total_tax, line.gross_total)
        for line in invoice.line_items
    )
    for group in invoice.groups:
        group.net_total, group.total_tax, group.gross_total = by_group.get(group.id, NO_TOTALS)
    invoice.net_total, invoice.total_tax, invoice.gross_total = overall
    invoice.edited_at = utcnow()


def _credit_grant(session: Session, invoice: Invoice, grant_id: str | None) -> str | None:
    """A grant of the invoice's customer, in its currency (404 for another account's)."""
    if grant_id is None:
        return None
    grant = references.resolve_one(
        session, invoice.account_id, CreditGrant, "creditGrantId", grant_id
    )
    if grant.customer_id != invoice.customer_id:
        raise InvalidRequest.field("creditGrantId", "is a credit grant of another customer")
    if grant.currency != invoice.currency:
        raise InvalidRequest.field(
            "creditGrantId",
            f"is a {grant.currency} credit grant; the invoice is {invoice.currency}",
        )
    return grant.id


def _line_values(session: Session, invoice: Invoice, data: LineItemIn) -> dict[str, Any]:
    """The line's columns from the request; what it leaves out of its revenue treatment and
    service period, it takes from its group ("for all line items in this group")."""
    group = None
    if data.group_id is not None:
        group = references.among(invoice.groups, "groupId", data.group_id, "Line item group")
    product_id = None
    if data.price_id is not None:
        # A line may keep naming a price deleted since (billing wrote it so).
        price = references.resolve_one(
            session, invoice.account_id, Price, "priceId", data.price_id, deleted=True
        )
        product_id = price.product_id
    # As billing does: tax-exempt and reverse-charged customers are charged no tax.
    taxed = invoice.customer_tax_status == TaxStatus.TAXED.value
    tax_rate = data.tax_rate if taxed else ZERO
    version_id = None
    if taxed and group is not None and group.tax_category_id is not None:
        category_rate = _category_rate(session, invoice, group.tax_category_id, "groupId")
        tax_rate, version_id = category_rate.amount, category_rate.id
    net, tax, gross = line_totals(data.quantity, data.rate, tax_rate, invoice.currency)
    period = data.service_period
    start, end = (period.start_date, period.end_date) if period else (None, None)
    if period is None and group is not None:
        start, end = group.service_period_start, group.service_period_end
    classification = data.revenue_classification
    method = data.revenue_recognition_method
    return {
        "tax_rate_version_id": version_id,
        "external_ids": [item.model_dump(mode="json") for item in data.external_ids],
        "credit_grant_id": _credit_grant(session, invoice, data.credit_grant_id),
        "revenue_classification": (
            classification.value if classification else group and group.revenue_classification
        ),
        "revenue_recognition_method": (
            method.value if method else group and group.revenue_recognition_method
        ),
        "title": data.title,
        "description": data.description,
        "quantity": data.quantity,
        "rate": data.rate,
        "rate_display": data.rate_display.value,
        "tax_rate": tax_rate,
        "net_total": net,
        "total_tax": tax,
        "gross_total": gross,
        "group_id": data.group_id,
        "price_id": data.price_id,
        "product_id": product_id,
        "service_period_start": start,
        "service_period_end": end,
    }


def _announce(session: Session, invoice: Invoice) -> None:
    session.flush()
    emit(session, invoice.account_id, NotificationType.INVOICE_UPDATED, INVOICE, [invoice.id])


def add_line(
    session: Session, account: Account, invoice_id: str, data: LineItemIn
) -> tuple[Invoice, InvoiceLineItem]:
    """A MANUAL line, last on the invoice."""
    invoice = _draft(session, account.id, invoice_id)
    before = audit.draft_state(invoice)
    line = InvoiceLineItem(
        id=new_id(),
        account_id=account.id,
        invoice_id=invoice.id,
        index=len(invoice.line_items),
        kind=LineKind.MANUAL,
        **_line_values(session, invoice, data),
    )
    invoice.line_items.append(line)
    _recalculate(invoice)
    after = audit.draft_state(invoice, line)
    what = f"Line {line.title!r} added"
    audit.draft_edited(session, invoice, "LINE_ITEM_CREATED", what, before, after)
    _announce(session, invoice)
    return invoice, line


def update_line(
    session: Session, account: Account, invoice_id: str, line_id: str, data: LineItemIn
) -> tuple[Invoice, InvoiceLineItem]:
    """Replace a line's fields; it keeps its place (and its kind)."""
    invoice = _draft(session, account.id, invoice_id)
    line = _line(invoice, line_id)
    before = audit.draft_state(invoice, line)
    values = _line_values(session, invoice, data)
    if line.kind is LineKind.CREDIT:
        # Billing debits the grant a CREDIT line names: that link is not for editing.
        if values["credit_grant_id"] not in (None, line.credit_grant_id):
            raise InvalidRequest.field(
                "creditGrantId", "cannot change on a credit line: it is the grant it draws on"
            )
        values["credit_grant_id"] = line.credit_grant_id
    if values["quantity"] != line.quantity:
        line.breakdown = []  # the roll-up shares no longer add up to it
    priced = ("quantity", "rate", "net_total")
    if any(values[name] != getattr(line, name) for name in priced):
        # What billing priced is gone: its tiers and netted discounts no longer add up to it.
        line.tiers = []
        line.netted_discounts = []
    if values["tax_rate_version_id"] is None and values["tax_rate"] == line.tax_rate:
        del values["tax_rate_version_id"]  # the same rate: whatever version it came from
    for name, value in values.items():
        setattr(line, name, value)
    _recalculate(invoice)
    after = audit.draft_state(invoice, line)
    what = f"Line {line.title!r} changed"
    audit.draft_edited(session, invoice, "LINE_ITEM_UPDATED", what, before, after)
    _announce(session, invoice)
    return invoice, line


def delete_line(
    session: Session, account: Account, invoice_id: str, line_id: str
) -> tuple[Invoice, InvoiceLineItem]:
    invoice = _draft(session, account.id, invoice_id)
    line = _line(invoice, line_id)
    before = audit.draft_state(invoice, line)
    invoice.line_items.remove(line)  # delete-orphan: the row goes at flush
    _renumber(invoice.line_items)
    _recalculate(invoice)
    what = f"Line {line.title!r} deleted"
    after = audit.draft_state(invoice)
    audit.draft_edited(session, invoice, "LINE_ITEM_DELETED", what, before, after)
    _announce(session, invoice)
    return invoice, line


def _category_rate(
    session: Session, invoice: Invoice, category_id: str, field: str
) -> TaxRateVersion:
    """The category's rate for the invoice's billing address (country, then state)."""
    address = invoice.customer_billing_address
    country, state = str(address.get("country", "")), address.get("state")
    found = rate_for(session, invoice.account_id, category_id, country, state)
    if found is None:
        raise InvalidRequest.field(
            field,
            f"its tax category {category_id} has no published tax rate for {country}"
            + (f" ({state})" if state else "")
            + ": add one with that taxCategoryId",
        )
    return found


def _group_settings(
    session: Session, invoice: Invoice, group: InvoiceLineItemGroup, data: LineItemGroupIn
) -> None:
    """The group's tax category, revenue treatment and service period, as given (PUT
    replaces them). They apply "for all line items in this line item group": its lines are
    taxed at the category's rate for the customer's country and take a revenue setting
    given; a service period is what its lines without one are shown with."""
    group.tax_category_id = group.tax_category_name = None
    if data.tax_category_id is not None:
        category = references.resolve_one(
            session, invoice.account_id, TaxCategory, "taxCategoryId", data.tax_category_id
        )
        taxed = invoice.customer_tax_status == TaxStatus.TAXED.value
        rate = _category_rate(session, invoice, category.id, "taxCategoryId") if taxed else None
        group.tax_category_id, group.tax_category_name = category.id, category.name
        for line in invoice.line_items:
            if line.group_id == group.id and rate is not None:
                line.tax_rate, line.tax_rate_version_id = rate.amount, rate.id
                line.net_total, line.total_tax, line.gross_total = line_totals(
                    line.quantity, line.rate, rate.amount, invoice.currency
                )
    classification, method = data.revenue_classification, data.revenue_recognition_method
    period = data.service_period
    group.revenue_classification = classification.value if classification else None
    group.revenue_recognition_method = method.value if method else None
    group.service_period_start = period.start if period else None
    group.service_period_end = period.end_inclusive if period else None
    for line in invoice.line_items:
        if line.group_id != group.id:
            continue
        if classification is not None:
            line.revenue_classification = classification.value
        if method is not None:
            line.revenue_recognition_method = method.value
        if period is not None and line.service_period_start is None:
            line.service_period_start, line.service_period_end = period.start, period.end_inclusive


def add_group(
    session: Session, account: Account, invoice_id: str, data: LineItemGroupIn
) -> tuple[Invoice, InvoiceLineItemGroup]:
    """An empty group, last on the invoice."""
    invoice = _draft(session, account.id, invoice_id)
    before = audit.draft_state(invoice)
    group = InvoiceLineItemGroup(
        id=new_id(),
        account_id=account.id,
        invoice_id=invoice.id,
        index=len(invoice.groups),
        title=data.title,
        description=data.description,
    )
    _group_settings(session, invoice, group, data)
    invoice.groups.append(group)
    _recalculate(invoice)
    what = f"Group {group.title!r} added"
    after = audit.draft_state(invoice, group=group)
    audit.draft_edited(session, invoice, "LINE_ITEM_GROUP_CREATED", what, before, after)
    _announce(session, invoice)
    return invoice, group


def update_group(
    session: Session, account: Account, invoice_id: str, group_id: str, data: LineItemGroupUpdate
) -> tuple[Invoice, InvoiceLineItemGroup]:
    """New title and description; `index` moves the group there, the others close up."""
    invoice = _draft(session, account.id, invoice_id)
    group = _group(invoice, group_id)
    before = audit.draft_state(invoice, group=group)
    group.title = data.title
    group.description = data.description
    _group_settings(session, invoice, group, data)
    if data.index is not None:
        others = [g for g in invoice.groups if g is not group]
        others.insert(min(data.index, len(others)), group)
        _renumber(others)
    _recalculate(invoice)
    what = f"Group {group.title!r} changed"
    after = audit.draft_state(invoice, group=group)
    audit.draft_edited(session, invoice, "LINE_ITEM_GROUP_UPDATED", what, before, after)
    _announce(session, invoice)
    return invoice, group


def delete_group(
    session: Session, account: Account, invoice_id: str, group_id: str
) -> tuple[Invoice, InvoiceLineItemGroup]:
    """The group and its lines."""
    invoice = _draft(session, account.id, invoice_id)
    group = _group(invoice, group_id)
    before = audit.draft_state(invoice, group=group)
    for line in [line for line in invoice.line_items if line.group_id == group.id]:
        invoice.line_items.remove(line)
    session.flush()  # lines first: they refer to the group
    invoice.groups.remove(group)
    _renumber(invoice.line_items)
    _renumber(invoice.groups)
    _recalculate(invoice)
    what = f"Group {group.title!r} and its lines deleted"
    after = audit.draft_state(invoice)
    audit.draft_edited(session, invoice, "LINE_ITEM_GROUP_DELETED", what, before, after)
    _announce(session, invoice)
    return invoice, group
