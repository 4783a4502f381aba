"""Endpoints that bypass Pydantic on the hot path: raw request bodies, msgspec responses,
and the OpenAPI documentation they would otherwise lose; and bodies read with exact numbers
(`exact_body`), for the money Sequence's schema writes as JSON numbers."""

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from tally.exceptions import BadRequest

# Decimals as JSON numbers, exactly as held: Sequence's schema has numbers for usage values.
_encoder = msgspec.json.Encoder(decimal_format="number")


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(
        _encoder.encode(content), status_code=status_code, media_type="application/json"
    )


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing a JSON request body the endpoint reads itself."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref", "")
            if reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"required": True, "content": content}}


BodyT = TypeVar("BodyT", bound=BaseModel)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def exact_body(model: type[BodyT]) -> Callable[[bytes], BodyT]:
    """A dependency reading the JSON body into `model`, numbers with fractions as Decimals."""

    def parse(body: RawBody) -> BodyT:
        try:
            data = json.loads(body, parse_float=Decimal, parse_constant=_no_constants)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise BadRequest("The request body is not valid JSON.") from exc
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            refused = RequestValidationError(errors)
            refused.body_model = model  # type: ignore[attr-defined]  # to name unknown fields
            raise refused from exc

    return parse
