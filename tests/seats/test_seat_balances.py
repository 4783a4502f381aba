"""/api/seat-balances: per live customer, the latest total per seat type over all its aliases.

Aliases resolve when the balances are read: events sent before their alias existed count as
soon as it does, and stop counting when it is deleted.
"""

import uuid
from typing import Any

from tests.factories import new_customer
from tests.seats.test_seat_events import record
from tests.seats.test_seat_metrics import create_metric
from tests.support.api_client import ApiClient
from tests.support.paging import walk


def balance_page(api: ApiClient, **params: Any) -> dict[str, Any]:
    response = api.get("/api/seat-balances", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return dict(response.json())


def balances_by_customer(api: ApiClient, **params: Any) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in balance_page(api, **params)["items"]}


def seat_totals(item: dict[str, Any]) -> dict[str, int]:
    return {balance["seatType"]: balance["total"] for balance in item["balances"]}


def add_alias(api: ApiClient, customer_id: str, value: str) -> str:
    response = api.post("/api/customer-aliases", json={"customerId": customer_id, "value": value})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_customer_without_events_has_no_seats(api: ApiClient) -> None:
    customer = new_customer(api, legalName="Acme Corp", customerAliases=["acme"])
    page = balance_page(api)
    assert page["pagination"]["totalResultSize"] == 1
    assert page["items"] == [
        {
            "id": customer["id"],
            "sequenceAccountId": customer["sequenceAccountId"],
            "legalName": "Acme Corp",
            "customerAliases": ["acme"],
            "total": 0,
            # Never changed: held none since it was created.
            "changeTimestamp": customer["createdAt"],
            "balances": [],
        }
    ]


def test_the_latest_event_per_seat_type_over_every_alias_is_the_balance(api: ApiClient) -> None:
    for seat_type in ("editor", "viewer"):
        create_metric(api, seat_type)
    acme = new_customer(api, legalName="Acme Corp", customerAliases=["acme", "acme-eu"])
    # Received out of order: the event timestamp decides, not the arrival.
    record(api, "acme", 10, at="2024-05-03T00:00:00Z")
    record(api, acme["id"], 4, at="2024-05-01T00:00:00Z")
    record(api, "acme-eu", 12, at="2024-05-04T00:00:00Z")
    record(api, "acme", 7, at="2024-05-02T00:00:00Z")
    record(api, "acme-eu", 3, at="2024-05-02T00:00:00Z", seat_type="viewer")
    record(api, acme["id"], 5, at="2024-05-01T00:00:00Z", seat_type="viewer")

    item = balances_by_customer(api)[acme["id"]]
    assert item["balances"] == [
        {"seatType": "editor", "total": 12, "changeTimestamp": "2024-05-04T00:00:00Z"},
        {"seatType": "viewer", "total": 3, "changeTimestamp": "2024-05-02T00:00:00Z"},
    ]
    assert item["total"] == 15
    assert item["changeTimestamp"] == "2024-05-04T00:00:00Z"
    assert item["customerAliases"] == ["acme", "acme-eu"]


def test_at_one_timestamp_the_event_received_last_wins(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api, customerAliases=["acme"])
    record(api, acme["id"], 8, at="2024-05-02T00:00:00Z")
    record(api, "acme", 6, at="2024-05-02T00:00:00Z")
    assert seat_totals(balances_by_customer(api)[acme["id"]]) == {"editor": 6}
    record(api, acme["id"], 9, at="2024-05-02T00:00:00Z")
    assert seat_totals(balances_by_customer(api)[acme["id"]]) == {"editor": 9}


def test_a_replaced_event_counts_with_its_new_content(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api)
    record(api, acme["id"], 2, at="2024-05-01T00:00:00Z")
    record(api, acme["id"], 20, at="2024-05-05T00:00:00Z", event_id="late")
    assert seat_totals(balances_by_customer(api)[acme["id"]]) == {"editor": 20}
    # The correction moves the event before the other one: the older total is current again.
    record(api, acme["id"], 20, at="2024-04-01T00:00:00Z", event_id="late")
    item = balances_by_customer(api)[acme["id"]]
    assert seat_totals(item) == {"editor": 2}
    assert item["changeTimestamp"] == "2024-05-01T00:00:00Z"


def test_events_sent_before_their_alias_exists_count_once_it_does(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api)
    record(api, "crm-42", 5, at="2024-05-02T00:00:00Z")
    assert balances_by_customer(api)[acme["id"]]["balances"] == []

    alias_id = add_alias(api, acme["id"], "crm-42")
    item = balances_by_customer(api)[acme["id"]]
    assert seat_totals(item) == {"editor": 5}
    assert item["customerAliases"] == ["crm-42"]

    # Deleting the alias takes its events away again; another customer may then claim it.
    api.delete(f"/api/customer-aliases/{alias_id}")
    assert balances_by_customer(api)[acme["id"]]["balances"] == []
    globex = new_customer(api, customerAliases=["crm-42"])
    balances = balances_by_customer(api)
    assert seat_totals(balances[globex["id"]]) == {"editor": 5}
    assert balances[acme["id"]]["total"] == 0


def test_events_of_unknown_aliases_belong_to_nobody(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api)
    record(api, "nobody", 5)
    record(api, str(uuid.uuid4()), 6)
    assert list(balances_by_customer(api)) == [acme["id"]]
    assert balances_by_customer(api)[acme["id"]]["total"] == 0


def test_archived_customers_are_left_out(api: ApiClient) -> None:
    create_metric(api, "editor")
    live = new_customer(api)
    archived = new_customer(api)
    record(api, archived["id"], 3)
    api.post(f"/api/customers/{archived['id']}/archive")
    page = balance_page(api)
    assert [item["id"] for item in page["items"]] == [live["id"]]
    assert page["pagination"]["totalResultSize"] == 1
    assert balance_page(api, customerIds=archived["id"])["items"] == []


def test_a_deleted_seat_metric_drops_out_of_balances_until_created_again(api: ApiClient) -> None:
    """Design: balances cover the account's live seat types; the events stay stored."""
    editor = create_metric(api, "editor")
    create_metric(api, "viewer")
    acme = new_customer(api)
    record(api, acme["id"], 4, at="2024-05-01T00:00:00Z")
    record(api, acme["id"], 2, at="2024-05-03T00:00:00Z", seat_type="viewer")

    api.delete(f"/api/seat-metrics/{editor['id']}")
    item = balances_by_customer(api)[acme["id"]]
    assert seat_totals(item) == {"viewer": 2}
    assert item["total"] == 2

    create_metric(api, "editor")
    assert seat_totals(balances_by_customer(api)[acme["id"]]) == {"editor": 4, "viewer": 2}


def test_filter_by_customer_ids(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme, globex, initech = (new_customer(api, legalName=n) for n in ("Acme", "Globex", "Initech"))
    record(api, acme["id"], 1)
    record(api, globex["id"], 2)

    assert list(balances_by_customer(api, customerIds=acme["id"])) == [acme["id"]]
    both = balances_by_customer(api, customerIds=f"{globex['id']}, {initech['id']}")
    assert set(both) == {globex["id"], initech["id"]}
    assert balances_by_customer(api, customerIds=str(uuid.uuid4())) == {}
    response = api.get(
        "/api/seat-balances", params={"customerIds": ",".join(str(uuid.uuid4()) for _ in range(26))}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "customerIds"


def test_filter_by_customer_aliases(api: ApiClient) -> None:
    create_metric(api, "editor")
    acme = new_customer(api, customerAliases=["acme"])
    globex = new_customer(api, customerAliases=["globex"])
    new_customer(api, customerAliases=["initech"])
    record(api, "acme", 3)

    only_acme = balances_by_customer(api, customerAliases="acme")
    assert list(only_acme) == [acme["id"]]
    assert only_acme[acme["id"]]["total"] == 3
    # A customer's own id works as an alias too.
    assert set(balances_by_customer(api, customerAliases=f"acme,{globex['id']}")) == {
        acme["id"],
        globex["id"],
    }
    assert balances_by_customer(api, customerAliases="ACME") == {}
    assert balances_by_customer(api, customerAliases="acme", customerIds=globex["id"]) == {}


def test_exclude_zero_quantity(api: ApiClient) -> None:
    create_metric(api, "editor")
    create_metric(api, "viewer")
    holding = new_customer(api, legalName="Holding")
    released = new_customer(api, legalName="Released")
    new_customer(api, legalName="Never")
    mixed = new_customer(api, legalName="Mixed")
    record(api, holding["id"], 2)
    record(api, released["id"], 5, at="2024-05-01T00:00:00Z")
    record(api, released["id"], 0, at="2024-05-02T00:00:00Z")
    record(api, mixed["id"], 0, seat_type="editor")
    record(api, mixed["id"], 1, seat_type="viewer")

    assert len(balance_page(api)["items"]) == 4
    page = balance_page(api, excludeZeroQuantity="true")
    assert {item["id"] for item in page["items"]} == {holding["id"], mixed["id"]}
    assert page["pagination"]["totalResultSize"] == 2
    released_item = balances_by_customer(api)[released["id"]]
    assert released_item["balances"] == [
        {"seatType": "editor", "total": 0, "changeTimestamp": "2024-05-02T00:00:00Z"}
    ]
    assert seat_totals(balances_by_customer(api)[mixed["id"]]) == {"editor": 0, "viewer": 1}


def test_balances_paginate_over_customers(api: ApiClient) -> None:
    create_metric(api, "editor")
    created = [new_customer(api, legalName=f"Customer {i}")["id"] for i in range(5)]
    for total, customer_id in enumerate(created):
        record(api, customer_id, total + 1)
    ids, pages = walk(api, "/api/seat-balances", limit=2)
    assert ids == list(reversed(created))
    assert len(pages) == 3
    assert all(page["pagination"]["totalResultSize"] == 5 for page in pages)
    ascending, ascending_pages = walk(api, "/api/seat-balances", limit=2, sort_order="ASC")
    assert ascending == created
    totals = [item["total"] for page in ascending_pages for item in page["items"]]
    assert totals == [1, 2, 3, 4, 5]


def test_another_accounts_customers_and_events_are_invisible(
    api: ApiClient, other_api: ApiClient
) -> None:
    create_metric(api, "editor")
    create_metric(other_api, "editor")
    mine = new_customer(api, customerAliases=["shared"])
    theirs = new_customer(other_api, customerAliases=["shared"])
    record(other_api, "shared", 9)
    record(other_api, mine["id"], 9)  # my customer's id, as another account's alias

    assert list(balances_by_customer(api)) == [mine["id"]]
    assert balances_by_customer(api)[mine["id"]]["total"] == 0
    assert balances_by_customer(api, customerIds=theirs["id"]) == {}
    assert balances_by_customer(api, customerAliases=theirs["id"]) == {}
    assert seat_totals(balances_by_customer(other_api)[theirs["id"]]) == {"editor": 9}
