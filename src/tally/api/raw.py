"""Endpoints that bypass Pydantic on the hot path: raw request bodies, msgspec responses,
and the OpenAPI documentation they would otherwise lose."""

from typing import Annotated, Any

import msgspec
from fastapi import Depends, Request, Response
from pydantic import BaseModel

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
