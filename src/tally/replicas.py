"""Reads routed to a PostgreSQL streaming replica, with read-your-writes for each client.

Portal pages, analytics and API lists may read a moment-old copy of the data; everything else
reads and writes the primary (`api.deps.ReplicaSession` marks the endpoints that may).

Read-your-writes is kept by a fence per client (an API key, a portal link or session): after
a client's write commits, the primary's WAL insert position is stored in `replica_fences` on
the primary, and that client's later reads go to the replica only once it has replayed past
it. A fence held in the database, not in a process: several `tally serve` processes (or
machines) answer one client, and the process that serves its next read is seldom the one
that took its write. A precise position, not "the primary for N seconds after a write": a
client that writes all day (an ingesting API key) still reads from the replica whenever it
has caught up, and a replica that lags longer than N seconds never serves a stale read.

The replica also serves nobody while it is unreachable (tried again after RETRY_SECONDS), is
not in recovery (promoted, or not a replica at all), or lags more than the configured bound:
those reads go to the primary, and the change is logged once, not per request.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("tally.replicas")

RETRY_SECONDS = 5.0  # an unreachable replica is tried again after this long

# After commit: the insert position is past the commit record of every transaction that has
# committed so far, this client's included. GREATEST: a slower request of the same client
# never moves its fence back.
_REMEMBER = text(
    "INSERT INTO replica_fences (client, lsn, written_at) "
    "VALUES (:client, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, now()) "
    "ON CONFLICT (client) DO UPDATE SET lsn = GREATEST(replica_fences.lsn, EXCLUDED.lsn), "
    "written_at = EXCLUDED.written_at"
)
_FENCE = text("SELECT lsn FROM replica_fences WHERE client = :client")
# On the replica: how far it has replayed, and how far behind it is. No lag when it has
# replayed all it received (an idle primary sends nothing, which is no lag); else the age of
# the last transaction it replayed. NULL position: not in recovery.
_STATUS = text(
    "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END"
)


class ReadRouter:
    """Chooses the server of each replica-eligible read and remembers clients' writes."""

    def __init__(self, primary: Engine, replica: Engine, *, max_lag_seconds: float) -> None:
        self.replica = replica
        self.max_lag_seconds = max_lag_seconds
        # Each statement on its own, as the primary's lookups (READ COMMITTED gives each
        # statement its own snapshot anyway); BEGIN and COMMIT would be two more round trips.
        self._replica_bind = replica.execution_options(isolation_level="AUTOCOMMIT")
        self._replica_reads = sessionmaker(self._replica_bind, expire_on_commit=False)
        # Fences: one short statement each on the primary, outside the request's transaction.
        # Not waiting for their WAL flush: a fence lost in a crash of the primary costs at
        # most a read from a replica within the lag bound.
        self._fences = create_engine(
            primary.url,
            isolation_level="AUTOCOMMIT",
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "options": "-c synchronous_commit=off"},
        )
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._reason: str | None = None  # why reads are on the primary now, logged once

    def remember_write(self, client: str) -> None:
        """After `client`'s write committed: its reads wait for the replica to replay it."""
        with self._fences.connect() as connection:
            connection.execute(_REMEMBER, {"client": client})

    def session(self, client: str | None) -> Session | None:
        """A read session on the replica when it may serve `client` now; None: read the
        primary."""
        if time.monotonic() < self._down_until:
            return None
        session = self._replica_reads()
        try:
            replayed, lag = session.execute(_STATUS).one()
        except DBAPIError as error:
            session.close()
            self._fall_back(f"unreachable ({type(error.orig).__name__})", down=True)
            return None
        if replayed is None:
            session.close()
            self._fall_back("not a replica in recovery", down=True)
            return None
        if lag > self.max_lag_seconds:
            session.close()
            self._fall_back(f"lagging {float(lag):.1f} s (bound {self.max_lag_seconds:g} s)")
            return None
        self._recovered()
        # Read after the replica's position: a write of this client committed in between
        # only makes the comparison err towards the primary.
        try:
            fence = self._fence(client) if client is not None else None
        except BaseException:
            session.close()
            raise
        if fence is not None and replayed < fence:
            session.close()  # this client's own write is not replayed yet: read-your-writes
            return None
        return session

    def _fence(self, client: str) -> int | None:
        with self._fences.connect() as connection:
            lsn: int | None = connection.execute(_FENCE, {"client": client}).scalar()
            return lsn

    def serves(self, session: Session) -> bool:
        """Whether `session` reads from the replica."""
        return session.get_bind() is self._replica_bind

    def _fall_back(self, reason: str, *, down: bool = False) -> None:
        with self._lock:
            if down:
                self._down_until = time.monotonic() + RETRY_SECONDS
            if self._reason is None:
                log.warning("replica %s: reads go to the primary", reason)
            self._reason = reason

    def _recovered(self) -> None:
        if self._reason is None:
            return
        with self._lock:
            if self._reason is not None:
                log.warning("replica serves reads again (was %s)", self._reason)
                self._reason = None

    def dispose(self) -> None:
        self.replica.dispose()
        self._fences.dispose()
