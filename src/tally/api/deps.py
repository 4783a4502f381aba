"""Request-scoped dependencies: the database and the unit of work."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from tally.db import REQUEST_STATE, TRACE_ID, Database
from tally.ops.logging import request_id


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def get_session(request: Request) -> Iterator[Session]:
    """One request, one transaction: committed after the endpoint returns, before the response
    is sent, so a 2xx always means the change is durable."""
    db: Database = request.app.state.db
    with db.session(write=request.method not in ("GET", "HEAD", "OPTIONS")) as session:
        yield from _unit_of_work(request, session)


def _unit_of_work(request: Request, session: Session) -> Iterator[Session]:
    """The session for the endpoint, committed once it returns, rolled back if it raised."""
    # Who acts, for the activity log: auth fills the state in, whichever runs first.
    session.info[REQUEST_STATE] = request.state
    session.info[TRACE_ID] = request_id.get()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def get_replica_session(request: Request) -> Iterator[Session]:
    """For reads that may be a moment old (lists, analytics): on the read replica when one is
    configured and has replayed this client's own writes (`tally.replicas`), else as a GET's
    `get_session`. The API key, checked before this, was read on the primary."""
    db: Database = request.app.state.db
    with db.replica_session(getattr(request.state, "read_client", None)) as session:
        yield from _unit_of_work(request, session)


# scope="function": commit before the response goes out, not after it was sent.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
# Endpoints that may read from the replica say so by taking this session instead.
ReplicaSession = Annotated[Session, Depends(get_replica_session, scope="function")]


@contextmanager
def acting_transaction(request: Request) -> Iterator[Session]:
    """A write transaction of its own, for an endpoint whose work is not one unit (a GET that
    logs before streaming its answer): who acts handed over as `get_session` does."""
    db: Database = request.app.state.db
    with db.transaction() as session:
        session.info[REQUEST_STATE] = request.state
        session.info[TRACE_ID] = request_id.get()
        yield session
