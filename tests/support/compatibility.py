"""The README's Sequence compatibility table, built from Sequence's schema and Tally's app.

Every operation of Sequence's published schema (2024-07-30) is a row: served or not (and why
not), and where Tally behaves differently on purpose. Tally's own additions follow. The README
holds the table between markers and `tests/test_readme_compatibility.py` fails when it drifts;
`python -m tests.support.compatibility --write` rewrites it.
"""

import re
import sys
from pathlib import Path

from fastapi import FastAPI

from tally.app import create_app
from tally.settings import Settings
from tests.support.sequence_schema import spec, template_operation

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- sequence-compatibility:start -->"
END = "<!-- sequence-compatibility:end -->"
SECTION = re.compile(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), flags=re.S)
PAYMENTS_ISSUE = "payments issue (19)"
QUOTES = "quotes: a later issue"

# Sequence's operations (method, path without /api) Tally does not serve yet, with why.
NOT_SERVED = {
    # Quotes.
    ("get", "/quotes"): QUOTES,
    ("get", "/quotes/{id}/analytics"): QUOTES,
    ("get", "/quotes/{id}/download"): QUOTES,
}


# Where a served operation behaves differently from Sequence on purpose, (method, path) -> how.
DIFFERENCES = {
    ("post", "/credit-note-applications"): "409 only for a stale balance version, as Sequence "
    "documents; a refused application (a DRAFT credit note, a paid invoice) is a 400",
    ("get", "/users"): "the dashboard's users; `roles` is always `[]` (Sequence's `Role` schema "
    "admits no value, Tally has no roles); deactivated users are left out",
    ("get", "/users/{id}"): "`state` is ACTIVE or DEACTIVATED; a deactivated user is still shown",
    ("delete", "/users/{id}"): "deactivates (sessions end, sign-in refused, the row and its "
    "history stay); the last active user cannot be deleted",
    ("post", "/billing-schedules/{billingScheduleId}/duplicate"): "the copy starts as a DRAFT "
    "and bills nobody until activated; its list price variants are its own, with the source's "
    "terms",
    ("post", "/billing-schedules/validate-taxes"): "Tally's rules: a taxed customer needs a rate "
    "for every price, a reverse-charged one a tax registration",
    ("get", "/tax-registrations/for-customer/{id}"): "every registration in one page",
    ("get", "/tax-registrations/for-merchant/{id}"): "the merchant is the account (its id); "
    "every registration in one page",
    ("put", "/invoices/{id}"): "changes only the fields given, as PATCH does (the body has no "
    "required field); a new `currency` recalculates the lines",
    ("post", "/invoices/merge"): "the merged drafts are VOIDED, never deleted; their ids stay",
    ("post", "/invoices/reconcile-with-integration"): "no accounting integration can be "
    "connected: the request is checked, answers 202 and changes nothing",
    ("get", "/invoices/{id}/currency-conversions"): "Tally converts no currencies: always "
    '`{"items": []}`',
    ("post", "/invoices/fix-billing-runs"): "re-links an invoice to the billing run that wrote "
    "it when the link was lost; never invents a run",
    ("post", "/invoices/{id}/send-payment-reminder"): "at most one reminder per invoice per "
    "day: a retry the same day answers 200 and sends nothing",
    ("get", "/list-prices"): "no archived marker in the answer (Sequence's shape has none); "
    "`includeArchived` shows archived ones",
    ("put", "/discounts/{id}"): "a discount stays on its own schedule (moving it is a 400)",
    ("delete", "/discounts/{id}"): "a soft delete: issued invoices keep what they say",
    ("post", "/prices"): "PER_EVENT prices are invoiced daily, each event rounded on its own "
    "(Sequence keeps them on a separate statement)",
    ("post", "/usage-metrics"): "CUSTOM metrics take Tally's safe expression language "
    "(`expression`, `parameters`) instead of SQL run by Sequence",
    ("get", "/invoices/summary"): "`sortBy` is taken and cannot change totals",
}

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _served(app: FastAPI) -> tuple[set[tuple[str, str]], list[tuple[str, str, str]]]:
    """Sequence's operations the app serves, and the app's other /api operations (additions)."""
    served: set[tuple[str, str]] = set()
    additions = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            found = template_operation(method, path)
            if found is not None:
                served.add((found.method, found.path))
            elif path.startswith("/api/"):
                additions.append((method, path, operation.get("summary", "")))
    return served, sorted(additions, key=lambda row: (row[1], HTTP_METHODS.index(row[0])))


def table(app: FastAPI) -> str:
    served, additions = _served(app)
    operations = sorted(
        (
            (method, path)
            for path, ops in spec()["paths"].items()
            for method in ops
            if method in HTTP_METHODS
        ),
        key=lambda op: (op[1], HTTP_METHODS.index(op[0])),
    )
    count = sum(op in served for op in operations)
    lines = [
        f"Tally serves {count} of the {len(operations)} operations of Sequence's schema "
        "(2024-07-30), under `/api`.",
        "",
        "| Sequence operation | Tally | Differs on purpose |",
        "|---|---|---|",
    ]
    for method, path in operations:
        status = "served" if (method, path) in served else f"not yet: {NOT_SERVED[method, path]}"
        lines.append(
            f"| `{method.upper()} {path}` | {status} | {DIFFERENCES.get((method, path), '')} |"
        )
    lines += ["", "Tally's additions (not in Sequence's schema):", ""]
    lines += ["| Operation | What it does |", "|---|---|"]
    lines += [f"| `{method.upper()} {path}` | {summary} |" for method, path, summary in additions]
    return "\n".join(lines)


def readme_section(text: str) -> str:
    match = SECTION.search(text)
    return match.group(1) if match else ""


def main() -> None:
    app = create_app(Settings(database_url="sqlite://", billing_scheduler=False))
    generated = table(app)
    if "--write" not in sys.argv:
        print(generated)
        return
    text = README.read_text()
    assert SECTION.search(text), f"README.md has no {START} ... {END} section"
    README.write_text(SECTION.sub(lambda _: f"{START}\n{generated}\n{END}", text))


if __name__ == "__main__":
    main()
