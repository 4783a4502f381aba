"""The lifecycle of invoices billing writes: deleting them, drafting the upcoming one early,
auto-issue, and finalized invoices that nothing changes afterwards."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tally.accounts.service import Credentials
from tally.db import Database
from tally.models import BillingRun, EmailMessage
from tests.billing.helpers import Merchant, amounts
from tests.billing.test_backdated_runs import _deletion_events, listen
from tests.catalog.price_bodies import fixed, linear
from tests.factories import customer_body, tax_rate_body
from tests.invoices.states import account_settings, get, line_body, ok
from tests.metering.helpers import event, send
from tests.schedules.helpers import update_body
from tests.support.api_client import ApiClient


def calls(merchant: Merchant) -> tuple[str, str]:
    """A customer billed 0.10 a call, monthly in arrears, with 20 % tax, from 2024-01-01."""
    metric = merchant.usage_metric("Calls", "api_call", aggregationType="COUNT")
    price = merchant.price(linear(metric, pricePerUnit="0.10"), name="API calls")
    customer = merchant.customer()
    schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-12-31")
    return customer, str(schedule["id"])


def runs_of(database: Database, schedule_id: str) -> set[str]:
    with database.session() as session:
        return {
            str(run.invoice_date)
            for run in session.scalars(
                select(BillingRun).where(BillingRun.billing_schedule_id == schedule_id)
            )
        }


def test_a_deleted_billing_invoice_comes_back_from_the_next_run(
    api: ApiClient, database: Database
) -> None:
    merchant = Merchant(api)
    customer, schedule = calls(merchant)
    send(api, event(customer, "2024-01-10T09:00:00Z"))
    merchant.bill("2024-01-20")
    upcoming = merchant.invoice_for(schedule, "2024-01-01")
    assert upcoming["status"] == "IN_PROGRESS"

    account_id = api.get("/api/sequence-accounts").json()["items"][0]["id"]
    listen(database, account_id)
    deleted = ok(api.delete(f"/api/invoices/{upcoming['id']}"))

    assert deleted["id"] == upcoming["id"] and deleted["status"] == "IN_PROGRESS"
    assert api.get(f"/api/invoices/{upcoming['id']}").status_code == 404
    assert runs_of(database, schedule) == set()  # its billing run went with it
    # Webhooks hear of it: INVOICE_UPDATED with the invoice as it was, marked deleted.
    announced = _deletion_events(database, account_id)
    assert announced[upcoming["id"]]["status"] == "IN_PROGRESS"
    report = merchant.bill("2024-01-20")
    assert report["invoicesCreated"] == 1
    again = merchant.invoice_for(schedule, "2024-01-01")
    assert again["id"] != upcoming["id"]
    assert (again["status"], again["netTotal"]) == ("IN_PROGRESS", "0.10")

    # A draft too: deleting throws away the draft (and any edits); billing writes it anew.
    merchant.bill("2024-02-01")
    draft = merchant.invoice_for(schedule, "2024-01-01")
    ok(api.post(f"/api/invoices/{draft['id']}/line-items", json=line_body()), 201)
    ok(api.delete(f"/api/invoices/{draft['id']}"))
    merchant.bill("2024-02-01")
    fresh = merchant.invoice_for(schedule, "2024-01-01")
    assert (fresh["status"], fresh["netTotal"]) == ("DRAFT", "0.10")
    assert "editedAt" not in fresh


def test_drafting_the_upcoming_invoice_recalculates_it_and_keeps_it(api: ApiClient) -> None:
    merchant = Merchant(api)
    customer, schedule = calls(merchant)
    send(api, event(customer, "2024-01-10T09:00:00Z"))
    merchant.bill("2024-01-20")
    upcoming = merchant.invoice_for(schedule, "2024-01-01")
    assert upcoming["netTotal"] == "0.10"
    send(api, *(event(customer, "2024-01-21T09:00:00Z") for _ in range(4)))

    drafted = ok(api.post(f"/api/invoices/{upcoming['id']}/draft"))

    assert (drafted["status"], drafted["netTotal"], drafted["grossTotal"]) == (
        "DRAFT",
        "0.50",
        "0.60",
    )
    assert drafted["editedAt"]
    assert drafted["id"] == upcoming["id"]
    # Billing leaves it alone: more usage in January, later runs, and it stays as drafted.
    send(api, event(customer, "2024-01-25T09:00:00Z"))
    merchant.bill("2024-01-28")
    merchant.bill("2024-02-10")
    kept = get(api, upcoming["id"])
    assert (kept["status"], kept["netTotal"]) == ("DRAFT", "0.50")
    february = merchant.invoice_for(schedule, "2024-02-01")
    assert february["status"] == "IN_PROGRESS"


def test_auto_issued_invoices_are_numbered_dated_and_owed(api: ApiClient) -> None:
    merchant = Merchant(api)
    price = merchant.price(fixed("100.00"), billingFrequency="MONTHLY")
    schedule = merchant.schedule(
        merchant.customer(),
        [price],
        "2024-01-01",
        "2024-12-31",
        autoIssueInvoices=True,
        defaultDueDateDays=14,
    )

    report = merchant.bill("2024-03-01")

    assert report["invoicesFinalized"] == 2
    january, february, march = merchant.invoices(schedule["id"])
    assert [i["invoiceNumber"] for i in (january, february)] == ["INV00001", "INV00002"]
    assert (january["issueDate"], january["dueDate"], january["paymentTermDays"]) == (
        "2024-03-01",
        "2024-03-15",
        14,
    )
    assert (january["balance"], january["balanceVersion"]) == ("120.00", 1)
    assert january["finalizedAt"]
    assert march["status"] == "IN_PROGRESS"


def test_auto_issue_emails_each_invoice_unless_notifications_are_off(
    api: ApiClient, database: Database, account: Credentials
) -> None:
    merchant = Merchant(api)
    price = merchant.price(fixed("100.00"), billingFrequency="MONTHLY")
    schedule = merchant.schedule(merchant.customer(), [price], "2024-01-01", autoIssueInvoices=True)

    assert merchant.bill("2024-03-01")["invoicesFinalized"] == 2

    sent = merchant.invoices(schedule["id"])[:2]
    assert [(i["status"], bool(i["sentAt"])) for i in sent] == [("SENT", True)] * 2
    mine = EmailMessage.account_id == account.account_id
    with database.session() as session:
        messages = session.scalars(select(EmailMessage).where(mine)).all()
    assert sorted(m.attachments[0]["id"] for m in messages) == sorted(i["id"] for i in sent)
    assert all(m.kind == "INVOICE" and m.to_addresses == ["jane@example.com"] for m in messages)
    assert {m.subject.split()[1] for m in messages} == {i["invoiceNumber"] for i in sent}
    merchant.bill("2024-03-01")  # issued already: nothing is sent twice

    # With customer notifications off, issued invoices wait FINAL for someone to send them.
    account_settings(api, sendCustomerNotifications=False)
    assert merchant.bill("2024-04-01")["invoicesFinalized"] == 1
    march = merchant.invoice_for(schedule["id"], "2024-03-01")
    assert (march["status"], march["invoiceNumber"]) == ("FINAL", "INV00003")
    with database.session() as session:
        assert session.scalar(select(func.count()).where(mine)) == 2


def test_a_finalized_invoice_keeps_what_it_was_billed_with(api: ApiClient) -> None:
    """Customer details, tax-rate versions and prices are frozen on a finalized invoice:
    changing all three afterwards, and billing again, changes nothing on it, while the
    draft of the next period follows the changes."""
    merchant = Merchant(api)
    price = merchant.price(fixed("100.00"), billingFrequency="MONTHLY", name="Platform fee")
    customer = merchant.customer("Old Name Ltd")
    schedule = merchant.schedule(customer, [price], "2024-01-01", "2024-12-31")
    merchant.bill("2024-02-01")
    january = merchant.invoice_for(schedule["id"], "2024-01-01")
    final = ok(api.post(f"/api/invoices/{january['id']}/finalize"))
    frozen = get(api, january["id"])

    # The customer: new name, address, contacts and tax status.
    ok(api.put(f"/api/customers/{customer}", json=customer_body(
        legalName="New Name Ltd",
        taxStatus="TAX_EXEMPT",
        address={"line1": "9 Elsewhere", "town": "York", "postcode": "YO1 1AA", "country": "GB"},
        contacts=[{"name": "New", "email": "new@example.com", "billingPreference": "PRIMARY"}],
    )))  # fmt: skip
    ok(api.put(f"/api/customers/{customer}", json=customer_body(legalName="New Name Ltd")))
    # The tax rate: a new version at 25 %.
    tax_url = f"/api/tax-rates/{merchant.tax_rate_id}"
    ok(api.put(tax_url, json=tax_rate_body(id=merchant.tax_rate_id, amount="0.25")))
    # The price: the schedule now bills a dearer one.
    dearer = merchant.price(fixed("300.00"), billingFrequency="MONTHLY", name="Platform fee+")
    current = ok(api.get(f"/api/billing-schedules/{schedule['id']}"))
    body = update_body(current)
    body["phases"][0]["priceIds"] = [dearer]
    body["taxRates"] = [{"priceId": dearer, "taxRateId": merchant.tax_rate_id}]
    ok(api.put(f"/api/billing-schedules/{schedule['id']}", json=body))

    merchant.bill("2024-03-01")

    assert get(api, january["id"]) == frozen
    assert final["customerLegalCompanyName"] == "Old Name Ltd"
    assert (frozen["netTotal"], frozen["totalTax"], frozen["grossTotal"]) == (
        "100.00",
        "20.00",
        "120.00",
    )
    assert frozen["lineItems"][0]["taxRate"] == "0.2"
    february = merchant.invoice_for(schedule["id"], "2024-02-01")  # the control
    assert february["customerLegalCompanyName"] == "New Name Ltd"
    assert amounts(february) == {"Platform fee+": 300}
    assert february["lineItems"][0]["taxRate"] == "0.25"


def test_issue_dates_follow_the_account_time_zone(api: ApiClient) -> None:
    """Finalizing through the API issues on the account's today, not the server's."""
    account_id = ok(api.get("/api/sequence-accounts"))["items"][0]["id"]
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        ok(api.put(f"/api/sequence-accounts/{account_id}", json={"timezone": zone}))
        customer_id = ok(api.post("/api/customers", json=customer_body()), 201)["id"]
        invoice = ok(
            api.post("/api/invoices", json={"currency": "GBP", "customerId": customer_id}), 201
        )
        today = datetime.now(ZoneInfo(zone)).date()
        final = ok(api.post(f"/api/invoices/{invoice['id']}/finalize"))
        assert final["issueDate"] == today.isoformat()
        assert final["dueDate"] == (today + timedelta(days=30)).isoformat()
