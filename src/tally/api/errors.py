"""One error shape for every failure: `{"error": {"type", "message", "details"?}}`."""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from tally.api.unknown import known_at, unknown_message
from tally.exceptions import TallyError
from tally.ops.logging import request_id
from tally.ops.routes import route_of

logger = logging.getLogger(__name__)

_HTTP_ERROR_TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
}


class ErrorDetail(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    type: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The body of every 4xx and 5xx answer."""

    error: ErrorBody


class ListedErrorsResponse(ErrorResponse):
    """Sequence's `DatabaseErrors` (`{"errors": [...]}`) beside Tally's `error`: a client of
    either shape reads its own. `field` is empty for an error of the request as a whole."""

    errors: list[ErrorDetail]


def error_response(
    status_code: int,
    error_type: str,
    message: str,
    details: Sequence[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    request: Request | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        body["details"] = list(details)
    content: dict[str, Any] = {"error": body}
    if status_code == 400 and request is not None and _lists_errors(request):
        content["errors"] = list(details) if details else [{"field": "", "message": message}]
    return JSONResponse(content, status_code=status_code, headers=headers)


def _lists_errors(request: Request) -> bool:
    """Whether the matched operation documents its 400 as `ListedErrorsResponse`
    (`LISTED_ERRORS`): declaring it is what makes its 400s carry `errors`."""
    responses = getattr(request.scope.get("route"), "responses", None) or {}
    documented = responses.get(400) or responses.get("400") or {}
    return documented.get("model") is ListedErrorsResponse


def _field_path(location: Sequence[Any]) -> str:
    # FastAPI prefixes where the value came from ("body", "query", "path"); the rest is the
    # field path in the client's own (camelCase) names.
    parts = [str(part) for part in location[1:]] if len(location) > 1 else [str(location[0])]
    return ".".join(parts)


async def _tally_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TallyError)
    return error_response(
        exc.status_code,
        exc.error_type,
        exc.message,
        exc.details,
        headers=exc.headers,
        request=request,
    )


def _body_model(request: Request, exc: RequestValidationError) -> type[BaseModel] | None:
    """The model the body was read into: set by endpoints that parse bodies themselves,
    else the route's own body parameter."""
    model = getattr(exc, "body_model", None)
    if model is None:
        body_field = getattr(request.scope.get("route"), "body_field", None)
        model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _message(request: Request, exc: RequestValidationError, error: Mapping[str, Any]) -> str:
    location = tuple(error.get("loc", ()))
    if error.get("type") == "extra_forbidden" and location:
        model = _body_model(request, exc) if location[0] == "body" else None
        known = known_at(model, location[1:-1]) if model is not None else set()
        return unknown_message("field", str(location[-1]), known)
    return str(error.get("msg", ""))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(error.get("type") == "json_invalid" for error in errors):
        message = "The request body is not valid JSON."
        return error_response(400, "BadRequest", message, request=request)
    details = [
        {"field": _field_path(error.get("loc", ())), "message": _message(request, exc, error)}
        for error in errors
    ]
    first = details[0] if details else {"field": "", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return error_response(400, "ValidationError", message, details, request=request)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, "Error")
    message = exc.detail if isinstance(exc.detail, str) else error_type
    if exc.status_code == 404 and message == "Not Found":
        message = "No such route."
    return error_response(
        exc.status_code, error_type, message, headers=exc.headers, request=request
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The route template, not the path: portal links carry their secret in the path.
    route = route_of(request.scope)
    logger.exception("unhandled error on %s %s", request.method, route, exc_info=exc)
    rid = request_id.get()
    headers = {"X-Request-Id": rid} if rid else None  # what to quote to the operator
    return error_response(500, "InternalError", "An unexpected error occurred.", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TallyError, _tally_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    _document_no_422(app)


def _document_no_422(app: FastAPI) -> None:
    """FastAPI documents a 422 on every operation that reads parameters or a body; Tally
    answers validation errors with 400 (`_validation_error`), the only status Sequence
    documents for them, so the 422s and their schemas leave the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's, cached on the app: stripping twice is harmless
        for path_item in document.get("paths", {}).values():
            for operation in path_item.values():
                if isinstance(operation, dict):
                    operation.get("responses", {}).pop("422", None)
        schemas = document.get("components", {}).get("schemas", {})
        for fastapi_own in ("HTTPValidationError", "ValidationError"):
            schemas.pop(fastapi_own, None)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


# Documented on every API operation, so the OpenAPI document says what errors look like. No
# 409: a state conflict is a 400 whose `type` names it, as Sequence documents only 400 for a
# refused request; the one operation where Sequence documents 409 declares it itself.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "Invalid request (`details` names each field), or refused by the "
        "current state (`type` names the conflict: `DuplicateValue`, "
        "`InvalidStateTransition`, ...)",
    },
    401: {"model": ErrorResponse, "description": "Missing or wrong API credentials"},
    404: {"model": ErrorResponse, "description": "No such object in this account"},
    413: {"model": ErrorResponse, "description": "Request body over the size limit"},
    429: {"model": ErrorResponse, "description": "Rate limit reached; retry after `Retry-After`"},
    503: {
        "model": ErrorResponse,
        "description": "Database unreachable for now; retry after `Retry-After`",
    },
}

# For the operations whose 400 Sequence documents as `DatabaseErrors` (`{"errors": [...]}`):
# their 400s carry that list beside the usual `error` (see `error_response`).
LISTED_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ListedErrorsResponse,
        "description": "Invalid or refused request: `errors` lists each field and message "
        "(Sequence's `DatabaseErrors`), beside the usual `error`",
    },
}
