"""Every operation of Sequence's published schema is served, except the ones named below.

A gap not named in NOT_SERVED fails by name, and so does a name that is served: the list only
shrinks as operations land.
"""

from fastapi import FastAPI

from tests.support.sequence_schema import spec, template_operation

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}
PAYMENTS_ISSUE = "payments issue (19)"
QUOTES = "quotes: a later issue"

# Sequence's operations (method, path without /api) Tally does not serve yet, with why.
NOT_SERVED = {
    # Payment settings and Stripe collection settings come with the payments issue.
    ("get", "/payments/settings"): PAYMENTS_ISSUE,
    ("put", "/payments/settings/{id}"): PAYMENTS_ISSUE,
    ("post", "/payments/settings/billing-schedules"): PAYMENTS_ISSUE,
    ("get", "/payments/settings/billing-schedules/for-billing-schedule/{id}"): PAYMENTS_ISSUE,
    ("get", "/payments/settings/billing-schedules/{id}"): PAYMENTS_ISSUE,
    ("put", "/payments/settings/billing-schedules/{id}"): PAYMENTS_ISSUE,
    ("delete", "/payments/settings/billing-schedules/{id}"): PAYMENTS_ISSUE,
    ("post", "/payments/settings/customers"): PAYMENTS_ISSUE,
    ("get", "/payments/settings/customers/{id}"): PAYMENTS_ISSUE,
    ("put", "/payments/settings/customers/{id}"): PAYMENTS_ISSUE,
    ("delete", "/payments/settings/customers/{id}"): PAYMENTS_ISSUE,
    ("post", "/payments/settings/invoices"): PAYMENTS_ISSUE,
    ("get", "/payments/settings/invoices/for-invoice/{id}"): PAYMENTS_ISSUE,
    ("get", "/payments/settings/invoices/{id}"): PAYMENTS_ISSUE,
    ("put", "/payments/settings/invoices/{id}"): PAYMENTS_ISSUE,
    ("delete", "/payments/settings/invoices/{id}"): PAYMENTS_ISSUE,
    ("get", "/stripe/collections/settings"): PAYMENTS_ISSUE,
    ("put", "/stripe/collections/settings/{id}"): PAYMENTS_ISSUE,
    # Quotes.
    ("get", "/quotes"): QUOTES,
    ("get", "/quotes/{id}/analytics"): QUOTES,
    ("get", "/quotes/{id}/download"): QUOTES,
}


def sequence_operations() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, operations in spec()["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }


def served_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Sequence's operations that the app's own OpenAPI document lists."""
    served = set()
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            operation = template_operation(method, path)
            if operation is not None:
                served.add((operation.method, operation.path))
    return served


def test_not_served_names_only_sequence_operations() -> None:
    assert set(NOT_SERVED) - sequence_operations() == set()
    assert all(reason.strip() for reason in NOT_SERVED.values())


def test_every_sequence_operation_is_served_unless_listed(app: FastAPI) -> None:
    missing = sequence_operations() - served_operations(app) - set(NOT_SERVED)
    assert sorted(missing) == [], "Sequence operations Tally does not serve and NOT_SERVED omits"


def test_not_served_holds_nothing_that_is_served(app: FastAPI) -> None:
    served_yet_listed = set(NOT_SERVED) & served_operations(app)
    assert sorted(served_yet_listed) == [], "served now: remove them from NOT_SERVED"
