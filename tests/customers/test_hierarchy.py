"""Parent-child customers (seed 003): `parentId` and /api/customer-organizations.

`parentId` is the source of truth; an organization is a parent's group of children under the
id Sequence's API gives it, with the parent as owner and the children as members.
"""

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import customer_body, new_customer
from tests.support.api_client import ApiClient
from tests.support.errors import conflict_error


def get(api: ApiClient, customer: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"/api/customers/{customer['id']}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def put(api: ApiClient, customer: dict[str, Any], **overrides: Any) -> httpx.Response:
    body = customer_body(legalName=customer["legalName"], **overrides)
    return api.put(f"/api/customers/{customer['id']}", json=body)


def ref(customer: dict[str, Any]) -> dict[str, str]:
    """The `{id, name}` form that children, owners and members use."""
    return {"id": customer["id"], "name": customer["legalName"]}


def parent_of(api: ApiClient, customer: dict[str, Any]) -> str | None:
    return get(api, customer).get("parentId")


def total_customers(api: ApiClient) -> int:
    return int(
        api.get("/api/customers?includeArchived=true").json()["pagination"]["totalResultSize"]
    )


def create_organization(
    api: ApiClient, owner: dict[str, Any], *members: dict[str, Any]
) -> httpx.Response:
    return api.post(
        "/api/customer-organizations",
        json={"ownerId": owner["id"], "memberIds": [m["id"] for m in members]},
    )


def organization(api: ApiClient, owner: dict[str, Any], *members: dict[str, Any]) -> dict[str, Any]:
    response = create_organization(api, owner, *members)
    assert response.status_code == 201, response.text
    return dict(response.json())


def members_url(organization: dict[str, Any] | str) -> str:
    organization_id = organization if isinstance(organization, str) else organization["id"]
    return f"/api/customer-organizations/{organization_id}/members"


def set_members(
    api: ApiClient, method: str, organization: dict[str, Any] | str, *members: dict[str, Any]
) -> httpx.Response:
    body = {"customerIds": [m["id"] for m in members]}
    return api.request(method, members_url(organization), json=body)


# --- parentId --------------------------------------------------------------------------------


def test_a_parent_given_on_create_lists_the_child(api: ApiClient) -> None:
    parent = new_customer(api, "Parent Group")
    assert parent["children"] == []
    assert parent["organizations"] == []
    assert "parentId" not in parent

    child = new_customer(api, "Child Ltd", parentId=parent["id"])
    assert child["parentId"] == parent["id"]
    assert child["children"] == []
    [group] = child["organizations"]
    assert uuid.UUID(group["id"])
    assert group["owner"] == ref(parent)
    assert group["members"] == [ref(child)]

    parent = get(api, parent)
    assert parent["children"] == [ref(child)]
    assert parent["organizations"] == [group]
    assert "parentId" not in parent
    assert get(api, child)["organizations"] == [group]


def test_children_and_members_list_every_child(api: ApiClient) -> None:
    parent = new_customer(api, "Parent Group")
    first = new_customer(api, "First", parentId=parent["id"])
    second = new_customer(api, "Second", parentId=parent["id"])
    new_customer(api, "Unrelated")

    parent = get(api, parent)
    assert parent["children"] == [ref(first), ref(second)]
    [group] = parent["organizations"]
    assert group["members"] == [ref(first), ref(second)]
    assert get(api, first)["organizations"] == get(api, second)["organizations"] == [group]


def test_a_parent_given_on_update(api: ApiClient) -> None:
    parent = new_customer(api, "Parent Group")
    child = new_customer(api, "Child Ltd")
    response = put(api, child, parentId=parent["id"])
    assert response.status_code == 200
    assert response.json()["parentId"] == parent["id"]
    assert get(api, parent)["children"] == [ref(child)]
    assert response.json()["organizations"] == get(api, parent)["organizations"]


def test_an_update_without_parent_id_keeps_the_parent(api: ApiClient) -> None:
    parent = new_customer(api, "Parent Group")
    child = new_customer(api, "Child Ltd", parentId=parent["id"])
    response = put(api, child, label="Renamed label")
    assert response.status_code == 200
    assert response.json()["parentId"] == parent["id"]
    assert response.json()["label"] == "Renamed label"
    assert get(api, parent)["children"] == [ref(child)]


def test_parent_id_null_detaches_the_child(api: ApiClient) -> None:
    parent = new_customer(api, "Parent Group")
    child = new_customer(api, "Child Ltd", parentId=parent["id"])
    sibling = new_customer(api, "Sibling", parentId=parent["id"])

    response = put(api, child, parentId=None)
    assert response.status_code == 200
    assert "parentId" not in response.json()
    assert response.json()["organizations"] == []
    parent = get(api, parent)
    assert parent["children"] == [ref(sibling)]
    assert parent["organizations"][0]["members"] == [ref(sibling)]
    assert get(api, child)["organizations"] == []

    # Detaching a customer without a parent changes nothing.
    assert put(api, child, parentId=None).status_code == 200
    assert parent_of(api, child) is None


def test_a_child_can_move_to_another_parent(api: ApiClient) -> None:
    old = new_customer(api, "Old Parent")
    new = new_customer(api, "New Parent")
    child = new_customer(api, "Child Ltd", parentId=old["id"])
    response = put(api, child, parentId=new["id"])
    assert response.status_code == 200
    assert response.json()["parentId"] == new["id"]
    assert get(api, old)["children"] == []
    assert get(api, new)["children"] == [ref(child)]
    [group] = get(api, child)["organizations"]
    assert group["owner"] == ref(new)


def test_a_hierarchy_can_be_several_levels_deep(api: ApiClient) -> None:
    top = new_customer(api, "Holding")
    middle = new_customer(api, "Region", parentId=top["id"])
    bottom = new_customer(api, "Branch", parentId=middle["id"])

    middle = get(api, middle)
    assert middle["parentId"] == top["id"]
    assert middle["children"] == [ref(bottom)]
    owned, belongs_to = middle["organizations"]
    assert owned["owner"] == ref(middle)
    assert owned["members"] == [ref(bottom)]
    assert belongs_to["owner"] == ref(top)
    assert belongs_to["members"] == [ref(middle)]
    assert get(api, top)["children"] == [ref(middle)]
    assert get(api, bottom)["organizations"] == [owned]


def test_cycles_are_refused(api: ApiClient) -> None:
    a = new_customer(api, "A")
    b = new_customer(api, "B", parentId=a["id"])
    c = new_customer(api, "C", parentId=b["id"])

    for customer, parent in ((a, a), (a, c), (a, b), (b, c), (c, c)):
        response = put(api, customer, parentId=parent["id"], label="changed")
        assert "cycle" in conflict_error(response, "HierarchyCycle")["message"]

    assert parent_of(api, a) is None
    assert parent_of(api, b) == a["id"]
    assert parent_of(api, c) == b["id"]
    assert all("label" not in get(api, x) for x in (a, b, c))


def test_an_archived_parent_is_refused(api: ApiClient) -> None:
    parent = new_customer(api, "Closed Parent")
    child = new_customer(api, "Child Ltd")
    api.post(f"/api/customers/{parent['id']}/archive")

    response = api.post(
        "/api/customers", json=customer_body(legalName="Orphan", parentId=parent["id"])
    )
    assert "archived" in conflict_error(response, "ArchivedReference")["message"]
    assert total_customers(api) == 2

    response = put(api, child, parentId=parent["id"])
    conflict_error(response, "ArchivedReference")
    assert parent_of(api, child) is None
    assert get(api, parent)["children"] == []


def test_an_unknown_or_foreign_parent_is_404(api: ApiClient, other_api: ApiClient) -> None:
    theirs = new_customer(other_api, "Their Parent")
    child = new_customer(api, "Child Ltd")
    for parent_id in (theirs["id"], str(uuid.uuid4()), "nope"):
        response = api.post(
            "/api/customers", json=customer_body(legalName="Orphan", parentId=parent_id)
        )
        assert response.status_code == 404, parent_id
        assert response.json()["error"]["type"] == "NotFound"
        response = put(api, child, parentId=parent_id)
        assert response.status_code == 404, parent_id
    assert total_customers(api) == 1
    assert parent_of(api, child) is None
    their_view = other_api.get(f"/api/customers/{theirs['id']}").json()
    assert their_view["children"] == []
    assert their_view["organizations"] == []


# --- /api/customer-organizations -------------------------------------------------------------


def test_create_an_organization(api: ApiClient) -> None:
    owner = new_customer(api, "FinTech Solutions")
    payments = new_customer(api, "FinTech Payments")
    lending = new_customer(api, "FinTech Lending")

    response = create_organization(api, owner, payments, lending)
    assert response.status_code == 201
    group = response.json()
    assert uuid.UUID(group["id"])
    assert group["owner"] == ref(owner)
    assert group["members"] == [ref(payments), ref(lending)]

    owner = get(api, owner)
    assert owner["children"] == [ref(payments), ref(lending)]
    assert owner["organizations"] == [group]
    for member in (payments, lending):
        view = get(api, member)
        assert view["parentId"] == owner["id"]
        assert view["organizations"] == [group]


def test_an_organization_may_start_without_members(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    group = organization(api, owner)
    assert group["members"] == []
    assert get(api, owner)["organizations"] == [group]
    assert get(api, owner)["children"] == []


def test_a_second_organization_for_one_owner_is_refused(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    first = new_customer(api, "First")
    second = new_customer(api, "Second")
    group = organization(api, owner, first)

    response = create_organization(api, owner, second)
    assert group["id"] in conflict_error(response, "DuplicateValue")["message"]
    assert parent_of(api, second) is None
    assert get(api, owner)["organizations"] == [group]

    # A parent given through parentId owns an organization already, too.
    parent = new_customer(api, "Parent")
    new_customer(api, "Child", parentId=parent["id"])
    conflict_error(create_organization(api, parent, second), "DuplicateValue")
    assert parent_of(api, second) is None


def test_adding_members(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    first = new_customer(api, "First")
    second = new_customer(api, "Second")
    third = new_customer(api, "Third")
    group = organization(api, owner, first)

    response = set_members(api, "POST", group, second, third)
    assert response.status_code == 200
    assert response.json() == {**group, "members": [ref(first), ref(second), ref(third)]}
    assert get(api, owner)["children"] == [ref(first), ref(second), ref(third)]
    assert parent_of(api, third) == owner["id"]

    # Adding a current member again is harmless.
    again = set_members(api, "POST", group, first)
    assert again.status_code == 200
    assert again.json() == response.json()


def test_replacing_members_detaches_the_removed_ones(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    kept = new_customer(api, "Kept")
    removed = new_customer(api, "Removed")
    added = new_customer(api, "Added")
    group = organization(api, owner, kept, removed)

    response = set_members(api, "PUT", group, kept, added)
    assert response.status_code == 200
    assert response.json() == {**group, "members": [ref(kept), ref(added)]}
    assert parent_of(api, kept) == owner["id"]
    assert parent_of(api, added) == owner["id"]
    assert parent_of(api, removed) is None
    assert get(api, removed)["organizations"] == []
    assert get(api, owner)["children"] == [ref(kept), ref(added)]

    emptied = set_members(api, "PUT", group)
    assert emptied.status_code == 200
    assert emptied.json()["members"] == []
    assert all(parent_of(api, c) is None for c in (kept, removed, added))


def test_organizations_reflect_parent_id_changes(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    member = new_customer(api, "Member")
    group = organization(api, owner, member)
    joiner = new_customer(api, "Joiner", parentId=owner["id"])
    put(api, member, parentId=None)
    [current] = get(api, owner)["organizations"]
    assert current == {**group, "members": [ref(joiner)]}


def test_a_member_of_another_organization_is_refused(api: ApiClient) -> None:
    first_owner = new_customer(api, "First Owner")
    second_owner = new_customer(api, "Second Owner")
    member = new_customer(api, "Member")
    free = new_customer(api, "Free")
    organization(api, first_owner, member)
    group = organization(api, second_owner)

    for response in (
        set_members(api, "POST", group, free, member),
        set_members(api, "PUT", group, free, member),
    ):
        assert member["id"] in conflict_error(response, "ReferenceInUse")["message"]
    third_owner = new_customer(api, "Third Owner")
    conflict_error(create_organization(api, third_owner, member), "ReferenceInUse")

    assert parent_of(api, member) == first_owner["id"]
    assert parent_of(api, free) is None
    assert get(api, second_owner)["organizations"] == [group]
    assert get(api, third_owner)["organizations"] == []


def test_organizations_refuse_cycles(api: ApiClient) -> None:
    top = new_customer(api, "Top")
    owner = new_customer(api, "Owner", parentId=top["id"])
    group = organization(api, owner)

    # The owner's own parent cannot become its member, nor can the owner itself.
    conflict_error(set_members(api, "POST", group, top), "HierarchyCycle")
    assert parent_of(api, top) is None
    loner = new_customer(api, "Loner")
    conflict_error(create_organization(api, loner, loner), "HierarchyCycle")
    assert get(api, loner)["organizations"] == []


def test_unknown_and_foreign_ids_are_404(api: ApiClient, other_api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    member = new_customer(api, "Member")
    group = organization(api, owner)
    their_owner = new_customer(other_api, "Their Owner")
    their_member = new_customer(other_api, "Their Member")
    their_group = organization(other_api, their_owner)

    for organization_id in (str(uuid.uuid4()), "nope", their_group["id"]):
        for method in ("POST", "PUT"):
            response = set_members(api, method, organization_id, member)
            assert response.status_code == 404, (method, organization_id)
            assert response.json()["error"]["type"] == "NotFound"
    for method in ("POST", "PUT"):
        assert set_members(api, method, group, member, their_member).status_code == 404
    assert create_organization(api, their_owner, member).status_code == 404
    assert create_organization(api, member, their_member).status_code == 404

    assert parent_of(api, member) is None
    assert get(api, owner)["organizations"] == [group]
    assert get(api, member)["organizations"] == []
    assert other_api.get(f"/api/customers/{their_member['id']}").json().get("parentId") is None
    assert other_api.get(f"/api/customers/{their_owner['id']}").json()["organizations"] == [
        their_group
    ]


def test_invalid_organization_bodies_are_400(api: ApiClient) -> None:
    owner = new_customer(api, "Owner")
    for body, field in (
        ({"memberIds": []}, "ownerId"),
        ({"ownerId": owner["id"]}, "memberIds"),
        ({"ownerId": owner["id"], "memberIds": "not-a-list"}, "memberIds"),
    ):
        response = api.post("/api/customer-organizations", json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["type"] == "ValidationError"
        assert field in {detail["field"] for detail in error["details"]}
    group = organization(api, owner)
    response = api.post(members_url(group), json={})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "customerIds"


# --- concurrent requests ---------------------------------------------------------------------


@pytest.fixture
def side_by_side(app: FastAPI, api: ApiClient) -> Iterator[Callable[..., list[httpx.Response]]]:
    """Runs one call per given function at the same moment, each with its own client."""
    with ExitStack() as stack, ThreadPoolExecutor(max_workers=2) as pool:
        clients = [
            ApiClient(stack.enter_context(TestClient(app, raise_server_exceptions=False)), api.auth)
            for _ in range(2)
        ]

        def run(*calls: Callable[[ApiClient], httpx.Response]) -> list[httpx.Response]:
            barrier = threading.Barrier(len(calls), timeout=30)

            def send(client: ApiClient, call: Callable[[ApiClient], httpx.Response]) -> Any:
                barrier.wait()
                return call(client)

            futures = [pool.submit(send, c, call) for c, call in zip(clients, calls, strict=True)]
            return [future.result(timeout=60) for future in futures]

        yield run


def test_children_created_concurrently_under_a_new_parent_share_one_organization(
    api: ApiClient, side_by_side: Callable[..., list[httpx.Response]]
) -> None:
    for round_ in range(5):
        parent = new_customer(api, f"Parent {round_}")

        def create_child(name: str, parent_id: str = parent["id"]) -> Callable[..., Any]:
            body = customer_body(legalName=name, parentId=parent_id)
            return lambda client: client.post("/api/customers", json=body)

        responses = side_by_side(create_child("Left"), create_child("Right"))
        assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
        parent = get(api, parent)
        assert sorted(c["name"] for c in parent["children"]) == ["Left", "Right"]
        [group] = parent["organizations"]
        assert sorted(m["name"] for m in group["members"]) == ["Left", "Right"]
        assert all(r.json()["organizations"][0]["id"] == group["id"] for r in responses)


def test_concurrent_organizations_for_one_owner_make_exactly_one(
    api: ApiClient, side_by_side: Callable[..., list[httpx.Response]]
) -> None:
    for round_ in range(5):
        owner = new_customer(api, f"Owner {round_}")
        left = new_customer(api, f"Left {round_}")
        right = new_customer(api, f"Right {round_}")

        def create(member: dict[str, Any], owner: dict[str, Any] = owner) -> Callable[..., Any]:
            return lambda client: create_organization(client, owner, member)

        responses = side_by_side(create(left), create(right))
        assert sorted(r.status_code for r in responses) == [201, 400], [r.text for r in responses]
        [loser] = [r for r in responses if r.status_code == 400]
        conflict_error(loser, "DuplicateValue")
        [winner] = [r.json() for r in responses if r.status_code == 201]
        assert get(api, owner)["organizations"] == [winner]
        assert [parent_of(api, left), parent_of(api, right)].count(owner["id"]) == 1


def test_concurrent_moves_never_make_a_cycle(
    api: ApiClient, side_by_side: Callable[..., list[httpx.Response]]
) -> None:
    for round_ in range(5):
        a = new_customer(api, f"A {round_}")
        b = new_customer(api, f"B {round_}")

        def move(child: dict[str, Any], parent: dict[str, Any]) -> Callable[..., Any]:
            return lambda client: put(client, child, parentId=parent["id"])

        responses = side_by_side(move(a, b), move(b, a))
        assert sorted(r.status_code for r in responses) == [200, 400], [r.text for r in responses]
        [loser] = [r for r in responses if r.status_code == 400]
        conflict_error(loser, "HierarchyCycle")
        parents = {parent_of(api, a), parent_of(api, b)}
        assert parents in ({b["id"], None}, {a["id"], None})


def test_restating_an_archived_parent_is_no_move(api: ApiClient) -> None:
    parent = new_customer(api, "Archived parent")
    child = new_customer(api, "Child", parentId=parent["id"])
    api.post(f"/api/customers/{parent['id']}/archive")
    response = put(api, child, parentId=parent["id"], label="still here")
    assert response.status_code == 200, response.text
    assert response.json()["parentId"] == parent["id"]
