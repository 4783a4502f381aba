"""/api/tax-rates: create, read, list, update (a new version each time), archive, delete, and
the version endpoints of Sequence's internal spec."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from tally.accounts.service import Credentials
from tests.factories import tax_rate_body
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error
from tests.support.paging import walk


def create(api: ApiClient, **overrides: object) -> dict[str, Any]:
    response = api.post("/api/tax-rates", json=tax_rate_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def update(api: ApiClient, tax_rate: dict[str, Any], **overrides: object) -> dict[str, Any]:
    body = tax_rate_body(id=tax_rate["id"], **overrides)
    response = api.put(f"/api/tax-rates/{tax_rate['id']}", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def total(api: ApiClient) -> int:
    return int(api.get("/api/tax-rates").json()["pagination"]["totalResultSize"])


def versions(api: ApiClient, tax_rate_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/tax-rates/{tax_rate_id}/versions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


# --- create and read -------------------------------------------------------------------------


def test_create_answers_version_0_in_sequence_shape(api: ApiClient, account: Credentials) -> None:
    # The request and response of Sequence's seat-billing guide (seed 002).
    body = {
        "isPublished": True,
        "name": "UK Sales Tax",
        "invoiceName": "Value Added Tax",
        "invoiceShortName": "VAT",
        "description": "Value Added Tax applied to sales in the UK",
        "amount": "0.2",
        "country": "GB",
    }
    response = api.post("/api/tax-rates", json=body)

    assert response.status_code == 201
    tax_rate = response.json()
    assert uuid.UUID(tax_rate["id"]).version == 7
    assert uuid.UUID(tax_rate["versionId"]).version == 7
    assert tax_rate["versionId"] != tax_rate["id"]
    assert tax_rate["sequenceAccountId"] == account.account_id
    assert tax_rate["version"] == 0
    assert tax_rate["isArchived"] is False
    assert tax_rate["amount"] == "0.2"
    for field, value in body.items():
        assert tax_rate[field] == value, field
    assert "region" not in tax_rate
    assert "taxCategoryId" not in tax_rate
    assert "subRates" not in tax_rate
    assert timestamp(tax_rate["updatedAt"]) >= timestamp(tax_rate["createdAt"])
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json() == tax_rate
    assert total(api) == 1


def test_optional_fields_round_trip(api: ApiClient) -> None:
    category = str(uuid.uuid4())
    tax_rate = create(
        api,
        isPublished=False,
        country="US",
        region="California",
        taxCategoryId=category,
        description=None,
    )
    assert tax_rate["isPublished"] is False
    assert tax_rate["country"] == "US"
    assert tax_rate["region"] == "California"
    assert tax_rate["taxCategoryId"] == category
    assert "description" not in tax_rate
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json() == tax_rate


def test_country_is_normalised_to_upper_case(api: ApiClient) -> None:
    assert create(api, country="gb")["country"] == "GB"


@pytest.mark.parametrize(
    "amount", ["0.2", "0.0825", "0.12345678", "0.20", "0", "1", "0.5", "0.07000000"]
)
def test_amounts_round_trip_as_the_exact_decimal_string(api: ApiClient, amount: str) -> None:
    tax_rate = create(api, amount=amount)
    assert tax_rate["amount"] == amount
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json()["amount"] == amount
    listed = api.get("/api/tax-rates").json()["items"]
    assert [t["amount"] for t in listed] == [amount]
    assert versions(api, tax_rate["id"])[0]["amount"] == amount


def test_small_amounts_are_written_without_exponent_notation(api: ApiClient) -> None:
    tax_rate = create(api, amount="0.00000001")
    assert tax_rate["amount"] == "0.00000001"
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json()["amount"] == "0.00000001"
    assert create(api, amount="1e-2")["amount"] == "0.01"


def test_a_json_number_amount_is_read_exactly(api: ApiClient) -> None:
    assert create(api, amount=0.2)["amount"] == "0.2"


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "1.5"),
        ("amount", "-0.1"),
        ("amount", "1.00000001"),
        ("amount", "abc"),
        ("amount", ""),
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "0.123456789"),  # more precision than a rate is kept with
        ("amount", None),
        ("country", "XX"),
        ("country", "GBR"),
        ("country", ""),
        ("name", ""),
        ("invoiceName", ""),
        ("invoiceShortName", ""),
        ("isPublished", "sometimes"),
    ],
)
def test_invalid_values_are_400_and_nothing_is_written(
    api: ApiClient, field: str, value: object
) -> None:
    response = api.post("/api/tax-rates", json=tax_rate_body(**{field: value}))
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert error["details"][0]["field"] == field
    assert total(api) == 0


@pytest.mark.parametrize(
    "missing", ["isPublished", "name", "invoiceName", "invoiceShortName", "amount", "country"]
)
def test_missing_required_fields_are_400_and_nothing_is_written(
    api: ApiClient, missing: str
) -> None:
    body = tax_rate_body()
    del body[missing]
    response = api.post("/api/tax-rates", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "ValidationError"
    assert [d["field"] for d in error["details"]] == [missing]
    assert total(api) == 0


def test_malformed_json_is_a_400_and_writes_nothing(api: ApiClient) -> None:
    response = api.post(
        "/api/tax-rates",
        content=b'{"name": "Broken", "amount": "0.2"',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "BadRequest"
    assert total(api) == 0


def test_a_body_that_is_not_an_object_is_rejected(api: ApiClient) -> None:
    for body in ([tax_rate_body()], "0.2", None):
        response = api.post("/api/tax-rates", json=body)
        assert 400 <= response.status_code < 500, body
    assert total(api) == 0


# --- versions --------------------------------------------------------------------------------


def test_every_update_adds_a_version_and_get_shows_the_newest(api: ApiClient) -> None:
    original = create(api, name="UK VAT", amount="0.175")
    first = update(api, original, name="UK VAT 2011", amount="0.2")
    second = update(api, original, name="UK VAT reduced", amount="0.05", region="Wales")

    assert [first["version"], second["version"]] == [1, 2]
    assert len({original["versionId"], first["versionId"], second["versionId"]}) == 3
    assert {first["id"], second["id"]} == {original["id"]}
    assert second["amount"] == "0.05"
    assert second["name"] == "UK VAT reduced"
    assert second["region"] == "Wales"
    assert second["createdAt"] == original["createdAt"]
    assert timestamp(second["updatedAt"]) >= timestamp(first["updatedAt"])
    assert timestamp(first["updatedAt"]) >= timestamp(original["updatedAt"])

    assert api.get(f"/api/tax-rates/{original['id']}").json() == second
    listed = api.get("/api/tax-rates").json()
    assert listed["pagination"]["totalResultSize"] == 1
    assert listed["items"] == [second]

    history = versions(api, original["id"])
    assert [v["version"] for v in history] == [0, 1, 2]
    assert [v["versionId"] for v in history] == [
        original["versionId"],
        first["versionId"],
        second["versionId"],
    ]
    assert [v["amount"] for v in history] == ["0.175", "0.2", "0.05"]
    assert [v["name"] for v in history] == ["UK VAT", "UK VAT 2011", "UK VAT reduced"]
    assert history[0] == original
    assert history[1] == first
    assert history[2] == second


def test_older_versions_stay_readable_one_by_one(api: ApiClient) -> None:
    original = create(api, name="Old name", amount="0.0825")
    newest = update(api, original, name="New name", amount="0.0925", description=None)

    old = api.get(f"/api/tax-rates/{original['id']}/versions/0")
    assert old.status_code == 200
    assert old.json() == original
    assert old.json()["amount"] == "0.0825"
    assert old.json()["name"] == "Old name"

    new = api.get(f"/api/tax-rates/{original['id']}/versions/1")
    assert new.status_code == 200
    assert new.json() == newest
    assert new.json()["amount"] == "0.0925"
    assert "description" not in new.json()

    # Past any database integer too: still "no such version", not a server error.
    for missing in ("2", "99", "-1", "2147483648", "9223372036854775808", "1" + "0" * 30):
        response = api.get(f"/api/tax-rates/{original['id']}/versions/{missing}")
        assert response.status_code == 404, missing
        assert response.json()["error"]["type"] == "NotFound"
    assert api.get(f"/api/tax-rates/{original['id']}/versions/latest").status_code == 400


def test_concurrent_updates_each_get_their_own_version(api: ApiClient) -> None:
    tax_rate = create(api)
    amounts = [f"0.{n:02d}" for n in range(1, 13)]

    def put(amount: str) -> tuple[int, int, str]:
        body = tax_rate_body(id=tax_rate["id"], amount=amount)
        response = api.put(f"/api/tax-rates/{tax_rate['id']}", json=body)
        return response.status_code, response.json().get("version", -1), amount

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(put, amounts))

    assert [status for status, _, _ in results] == [200] * len(amounts)
    assert sorted(version for _, version, _ in results) == list(range(1, len(amounts) + 1))
    history = versions(api, tax_rate["id"])
    assert [v["version"] for v in history] == list(range(len(amounts) + 1))
    # Each answer showed the version it wrote, and the history kept that amount under it.
    by_version = {v["version"]: v["amount"] for v in history}
    assert all(by_version[version] == amount for _, version, amount in results)
    newest = api.get(f"/api/tax-rates/{tax_rate['id']}").json()
    assert newest["version"] == len(amounts)
    assert newest["amount"] == by_version[len(amounts)]


def test_put_whose_body_id_differs_from_the_path_is_400(api: ApiClient) -> None:
    tax_rate = create(api)
    other = create(api, name="Other")
    for body_id in (other["id"], str(uuid.uuid4()), ""):
        response = api.put(
            f"/api/tax-rates/{tax_rate['id']}", json=tax_rate_body(id=body_id, amount="0.1")
        )
        assert response.status_code == 400, body_id
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert error["details"][0]["field"] == "id"
    assert len(versions(api, tax_rate["id"])) == 1
    assert len(versions(api, other["id"])) == 1
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json() == tax_rate
    assert api.get(f"/api/tax-rates/{other['id']}").json() == other


def test_put_without_an_id_is_400(api: ApiClient) -> None:
    tax_rate = create(api)
    response = api.put(f"/api/tax-rates/{tax_rate['id']}", json=tax_rate_body(amount="0.1"))
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "id"
    assert len(versions(api, tax_rate["id"])) == 1


def test_invalid_updates_are_400_and_add_no_version(api: ApiClient) -> None:
    tax_rate = create(api)
    for overrides in ({"amount": "1.5"}, {"amount": "NaN"}, {"country": "XX"}, {"name": ""}):
        body = tax_rate_body(id=tax_rate["id"], **overrides)
        response = api.put(f"/api/tax-rates/{tax_rate['id']}", json=body)
        assert response.status_code == 400, overrides
    malformed = api.put(
        f"/api/tax-rates/{tax_rate['id']}",
        content=b'{"id": "' + tax_rate["id"].encode() + b'",',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    assert len(versions(api, tax_rate["id"])) == 1
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json() == tax_rate


# --- archive ---------------------------------------------------------------------------------


def test_archive_sets_is_archived_and_answers_sub_rates(api: ApiClient) -> None:
    tax_rate = create(api)
    response = api.post(f"/api/tax-rates/{tax_rate['id']}/archive")

    assert response.status_code == 200
    archived = response.json()
    assert archived["isArchived"] is True
    assert archived["subRates"] == []
    assert archived["id"] == tax_rate["id"]
    assert archived["versionId"] == tax_rate["versionId"]
    assert archived["version"] == 0
    assert archived["amount"] == "0.2"

    shown = api.get(f"/api/tax-rates/{tax_rate['id']}").json()
    assert shown["isArchived"] is True
    assert "subRates" not in shown
    assert [t["isArchived"] for t in api.get("/api/tax-rates").json()["items"]] == [True]

    again = api.post(f"/api/tax-rates/{tax_rate['id']}/archive")
    assert again.status_code == 200
    assert again.json()["isArchived"] is True


def test_put_on_an_archived_rate_is_refused_and_adds_no_version(api: ApiClient) -> None:
    tax_rate = create(api)
    api.post(f"/api/tax-rates/{tax_rate['id']}/archive")
    response = api.put(
        f"/api/tax-rates/{tax_rate['id']}", json=tax_rate_body(id=tax_rate["id"], amount="0.1")
    )
    assert "archived" in conflict_error(response, "ArchivedReference")["message"]
    assert [v["version"] for v in versions(api, tax_rate["id"])] == [0]
    assert api.get(f"/api/tax-rates/{tax_rate['id']}").json()["amount"] == "0.2"


def test_archive_keeps_the_newest_version(api: ApiClient) -> None:
    tax_rate = create(api)
    newest = update(api, tax_rate, amount="0.15")
    archived = api.post(f"/api/tax-rates/{tax_rate['id']}/archive").json()
    assert archived["version"] == 1
    assert archived["versionId"] == newest["versionId"]
    assert archived["amount"] == "0.15"


# --- delete ----------------------------------------------------------------------------------


def test_delete_answers_the_rate_then_it_is_gone(api: ApiClient) -> None:
    kept = create(api, name="Kept")
    tax_rate = create(api, name="Doomed")
    update(api, tax_rate, name="Doomed", amount="0.3")
    response = api.delete(f"/api/tax-rates/{tax_rate['id']}")

    assert response.status_code == 200
    deleted = response.json()
    assert deleted["id"] == tax_rate["id"]
    assert deleted["name"] == "Doomed"
    assert deleted["version"] == 1
    assert deleted["amount"] == "0.3"

    rate_url = f"/api/tax-rates/{tax_rate['id']}"
    assert api.get(rate_url).status_code == 404
    assert api.get(rate_url).json()["error"]["type"] == "NotFound"
    assert api.get(f"{rate_url}/versions").status_code == 404
    assert api.get(f"{rate_url}/versions/0").status_code == 404
    assert api.put(rate_url, json=tax_rate_body(id=tax_rate["id"])).status_code == 404
    assert api.post(f"{rate_url}/archive").status_code == 404
    assert api.delete(rate_url).status_code == 404
    listed = api.get("/api/tax-rates").json()
    assert [t["id"] for t in listed["items"]] == [kept["id"]]
    assert listed["pagination"]["totalResultSize"] == 1


def test_an_archived_rate_can_be_deleted(api: ApiClient) -> None:
    tax_rate = create(api)
    api.post(f"/api/tax-rates/{tax_rate['id']}/archive")
    response = api.delete(f"/api/tax-rates/{tax_rate['id']}")
    assert response.status_code == 200
    assert response.json()["isArchived"] is True
    assert total(api) == 0


# --- tenancy ---------------------------------------------------------------------------------


def test_another_accounts_rates_are_404_on_every_operation(
    api: ApiClient, other_api: ApiClient
) -> None:
    theirs = create(other_api, name="Their VAT")
    mine = create(api, name="My VAT")
    for rate_id in (theirs["id"], str(uuid.uuid4()), "not-an-id"):
        url = f"/api/tax-rates/{rate_id}"
        responses = [
            api.get(url),
            api.put(url, json=tax_rate_body(id=rate_id, amount="0.99")),
            api.post(f"{url}/archive"),
            api.get(f"{url}/versions"),
            api.get(f"{url}/versions/0"),
            api.delete(url),
        ]
        for response in responses:
            assert response.status_code == 404, (response.request.method, response.request.url)
            assert response.json()["error"]["type"] == "NotFound"
    assert [t["id"] for t in api.get("/api/tax-rates").json()["items"]] == [mine["id"]]
    assert other_api.get(f"/api/tax-rates/{theirs['id']}").json() == theirs
    assert [v["version"] for v in versions(other_api, theirs["id"])] == [0]
    assert [t["id"] for t in other_api.get("/api/tax-rates").json()["items"]] == [theirs["id"]]


def test_tax_rates_need_credentials(anonymous: ApiClient) -> None:
    response = anonymous.get("/api/tax-rates")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "Unauthorized"


# --- list ------------------------------------------------------------------------------------


def test_list_pages_through_every_rate_newest_first(api: ApiClient) -> None:
    created = [create(api, name=f"Rate {n}", amount=f"0.0{n}") for n in range(5)]
    newest_first = [t["id"] for t in reversed(created)]

    seen, pages = walk(api, "/api/tax-rates", limit=2)
    assert [page["pagination"]["totalResultSize"] for page in pages] == [5, 5, 5]
    assert seen == newest_first

    first = api.get("/api/tax-rates?limit=2").json()
    assert first["pagination"].get("before") is None
    second = api.get(f"/api/tax-rates?limit=2&after={first['pagination']['after']}").json()
    assert [t["id"] for t in second["items"]] == newest_first[2:4]
    back = api.get(f"/api/tax-rates?limit=2&before={second['pagination']['before']}").json()
    assert back["items"] == first["items"]

    oldest_first = api.get("/api/tax-rates?sortOrder=ASC&limit=100").json()
    assert [t["id"] for t in oldest_first["items"]] == [t["id"] for t in created]
    assert [t["amount"] for t in oldest_first["items"]] == [f"0.0{n}" for n in range(5)]


def test_list_rejects_bad_paging(api: ApiClient) -> None:
    create(api)
    for query in ("?limit=0", "?limit=101", "?limit=ten", "?sortOrder=SIDEWAYS"):
        assert api.get(f"/api/tax-rates{query}").status_code == 400, query
    assert api.get("/api/tax-rates?after=a").status_code == 400
    assert api.get("/api/tax-rates?after=abc&before=abc").status_code == 400


def test_empty_list(api: ApiClient) -> None:
    response = api.get("/api/tax-rates")
    assert response.status_code == 200
    # No page after nor before: both cursors left out (never null); clients stop on a
    # missing `after`.
    assert response.json() == {"items": [], "pagination": {"totalResultSize": 0}}
