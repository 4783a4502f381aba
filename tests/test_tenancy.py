"""Another account's objects are invisible: every operation that names an id answers 404 to
a stranger and changes nothing."""

import re

from fastapi import FastAPI

from tally.dashboard.users import create_user
from tally.db import new_id
from tests.attachments.helpers import upload
from tests.catalog.price_bodies import fixed, list_price_body, price_body
from tests.credit_notes.helpers import add_line, line_body, new_note, sent_invoice
from tests.documents.helpers import insert_credit_note
from tests.factories import customer_body, product_body, tax_rate_body
from tests.invoices.helpers import insert_invoice
from tests.schedules.helpers import Setup, phase, update_body
from tests.support.api_client import ApiClient
from tests.test_contract import api_operations


def _party_attempts(
    app: FastAPI, api: ApiClient, account_id: str, customer_id: str, schedule_url: str
) -> dict[tuple[str, str], tuple[str, object]]:
    """Tax registrations, users and schedule duplicates (tests/contract_walks/p_parties.py)."""
    registration = {"customerId": customer_id, "taxIdentifier": "GB1", "country": "GB"}
    registration_url = f"/api/tax-registrations/{api.post(TAX_IDS, json=registration).json()['id']}"
    with app.state.db.transaction() as session:
        user_url = (
            f"/api/users/{create_user(session, account_id, f'{new_id()}@example.com', 'x' * 12).id}"
        )
    return {
        ("get", "/api/tax-registrations/{id}"): (registration_url, None),
        ("put", "/api/tax-registrations/{id}"): (registration_url, registration),
        ("delete", "/api/tax-registrations/{id}"): (registration_url, None),
        ("get", "/api/tax-registrations/for-customer/{id}"): (
            f"{TAX_IDS}/for-customer/{customer_id}",
            None,
        ),
        ("get", "/api/tax-registrations/for-merchant/{id}"): (
            f"{TAX_IDS}/for-merchant/{account_id}",
            None,
        ),
        ("get", "/api/users/{id}"): (user_url, None),
        ("delete", "/api/users/{id}"): (user_url, None),
        ("post", "/api/billing-schedules/{id}/duplicate"): (
            f"{schedule_url}/duplicate",
            {"customerId": customer_id},
        ),
    }


def _alert_attempts(
    api: ApiClient, customer_id: str, metric_id: str
) -> dict[tuple[str, str], tuple[str, object]]:
    """An alert: read, changed, archived, its firings; the customer's alert status."""
    body = {"name": "Cap", "type": "USAGE", "customerId": customer_id, "metricId": metric_id}
    alert = api.post("/api/alerts", json={**body, "threshold": "10"}).json()
    url = f"/api/alerts/{alert['id']}"
    return {
        ("get", "/api/alerts/{id}"): (url, None),
        ("put", "/api/alerts/{id}"): (url, {**body, "threshold": "1"}),
        ("delete", "/api/alerts/{id}"): (url, None),
        ("get", "/api/alerts/{id}/firings"): (f"{url}/firings", None),
        ("get", "/api/alert-status/{customerId}"): (f"/api/alert-status/{customer_id}", None),
    }


def _payment_settings_attempts(
    api: ApiClient, customer_id: str, schedule_id: str, invoice_id: str
) -> dict[tuple[str, str], tuple[str, object]]:
    """The account's payment settings and those of a customer, a schedule and an invoice."""
    made = {
        "customers": {"customerId": customer_id},
        "billing-schedules": {"billingScheduleId": schedule_id},
        "invoices": {"invoiceId": invoice_id},
    }
    attempts: dict[tuple[str, str], tuple[str, object]] = {}
    for what, body in made.items():
        url = f"{PAYMENTS}/{what}"
        settings = api.post(url, json={**body, "paymentProvider": "STRIPE"}).json()
        one = f"{url}/{settings['id']}"
        attempts[("get", f"{url}/{{id}}")] = (one, None)
        attempts[("put", f"{url}/{{id}}")] = (one, {"paymentProvider": "NONE"})
        attempts[("delete", f"{url}/{{id}}")] = (one, None)
    account = api.get(PAYMENTS).json()["id"]
    stripe = api.get("/api/stripe/collections/settings").json()["id"]
    notifications = {"merchantNotifications": "DO_NOT_SEND_NOTIFICATIONS"}
    return {
        **attempts,
        ("get", f"{PAYMENTS}/billing-schedules/for-billing-schedule/{{id}}"): (
            f"{PAYMENTS}/billing-schedules/for-billing-schedule/{schedule_id}",
            None,
        ),
        ("get", f"{PAYMENTS}/invoices/for-invoice/{{id}}"): (
            f"{PAYMENTS}/invoices/for-invoice/{invoice_id}",
            None,
        ),
        ("put", f"{PAYMENTS}/{{id}}"): (
            f"{PAYMENTS}/{account}",
            {
                "failureNotifications": {
                    **notifications,
                    "customerNotifications": "SEND_NOTIFICATIONS",
                }
            },
        ),
        ("put", "/api/stripe/collections/settings/{id}"): (
            f"/api/stripe/collections/settings/{stripe}",
            {"enableAutomaticPayments": True},
        ),
    }


TAX_IDS = "/api/tax-registrations"
PAYMENTS = "/api/payments/settings"


def test_every_id_in_a_path_is_scoped_to_the_caller(
    app: FastAPI, api: ApiClient, other_api: ApiClient
) -> None:
    owner = api.post("/api/customers", json=customer_body(legalName="Owner")).json()
    customer = api.post("/api/customers", json=customer_body(customerAliases=["mine"])).json()
    contact_id = customer["contacts"][0]["id"]
    alias_id = api.get(f"/api/customers/{customer['id']}/aliases").json()["items"][0]["id"]
    organization = api.post(
        "/api/customer-organizations", json={"ownerId": owner["id"], "memberIds": []}
    ).json()
    product = api.post("/api/products", json=product_body()).json()
    attachment = upload(api)
    tax_category = api.post("/api/tax-categories", json={"name": "SaaS"}).json()
    price = api.post("/api/prices", json=price_body(product["id"], fixed())).json()
    tax_rate = api.post("/api/tax-rates", json=tax_rate_body()).json()
    seat_metric = api.post("/api/seat-metrics", json={"seatType": "editor", "label": "E"}).json()
    seat_event = api.post(
        "/api/seat-events",
        json={
            "customerAlias": customer["id"],
            "seatType": "editor",
            "eventTimestamp": "2024-05-02T19:00:00Z",
            "total": 2,
        },
    ).json()
    metric_body = {"name": "Calls", "eventType": "call", "aggregationType": "COUNT"}
    usage_metric = api.post("/api/usage-metrics", json=metric_body).json()
    schedule = Setup(api).create()
    setup = Setup(api)
    discount = {"type": "NOMINAL", "amount": 5, "message": "Off", "separateLineItem": False}
    discounted = setup.create(phases=[phase([setup.price_id], discounts=[discount])])
    discount_url = f"/api/discounts/{discounted['phases'][0]['discounts'][0]['id']}"
    discount_update = {
        "billingScheduleId": discounted["id"],
        "priceIds": [],
        "separateLineItem": True,
        "amount": 50,
        "discountCalculationType": "NOMINAL",
        "message": "Hijacked",
    }
    list_price = api.post("/api/list-prices", json=list_price_body(product["id"], fixed())).json()
    list_price_url = f"/api/list-prices/{list_price['id']}"
    schedule_url = f"/api/billing-schedules/{schedule['id']}"
    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    invoice_id = insert_invoice(app.state.db, account_id, customer)
    invoice_url = f"/api/invoices/{invoice_id}"
    invoice_detail = api.get(invoice_url).json()
    render_settings_id = api.get("/api/invoices/render-settings").json()["id"]
    invoice_line_url = f"{invoice_url}/line-items/{invoice_detail['lineItems'][0]['id']}"
    invoice_group_url = (
        f"{invoice_url}/line-item-groups/{invoice_detail['lineItemGroups'][0]['id']}"
    )
    invoice_line = {"title": "Hijacked", "quantity": "1", "rate": "1", "taxRate": "0"}
    credit_note_id = insert_credit_note(app.state.db, account_id, customer, None)
    sent_invoice_id = sent_invoice(app.state.db, account_id, customer)
    draft_note = new_note(api, sent_invoice_id, customer["id"])
    note_url = f"/api/credit-notes/{draft_note['id']}"
    payment_url = (
        "/api/payments/"
        + (
            api.post(f"/api/invoices/{sent_invoice_id}/payments", json={"amount": "10.00"}).json()[
                "id"
            ]
        )
    )
    note_line = add_line(api, draft_note["id"])
    note_group = api.post(f"{note_url}/line-item-groups", json={"title": "G"}).json()
    contact = {"name": "X", "email": "x@example.com", "billingPreference": "NONE"}
    members = {"customerIds": [customer["id"]]}
    policy = api.post(
        "/api/notifications/policies",
        json={"name": "Hooks", "recipients": ["a@example.com"], "channel": "EMAIL"},
    ).json()
    policy_url = f"/api/notifications/policies/{policy['id']}"
    credit_grant = api.post(
        "/api/credits",
        json={
            "customerId": customer["id"],
            "name": "Credits",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 10,
        },
    ).json()
    credit_url = f"/api/credits/{credit_grant['id']}"
    top_up = api.post(
        "/api/credit-top-ups",
        json={"customerId": customer["id"], "currency": "GBP", "amount": 5, "cost": 5},
    ).json()
    auto_recharge_url = f"/api/customers/{customer['id']}/auto-recharges/GBP"
    recharge_body = {"belowBalance": 1, "rechargeAmount": 10}
    assert api.put(auto_recharge_url, json=recharge_body).status_code == 200
    renamed = {**customer_body(), "legalName": "Renamed for the activity log"}
    assert api.put(f"/api/customers/{owner['id']}", json=renamed).status_code == 200
    activity_log_url = (
        f"/api/activity-logs/{api.get('/api/activity-logs').json()['items'][0]['id']}"
    )

    attempts = {
        ("get", "/api/customers/{id}"): (f"/api/customers/{customer['id']}", None),
        ("put", "/api/customers/{id}"): (f"/api/customers/{customer['id']}", customer_body()),
        ("post", "/api/customers/{id}/archive"): (f"/api/customers/{customer['id']}/archive", None),
        ("get", "/api/customers/{id}/aliases"): (f"/api/customers/{customer['id']}/aliases", None),
        ("get", "/api/customers/by-alias/{alias}"): ("/api/customers/by-alias/mine", None),
        ("post", "/api/customers/{id}/portal-sessions"): (
            f"/api/customers/{customer['id']}/portal-sessions",
            None,
        ),
        ("post", "/api/customers/{id}/portal-link/rotate"): (
            f"/api/customers/{customer['id']}/portal-link/rotate",
            None,
        ),
        ("get", "/api/customers/{customer}/contacts"): (
            f"/api/customers/{customer['id']}/contacts",
            None,
        ),
        ("post", "/api/customers/{customer}/contacts"): (
            f"/api/customers/{customer['id']}/contacts",
            contact,
        ),
        ("put", "/api/customers/{customer}/contacts/{id}"): (
            f"/api/customers/{customer['id']}/contacts/{contact_id}",
            contact,
        ),
        ("post", "/api/customers/{customer}/contacts/{id}/archive"): (
            f"/api/customers/{customer['id']}/contacts/{contact_id}/archive",
            None,
        ),
        ("put", "/api/customer-aliases/{id}"): (
            f"/api/customer-aliases/{alias_id}",
            {"label": "x"},
        ),
        ("delete", "/api/customer-aliases/{id}"): (f"/api/customer-aliases/{alias_id}", None),
        ("post", "/api/customer-organizations/{id}/members"): (
            f"/api/customer-organizations/{organization['id']}/members",
            members,
        ),
        ("put", "/api/customer-organizations/{id}/members"): (
            f"/api/customer-organizations/{organization['id']}/members",
            members,
        ),
        ("get", "/api/tax-categories/{id}"): (f"/api/tax-categories/{tax_category['id']}", None),
        ("get", "/api/attachments/{id}"): (f"/api/attachments/{attachment['id']}", None),
        ("get", "/api/attachments/{id}/download"): (
            f"/api/attachments/{attachment['id']}/download",
            None,
        ),
        ("get", "/api/products/{id}"): (f"/api/products/{product['id']}", None),
        ("put", "/api/products/{id}"): (f"/api/products/{product['id']}", product_body()),
        ("post", "/api/products/{id}/archive"): (f"/api/products/{product['id']}/archive", None),
        ("get", "/api/prices/{id}"): (f"/api/prices/{price['id']}", None),
        ("put", "/api/prices/{id}"): (f"/api/prices/{price['id']}", {"name": "Hijacked"}),
        ("delete", "/api/prices/{id}"): (f"/api/prices/{price['id']}", None),
        ("get", "/api/list-prices/{id}"): (list_price_url, None),
        ("put", "/api/list-prices/{id}"): (
            list_price_url,
            list_price_body(product["id"], fixed(), name="Hijacked"),
        ),
        ("post", "/api/list-prices/{id}/archive"): (f"{list_price_url}/archive", None),
        ("get", "/api/discounts/{id}"): (discount_url, None),
        ("put", "/api/discounts/{id}"): (discount_url, discount_update),
        ("delete", "/api/discounts/{id}"): (discount_url, None),
        ("get", "/api/tax-rates/{id}"): (f"/api/tax-rates/{tax_rate['id']}", None),
        ("put", "/api/tax-rates/{id}"): (
            f"/api/tax-rates/{tax_rate['id']}",
            tax_rate_body(id=tax_rate["id"]),
        ),
        ("delete", "/api/tax-rates/{id}"): (f"/api/tax-rates/{tax_rate['id']}", None),
        ("post", "/api/tax-rates/{id}/archive"): (f"/api/tax-rates/{tax_rate['id']}/archive", None),
        ("get", "/api/tax-rates/{id}/versions"): (
            f"/api/tax-rates/{tax_rate['id']}/versions",
            None,
        ),
        ("get", "/api/tax-rates/{id}/versions/{version}"): (
            f"/api/tax-rates/{tax_rate['id']}/versions/0",
            None,
        ),
        ("get", "/api/seat-metrics/{id}"): (f"/api/seat-metrics/{seat_metric['id']}", None),
        ("put", "/api/seat-metrics/{id}"): (
            f"/api/seat-metrics/{seat_metric['id']}",
            {"label": "Hijacked"},
        ),
        ("delete", "/api/seat-metrics/{id}"): (f"/api/seat-metrics/{seat_metric['id']}", None),
        ("get", "/api/seat-events/{id}"): (f"/api/seat-events/{seat_event['id']}", None),
        ("get", "/api/usage-metrics/{id}"): (f"/api/usage-metrics/{usage_metric['id']}", None),
        ("put", "/api/usage-metrics/{id}"): (
            f"/api/usage-metrics/{usage_metric['id']}",
            {**metric_body, "name": "Hijacked"},
        ),
        ("delete", "/api/usage-metrics/{id}"): (f"/api/usage-metrics/{usage_metric['id']}", None),
        ("get", "/api/usage-metrics/{usageMetricId}/calculate"): (
            f"/api/usage-metrics/{usage_metric['id']}/calculate"
            f"?customerAliases={customer['id']}&periodStart=2024-05-01&periodEnd=2024-05-31",
            None,
        ),
        ("get", "/api/billing-schedules/{id}"): (schedule_url, None),
        ("put", "/api/billing-schedules/{id}"): (schedule_url, update_body(schedule)),
        ("put", "/api/billing-schedules/{id}/activate"): (f"{schedule_url}/activate", None),
        ("post", "/api/billing-schedules/{id}/archive"): (f"{schedule_url}/archive", None),
        ("get", "/api/invoices/{id}"): (invoice_url, None),
        ("get", "/api/invoices/{invoice}/line-items"): (f"{invoice_url}/line-items", None),
        ("get", "/api/invoices/{invoice}/line-item-groups"): (
            f"{invoice_url}/line-item-groups",
            None,
        ),
        ("delete", "/api/invoices/{id}"): (invoice_url, None),
        ("post", "/api/invoices/{id}/finalize"): (f"{invoice_url}/finalize", None),
        ("get", "/api/invoices/{id}/collection"): (f"{invoice_url}/collection", None),
        ("post", "/api/invoices/{id}/collection/pause"): (f"{invoice_url}/collection/pause", None),
        ("post", "/api/invoices/{id}/collection/resume"): (
            f"{invoice_url}/collection/resume",
            None,
        ),
        ("get", "/api/customers/{id}/collection"): (
            f"/api/customers/{customer['id']}/collection",
            None,
        ),
        ("post", "/api/customers/{id}/collection/pause"): (
            f"/api/customers/{customer['id']}/collection/pause",
            None,
        ),
        ("post", "/api/customers/{id}/collection/resume"): (
            f"/api/customers/{customer['id']}/collection/resume",
            None,
        ),
        ("post", "/api/invoices/{id}/send"): (f"{invoice_url}/send", None),
        ("post", "/api/invoices/{id}/finalize-and-send"): (
            f"{invoice_url}/finalize-and-send",
            None,
        ),
        ("post", "/api/invoices/{id}/mark-as-sent"): (f"{invoice_url}/mark-as-sent", None),
        ("post", "/api/invoices/{id}/void"): (f"{invoice_url}/void", None),
        ("post", "/api/invoices/{id}/draft"): (f"{invoice_url}/draft", None),
        ("put", "/api/invoices/{id}/payment-status"): (
            f"{invoice_url}/payment-status",
            {"paymentStatus": "PAID"},
        ),
        ("patch", "/api/invoices/{id}/sent"): (f"{invoice_url}/sent", {"memo": "Hijacked"}),
        ("put", "/api/invoices/{id}"): (invoice_url, {"memo": "Hijacked"}),
        ("patch", "/api/invoices/{id}"): (invoice_url, {"memo": "Hijacked"}),
        ("post", "/api/invoices/{id}/send-payment-reminder"): (
            f"{invoice_url}/send-payment-reminder",
            None,
        ),
        ("get", "/api/invoices/{id}/currency-conversions"): (
            f"{invoice_url}/currency-conversions",
            None,
        ),
        ("put", "/api/invoices/render-settings/{id}"): (
            f"/api/invoices/render-settings/{render_settings_id}",
            {"paymentLinkDisplay": "HIDE_PAYMENT_LINK"},
        ),
        ("post", "/api/invoices/{invoice}/line-items"): (f"{invoice_url}/line-items", invoice_line),
        ("put", "/api/invoices/{invoice}/line-items/{id}"): (invoice_line_url, invoice_line),
        ("delete", "/api/invoices/{invoice}/line-items/{id}"): (invoice_line_url, None),
        ("post", "/api/invoices/{invoice}/line-item-groups"): (
            f"{invoice_url}/line-item-groups",
            {"title": "Hijacked"},
        ),
        ("put", "/api/invoices/{invoice}/line-item-groups/{id}"): (
            invoice_group_url,
            {"title": "Hijacked"},
        ),
        ("delete", "/api/invoices/{invoice}/line-item-groups/{id}"): (invoice_group_url, None),
        ("get", "/api/invoices/{id}/download"): (f"{invoice_url}/download", None),
        ("get", "/api/invoices/{id}/e-invoice"): (f"{invoice_url}/e-invoice?syntax=ubl", None),
        ("get", "/api/credit-notes/{id}/e-invoice"): (
            f"/api/credit-notes/{credit_note_id}/e-invoice?syntax=cii",
            None,
        ),
        ("get", "/api/credit-notes/{id}/download"): (
            f"/api/credit-notes/{credit_note_id}/download",
            None,
        ),
        ("get", "/api/notifications/policies/{id}"): (policy_url, None),
        ("get", "/api/activity-logs/{id}"): (activity_log_url, None),
        ("delete", "/api/notifications/policies/{id}"): (policy_url, None),
        ("post", "/api/notifications/policies/{id}/notification-types"): (
            f"{policy_url}/notification-types",
            {"notificationTypes": ["CUSTOMER_CREATED"]},
        ),
        ("delete", "/api/notifications/policies/{id}/notification-types/{type}"): (
            f"{policy_url}/notification-types/CUSTOMER_CREATED",
            None,
        ),
        ("post", "/api/notifications/policies/{id}/recipients"): (
            f"{policy_url}/recipients",
            {"recipients": ["thief@example.com"]},
        ),
        ("delete", "/api/notifications/policies/{id}/recipients/{recipient}"): (
            f"{policy_url}/recipients/a@example.com",
            None,
        ),
        ("get", "/api/notifications/policies/{id}/deliveries"): (
            f"{policy_url}/deliveries",
            None,
        ),
        ("get", "/api/credit-notes/{id}"): (note_url, None),
        ("put", "/api/credit-notes/{id}"): (note_url, {"memo": "Hijacked"}),
        ("delete", "/api/credit-notes/{id}"): (note_url, None),
        ("post", "/api/credit-notes/{id}/finalize"): (f"{note_url}/finalize", None),
        ("post", "/api/credit-notes/{id}/send"): (f"{note_url}/send", None),
        ("post", "/api/credit-notes/{id}/finalize-and-send"): (
            f"{note_url}/finalize-and-send",
            None,
        ),
        ("post", "/api/credit-notes/{id}/mark-as-sent"): (f"{note_url}/mark-as-sent", None),
        ("post", "/api/credit-notes/{id}/void"): (f"{note_url}/void", None),
        ("get", "/api/credit-notes/{creditnote}/line-items"): (f"{note_url}/line-items", None),
        ("post", "/api/credit-notes/{creditnote}/line-items"): (
            f"{note_url}/line-items",
            line_body(),
        ),
        ("put", "/api/credit-notes/{creditnote}/line-items/{id}"): (
            f"{note_url}/line-items/{note_line['id']}",
            line_body(title="Hijacked"),
        ),
        ("delete", "/api/credit-notes/{creditnote}/line-items/{id}"): (
            f"{note_url}/line-items/{note_line['id']}",
            None,
        ),
        ("get", "/api/credit-notes/{creditnote}/line-item-groups"): (
            f"{note_url}/line-item-groups",
            None,
        ),
        ("post", "/api/credit-notes/{creditnote}/line-item-groups"): (
            f"{note_url}/line-item-groups",
            {"title": "Hijacked"},
        ),
        ("put", "/api/credit-notes/{creditnote}/line-item-groups/{id}"): (
            f"{note_url}/line-item-groups/{note_group['id']}",
            {"title": "Hijacked"},
        ),
        ("delete", "/api/credit-notes/{creditnote}/line-item-groups/{id}"): (
            f"{note_url}/line-item-groups/{note_group['id']}",
            None,
        ),
        ("get", "/api/credits/{id}"): (credit_url, None),
        ("delete", "/api/credits/{id}"): (credit_url, None),
        ("get", "/api/credits/{customer}/balances"): (
            f"/api/credits/{customer['id']}/balances",
            None,
        ),
        ("get", "/api/credits/{customer}/grants"): (f"/api/credits/{customer['id']}/grants", None),
        ("get", "/api/credit-top-ups/{id}"): (f"/api/credit-top-ups/{top_up['id']}", None),
        ("put", "/api/customers/{id}/auto-recharges/{currency}"): (
            auto_recharge_url,
            recharge_body,
        ),
        ("get", "/api/customers/{id}/auto-recharges/{currency}"): (auto_recharge_url, None),
        ("delete", "/api/customers/{id}/auto-recharges/{currency}"): (auto_recharge_url, None),
        ("get", "/api/customers/{id}/credit-recharges"): (
            f"/api/customers/{customer['id']}/credit-recharges",
            None,
        ),
        ("get", "/api/sequence-accounts/{id}"): (f"/api/sequence-accounts/{account_id}", None),
        ("put", "/api/sequence-accounts/{id}"): (
            f"/api/sequence-accounts/{account_id}",
            {"companyName": "Hijacked"},
        ),
        ("post", "/api/invoices/{id}/payments"): (
            f"/api/invoices/{sent_invoice_id}/payments",
            {"amount": "1.00"},
        ),
        ("get", "/api/invoices/{id}/payments"): (f"/api/invoices/{sent_invoice_id}/payments", None),
        ("get", "/api/payments/{id}"): (payment_url, None),
        ("post", "/api/payments/{id}/refund"): (f"{payment_url}/refund", {"amount": "1.00"}),
        ("get", "/api/customers/{id}/balance"): (f"/api/customers/{customer['id']}/balance", None),
        **_party_attempts(app, api, account_id, customer["id"], schedule_url),
        **_payment_settings_attempts(api, customer["id"], schedule["id"], invoice_id),
        **_alert_attempts(api, customer["id"], usage_metric["id"]),
    }
    # A date in the path, not an id: billing "self" only ever bills the caller (checked below).
    bill_for_date = ("post", "/api/billing/execution/accounts/self/for-date/{day}")
    with_ids = {
        op for op in api_operations(app) if re.search(r"\{[^}]+\}", op[1]) and op != bill_for_date
    }
    assert set(attempts) == with_ids, "a new operation with an id needs a line here"

    before = {
        url: api.get(url).json()
        for url in (
            f"/api/customers/{customer['id']}",
            f"/api/customers/{owner['id']}",
            f"/api/products/{product['id']}",
            f"/api/prices/{price['id']}",
            list_price_url,
            discount_url,
            f"/api/tax-rates/{tax_rate['id']}",
            f"/api/seat-metrics/{seat_metric['id']}",
            f"/api/seat-events/{seat_event['id']}",
            f"/api/usage-metrics/{usage_metric['id']}",
            f"/api/sequence-accounts/{account_id}",
            schedule_url,
            policy_url,
            invoice_url,
            note_url,
            credit_url,
            f"/api/credit-top-ups/{top_up['id']}",
            auto_recharge_url,
            payment_url,
            f"/api/invoices/{sent_invoice_id}",
            f"/api/credits/{customer['id']}/balances",
            "/api/invoices/render-settings",
            PAYMENTS,
            "/api/stripe/collections/settings",
            f"{PAYMENTS}/billing-schedules/for-billing-schedule/{schedule['id']}",
            f"{PAYMENTS}/invoices/for-invoice/{invoice_id}",
        )
    }
    for (method, template), (url, body) in attempts.items():
        response = other_api.request(method.upper(), url, json=body)
        assert response.status_code == 404, f"{method.upper()} {template}: {response.status_code}"
    # Cross-account references in bodies are just as invisible.
    foreign_parent = other_api.post("/api/customers", json=customer_body(parentId=owner["id"]))
    assert foreign_parent.status_code == 404
    foreign_alias = other_api.post(
        "/api/customer-aliases", json={"customerId": customer["id"], "value": "stolen"}
    )
    assert foreign_alias.status_code == 404
    foreign_note = other_api.post(
        "/api/credit-notes",
        json={"invoiceId": sent_invoice_id, "customerId": customer["id"], "currency": "GBP"},
    )
    assert foreign_note.status_code == 404
    foreign_grant = other_api.post(
        "/api/credits",
        json={
            "customerId": customer["id"],
            "name": "Stolen",
            "creditUnitType": "CURRENCY",
            "currency": "GBP",
            "amount": 10,
        },
    )
    assert foreign_grant.status_code == 404
    # Flexprice's portal session by external id (an alias) lives outside /api.
    assert other_api.get("/v1/customers/portal/mine").status_code == 404
    assert other_api.get(f"/v1/customers/portal/{customer['id']}").status_code == 404
    billed = other_api.post("/api/billing/execution/accounts/self/for-date/2024-03-01")
    assert billed.status_code == 200
    assert billed.json()["billingSchedules"] == 0
    assert {url: api.get(url).json() for url in before} == before
