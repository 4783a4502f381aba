"""Wire compatibility with Sequence's published OpenAPI schema (2024-07-30).

Every API route is either one of Sequence's operations or a listed Tally extension, and a
walk through all of them validates each real response against Sequence's schema.
"""

from fastapi import FastAPI

from tests.catalog.price_bodies import fixed, price_body
from tests.contract_walks import p_catalog, p_invoices, p_parties, p_payments
from tests.credit_notes.helpers import line_body, sent_invoice
from tests.documents.helpers import insert_credit_note
from tests.factories import customer_body, product_body, tax_rate_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup, phase, update_body
from tests.support import api_client
from tests.support.api_client import ApiClient
from tests.support.sequence_schema import (
    Operation,
    find_operation,
    response_errors,
    template_operation,
)

# Tally's additions, which Sequence's public schema does not have.
TALLY_EXTENSIONS = {
    # Uploading the files Sequence's attachmentAssetIds name (Sequence's dashboard does it).
    ("post", "/api/attachments"),
    ("get", "/api/attachments/{id}"),
    ("get", "/api/attachments/{id}/download"),
    # Tax categories: in Sequence's older API; its public one only names them by id.
    ("get", "/api/tax-categories"),
    ("post", "/api/tax-categories"),
    ("get", "/api/tax-categories/{id}"),
    ("get", "/api/tax-rates/{id}/versions"),
    ("get", "/api/tax-rates/{id}/versions/{version}"),
    ("post", "/api/usage-events/batch"),
    # Sequence's older internal API has these; its public one runs billing on its own only.
    ("post", "/api/billing/execution/accounts/self"),
    ("post", "/api/billing/execution/accounts/self/for-date/{day}"),
    # A webhook policy's delivery log.
    ("get", "/api/notifications/policies/{id}/deliveries"),
    # The customer portal: session tokens, link rotation, the merchant's portal settings.
    ("post", "/api/customers/{id}/portal-sessions"),
    ("post", "/api/customers/{id}/portal-link/rotate"),
    ("get", "/api/portal-settings"),
    ("put", "/api/portal-settings"),
    # Connecting the account's Stripe (Sequence does it through its dashboard's OAuth flow).
    ("get", "/api/payment-providers/stripe"),
    ("put", "/api/payment-providers/stripe"),
    ("delete", "/api/payment-providers/stripe"),
    # EN 16931 e-invoices (UBL 2.1 / Peppol BIS 3.0, and CII as Factur-X embeds it).
    ("get", "/api/invoices/{id}/e-invoice"),
    ("get", "/api/credit-notes/{id}/e-invoice"),
    # Payments as records: recorded by hand, refunded, the customer's balance, aging.
    ("post", "/api/invoices/{id}/payments"),
    ("get", "/api/invoices/{id}/payments"),
    ("get", "/api/payments"),
    ("get", "/api/payments/{id}"),
    ("post", "/api/payments/{id}/refund"),
    ("get", "/api/customers/{id}/balance"),
    ("get", "/api/receivables/aging"),
    # Automatic collection (dunning): an invoice's, pausing it per invoice and per customer.
    ("get", "/api/invoices/{id}/collection"),
    ("post", "/api/invoices/{id}/collection/pause"),
    ("post", "/api/invoices/{id}/collection/resume"),
    ("get", "/api/customers/{id}/collection"),
    ("post", "/api/customers/{id}/collection/pause"),
    ("post", "/api/customers/{id}/collection/resume"),
    # Analytics: the dashboard home's figures, for a team's own BI.
    ("get", "/api/analytics/mrr"),
    ("get", "/api/analytics/revenue"),
    ("get", "/api/analytics/cash"),
    ("get", "/api/analytics/receivables-aging"),
    ("get", "/api/analytics/overdue-invoices"),
    ("get", "/api/analytics/top-customers"),
    ("get", "/api/analytics/usage"),
    # Credit top-ups and auto-recharge (issue 22).
    ("post", "/api/credit-top-ups"),
    ("get", "/api/credit-top-ups"),
    ("get", "/api/credit-top-ups/{id}"),
    ("put", "/api/customers/{id}/auto-recharges/{currency}"),
    ("get", "/api/customers/{id}/auto-recharges/{currency}"),
    ("delete", "/api/customers/{id}/auto-recharges/{currency}"),
    ("get", "/api/customers/{id}/credit-recharges"),
    # Exports for a warehouse: usage events, invoices and their lines as Parquet or CSV.
    ("get", "/api/exports/usage-events"),
    ("get", "/api/exports/invoices"),
    ("get", "/api/exports/invoice-lines"),
    # Spend-control alerts: thresholds on usage, spend and credit balances, their firings.
    ("get", "/api/alerts"),
    ("post", "/api/alerts"),
    ("get", "/api/alerts/{id}"),
    ("put", "/api/alerts/{id}"),
    ("delete", "/api/alerts/{id}"),
    ("get", "/api/alerts/{id}/firings"),
    ("get", "/api/alert-status/{customerId}"),
}


def api_operations(app: FastAPI) -> set[tuple[str, str]]:
    """Every operation the app serves under /api, as its OpenAPI document lists them."""
    return {
        (method, path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }


def sequence_operations(app: FastAPI) -> set[Operation]:
    found = set()
    for method, path in api_operations(app) - TALLY_EXTENSIONS:
        operation = template_operation(method, path)
        assert operation is not None, f"{method.upper()} {path} is neither Sequence's nor listed"
        found.add(operation)
    return found


def test_every_route_is_a_sequence_operation_or_a_listed_extension(app: FastAPI) -> None:
    routes = api_operations(app)
    assert routes >= TALLY_EXTENSIONS
    # Distinct routes map to distinct Sequence operations (sequence_operations asserts each maps).
    assert len(sequence_operations(app)) == len(routes - TALLY_EXTENSIONS)


def test_every_sequence_operation_answers_in_sequence_shape(app: FastAPI, api: ApiClient) -> None:
    api_client.VALIDATED.clear()

    def ok(method: str, url: str, **kwargs: object) -> dict[str, object]:
        response = api.request(method, url, **kwargs)  # validated by the client
        assert response.status_code in (200, 201), f"{method} {url}: {response.text}"
        return dict(response.json())

    parent = ok("POST", "/api/customers", json=customer_body(legalName="Parent"))
    child = ok("POST", "/api/customers", json=customer_body(legalName="Child"))
    loner = ok("POST", "/api/customers", json=customer_body(legalName="Loner"))
    ok("GET", "/api/customers")
    ok("GET", f"/api/customers/{parent['id']}")
    ok("PUT", f"/api/customers/{child['id']}", json=customer_body(legalName="Child Ltd"))
    ok("GET", f"/api/customers/{child['id']}/aliases")

    contact = ok(
        "POST",
        f"/api/customers/{child['id']}/contacts",
        json={"name": "Ann", "email": "ann@example.com", "billingPreference": "STANDARD"},
    )
    ok("GET", f"/api/customers/{child['id']}/contacts")
    ok(
        "PUT",
        f"/api/customers/{child['id']}/contacts/{contact['id']}",
        json={"name": "Ann B", "email": "ann@example.com", "billingPreference": "NONE"},
    )
    ok("POST", f"/api/customers/{child['id']}/contacts/{contact['id']}/archive")

    alias = ok("POST", "/api/customer-aliases", json={"customerId": child["id"], "value": "c-1"})
    ok("GET", "/api/customer-aliases")
    ok("PUT", f"/api/customer-aliases/{alias['id']}", json={"label": "primary id"})
    ok("GET", "/api/customers/by-alias/c-1")
    ok("DELETE", f"/api/customer-aliases/{alias['id']}")

    organization = ok(
        "POST", "/api/customer-organizations", json={"ownerId": parent["id"], "memberIds": []}
    )
    ok(
        "POST",
        f"/api/customer-organizations/{organization['id']}/members",
        json={"customerIds": [child["id"]]},
    )
    ok(
        "PUT",
        f"/api/customer-organizations/{organization['id']}/members",
        json={"customerIds": [child["id"], loner["id"]]},
    )
    # Tally's portal extensions (not in Sequence's schema; called so the walk covers them).
    ok("POST", f"/api/customers/{parent['id']}/portal-sessions")
    ok("POST", f"/api/customers/{parent['id']}/portal-link/rotate")
    ok("GET", "/api/portal-settings")
    ok("PUT", "/api/portal-settings", json={"brandColor": "#336699"})
    ok("POST", f"/api/customers/{loner['id']}/archive")

    product = ok("POST", "/api/products", json=product_body())
    ok("GET", "/api/products")
    ok("GET", f"/api/products/{product['id']}")
    ok("PUT", f"/api/products/{product['id']}", json=product_body(name="Platform"))
    price = ok("POST", "/api/prices", json=price_body(product["id"], fixed()))
    ok("GET", "/api/prices")
    ok("GET", f"/api/prices/{price['id']}")
    ok("PUT", f"/api/prices/{price['id']}", json={"name": "Platform fee", "status": "ACTIVE"})
    ok("DELETE", f"/api/prices/{price['id']}")
    ok("POST", f"/api/products/{product['id']}/archive")

    tax_rate = ok("POST", "/api/tax-rates", json=tax_rate_body())
    ok("GET", "/api/tax-rates")
    ok("GET", f"/api/tax-rates/{tax_rate['id']}")
    ok(
        "PUT",
        f"/api/tax-rates/{tax_rate['id']}",
        json=tax_rate_body(id=tax_rate["id"], amount="0.21"),
    )
    ok("POST", f"/api/tax-rates/{tax_rate['id']}/archive")
    ok("DELETE", f"/api/tax-rates/{tax_rate['id']}")

    seat_metric = ok("POST", "/api/seat-metrics", json={"seatType": "editor", "label": "Editor"})
    ok("GET", "/api/seat-metrics")
    ok("GET", f"/api/seat-metrics/{seat_metric['id']}")
    ok("PUT", f"/api/seat-metrics/{seat_metric['id']}", json={"label": "Editor Seat"})
    seat_event = ok(
        "POST",
        "/api/seat-events",
        json={
            "customerAlias": parent["id"],
            "seatType": "editor",
            "eventTimestamp": "2024-05-02T19:00:00Z",
            "total": 3,
        },
    )
    ok("GET", "/api/seat-events")
    ok("GET", f"/api/seat-events/{seat_event['id']}")
    ok("GET", "/api/seat-balances")
    ok("DELETE", f"/api/seat-metrics/{seat_metric['id']}")

    metric_body = {
        "name": "Calls",
        "metricType": "SIMPLE",
        "eventType": "api_call",
        "aggregationType": "SUM",
        "aggregationProperty": "count",
        "unit": "calls",
    }
    usage_metric = ok("POST", "/api/usage-metrics", json=metric_body)
    ok("GET", "/api/usage-metrics")
    ok("GET", f"/api/usage-metrics/{usage_metric['id']}")
    ok("PUT", f"/api/usage-metrics/{usage_metric['id']}", json={**metric_body, "name": "API calls"})
    usage_event = {
        "customerAlias": parent["id"],
        "eventType": "api_call",
        "eventTimestamp": "2024-05-02T19:00:00Z",
        "customerEventId": "call-1",
        "eventProperties": {"count": 2.5},
    }
    ok("POST", "/api/usage-events", json=usage_event)
    ok("GET", "/api/usage-events")
    calculation = ok(
        "GET",
        f"/api/usage-metrics/{usage_metric['id']}/calculate",
        params={
            "customerAliases": parent["id"],
            "periodStart": "2024-05-01",
            "periodEnd": "2024-05-31",
        },
    )
    assert (calculation["eventCount"], calculation["value"]) == (1, 2.5)
    ok("DELETE", f"/api/usage-metrics/{usage_metric['id']}")

    plan = Setup(api)  # a customer and a price to schedule
    discount = {"type": "PERCENTAGE", "amount": 8, "message": "8%", "separateLineItem": True}
    terms = phase([plan.price_id], discounts=[discount], minimums=[{"amount": 100}])
    schedule = ok("POST", "/api/billing-schedules", json=plan.body(isDraft=True, phases=[terms]))
    ok("GET", "/api/billing-schedules")
    ok("GET", f"/api/billing-schedules/{schedule['id']}")
    ok("PUT", f"/api/billing-schedules/{schedule['id']}", json=update_body(schedule, memo="M"))
    ok("PUT", f"/api/billing-schedules/{schedule['id']}/activate")
    ok("POST", f"/api/billing-schedules/{schedule['id']}/archive")

    account_id = ok("GET", "/api/sequence-accounts")["items"][0]["id"]  # type: ignore[index]
    ok("GET", f"/api/sequence-accounts/{account_id}")
    ok("PUT", f"/api/sequence-accounts/{account_id}", json={"companyName": "Renamed"})

    # Invoices come from the billing engine; written here directly, as it writes them.
    invoice_id = insert_invoice(app.state.db, account_id, parent)
    ok("GET", "/api/invoices")
    ok("GET", f"/api/invoices/{invoice_id}")
    ok("GET", f"/api/invoices/{invoice_id}/line-items")
    ok("GET", f"/api/invoices/{invoice_id}/line-item-groups")

    # The invoice lifecycle: a one-off invoice, its lines and groups, every transition.
    one_off_body = {"currency": "GBP", "customerId": parent["id"]}
    one_off_url = f"/api/invoices/{ok('POST', '/api/invoices', json=one_off_body)['id']}"
    manual_line = {"title": "Setup", "quantity": "1", "rate": "50.00", "taxRate": "0.2"}
    services = ok("POST", f"{one_off_url}/line-item-groups", json={"title": "Services"})
    ok("PUT", f"{one_off_url}/line-item-groups/{services['id']}", json={"title": "S", "index": 0})
    setup = ok("POST", f"{one_off_url}/line-items", json={**manual_line, "groupId": services["id"]})
    ok("PUT", f"{one_off_url}/line-items/{setup['id']}", json={**manual_line, "quantity": "2"})
    spare_line = ok("POST", f"{one_off_url}/line-items", json=manual_line)
    ok("DELETE", f"{one_off_url}/line-items/{spare_line['id']}")
    spare_group = ok("POST", f"{one_off_url}/line-item-groups", json={"title": "Spare"})
    ok("DELETE", f"{one_off_url}/line-item-groups/{spare_group['id']}")
    ok("POST", f"{one_off_url}/finalize")
    ok("POST", f"{one_off_url}/send")
    ok("PUT", f"{one_off_url}/payment-status", json={"paymentStatus": "PARTIALLY_PAID"})
    ok("PATCH", f"{one_off_url}/sent", json={"memo": "Thanks", "dueDate": "2030-01-31"})
    ok("GET", "/api/invoices/summary", params={"invoiceCurrency": "GBP"})
    for action in ("finalize-and-send", "mark-as-sent", "void"):
        ok("POST", f"/api/invoices/{ok('POST', '/api/invoices', json=one_off_body)['id']}/{action}")
    upcoming = insert_invoice(app.state.db, account_id, parent, status="IN_PROGRESS")
    ok("POST", f"/api/invoices/{upcoming}/draft")
    ok("DELETE", f"/api/invoices/{upcoming}")

    # Credit notes, against a SENT invoice (sent by the invoice lifecycle; written here).
    sent_id = sent_invoice(app.state.db, account_id, parent)
    note_body = {"invoiceId": sent_id, "customerId": parent["id"], "currency": "GBP"}
    credit = ok("POST", "/api/credit-notes", json={**note_body, "memo": "Outage"})
    credit_url = f"/api/credit-notes/{credit['id']}"
    ok("GET", "/api/credit-notes")
    ok("GET", credit_url)
    ok("PUT", credit_url, json={"memo": "Outage in May", "purchaseOrderNumber": "PO-7"})
    group = ok("POST", f"{credit_url}/line-item-groups", json={"title": "Platform"})
    ok("GET", f"{credit_url}/line-item-groups")
    ok("PUT", f"{credit_url}/line-item-groups/{group['id']}", json={"title": "Platform fees"})
    spare = ok("POST", f"{credit_url}/line-item-groups", json={"title": "Spare"})
    ok("DELETE", f"{credit_url}/line-item-groups/{spare['id']}")
    line = ok("POST", f"{credit_url}/line-items", json=line_body(groupId=group["id"]))
    ok("GET", f"{credit_url}/line-items")
    ok("PUT", f"{credit_url}/line-items/{line['id']}", json=line_body(rate="20.00"))
    extra = ok("POST", f"{credit_url}/line-items", json=line_body(title="Extra"))
    ok("DELETE", f"{credit_url}/line-items/{extra['id']}")
    ok("POST", f"{credit_url}/finalize")
    credit = ok("POST", f"{credit_url}/send")
    sent = ok("GET", f"/api/invoices/{sent_id}")
    application = {
        "creditNoteId": credit["id"],
        "invoiceId": sent_id,
        "amount": 12.5,
        "currency": "GBP",
        "creditNoteBalanceVersion": credit["balanceVersion"],
        "invoiceBalanceVersion": sent["balanceVersion"],
    }
    ok("POST", "/api/credit-note-applications", json=application)
    for action in ("mark-as-sent", "void", "finalize-and-send"):
        other_credit = ok("POST", "/api/credit-notes", json=note_body)
        ok("POST", f"/api/credit-notes/{other_credit['id']}/line-items", json=line_body())
        ok("POST", f"/api/credit-notes/{other_credit['id']}/{action}")
    ok("DELETE", f"/api/credit-notes/{ok('POST', '/api/credit-notes', json=note_body)['id']}")

    # Credit grants: a prepaid grant invoiced as a draft, a customer's balances and grants.
    credit_grant = ok(
        "POST",
        "/api/credits",
        json={
            "sequenceAccountId": account_id,
            "customerId": parent["id"],
            "name": "Prepaid credits",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 100.5,
            "costOfCredit": 90,
            "effectiveDate": "2024-01-01",
            "expiryDate": "2030-12-31",
            "createInvoice": True,
        },
    )
    ok("GET", "/api/credits")
    ok("GET", f"/api/credits/{credit_grant['id']}")
    ok("GET", f"/api/credits/{parent['id']}/balances")
    ok("GET", f"/api/credits/{parent['id']}/grants")
    ok("DELETE", f"/api/credits/{credit_grant['id']}")

    # Documents: PDFs, a 200 without a JSON body in Sequence's schema.
    note_id = insert_credit_note(app.state.db, account_id, parent, invoice_id)
    for url in (f"/api/invoices/{invoice_id}/download", f"/api/credit-notes/{note_id}/download"):
        document = api.get(url)
        assert document.status_code == 200, f"GET {url}: {document.text}"
        assert document.headers["content-type"] == "application/pdf"
        assert document.content.startswith(b"%PDF-")
        operation = find_operation("GET", url)
        assert operation is not None
        assert response_errors(operation, 200, None) == []
        api_client.VALIDATED.add((operation.method, operation.path))

    # Notification policies (webhooks and emails); the URLs are never called here.
    hooks = ok(
        "POST",
        "/api/notifications/policies",
        json={"name": "Hooks", "recipients": ["http://127.0.0.1:9/h"], "channel": "WEBHOOK"},
    )
    mails = ok(
        "POST",
        "/api/notifications/policies",
        json={
            "name": "Finance",
            "notificationTypes": ["INVOICE_ISSUED", "CUSTOMER_CREATED"],
            "recipients": ["finance@example.com"],
            "channel": "EMAIL",
        },
    )
    ok("GET", "/api/notifications/policies")
    ok("GET", "/api/notifications/policies", params={"notificationType": "CUSTOMER_CREATED"})
    ok("GET", f"/api/notifications/policies/{mails['id']}")
    mails_url = f"/api/notifications/policies/{mails['id']}"
    ok("POST", f"{mails_url}/notification-types", json={"notificationTypes": ["INVOICE_CREATED"]})
    ok("DELETE", f"{mails_url}/notification-types/CUSTOMER_CREATED")
    ok("POST", f"{mails_url}/recipients", json={"recipients": ["ops@example.com"]})
    ok("DELETE", f"{mails_url}/recipients/ops@example.com")
    ok("GET", f"/api/notifications/policies/{hooks['id']}/deliveries")
    ok("DELETE", f"/api/notifications/policies/{hooks['id']}")

    # The activity log of everything above.
    logs = ok("GET", "/api/activity-logs", params={"limit": 5})
    ok("GET", f"/api/activity-logs/{logs['items'][0]['id']}")  # type: ignore[index]

    p_parties.walk(ok, api, app)
    p_invoices.walk(ok, api, app, account_id, parent)
    p_catalog.walk(ok, api)
    p_payments.walk(ok, api, app, account_id)
    validated = {Operation(method, path) for method, path in api_client.VALIDATED}
    assert sequence_operations(app) <= validated
