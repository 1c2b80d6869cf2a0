"""Connections kept per execution environment, and transactions run as the calling user.

On Lambda one request runs at a time per execution environment, so the API keeps exactly one
connection there (OPSDATA_API_CONNECTIONS=1 in template.yaml), as does each `opsdata serve`
worker; an app serving concurrent requests in threads keeps a few, one per concurrent request.
Each connection is opened lazily, kept while it works, and replaced once, transparently, when it
died while idle (a frozen Lambda, a pooler restart): the work is retried on a new connection only
if the old one is broken, never after a query error.

`as_user` is what PostgREST does per request: one transaction, read-only, `role` authenticated,
the verified claims in `request.jwt.claims`, a statement timeout; all `set_config(..., true)`, so
nothing of the identity outlives the transaction. It is sent as one network round trip.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg import pq

from opsdata.core.cache import CACHE_GET_SQL, CacheEntry
from opsdata.core.db import connect

T = TypeVar("T")


class ConnectionSlots:
    """Up to `size` lazily opened connections, each used by one request at a time."""

    def __init__(self, url: str, size: int = 1, *, connect_timeout: int = 5) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._idle: queue.LifoQueue[list[psycopg.Connection | None]] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put([None])
        self.reconnects = 0
        self._lock = threading.Lock()

    def _open(self) -> psycopg.Connection:
        # autocommit: every unit of work opens its own explicit transaction (conn.transaction())
        return connect(self.url, autocommit=True, connect_timeout=self.connect_timeout)

    def run(self, work: Callable[[psycopg.Connection], T], *, acquire_timeout: float = 10) -> T:
        try:
            slot = self._idle.get(timeout=acquire_timeout)
        except queue.Empty as exc:
            raise psycopg.OperationalError("no database connection became free in time") from exc
        try:
            conn = slot[0]
            if conn is None or conn.closed or conn.broken:
                conn = slot[0] = self._open()
            try:
                return work(conn)
            except psycopg.OperationalError:
                if not (conn.closed or conn.broken):
                    raise  # a query error (e.g. statement timeout): not a dead socket
                with self._lock:
                    self.reconnects += 1
                conn = slot[0] = self._open()
                return work(conn)
        except BaseException:
            if slot[0] is not None and (slot[0].closed or slot[0].broken):
                slot[0] = None
            raise
        finally:
            self._idle.put(slot)

    def prewarm_in_background(self) -> threading.Thread:
        """Open one connection in a thread and take it once along the request path, so that both
        overlap with the rest of a cold start (the server works on another core meanwhile)."""

        def open_one() -> None:
            with contextlib.suppress(psycopg.Error):  # the first request reports it, after a fresh attempt
                self.run(warm_request_path)

        thread = threading.Thread(target=open_one, name="opsdata-db-prewarm", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        while True:
            try:
                slot = self._idle.get_nowait()
            except queue.Empty:
                return
            if slot[0] is not None:
                slot[0].close()


def _become_user(conn: psycopg.Connection, claims: dict[str, Any], statement_timeout_ms: int) -> None:
    conn.execute(
        "select set_config('statement_timeout', %s, true),"
        " set_config('request.jwt.claims', %s, true),"
        " set_config('role', 'authenticated', true)",
        (f"{int(statement_timeout_ms)}ms", json.dumps(claims, separators=(",", ":"))),
    )


@contextmanager
def as_user(
    conn: psycopg.Connection, claims: dict[str, Any], *, statement_timeout_ms: int
) -> Iterator[psycopg.Connection]:
    """One read-only transaction as the token's user (role authenticated, claims set, RLS applies),
    sent as one network round trip: BEGIN, the settings, the statements the block queues, COMMIT,
    one Sync (psycopg's conn.transaction() in a pipeline syncs after BEGIN and again before COMMIT).
    Read results after the block; a fetch inside it works but costs a round trip. On an error the
    server skipped the rest, COMMIT included, and the transaction is rolled back here, so nothing
    of it (role, claims) reaches the connection's next use."""
    try:
        with conn.pipeline():
            conn.execute("begin read only")
            _become_user(conn, claims, statement_timeout_ms)
            yield conn
            conn.execute("commit")
    except BaseException:
        if not conn.broken and conn.info.transaction_status != pq.TransactionStatus.IDLE:
            conn.execute("rollback")
        raise


# The caller's scope, resolved as the caller and kept in the transaction (opsdata.scope) for the
# cache read that follows: the shop named (42501 unless a member) or every membership.
_SCOPE_OF_SHOP_SQL = (
    "select set_config('opsdata.scope', array[private.resolve_shop(p_shop => %s)::text]::text, true)::text[]"
)
_SCOPE_OF_MEMBERSHIPS_SQL = "select set_config('opsdata.scope', private.my_membership_scope()::text, true)::text[]"


@dataclass(frozen=True)
class ScopeAndCache:
    scope: list[str]  # [shop id] for a shop's endpoint, else the caller's 'shop_id:role' memberships
    hit: CacheEntry | None


def resolve_scope_and_cache(
    conn: psycopg.Connection,
    claims: dict[str, Any],
    *,
    shop: str | None,
    material: str | None,
    statement_timeout_ms: int,
) -> ScopeAndCache:
    """One read-only transaction, sent as one round trip: as the caller, resolve the scope (a
    non-member's shop raises 42501 before anything else is read); then, as the connection's own
    role, read the cache entry for `material` in that scope (skipped when `material` is None).
    A cache hit is a whole request in one network round trip."""
    hit_cursor = None
    with as_user(conn, claims, statement_timeout_ms=statement_timeout_ms):
        if shop is not None:
            scope_cursor = conn.execute(_SCOPE_OF_SHOP_SQL, (shop,))
        else:
            scope_cursor = conn.execute(_SCOPE_OF_MEMBERSHIPS_SQL)
        if material is not None:
            conn.execute("select set_config('role', 'none', true)")  # the cache is the API's own
            hit_cursor = conn.execute(CACHE_GET_SQL, (material,))
    (scope,) = scope_cursor.fetchone()  # type: ignore[misc]
    row = hit_cursor.fetchone() if hit_cursor is not None else None
    return ScopeAndCache(scope=scope, hit=CacheEntry(*row) if row else None)


def warm_request_path(conn: psycopg.Connection) -> None:
    """One read along every request's path, as a user without memberships (nothing to see, nothing
    written): a fresh server backend loads the catalog entries, RLS policies and functions it needs
    here instead of in the first request (measured 20-35 ms on this machine)."""
    resolve_scope_and_cache(conn, {"role": "authenticated"}, shop=None, material="", statement_timeout_ms=3_000)
