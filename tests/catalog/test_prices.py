"""/api/prices: every pricing type created and read back in Sequence's shape, seed 002's seat
price, what is stored, PUT (name and status only), soft DELETE, list filters and pages.

Validation is in test_price_validation.py.
"""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tally.accounts.service import Credentials
from tally.catalog.price_schemas import (
    GraduatedPricingStructure,
    SeatBasedPricingStructure,
    parse_structure,
)
from tally.db import Database
from tally.models import (
    BillingSchedule,
    BillingSchedulePhase,
    PhasePrice,
    Price,
    ScheduleStatus,
)
from tests.catalog.price_bodies import (
    create_price,
    fixed,
    graduated,
    linear,
    make_product,
    make_seat_metric,
    make_usage_metric,
    one_time,
    package,
    price_body,
    seat_based,
    volume,
)
from tests.factories import customer_body
from tests.metering.test_custom_metrics import STORAGE
from tests.support.api_client import ApiClient
from tests.support.paging import walk


@pytest.fixture
def product(api: ApiClient) -> str:
    return make_product(api)


@pytest.fixture
def usage_metric(api: ApiClient) -> str:
    return make_usage_metric(api)


@pytest.fixture
def seat_metric(api: ApiClient) -> str:
    return make_seat_metric(api)


def total(api: ApiClient, query: str = "") -> int:
    response = api.get(f"/api/prices{query}")
    assert response.status_code == 200, response.text
    return int(response.json()["pagination"]["totalResultSize"])


def aware(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


# --- every pricing type ----------------------------------------------------------------------

# (structure for the metrics given, billingFrequency, billingType); read back unchanged.
PRICING: dict[str, Callable[[str, str], tuple[dict[str, Any], str, str]]] = {
    "ONE_TIME": lambda _m, _s: (one_time("150.00"), "ONE_TIME", "IN_ADVANCE"),
    "FIXED": lambda _m, _s: (fixed("2500.00"), "MONTHLY", "IN_ADVANCE"),
    "LINEAR": lambda m, _s: (linear(m), "MONTHLY", "IN_ARREARS"),
    "LINEAR percentage": lambda m, _s: (
        linear(m, pricePerUnit="0.005", isPricePercentage=True),
        "QUARTERLY",
        "IN_ARREARS",
    ),
    "PACKAGE": lambda m, _s: (package(m), "MONTHLY", "IN_ARREARS"),
    "VOLUME": lambda m, _s: (volume(m), "MONTHLY", "IN_ARREARS"),
    "GRADUATED": lambda m, _s: (graduated(m), "HALF_YEARLY", "IN_ARREARS"),
    "GRADUATED cumulative": lambda m, _s: (
        graduated(m, usageCalculationMode="CUMULATIVE"),
        "YEARLY",
        "IN_ARREARS",
    ),
    "SEAT_BASED": lambda _m, s: (
        seat_based(
            s,
            prorationStrategy="USE_MAXIMUM",
            contractedMinimumSeats=10,
            tiers=[
                {"upperBound": "15", "price": "12.00", "fee": "0"},
                {"price": "15.00", "fee": "100.00"},
            ],
            overagesBillingFrequency="MONTHLY",
            prorateFlatFees=True,
        ),
        "YEARLY",
        "IN_ADVANCE",
    ),
}


@pytest.mark.parametrize("kind", PRICING)
def test_every_pricing_type_is_created_and_read_back(
    api: ApiClient,
    account: Credentials,
    product: str,
    usage_metric: str,
    seat_metric: str,
    kind: str,
) -> None:
    structure, frequency, billing_type = PRICING[kind](usage_metric, seat_metric)
    body = price_body(
        product,
        structure,
        name=f"{kind} price",
        currency="EUR",
        billingFrequency=frequency,
        billingType=billing_type,
    )

    response = api.post("/api/prices", json=body)  # the client validates Sequence's shape

    assert response.status_code == 201, response.text
    price = response.json()
    assert uuid.UUID(price["id"]).version == 7
    assert price["sequenceAccountId"] == account.account_id
    assert price["productId"] == product
    assert price["name"] == f"{kind} price"
    assert price["currency"] == "EUR"
    assert price["structure"] == structure
    assert price["billingFrequency"] == frequency
    assert price["billingType"] == billing_type
    assert price["integrationIds"] == []
    assert price["customMetricParameters"] == []
    assert price["status"] == "ACTIVE"
    assert "listPriceId" not in price
    assert "usageCalculationPeriod" not in price
    created, updated = aware(price["createdAt"]), aware(price["updatedAt"])
    assert created == updated
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    assert api.get(f"/api/prices/{price['id']}").json() == price


def test_seed_002_seat_price_request_is_accepted_as_written(
    api: ApiClient, account: Credentials
) -> None:
    product = api.post(
        "/api/products", json={"name": "Example product", "label": "Example product"}
    ).json()
    seat_metric = api.post(
        "/api/seat-metrics", json={"seatType": "editor", "label": "Editor Seat"}
    ).json()
    # Seed 002's request body, byte for byte, with its missing comma after "SEAT_BASED" put
    # back and the ids the earlier steps returned.
    body = """{
            "name": "Editor seat for ",
            "productId": "c7326e0d-d2fb-434e-ae8f-f5ae6142a476",
            "currency": "GBP",
            "billingFrequency": "MONTHLY",
            "billingType": "IN_ARREARS",
            "structure": {
              "pricingType": "SEAT_BASED",
              "seatMetricId": "49b62ade-938b-4182-b1e0-01a1f295a8ad",
              "pricePerSeat": "15.0",
              "prorationStrategy": "PRORATE_INCREMENTS",
              "contractedMinimumSeats": 0
            },
            "externalIds": []
        }"""
    body = body.replace("c7326e0d-d2fb-434e-ae8f-f5ae6142a476", product["id"])
    body = body.replace("49b62ade-938b-4182-b1e0-01a1f295a8ad", seat_metric["id"])

    response = api.post(
        "/api/prices", content=body.encode(), headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 201, response.text
    price = response.json()
    # Sequence's example response, in the 2024-07-30 names (seatMetricId, not seatTypeId).
    assert price["structure"] == {
        "pricingType": "SEAT_BASED",
        "seatMetricId": seat_metric["id"],
        "pricePerSeat": "15.0",
        "prorationStrategy": "PRORATE_INCREMENTS",
        "contractedMinimumSeats": 0,
        "tiers": [],
        "overagesBillingFrequency": "NONE",
        "prorateFlatFees": False,
    }
    assert price["sequenceAccountId"] == account.account_id
    assert price["productId"] == product["id"]
    assert price["name"] == "Editor seat for "
    assert (price["currency"], price["billingFrequency"], price["billingType"]) == (
        "GBP",
        "MONTHLY",
        "IN_ARREARS",
    )
    assert price["customMetricParameters"] == []
    assert "externalIds" not in price  # an older field: ignored, as unknown fields are
    assert api.get(f"/api/prices/{price['id']}").json() == price


def test_omitted_defaults_are_filled_in(api: ApiClient, product: str, usage_metric: str) -> None:
    linear_price = create_price(
        api,
        price_body(
            product,
            {"pricingType": "LINEAR", "pricePerUnit": "0.10", "usageMetricId": usage_metric},
        ),
    )
    assert linear_price["structure"]["isPricePercentage"] is False

    graduated_price = create_price(
        api,
        price_body(
            product,
            {
                "pricingType": "GRADUATED",
                "usageMetricId": usage_metric,
                "tiers": [{"upperBound": "10", "price": "1"}, {"price": "0.5", "fee": "2"}],
            },
        ),
    )
    assert graduated_price["structure"] == {
        "pricingType": "GRADUATED",
        "usageMetricId": usage_metric,
        "usageCalculationMode": "BILLING_PERIOD",
        "tiers": [
            {"upperBound": "10", "price": "1", "isPricePercentage": False},
            {"price": "0.5", "fee": "2", "isPricePercentage": False},
        ],
    }


def test_decimals_keep_the_digits_they_were_given(
    api: ApiClient, product: str, usage_metric: str, seat_metric: str
) -> None:
    price = create_price(
        api,
        price_body(
            product,
            graduated(
                usage_metric,
                tiers=[
                    {"upperBound": "1000.000", "price": "0.000000000001", "fee": "250"},
                    {"upperBound": "2500.5", "price": "123456789012345678.12"},
                    {"price": "0.650"},
                ],
            ),
        ),
    )
    tiers = price["structure"]["tiers"]
    assert [t.get("upperBound") for t in tiers] == ["1000.000", "2500.5", None]
    assert [t["price"] for t in tiers] == ["0.000000000001", "123456789012345678.12", "0.650"]
    assert tiers[0]["fee"] == "250"
    assert "fee" not in tiers[1]

    # Exponent notation is read exactly and written as a plain decimal; a JSON integer is exact.
    seat = create_price(
        api,
        price_body(product, seat_based(seat_metric, pricePerSeat="1.5E+1")),
    )
    assert seat["structure"]["pricePerSeat"] == "15"
    whole = create_price(api, price_body(product, {"pricingType": "FIXED", "price": 15}))
    assert whole["structure"]["price"] == "15"


def test_every_optional_field_round_trips(api: ApiClient, product: str, usage_metric: str) -> None:
    list_price = {
        "productId": product,
        "name": "Platform fee",
        "currency": "GBP",
        "structure": graduated(usage_metric),
        "billingFrequency": "MONTHLY",
        "billingType": "IN_ARREARS",
    }
    response = api.post("/api/list-prices", json=list_price)
    assert response.status_code == 201, response.text
    list_price_id = response.json()["id"]
    custom = api.post("/api/usage-metrics", json=STORAGE).json()  # a metric with parameters
    parameter_id = custom["parameters"][0]["id"]
    price = create_price(
        api,
        price_body(
            product,
            graduated(custom["id"]),
            integrationIds=[{"service": "Xero", "id": "123"}],
            customMetricParameters=[{"parameterId": parameter_id, "value": "10"}],
            listPriceId=list_price_id,
            usageCalculationPeriod={"frequency": "MONTHLY", "interval": 3},
            status="DRAFT",
        ),
    )
    assert price["integrationIds"] == [{"service": "Xero", "id": "123", "isPending": False}]
    assert price["customMetricParameters"] == [{"parameterId": parameter_id, "value": "10"}]
    assert price["listPriceId"] == list_price_id
    assert price["usageCalculationPeriod"] == {"frequency": "MONTHLY", "interval": 3}
    assert price["status"] == "DRAFT"
    assert api.get(f"/api/prices/{price['id']}").json() == price


def test_usage_calculation_period_is_kept_on_graduated_prices_only(
    api: ApiClient, product: str, usage_metric: str
) -> None:
    # Sequence: "It will be ignored for all non-graduated prices."
    price = create_price(
        api,
        price_body(
            product,
            linear(usage_metric),
            usageCalculationPeriod={"frequency": "MONTHLY", "interval": 1},
        ),
    )
    assert "usageCalculationPeriod" not in price


def test_what_is_stored(
    api: ApiClient,
    database: Database,
    account: Credentials,
    product: str,
    usage_metric: str,
    seat_metric: str,
) -> None:
    usage = create_price(api, price_body(product, graduated(usage_metric)))
    seats = create_price(api, price_body(product, seat_based(seat_metric)))
    flat = create_price(api, price_body(product, fixed(), billingType="IN_ADVANCE"))

    with database.transaction() as session:
        rows = {
            row.id: row
            for row in session.scalars(select(Price).where(Price.account_id == account.account_id))
        }
        assert set(rows) == {usage["id"], seats["id"], flat["id"]}
        stored_usage, stored_seats, stored_flat = (
            rows[usage["id"]],
            rows[seats["id"]],
            rows[flat["id"]],
        )
        # The structure in its camelCase wire form, decimals as strings.
        assert stored_usage.structure == usage["structure"]
        assert stored_seats.structure == seats["structure"]
        assert json.loads(json.dumps(stored_usage.structure)) == stored_usage.structure
        assert (stored_usage.pricing_type, stored_usage.usage_metric_id) == (
            "GRADUATED",
            usage_metric,
        )
        assert stored_usage.seat_metric_id is None
        assert (stored_seats.pricing_type, stored_seats.seat_metric_id) == (
            "SEAT_BASED",
            seat_metric,
        )
        assert stored_seats.usage_metric_id is None
        assert stored_flat.pricing_type == "FIXED"
        assert (stored_flat.usage_metric_id, stored_flat.seat_metric_id) == (None, None)
        assert (stored_flat.billing_frequency, stored_flat.billing_type) == (
            "MONTHLY",
            "IN_ADVANCE",
        )
        assert stored_flat.deleted_at is None

        # The billing engine reads a stored structure back as its model, with Decimals.
        parsed = parse_structure(stored_usage.structure)
        assert isinstance(parsed, GraduatedPricingStructure)
        assert [tier.price for tier in parsed.tiers] == [
            Decimal("1.00"),
            Decimal("0.75"),
            Decimal("0.50"),
        ]
        assert parsed.tiers[-1].upper_bound is None
        seat_structure = parse_structure(stored_seats.structure)
        assert isinstance(seat_structure, SeatBasedPricingStructure)
        assert seat_structure.price_per_seat == Decimal("15.0")


def test_unknown_price_is_404(api: ApiClient) -> None:
    response = api.get(f"/api/prices/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFound"


# --- PUT -------------------------------------------------------------------------------------


def test_put_changes_the_name_and_the_status_only(
    api: ApiClient, product: str, usage_metric: str
) -> None:
    price = create_price(api, price_body(product, graduated(usage_metric), status="DRAFT"))
    other_product = make_product(api, "Other")

    # Not part of UpdatePriceRequest: refused, naming each, and nothing changes.
    refused = api.put(
        f"/api/prices/{price['id']}",
        json={
            "name": "API calls (tiered)",
            "currency": "USD",
            "productId": other_product,
            "structure": fixed(),
            "billingType": "IN_ADVANCE",
        },
    )
    assert refused.status_code == 400
    named = [detail["field"] for detail in refused.json()["error"]["details"]]
    assert sorted(named) == ["billingType", "currency", "productId", "structure"]
    assert api.get(f"/api/prices/{price['id']}").json() == price

    response = api.put(
        f"/api/prices/{price['id']}", json={"name": "API calls (tiered)", "status": "ACTIVE"}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "API calls (tiered)"
    assert updated["status"] == "ACTIVE"
    unchanged = {k: v for k, v in updated.items() if k not in ("name", "status", "updatedAt")}
    assert unchanged == {k: v for k, v in price.items() if k not in ("name", "status", "updatedAt")}
    assert aware(updated["updatedAt"]) >= aware(price["updatedAt"])
    assert api.get(f"/api/prices/{price['id']}").json() == updated


def test_put_without_status_keeps_it(api: ApiClient, product: str) -> None:
    price = create_price(api, price_body(product, fixed(), status="DRAFT"))
    response = api.put(f"/api/prices/{price['id']}", json={"name": "Renamed"})
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["status"]) == ("Renamed", "DRAFT")


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "x" * 501}, {"name": "Ok", "status": "ARCHIVED"}],
)
def test_put_invalid_body_is_400_and_changes_nothing(
    api: ApiClient, product: str, body: dict[str, Any]
) -> None:
    price = create_price(api, price_body(product, fixed()))
    response = api.put(f"/api/prices/{price['id']}", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "ValidationError"
    assert api.get(f"/api/prices/{price['id']}").json() == price


def test_put_unknown_price_is_404(api: ApiClient) -> None:
    response = api.put(f"/api/prices/{uuid.uuid4()}", json={"name": "x"})
    assert response.status_code == 404


# --- DELETE ----------------------------------------------------------------------------------


def test_delete_answers_the_price_then_it_is_gone(api: ApiClient, product: str) -> None:
    kept = create_price(api, price_body(product, fixed(), name="Kept"))
    price = create_price(api, price_body(product, fixed(), name="Deleted"))

    response = api.delete(f"/api/prices/{price['id']}")

    assert response.status_code == 200, response.text
    answered = response.json()
    assert {k: v for k, v in answered.items() if k != "updatedAt"} == {
        k: v for k, v in price.items() if k != "updatedAt"
    }
    for method in ("GET", "PUT", "DELETE"):
        again = api.request(method, f"/api/prices/{price['id']}", json={"name": "x"})
        assert again.status_code == 404, method
    listed = api.get("/api/prices").json()
    assert [item["id"] for item in listed["items"]] == [kept["id"]]
    assert listed["pagination"]["totalResultSize"] == 1


def test_delete_keeps_the_row(api: ApiClient, database: Database, product: str) -> None:
    price = create_price(api, price_body(product, fixed()))
    assert api.delete(f"/api/prices/{price['id']}").status_code == 200
    with database.transaction() as session:
        row = session.get(Price, price["id"])
        assert row is not None
        assert row.deleted_at is not None


def attach_to_a_phase(database: Database, account_id: str, customer_id: str, price_id: str) -> None:
    """Stand in for the billing-schedule API: a schedule whose phase bills the price."""
    with database.transaction() as session:
        schedule = BillingSchedule(
            account_id=account_id,
            customer_id=customer_id,
            status=ScheduleStatus.ACTIVE,
            start_date=date(2024, 1, 1),
        )
        session.add(schedule)
        session.flush()
        phase = BillingSchedulePhase(
            account_id=account_id, billing_schedule_id=schedule.id, start_date=date(2024, 1, 1)
        )
        session.add(phase)
        session.flush()
        session.add(PhasePrice(phase_id=phase.id, position=0, price_id=price_id))


def test_delete_is_refused_while_a_schedule_phase_bills_the_price(
    api: ApiClient, database: Database, account: Credentials, product: str
) -> None:
    price = create_price(api, price_body(product, fixed()))
    customer = api.post("/api/customers", json=customer_body()).json()
    attach_to_a_phase(database, account.account_id, customer["id"], price["id"])

    response = api.delete(f"/api/prices/{price['id']}")

    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "ReferenceInUse"
    assert "billing schedule" in response.json()["error"]["message"]
    assert api.get(f"/api/prices/{price['id']}").json() == price


# --- list ------------------------------------------------------------------------------------


def test_list_filters(api: ApiClient, product: str, usage_metric: str) -> None:
    other_product = make_product(api, "Other")
    gbp_monthly = create_price(api, price_body(product, fixed(), name="A", currency="GBP"))
    usd_yearly = create_price(
        api,
        price_body(product, fixed(), name="B", currency="USD", billingFrequency="YEARLY"),
    )
    other = create_price(
        api, price_body(other_product, linear(usage_metric), name="A", currency="USD")
    )
    one_off = create_price(
        api,
        price_body(other_product, one_time(), name="Setup", billingFrequency="ONE_TIME"),
    )

    def ids(query: str) -> set[str]:
        response = api.get(f"/api/prices{query}")
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["pagination"]["totalResultSize"] == len(page["items"])
        return {item["id"] for item in page["items"]}

    everything = {gbp_monthly["id"], usd_yearly["id"], other["id"], one_off["id"]}
    assert ids("") == everything
    assert ids("?currency=USD") == {usd_yearly["id"], other["id"]}
    assert ids("?currency=GBP") == {gbp_monthly["id"], one_off["id"]}
    assert ids("?currency=EUR") == set()
    assert ids("?name=A") == {gbp_monthly["id"], other["id"]}
    assert ids("?name=a") == set()  # exact, as the products filter
    assert ids("?billingFrequency=YEARLY") == {usd_yearly["id"]}
    assert ids("?billingFrequency=ONE_TIME") == {one_off["id"]}
    assert ids(f"?productId={product}") == {gbp_monthly["id"], usd_yearly["id"]}
    assert ids(f"?productId={other_product}&currency=USD&name=A") == {other["id"]}
    assert ids(f"?productId={uuid.uuid4()}") == set()


@pytest.mark.parametrize("query", ["?currency=XXX", "?billingFrequency=WEEKLY", "?limit=0"])
def test_list_invalid_filter_is_400(api: ApiClient, query: str) -> None:
    response = api.get(f"/api/prices{query}")
    assert response.status_code == 400, response.text


def test_list_pages_in_both_orders(api: ApiClient, product: str) -> None:
    created = [
        create_price(api, price_body(product, fixed(), name=f"P{i}"))["id"] for i in range(5)
    ]

    newest_first, pages = walk(api, "/api/prices", limit=2)
    assert newest_first == created[::-1]
    assert len(pages) == 3
    assert all(page["pagination"]["totalResultSize"] == 5 for page in pages)

    oldest_first, _ = walk(api, "/api/prices", limit=2, sort_order="ASC")
    assert oldest_first == created

    second = pages[1]
    back = api.get("/api/prices", params={"limit": 2, "before": second["pagination"].get("before")})
    assert [item["id"] for item in back.json()["items"]] == created[::-1][:2]


def test_another_accounts_prices_are_invisible(
    api: ApiClient, other_api: ApiClient, product: str
) -> None:
    price = create_price(api, price_body(product, fixed()))
    assert other_api.get(f"/api/prices/{price['id']}").status_code == 404
    assert other_api.put(f"/api/prices/{price['id']}", json={"name": "x"}).status_code == 404
    assert other_api.delete(f"/api/prices/{price['id']}").status_code == 404
    assert other_api.get("/api/prices").json()["items"] == []
    assert other_api.get(f"/api/prices?productId={product}").json()["items"] == []
    assert api.get(f"/api/prices/{price['id']}").json() == price
