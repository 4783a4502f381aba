"""`/healthz` and `/readyz` for load balancers and orchestrators.

`/healthz` says the process answers (no database: a slow database must not get healthy
processes restarted). `/readyz` says this process can serve: the database answers and its
schema is the one this code expects (a server started before `tally db upgrade`, or rolled back
behind it, must not take traffic).
"""

import logging
from functools import lru_cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tally import migrations
from tally.db import Database

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


@lru_cache
def head_revision() -> str:
    """The newest migration shipped with this code."""
    head = ScriptDirectory(migrations.SCRIPT_LOCATION).get_current_head()
    assert head is not None, "the migrations have one head"
    return head


def _unready(reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    db: Database = request.app.state.db
    try:
        with db.engine.connect() as connection:
            revisions = MigrationContext.configure(connection).get_current_heads()
    except Exception as error:
        # The error may name hosts and users: logged, not shown to an unauthenticated caller.
        log.warning("readyz: database check failed: %s", error)
        return _unready(f"database unavailable ({type(error).__name__})")
    current = ",".join(revisions) or None
    head = head_revision()
    if current != head:
        return _unready(f"database schema at {current or 'no revision'}, code expects {head}")
    return JSONResponse({"status": "ready", "revision": head})
