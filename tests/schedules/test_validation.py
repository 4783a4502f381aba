"""Invalid billing schedules are refused, naming the field, and nothing is written."""

from collections.abc import Callable
from typing import Any

import pytest

from tests.schedules.helpers import Setup, created, new_tax_rate, ok, phase
from tests.support.api_client import ApiClient

Body = dict[str, Any]


class Ids:
    """What the cases refer to, made once per test."""

    def __init__(self, api: ApiClient) -> None:
        self.setup = Setup(api)
        self.price = self.setup.price_id
        self.other = self.setup.price(name="Other")
        self.euro = self.setup.price(currency="EUR")
        self.tax_rate = new_tax_rate(api)
        self.archived_rate = new_tax_rate(api)
        ok(api.post(f"/api/tax-rates/{self.archived_rate}/archive"))
        self.deleted_rate = new_tax_rate(api)
        ok(api.delete(f"/api/tax-rates/{self.deleted_rate}"))
        self.deleted_price = self.setup.price(name="Deleted")
        ok(api.delete(f"/api/prices/{self.deleted_price}"))


def two_phases(ids: Ids, first: Body, second: Body) -> Body:
    return ids.setup.body(phases=[first, second])


def discount(**overrides: Any) -> Body:
    return {
        "type": "PERCENTAGE",
        "amount": 10,
        "message": "10% off",
        "separateLineItem": True,
        **overrides,
    }


def with_phase(ids: Ids, **extra: Any) -> Body:
    return ids.setup.body(phases=[phase([ids.price, ids.other], **extra)])


def without(field: str) -> Callable[[Ids], Body]:
    def body(ids: Ids) -> Body:
        found = ids.setup.body()
        del found[field]
        return found

    return body


# (case, body, status, the field the error names)
CASES: list[tuple[str, Callable[[Ids], Body], int, str | None]] = [
    ("no customer", without("customerId"), 400, "customerId"),
    ("no start date", without("startDate"), 400, "startDate"),
    ("no phases", without("phases"), 400, "phases"),
    ("empty phases", lambda ids: ids.setup.body(phases=[]), 400, "phases"),
    (
        "ends before it starts",
        lambda ids: ids.setup.body(
            start="2024-02-01", end="2024-01-31", phases=[phase([ids.price], "2024-02-01")]
        ),
        400,
        "endDate",
    ),
    (
        "a date past 2999",
        lambda ids: ids.setup.body(end="3000-01-01", phases=[phase([ids.price], end="3000-01-01")]),
        400,
        "endDate",
    ),
    (
        "a phase date before 1970",
        lambda ids: ids.setup.body(phases=[phase([ids.price], start="1969-12-31")]),
        400,
        "phases.0.startDate",
    ),
    (
        "billing day 0",
        lambda ids: ids.setup.body(recurrenceDayOfMonth=0),
        400,
        "recurrenceDayOfMonth",
    ),
    (
        "billing day 32",
        lambda ids: ids.setup.body(recurrenceDayOfMonth=32),
        400,
        "recurrenceDayOfMonth",
    ),
    (
        "first phase starts late",
        lambda ids: ids.setup.body(phases=[phase([ids.price], "2024-01-02")]),
        400,
        "phases.0.startDate",
    ),
    (
        "first phase starts early",
        lambda ids: ids.setup.body(phases=[phase([ids.price], "2023-12-31")]),
        400,
        "phases.0.startDate",
    ),
    (
        "a gap between phases",
        lambda ids: two_phases(
            ids,
            phase([ids.price], "2024-01-01", "2024-05-31"),
            phase([ids.price], "2024-06-02", "2024-12-31"),
        ),
        400,
        "phases.1.startDate",
    ),
    (
        "overlapping phases (end dates are inclusive)",
        lambda ids: two_phases(
            ids,
            phase([ids.price], "2024-01-01", "2024-05-31"),
            phase([ids.price], "2024-05-31", "2024-12-31"),
        ),
        400,
        "phases.1.startDate",
    ),
    (
        "phases out of order",
        lambda ids: two_phases(
            ids,
            phase([ids.price], "2024-01-01", "2024-12-31"),
            phase([ids.price], "2024-01-01", "2024-05-31"),
        ),
        400,
        "phases.1.startDate",
    ),
    (
        "an open-ended phase before the last",
        lambda ids: two_phases(
            ids, phase([ids.price], "2024-01-01", None), phase([ids.price], "2024-06-01")
        ),
        400,
        "phases.0.endDate",
    ),
    (
        "a phase ending before it starts",
        lambda ids: two_phases(
            ids,
            phase([ids.price], "2024-01-01", "2023-12-01"),
            phase([ids.price], "2023-12-02", "2024-12-31"),
        ),
        400,
        "phases.0.endDate",
    ),
    (
        "the last phase ends before the schedule",
        lambda ids: ids.setup.body(phases=[phase([ids.price], "2024-01-01", "2024-11-30")]),
        400,
        "phases.0.endDate",
    ),
    (
        "the last phase ends after the schedule",
        lambda ids: ids.setup.body(phases=[phase([ids.price], "2024-01-01", None)]),
        400,
        "phases.0.endDate",
    ),
    (
        "an open-ended schedule whose last phase ends",
        lambda ids: ids.setup.body(end=None, phases=[phase([ids.price])]),
        400,
        "phases.0.endDate",
    ),
    ("an unknown price", lambda ids: ids.setup.body(["no-such-price"]), 404, None),
    ("a deleted price", lambda ids: ids.setup.body([ids.deleted_price]), 404, None),
    (
        "a price twice in a phase",
        lambda ids: ids.setup.body([ids.price, ids.other, ids.price]),
        400,
        "phases.0.priceIds",
    ),
    (
        "two currencies",
        lambda ids: two_phases(
            ids,
            phase([ids.price], "2024-01-01", "2024-05-31"),
            phase([ids.euro], "2024-06-01", "2024-12-31"),
        ),
        400,
        "phases.1.priceIds",
    ),
    (
        "a 0 % discount",
        lambda ids: with_phase(ids, discounts=[discount(amount=0)]),
        400,
        "phases.0.discounts.0.amount",
    ),
    (
        "a discount above 100 %",
        lambda ids: with_phase(ids, discounts=[discount(amount=100.01)]),
        400,
        "phases.0.discounts.0.amount",
    ),
    (
        "a 0 nominal discount",
        lambda ids: with_phase(ids, discounts=[discount(type="NOMINAL", amount=0)]),
        400,
        "phases.0.discounts.0.amount",
    ),
    (
        "a negative nominal discount",
        lambda ids: with_phase(ids, discounts=[discount(type="NOMINAL", amount=-5)]),
        400,
        "phases.0.discounts.0.amount",
    ),
    (
        "a discount without a message",
        lambda ids: with_phase(
            ids, discounts=[{k: v for k, v in discount().items() if k != "message"}]
        ),
        400,
        "phases.0.discounts.0.message",
    ),
    (
        "a discount with a blank message",
        lambda ids: with_phase(ids, discounts=[discount(message="  ")]),
        400,
        "phases.0.discounts.0.message",
    ),
    (
        "a discount of a price not in the phase",
        lambda ids: with_phase(ids, discounts=[discount(), discount(restrictToPrices=[ids.euro])]),
        400,
        "phases.0.discounts.1.restrictToPrices",
    ),
    (
        "a discount of an unknown type",
        lambda ids: with_phase(ids, discounts=[discount(type="FREE")]),
        400,
        "phases.0.discounts.0.type",
    ),
    (
        "a discount amount as text that is no number",
        lambda ids: with_phase(ids, discounts=[discount(amount="ten")]),
        400,
        "phases.0.discounts.0.amount",
    ),
    (
        "a minimum of 0",
        lambda ids: with_phase(ids, minimums=[{"amount": 0}]),
        400,
        "phases.0.minimums.0.amount",
    ),
    (
        "a minimum of a price not in the phase",
        lambda ids: with_phase(ids, minimums=[{"amount": 10, "restrictToPrices": [ids.euro]}]),
        400,
        "phases.0.minimums.0.restrictToPrices",
    ),
    (
        "metadata of a price not in the phase",
        lambda ids: with_phase(
            ids, phasePriceMetadata=[{"priceId": ids.euro, "arrCalculation": "INCLUDE"}]
        ),
        400,
        "phases.0.phasePriceMetadata.0.priceId",
    ),
    (
        "credit grant without its type",
        lambda ids: with_phase(ids, creditGrants=[{"name": "Credits"}]),
        400,
        "phases.0.creditGrants.0.creditUnitType",
    ),
    (
        "unknown list price",
        lambda ids: with_phase(ids, listPriceIds=["list-price"]),
        404,
        None,
    ),
    (
        "too many attachments",
        lambda ids: ids.setup.body(attachmentAssetIds=["asset"] * 11),
        400,
        "attachmentAssetIds",
    ),
    (
        "a tax rate for a price in no phase",
        lambda ids: ids.setup.body(taxRates=[{"priceId": ids.other, "taxRateId": ids.tax_rate}]),
        400,
        "taxRates.0.priceId",
    ),
    (
        "two tax rates for one price",
        lambda ids: ids.setup.body(
            taxRates=[
                {"priceId": ids.price, "taxRateId": ids.tax_rate},
                {"priceId": ids.price, "taxRateId": ids.tax_rate},
            ]
        ),
        400,
        "taxRates.1.priceId",
    ),
    (
        "an unknown tax rate",
        lambda ids: ids.setup.body(taxRates=[{"priceId": ids.price, "taxRateId": "nope"}]),
        404,
        None,
    ),
    (
        "a deleted tax rate",
        lambda ids: ids.setup.body(
            taxRates=[{"priceId": ids.price, "taxRateId": ids.deleted_rate}]
        ),
        404,
        None,
    ),
    (
        "an archived tax rate",
        lambda ids: ids.setup.body(
            taxRates=[{"priceId": ids.price, "taxRateId": ids.archived_rate}]
        ),
        400,
        "taxRates.0.taxRateId",
    ),
    ("an unknown customer", lambda ids: ids.setup.body(customerId="nobody"), 404, None),
    (
        "an unknown payment provider",
        lambda ids: ids.setup.body(paymentProvider="PAYPAL"),
        400,
        "paymentProvider",
    ),
]


def total(api: ApiClient) -> int:
    listed = ok(api.get("/api/billing-schedules", params={"includeArchivedSchedules": "true"}))
    return int(listed["pagination"]["totalResultSize"])


@pytest.mark.parametrize(
    ("body", "status", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_an_invalid_schedule_is_refused(
    api: ApiClient, body: Callable[[Ids], Body], status: int, field: str | None
) -> None:
    ids = Ids(api)
    response = api.post("/api/billing-schedules", json=body(ids))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if field is not None:
        assert error["type"] == "ValidationError"
        assert error["details"][0]["field"] == field, error
    else:
        assert error["type"] == "NotFound"
    assert total(api) == 0


# Fields only a create has: an update body leaves them out, so these cases are create's alone.
CREATE_ONLY = {"customerId", "isDraft", "reference", "label", "paymentProvider", "autoCharge"}
UPDATE_CASES = [c for c in CASES if c[3] not in CREATE_ONLY and c[0] != "an unknown customer"]


@pytest.mark.parametrize(
    ("body", "status", "field"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES]
)
def test_an_invalid_update_is_refused_and_changes_nothing(
    api: ApiClient, body: Callable[[Ids], Body], status: int, field: str | None
) -> None:
    ids = Ids(api)
    schedule = ids.setup.create(
        taxRates=[{"priceId": ids.price, "taxRateId": ids.tax_rate}], memo="Before"
    )
    update = {k: v for k, v in body(ids).items() if k not in CREATE_ONLY}
    response = api.put(f"/api/billing-schedules/{schedule['id']}", json=update)
    assert response.status_code == status, response.text
    if field is not None:
        assert response.json()["error"]["details"][0]["field"] == field
    assert ok(api.get(f"/api/billing-schedules/{schedule['id']}")) == schedule


def test_an_archived_customer_takes_no_schedule(api: ApiClient) -> None:
    setup = Setup(api)
    ok(api.post(f"/api/customers/{setup.customer_id}/archive"))
    response = api.post("/api/billing-schedules", json=setup.body())
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "ArchivedReference"
    assert "archived" in response.json()["error"]["message"]
    assert total(api) == 0


def test_boundaries_that_are_accepted(api: ApiClient) -> None:
    ids = Ids(api)
    schedule = created(
        api.post(
            "/api/billing-schedules",
            json=ids.setup.body(
                start="2024-01-31",
                end="2024-01-31",  # a one-day schedule
                recurrenceDayOfMonth=31,
                phases=[
                    phase(
                        [ids.price, ids.other],
                        "2024-01-31",
                        "2024-01-31",
                        discounts=[
                            discount(amount=100),
                            discount(type="NOMINAL", amount=250, restrictToPrices=[ids.other]),
                        ],
                        minimums=[{"amount": 0.01}],
                    )
                ],
                taxRates=[
                    {"priceId": ids.price, "taxRateId": ids.tax_rate},
                    {"priceId": ids.other, "taxRateId": ids.tax_rate},
                ],
            ),
        )
    )
    assert [d["amount"] for d in schedule["phases"][0]["discounts"]] == [100, 250]
    assert schedule["phases"][0]["minimums"][0]["amount"] == 0.01
    # One price in several phases; a phase without prices.
    assert created(
        api.post(
            "/api/billing-schedules",
            json=ids.setup.body(
                end=None,
                phases=[
                    phase([ids.price], "2024-01-01", "2024-01-31"),
                    phase([], "2024-02-01", "2024-02-29"),
                    phase([ids.price, ids.other], "2024-03-01", None),
                ],
            ),
        )
    )


def test_a_body_that_is_not_json(api: ApiClient) -> None:
    ids = Ids(api)
    headers = {"Content-Type": "application/json"}
    for raw in (b"{", b'{"amount": NaN}', b"\xff"):
        response = api.post("/api/billing-schedules", content=raw, headers=headers)
        assert response.status_code == 400, raw
    assert ids.price
    assert total(api) == 0
