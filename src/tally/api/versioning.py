"""The `Sequence-Version` header: accepted when known, echoed on every response."""

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "Sequence-Version"
LATEST_VERSION = "2024-07-30"
KNOWN_VERSIONS = frozenset({"2024-01-01", "2024-05-09", LATEST_VERSION})

_UNRECOGNISED = json.dumps(
    {
        "error": {
            "type": "UnrecognisedApiVersion",
            "message": "No matching API version found. "
            "Please make sure the specified API version is valid.",
        }
    }
).encode()


class SequenceVersionMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it sits on the ingestion hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        requested = Headers(scope=scope).get(HEADER)
        version = requested.strip() if requested else LATEST_VERSION
        if version not in KNOWN_VERSIONS:
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(_UNRECOGNISED)).encode()),
                        (HEADER.lower().encode(), LATEST_VERSION.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": _UNRECOGNISED})
            return
        scope.setdefault("state", {})["api_version"] = version

        async def send_with_version(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = version
            await send(message)

        await self.app(scope, receive, send_with_version)
