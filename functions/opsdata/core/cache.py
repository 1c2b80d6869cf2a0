"""The shared response cache (private.api_cache), read and written as the connection's own role.

Keys are computed in SQL (private.api_cache_key) over the request's material (the endpoint and
its normalized parameters: filters, the cursor's keyset values, limit; canonical JSON built here)
and the caller's shop scope: the shop id the response covers, or the caller's memberships for
endpoints that are not about one shop. Members of a shop share entries; nothing is ever shared
across shops. The scope is resolved as the caller, in the transaction that reads the cache, before
the cache is read (opsdata.core.session.resolve_scope_and_cache), so a removed member is never
served.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

MAX_CACHED_BYTES = 1_000_000  # larger responses are served but not cached

# As the connection's own role, inside the request's transaction: the entry for this material
# and the scope the same transaction resolved as the caller (opsdata.scope).
CACHE_GET_SQL = (
    "select data, total, next_cursor, expires_at, max_age"
    " from private.api_cache_get(p_material => %s, p_scope => current_setting('opsdata.scope')::text[])"
)


@dataclass(frozen=True)
class CacheEntry:
    data: str
    total: int | None
    next_cursor: str | None
    expires_at: datetime
    max_age: int


def cache_material(endpoint: str, params: dict[str, Any]) -> str:
    """The endpoint and its normalized parameters as canonical JSON (the key's first half)."""
    return json.dumps({"endpoint": endpoint, "params": params}, sort_keys=True, separators=(",", ":"), default=str)


def cache_put(
    conn: psycopg.Connection,
    material: str,
    scope: list[str],
    *,
    endpoint: str,
    data: str,
    total: int | None,
    next_cursor: str | None,
    ttl_seconds: int,
) -> tuple[datetime, int] | None:
    """Store a response; returns the stored entry's (expires_at, max_age), or None if not cached."""
    if len(data) > MAX_CACHED_BYTES:
        return None
    row = conn.execute(
        "select expires_at, max_age from private.api_cache_put("
        "p_material => %s, p_scope => %s::text[], p_endpoint => %s, p_data => %s, p_total => %s,"
        " p_next_cursor => %s, p_ttl_seconds => %s)",
        (material, scope, endpoint, data, total, next_cursor, ttl_seconds),
    ).fetchone()
    return (row[0], row[1]) if row else None
