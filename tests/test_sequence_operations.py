"""Every operation of Sequence's published schema is served, except the ones named below.

A gap not named in NOT_SERVED fails by name, and so does a name that is served: the list only
shrinks as operations land.
"""

from fastapi import FastAPI

from tests.support.compatibility import NOT_SERVED
from tests.support.sequence_schema import spec, template_operation

HTTP_METHODS = {"get", "put", "post", "patch", "delete"}


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
