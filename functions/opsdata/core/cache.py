"""The shared response cache (private.api_cache), read and written as the connection's own role.

Keys are sha256 over the endpoint, the normalized parameters (shop resolved to its id, the
cursor's keyset values, limit) and the caller's shop scope: the shop ids the response covers,
or the caller's memberships for endpoints that are not about one shop. Members of a shop share
entries; nothing is ever shared across shops. The caller's membership is checked, as the caller,
before the cache is read (opsdata.api.endpoint), so a removed member is never served.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

MAX_CACHED_BYTES = 1_000_000  # larger responses are served but not cached


@dataclass(frozen=True)
class CacheEntry:
    data: str
    total: int | None
    next_cursor: str | None
    expires_at: datetime
    max_age: int


def cache_key(endpoint: str, params: dict[str, Any], scope: list[str]) -> str:
    canonical = json.dumps(
        {"endpoint": endpoint, "params": params, "scope": sorted(scope)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_get(conn: psycopg.Connection, key: str) -> CacheEntry | None:
    row = conn.execute(
        "select data, total, next_cursor, expires_at, max_age from private.api_cache_get(p_key => %s)", (key,)
    ).fetchone()
    return CacheEntry(*row) if row else None


def cache_put(
    conn: psycopg.Connection,
    key: str,
    *,
    endpoint: str,
    shop_ids: list[str],
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
        "p_key => %s, p_endpoint => %s, p_shop_ids => %s::uuid[], p_data => %s, p_total => %s,"
        " p_next_cursor => %s, p_ttl_seconds => %s)",
        (key, endpoint, shop_ids, data, total, next_cursor, ttl_seconds),
    ).fetchone()
    return (row[0], row[1]) if row else None
