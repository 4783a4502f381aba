"""503 with `Retry-After` while the database is unreachable, instead of a 500.

A restart, failover or network cut shows up as a driver error wherever the request happened
to be: connecting (refused, "the database system is starting up"), mid-statement
(AdminShutdown, "server closed the connection"), at COMMIT, or waiting for a pooled
connection. None of these committed anything the client was told about (the commit comes
before the answer, `api/deps.py`), and resending is safe (usage events dedupe on
`customerEventId`, creates take an `Idempotency-Key`), so the honest answer is "try again".
The pool recovers by itself: `pool_pre_ping` (`db.py`) replaces stale connections after the
server comes back.
"""

import logging
import sqlite3
from typing import cast

import psycopg
from fastapi import FastAPI, Request, Response
from prometheus_client import Counter
from sqlalchemy import exc as sa_exc
from starlette.types import HTTPExceptionHandler

from tally.api.errors import error_response
from tally.ops.routes import route_of

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2  # a PostgreSQL restart takes about a second; a failover a few more

database_unavailable = Counter(
    "tally_database_unavailable_total",
    "Requests answered 503 because the database could not be reached or dropped the connection.",
)

# SQLite reports a busy or missing file as OperationalError too, but also SQL mistakes
# ("no such table", syntax): only the first kind is worth a retry.
_SQLITE_TRANSIENT = ("database is locked", "unable to open database", "disk i/o error")


def _driver_error_is_transient(error: BaseException) -> bool:
    # psycopg's OperationalError covers exactly the retryable classes: connection exceptions
    # (08), operator intervention (57: shutdown, cannot connect now, statement timeout),
    # insufficient resources (53), serialization failures and deadlocks (40).
    if isinstance(error, psycopg.OperationalError):
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(text in str(error).lower() for text in _SQLITE_TRANSIENT)
    return False


def database_unavailable_error(error: BaseException) -> bool:
    """Whether `error` (or what it was raised from) says the database is unreachable now,
    as opposed to a bug or bad data, which stays a 500."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        # Pool exhausted (QueuePool timeout) or a connection found dead when checked out.
        if isinstance(current, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True
        original = current.orig if isinstance(current, sa_exc.DBAPIError) else current
        if original is not None and _driver_error_is_transient(original):
            return True
        current = current.__cause__
    return False


def unavailable_response(request: Request, error: BaseException) -> Response:
    database_unavailable.inc()
    # The class and first line only: enough to tell a restart from a timeout in the logs.
    summary = str(error).strip().splitlines()[0] if str(error).strip() else ""
    log.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        route_of(request.scope),
        type(error).__name__,
        summary,
    )
    return error_response(
        503,
        "ServiceUnavailable",
        "The database is unavailable right now; retry the request after Retry-After seconds.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _database_error(request: Request, error: Exception) -> Response:
    if not database_unavailable_error(error):
        raise error  # not ours: the catch-all answers 500, as for any other bug
    return unavailable_response(request, error)


def install_unavailable_handler(app: FastAPI) -> None:
    """Call after `install_error_handlers`: it wraps the catch-all handler installed there."""
    # Errors raised inside the routes (dependencies, endpoints, the commit).
    for error_class in (sa_exc.SQLAlchemyError, psycopg.Error, sqlite3.Error):
        app.add_exception_handler(error_class, _database_error)

    # Errors raised by middleware that talks to the database itself (Idempotency-Key
    # bookkeeping) only reach the outermost catch-all, which Starlette takes from the
    # `Exception` entry when it builds the middleware stack.
    installed = app.exception_handlers.get(Exception)
    assert installed is not None, "install_error_handlers(app) first"
    # Only HTTP requests reach it: ServerErrorMiddleware passes websockets through.
    fallback = cast(HTTPExceptionHandler, installed)

    async def _last_resort(request: Request, error: Exception) -> Response:
        if database_unavailable_error(error):
            return unavailable_response(request, error)
        answer = fallback(request, error)
        return answer if isinstance(answer, Response) else await answer

    app.add_exception_handler(Exception, _last_resort)
