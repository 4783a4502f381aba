"""Input refused before any endpoint runs: NUL characters, unknown query parameters.

NUL characters:

PostgreSQL refuses NUL in text and JSONB while SQLite keeps it, so without this check the same
request would be a 500 on one backend and stored on the other. Refusing it up front gives both
a clear 400 and keeps them alike.
"""

import re
from collections.abc import Iterator

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tally.api.unknown import unknown_message, wire_names
from tally.exceptions import BadRequest, InvalidRequest

# "\u0000" in JSON, unless its backslash is itself escaped ("\\u0000" is literal text).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MESSAGE = "Text must not contain NUL characters (\\u0000)."


def _json_or_unlabelled(request: Request) -> bool:
    """A body read as JSON: labelled so, or not labelled at all. A file's bytes (an
    attachment upload) are no text, and may hold those six characters by chance."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return not media_type or media_type == "application/json" or media_type.endswith("+json")


async def reject_nul_characters(request: Request) -> None:
    if "\x00" in request.url.path or "%00" in request.url.query:
        raise BadRequest(_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH") and _json_or_unlabelled(request):
        body = await request.body()
        if b"\\u0000" in body and _JSON_NUL.search(body):
            raise BadRequest(_MESSAGE)


def _query_parameters(dependant: Dependant) -> Iterator[str]:
    for param in dependant.query_params:
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from wire_names(annotation)  # a model of query parameters
        else:
            yield param.alias
    for dependency in dependant.dependencies:
        yield from _query_parameters(dependency)


def _declared_query_parameters(route: APIRoute) -> frozenset[str]:
    known: frozenset[str] | None = getattr(route, "tally_query_parameters", None)
    if known is None:  # once per route: routes are not hashable, so kept on the route itself
        known = frozenset(_query_parameters(route.dependant))
        route.tally_query_parameters = known  # type: ignore[attr-defined]
    return known


async def reject_unknown_query_parameters(request: Request) -> None:
    """A query parameter the operation does not take is refused, naming it: a misspelled
    filter silently ignored would answer with everything (`customerEventID=...` listing
    every event)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _declared_query_parameters(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]
    if unknown:
        details = [
            {"field": name, "message": unknown_message("query parameter", name, known)}
            for name in unknown
        ]
        message = details[0]["message"]
        if len(details) > 1:
            message += f" (and {len(details) - 1} more)"
        raise InvalidRequest(message, details=details)
