"""Base models for the wire format: camelCase names, decimal strings, Sequence's list shape."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_serializer
from pydantic.alias_generators import to_camel
from typing_extensions import TypedDict


class Schema(BaseModel):
    """Request and response bodies: camelCase on the wire, snake_case in Python.

    Unknown request fields are ignored, as Sequence does, so clients written for other API
    versions keep working.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        from_attributes=True,
    )


class PaginationDict(TypedDict):
    after: str | None
    before: str | None
    totalResultSize: int


class Pagination(BaseModel):
    after: str | None = None
    before: str | None = None
    total_result_size: int = 0

    # Always written out, nulls included: clients read `pagination.after` to know when to stop,
    # even though resources themselves omit empty optional fields.
    @model_serializer(mode="plain")
    def _serialize(self) -> PaginationDict:
        return {
            "after": self.after,
            "before": self.before,
            "totalResultSize": self.total_result_size,
        }


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    pagination: Pagination


class ItemList(BaseModel, Generic[ItemT]):
    """An unpaginated list, as Sequence returns for a customer's contacts and aliases."""

    items: list[ItemT]
