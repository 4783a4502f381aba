"""Pure ASGI middleware (no BaseHTTPMiddleware: they sit on the ingestion hot path).

`RequestContext`, outermost: a request id for every request (the client's `X-Request-Id` when
it is short and plain, else a new one), echoed in the response; one access log line and one
latency observation per request, labelled by route template, never by the raw path (portal
links and session exchanges carry secrets in theirs).

`RememberWrites` (only with a read replica): after a client's write, before its answer goes
out, the client's fence is stored (`tally.replicas`), so its next read, on whatever process,
sees the write.

`BodyLimit`: bodies over `max_body_bytes` are refused with 413 before anything reads them (by
Content-Length), or as soon as a streamed body passes the limit.
"""

import logging
import re
import time
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.api.errors import error_response
from tally.db import Database
from tally.ops import metrics
from tally.ops.logging import request_id
from tally.ops.routes import route_of

access_log = logging.getLogger("tally.access")

HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER, "")
        rid = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            # Left set: the 500 handler, outside this middleware, logs with the request id.
            self._log(scope, status, started)
            raise
        self._log(scope, status, started)
        request_id.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route, method = route_of(scope), scope["method"]
        metrics.http_request_duration.labels(route, method, f"{status // 100}xx").observe(elapsed)
        access_log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )


class RememberWrites:
    """A client's write that succeeded (an unsafe method, not answered 4xx/5xx) moves its
    fence; auth names the client in `request.state.read_client`."""

    SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, database: Database) -> None:
        self.app = app
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in self.SAFE:
            await self.app(scope, receive, send)
            return

        async def send_after_fence(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                client = scope.get("state", {}).get("read_client")
                if client is not None:
                    await self._remember(client)
            await send(message)

        await self.app(scope, receive, send_after_fence)

    async def _remember(self, client: str) -> None:
        try:
            await run_in_threadpool(self.database.remember_write, client)
        except Exception:
            # The write is committed and must be answered as such; its client may read from
            # a replica within the lag bound until its next write.
            access_log.warning("could not store the read fence of %s", client, exc_info=True)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class BodyLimit:
    """`uploads`: paths (POST) that take files, with their own, larger limit."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, uploads: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = max_body_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.default_limit
        if scope["method"] == "POST":
            limit = max(limit, self.uploads.get(scope["path"].rstrip("/"), 0))
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            response = error_response(413, "PayloadTooLarge", BodyTooLarge(limit).detail)
            await response(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside whatever reads the body; the error handlers render it.
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
