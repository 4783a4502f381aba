"""Threshold invoicing (progressive billing): a period's charges invoiced as they reach a
threshold, and the period's own invoice deducting what they invoiced.

A period's document W is what its own invoice would hold now (prices, discounts, true-ups,
taxed per rate once). Charges counted for the threshold are W's lines before tax and before
credits, without minimum true-ups (a minimum is a commitment the period's end settles).

Every document of the period is "W so far less what the period's threshold invoices already
invoiced": one THRESHOLD line per earlier threshold invoice and tax rate, carrying that
invoice's exact net and tax at the rate (negative). So a rate's tax on a document is the
rate's tax on W (rounded once, `engine/tax.py`) less the tax already invoiced at it, and the
threshold invoices and the final invoice add up to exactly what one invoice for the whole
period would be: net, tax and gross, to the minor unit. A deduction never takes a rate below
zero (usage that shrank after a threshold invoice is not given back here: a credit note is).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from tally.engine.invoice import InvoiceDraft, Kind, Line, taxed_per_rate
from tally.engine.money import ZERO

THRESHOLD_TITLE = "Invoiced at threshold"


@dataclass(frozen=True)
class RatePart:
    """What a document bills at one tax rate: the rate's net and its tax."""

    tax_rate: Decimal
    tax_rate_version_id: str | None
    net: Decimal
    tax: Decimal

    def wire(self) -> dict[str, str | None]:
        return {
            "taxRate": str(self.tax_rate),
            "taxRateVersionId": self.tax_rate_version_id,
            "net": str(self.net),
            "tax": str(self.tax),
        }

    @classmethod
    def read(cls, item: dict[str, str | None]) -> RatePart:
        return cls(
            Decimal(item["taxRate"] or "0"),
            item.get("taxRateVersionId"),
            Decimal(item["net"] or "0"),
            Decimal(item["tax"] or "0"),
        )


@dataclass(frozen=True)
class Invoiced:
    """A threshold invoice of the period, as later documents deduct it: `label` names it
    (its number once issued)."""

    label: str
    parts: tuple[RatePart, ...]

    @property
    def net(self) -> Decimal:
        return sum((part.net for part in self.parts), ZERO)


def by_rate(draft: InvoiceDraft) -> tuple[RatePart, ...]:
    """The draft's net and tax per tax rate (equal rates together, as tax groups them)."""
    nets: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    taxes: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    versions: dict[Decimal, str | None] = {}
    for line in draft.lines:
        nets[line.tax_rate] += line.net
        taxes[line.tax_rate] += line.tax
        versions.setdefault(line.tax_rate, line.tax_rate_version_id)
    return tuple(RatePart(rate, versions[rate], nets[rate], taxes[rate]) for rate in nets)


def charges(draft: InvoiceDraft, currency: str) -> InvoiceDraft:
    """What the threshold counts and a threshold invoice bills of a period's document: its
    lines without minimum true-ups and credits, taxed per rate again."""
    kept = [line for line in draft.lines if line.kind in (Kind.PRICE, Kind.DISCOUNT)]
    return taxed_per_rate(kept, currency)


def invoiced_net(invoiced: Sequence[Invoiced]) -> Decimal:
    return sum((invoice.net for invoice in invoiced), ZERO)


def reached(draft: InvoiceDraft, invoiced: Sequence[Invoiced], threshold: Decimal) -> bool:
    """Whether the charges (`charges(...)`) not yet invoiced reach the threshold."""
    return draft.totals.net - invoiced_net(invoiced) >= threshold


def deducted(draft: InvoiceDraft, invoiced: Sequence[Invoiced]) -> InvoiceDraft:
    """The document with the threshold invoices' parts deducted: one THRESHOLD line per
    invoice and rate, carrying the exact net and tax it invoiced at the rate, cut (earlier
    invoices first) where a rate would go below zero."""
    if not invoiced:
        return draft
    left = {part.tax_rate: [part.net, part.tax] for part in by_rate(draft)}
    lines = list(draft.lines)
    for invoice in invoiced:
        for part in invoice.parts:
            net_left, tax_left = left.get(part.tax_rate, [ZERO, ZERO])
            net, tax = min(part.net, max(net_left, ZERO)), min(part.tax, max(tax_left, ZERO))
            left[part.tax_rate] = [net_left - net, tax_left - tax]
            if net == 0 and tax == 0:
                continue
            lines.append(
                Line(
                    kind=Kind.THRESHOLD,
                    title=f"{THRESHOLD_TITLE}: {invoice.label}",
                    quantity=Decimal(1),
                    rate=-net,
                    net=-net,
                    tax_rate=part.tax_rate,
                    tax=-tax,
                    tax_rate_version_id=part.tax_rate_version_id,
                )
            )
    return InvoiceDraft(tuple(lines))


def newly_invoiced(draft: InvoiceDraft, invoiced: Sequence[Invoiced], label: str) -> Invoiced:
    """What a threshold invoice issued now bills, per rate: its document
    (`deducted(draft, invoiced)`, before credits) rate by rate."""
    parts = by_rate(deducted(draft, invoiced))
    return Invoiced(label, tuple(part for part in parts if part.net or part.tax))


def over_invoiced(draft: InvoiceDraft, invoiced: Sequence[Invoiced]) -> tuple[RatePart, ...]:
    """Per rate, what the threshold invoices invoiced beyond the period's whole document
    (its charges fell after them: VOLUME tiers whose total drops as usage grows, usage
    replaced by smaller events). The final invoice deducts only up to zero; this much is
    the merchant's to give back (a credit note), and zero in every other case."""
    whole = {part.tax_rate: part for part in by_rate(draft)}
    done: dict[Decimal, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    versions: dict[Decimal, str | None] = {}
    for invoice in invoiced:
        for part in invoice.parts:
            done[part.tax_rate][0] += part.net
            done[part.tax_rate][1] += part.tax
            versions.setdefault(part.tax_rate, part.tax_rate_version_id)
    excess = []
    for rate, (net, tax) in done.items():
        mine = whole.get(rate)
        net_over = max(net - (mine.net if mine else ZERO), ZERO)
        tax_over = max(tax - (mine.tax if mine else ZERO), ZERO)
        if net_over or tax_over:
            excess.append(RatePart(rate, versions[rate], net_over, tax_over))
    return tuple(excess)


def relabelled(draft: InvoiceDraft, names: dict[str, str]) -> InvoiceDraft:
    """The draft with its deductions of threshold invoices renamed (`names`: old label ->
    new, e.g. the number finalize gave it)."""
    prefix = f"{THRESHOLD_TITLE}: "
    lines = tuple(
        replace(line, title=prefix + names[line.title.removeprefix(prefix)])
        if line.kind is Kind.THRESHOLD and line.title.removeprefix(prefix) in names
        else line
        for line in draft.lines
    )
    return InvoiceDraft(lines)
