"""Base models for the wire format: camelCase names, decimal strings, Sequence's list shape."""

from typing import Annotated, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic.alias_generators import to_camel

_CAMEL_CASE = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    from_attributes=True,
)
# Request bodies: a field the model does not know is refused (400, naming it), never dropped.
_STRICT = ConfigDict(**_CAMEL_CASE, extra="forbid")


class Schema(BaseModel):
    """Request and response bodies: camelCase on the wire, snake_case in Python.

    Unknown request fields are refused (400, naming them and the field they probably meant):
    a misspelled `parentId` silently dropped would leave a customer unbilled. Every field any
    published Sequence version documents is declared somewhere, so such clients keep working.
    Empty optional fields are left out of responses, as Sequence's are.
    """

    model_config = _STRICT

    # No return annotation on purpose: pydantic derives the serialization-mode JSON schema
    # (Tally's OpenAPI responses) from it, and `-> Any` would document every response as `{}`.
    # Unannotated, the schema stays the model's own fields.
    @model_serializer(mode="wrap")
    def _omit_nulls(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


# A cursor, left out when there is no such page: Sequence's schema types it as a string.
_Cursor = Annotated[
    str | None, Field(exclude_if=lambda value: value is None), WithJsonSchema({"type": "string"})
]


class Pagination(BaseModel):
    """`after` and `before` are left out when there is no such page, never null: 8 of the
    11 pagination shapes in Sequence's schema type them as non-null strings, and omission
    satisfies all 11. Clients stop when `after` is missing. (Seed 002's example shows
    `"after": null`; issue 18 decided omission.)"""

    model_config = _CAMEL_CASE

    after: _Cursor = None
    before: _Cursor = None
    total_result_size: int = 0


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    pagination: Pagination


class ItemList(BaseModel, Generic[ItemT]):
    """An unpaginated list, as Sequence returns for a customer's contacts and aliases."""

    items: list[ItemT]
