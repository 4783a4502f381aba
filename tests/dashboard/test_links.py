"""Every invoice, customer, schedule and price a page names is a link to its page; a schedule
without a label is named from its customer and what it bills, never by its id."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tally.db import Database, new_id
from tally.schedules.queries import schedule_names
from tests.dashboard.helpers import Merchant
from tests.dashboard.reading import CUSTOMER, SCHEDULE, World, get, links_to, world
from tests.invoices.helpers import counting_statements
from tests.schedules.helpers import created, schedule_body
from tests.support.api_client import ApiClient

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_pages_link_what_they_name(
    dashboard: TestClient, database: Database, api: ApiClient, merchant: Merchant
) -> None:
    made: World = world(database, api, merchant.account.account_id)
    customer = f"/dashboard/customers/{made.customer_id}"
    schedule = f"/dashboard/billing-schedules/{made.schedule_id}"
    in_progress = f"/dashboard/invoices/{made.in_progress_id}"
    partly_paid = f"/dashboard/invoices/{made.partly_paid_id}"
    price = f"/dashboard/catalog/products/{made.product_id}#price-{made.price_id}"

    _, links = get(dashboard, "/dashboard/invoices")
    assert links_to(links, in_progress) == ["In progress"]  # no number yet: its status
    assert links_to(links, partly_paid) == ["INV-WORDS-1"]
    assert links_to(links, customer) == [CUSTOMER, CUSTOMER]

    _, links = get(dashboard, customer)
    assert links_to(links, schedule)[0] == SCHEDULE
    assert "In progress" in links_to(links, in_progress)
    assert "INV-WORDS-1" in links_to(links, partly_paid)

    _, links = get(dashboard, "/dashboard/billing-schedules")
    assert links_to(links, schedule) == [SCHEDULE]
    assert links_to(links, customer) == [CUSTOMER]

    text, links = get(dashboard, schedule)
    assert f"Billing schedule: {SCHEDULE}" in text
    assert links_to(links, customer) == [CUSTOMER]
    assert (price, "Monthly seat") in links

    _, links = get(dashboard, in_progress)
    assert links_to(links, customer) == [CUSTOMER]
    assert links_to(links, schedule) == [SCHEDULE]

    _, links = get(dashboard, "/dashboard/catalog")
    assert (price, "Monthly seat") in links
    text, _ = get(dashboard, f"/dashboard/catalog/products/{made.product_id}")
    assert "Monthly seat" in text

    _, links = get(dashboard, "/dashboard/credits")
    assert links_to(links, customer) == [CUSTOMER]
    grant = f"/dashboard/credits/customers/{made.customer_id}#grant-{made.grant_id}"
    assert (grant, "Onboarding credits") in links
    _, links = get(dashboard, f"/dashboard/credits/customers/{made.customer_id}")
    assert links_to(links, customer) == [CUSTOMER]

    # The customer's activity: its schedule's and its grant's entries link to them.
    _, links = get(dashboard, customer)
    assert (schedule, SCHEDULE) in links
    assert (grant, "Credit grant") in links


def test_no_schedule_is_named_by_its_id(
    dashboard: TestClient, database: Database, api: ApiClient, merchant: Merchant
) -> None:
    made = world(database, api, merchant.account.account_id)
    for path in (
        "/dashboard/billing-schedules",
        f"/dashboard/billing-schedules/{made.schedule_id}",
        f"/dashboard/customers/{made.customer_id}",
        f"/dashboard/invoices/{made.in_progress_id}",
    ):
        text, links = get(dashboard, path)
        assert made.schedule_id not in text, path
        assert not [link for link in links if UUID.search(link[1])], path


def test_a_labelled_schedule_goes_by_its_label(
    dashboard: TestClient, database: Database, api: ApiClient, merchant: Merchant
) -> None:
    made = world(database, api, merchant.account.account_id)
    body = schedule_body(made.customer_id, [made.price_id], label="2024 deal")
    labelled = created(api.post("/api/billing-schedules", json=body))["id"]
    _, links = get(dashboard, "/dashboard/billing-schedules")
    assert links_to(links, f"/dashboard/billing-schedules/{labelled}") == ["2024 deal"]
    assert links_to(links, f"/dashboard/billing-schedules/{made.schedule_id}") == [SCHEDULE]


def test_schedules_are_named_in_one_query(
    database: Database, api: ApiClient, merchant: Merchant
) -> None:
    account_id = merchant.account.account_id
    made = world(database, api, account_id)
    second = created(
        api.post("/api/billing-schedules", json=schedule_body(made.customer_id, [made.price_id]))
    )["id"]
    labelled = created(
        api.post(
            "/api/billing-schedules",
            json=schedule_body(made.customer_id, [made.price_id], label="Pilot"),
        )
    )["id"]
    wanted = [made.schedule_id, second, labelled, None]
    with database.session(write=False) as session, counting_statements(database) as statements:
        names = schedule_names(session, account_id, wanted)
    assert names == {made.schedule_id: SCHEDULE, second: SCHEDULE, labelled: "Pilot"}
    assert len([sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]) == 1
    with database.session(write=False) as session:  # another account's: nothing
        assert schedule_names(session, new_id(), [made.schedule_id]) == {}
