"""`Idempotency-Key` on POST: a retry gets the first response back instead of a second effect.

The key is claimed in its own committed transaction before the endpoint runs, so two
concurrent requests with one key cannot both proceed; the response is stored once the
endpoint's own transaction has committed. A failed request releases its key, so the client
can fix the request and retry with the same key. A claim still unanswered after
`ABANDONED_AFTER` is taken over by the next retry: its request died with its process, or the
database went away before the key could be released (the client got a 503), and the key
would otherwise be stuck "in progress" until it expires.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from fastapi import Request, Response
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tally.api.auth import CurrentAccount
from tally.core.clock import utcnow
from tally.db import Database
from tally.exceptions import BadRequest, IdempotencyKeyReused, RequestInProgress
from tally.models import IdempotencyRecord

HEADER = "Idempotency-Key"
RECORD_ID = "idempotency_record_id"  # request.state attribute naming the claimed record
MAX_KEY_LENGTH = 255
# Longer than any request runs (the slowest, a billing run on demand, takes seconds).
ABANDONED_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: bytes


class IdempotentReplay(Exception):
    """Raised to answer with the stored response of an earlier request."""

    def __init__(self, stored: StoredResponse) -> None:
        self.stored = stored


def replay_response(replay: IdempotentReplay) -> Response:
    return Response(
        content=replay.stored.body,
        status_code=replay.stored.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


def _request_hash(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _claim(
    db: Database, account_id: str, key: str, request_hash: str, ttl: timedelta
) -> str | StoredResponse:
    """Claim `key` for this request (returns the record id) or return the stored response."""
    for _ in range(2):
        with db.transaction() as session:
            record = session.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.account_id == account_id, IdempotencyRecord.key == key
                )
            )
            if record is not None and record.created_at < utcnow() - ttl:
                session.delete(record)
                session.flush()
                record = None
            if record is None:
                try:
                    record = IdempotencyRecord(
                        account_id=account_id, key=key, request_hash=request_hash
                    )
                    session.add(record)
                    session.flush()
                except IntegrityError:
                    session.rollback()
                    continue  # claimed by a concurrent request a moment ago: read it again
                return record.id
            if record.request_hash != request_hash:
                raise IdempotencyKeyReused(
                    f"{HEADER} {key!r} was already used with a different request; "
                    "use a new key for a new request."
                )
            if record.status_code is None or record.response_body is None:
                if record.created_at < utcnow() - ABANDONED_AFTER and _take_over(session, record):
                    return record.id
                raise RequestInProgress(
                    f"A request with {HEADER} {key!r} is still in progress; retry shortly."
                )
            return StoredResponse(record.status_code, record.response_body)
    raise RequestInProgress(f"A request with {HEADER} {key!r} is still in progress; retry shortly.")


def _take_over(session: Session, record: IdempotencyRecord) -> bool:
    """Claim an abandoned record for this request; False when a concurrent retry won it."""
    taken = session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record.id,
            IdempotencyRecord.created_at == record.created_at,
            IdempotencyRecord.status_code.is_(None),
        )
        .values(created_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return cast(CursorResult[Any], taken).rowcount == 1


async def claim_idempotency_key(request: Request, principal: CurrentAccount) -> None:
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        raise BadRequest(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.")
    db: Database = request.app.state.db
    ttl = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)
    request_hash = _request_hash(request, await request.body())
    claimed = await run_in_threadpool(_claim, db, principal.account_id, key, request_hash, ttl)
    if isinstance(claimed, StoredResponse):
        raise IdempotentReplay(claimed)
    setattr(request.state, RECORD_ID, claimed)


def _finish(db: Database, record_id: str, status_code: int | None, body: bytes) -> None:
    with db.transaction() as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is None:
            return
        if status_code is not None and 200 <= status_code < 300:
            record.status_code = status_code
            record.response_body = body
            record.completed_at = utcnow()
        else:
            session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


class IdempotencyMiddleware:
    """Stores the response of a request that claimed its key (see `claim_idempotency_key`).

    Pure ASGI, outside FastAPI's dependency scopes: by the time the response starts, the
    endpoint's transaction has committed. The response is held until it is stored, so once
    the client has an answer a retry never finds the key still in flight.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []
        finished = False

        def claimed_record() -> str | None:
            record_id: str | None = scope.get("state", {}).get(RECORD_ID)
            return record_id

        async def hold_until_stored(message: Message) -> None:
            nonlocal finished
            record_id = claimed_record()
            if record_id is None or finished:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                body = b"".join(m.get("body", b"") for m in held[1:])
                await run_in_threadpool(
                    _finish, scope["app"].state.db, record_id, held[0]["status"], body
                )
                finished = True
                for pending in held:
                    await send(pending)

        try:
            await self.app(scope, receive, hold_until_stored)
        finally:
            record_id = claimed_record()
            if record_id is not None and not finished:
                await run_in_threadpool(_finish, scope["app"].state.db, record_id, None, b"")
