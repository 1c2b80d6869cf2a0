"""Declaring a read endpoint, and the one code path every read endpoint runs.

An endpoint is a SQL function plus a declaration (see README "Adding an endpoint"):

    Endpoint(
        path="/api/data/sync-runs", function="public.list_sync_runs",
        params=SyncRunsParams, item=SyncRun, summary="...",
        ttl_minutes=5, timeout="simple", keyset=("started_at", "id"),
        total_function="public.count_sync_runs",
    )

Query parameters map to the function's named arguments: `shop` → `p_shop_id` (resolved from an
id or a domain, membership checked), `limit` → `p_limit`, the cursor's keyset values →
`p_after_<column>`, every other field `x` → `p_x`; parameters left out (None) are not passed, so
the SQL defaults apply, exactly as with PostgREST RPC.

Per request (`run_endpoint`): the cursor (checked in process); one read-only transaction, sent as
one network round trip, that resolves the shop scope as the user (membership is checked before
anything is read) and reads the cache as the connection's own role; on a miss, a read-only
transaction as the user with the function, the total and the next cursor; then the cache write.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg import sql
from pydantic import BaseModel, ConfigDict, Field

from opsdata.core.cache import cache_material, cache_put
from opsdata.core.cursor import CursorError, decode_cursor, encode_cursor
from opsdata.core.envelope import ApiError, success_body
from opsdata.core.observability import logger
from opsdata.core.session import ConnectionSlots, as_user, resolve_scope_and_cache

TimeoutClass = Literal["simple", "aggregation", "analytics"]
# statement_timeout per endpoint class (DESIGN.md budgets: simple < 100 ms, aggregations < 500 ms,
# complex analytics < 2 s at p95; the limits leave room for cold caches and big shops).
STATEMENT_TIMEOUT_MS: dict[TimeoutClass, int] = {"simple": 3_000, "aggregation": 8_000, "analytics": 20_000}
SPECIAL_PARAMS = {"shop", "limit", "cursor"}


class ApiParams(BaseModel):
    """Base of every endpoint's query parameters: unknown parameters are an error."""

    # defer_build: validators are built on an endpoint's first request, not at cold start
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class ApiItem(BaseModel):
    """Base of the models that document one element of an endpoint's "data" (OpenAPI only)."""

    model_config = ConfigDict(defer_build=True)


class ShopParams(ApiParams):
    shop: str = Field(
        min_length=1,
        max_length=253,
        description="The shop: its id (uuid) or its domain (e.g. demo.myshopify.com). You must be a member.",
    )


class PageParams(ApiParams):
    limit: int = Field(default=50, ge=1, le=500, description="Page size, 1-500.")
    cursor: str | None = Field(
        default=None, max_length=512, description="`meta.next_cursor` of the previous page; omit for the first page."
    )


@dataclass(frozen=True)
class Endpoint:
    path: str
    function: str  # schema-qualified, e.g. "public.list_sync_runs"
    params: type[ApiParams]
    item: type[ApiItem]  # one element of "data" (documents the response in OpenAPI)
    summary: str
    ttl_minutes: int
    timeout: TimeoutClass = "simple"
    keyset: tuple[str, ...] = ()  # row columns of the sort key; the function takes p_after_<column>
    total_function: str | None = None  # same filters, returns the row count behind all pages
    result: Literal["rows", "value"] = "rows"  # rows of a setof/table function, or one json/jsonb value
    description: str = ""

    def __post_init__(self) -> None:
        if not 5 <= self.ttl_minutes <= 60:
            raise ValueError(f"{self.path}: cache TTL must be 5-60 minutes")
        fields = self.params.model_fields
        if self.keyset and not {"limit", "cursor"} <= fields.keys():
            raise ValueError(f"{self.path}: a keyset endpoint's params must include PageParams")
        if self.result == "value" and self.keyset:
            raise ValueError(f"{self.path}: a function returning one value is not paged")

    @property
    def shop_scoped(self) -> bool:
        return "shop" in self.params.model_fields

    @property
    def name(self) -> str:
        return self.path.removeprefix("/api/data/")


@dataclass(frozen=True)
class Page:
    body: bytes
    etag: str
    max_age: int | None
    cached: bool


def _function(name: str) -> sql.Composable:
    schema, _, function = name.partition(".")
    return sql.Identifier(schema, function)


def _call(function: str, args: dict[str, Any]) -> tuple[sql.Composable, dict[str, Any]]:
    """`schema.fn(p_a => %(p_a)s, ...)` with every argument bound, never interpolated."""
    named = sql.SQL(", ").join(sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name)) for name in args)
    return sql.SQL("{}({})").format(_function(function), named), args


def _filter_args(endpoint: Endpoint, params: ApiParams) -> dict[str, Any]:
    return {
        f"p_{name}": value for name, value in params.model_dump(exclude=SPECIAL_PARAMS).items() if value is not None
    }


def _page_query(endpoint: Endpoint, call: sql.Composable) -> sql.Composable:
    """Rows as Postgres renders them to JSON (as PostgREST would), and their keyset values."""
    if endpoint.result == "value":  # a JSON array's elements are the rows; any other value is one row
        return sql.SQL(
            "select e::text, null from (select to_json({}) as v) x,"
            " json_array_elements(case when json_typeof(x.v) = 'array' then x.v else json_build_array(x.v) end) e"
            " where x.v is not null"
        ).format(call)
    keys = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in endpoint.keyset)
    keyset = sql.SQL("json_build_array({})::text").format(keys) if endpoint.keyset else sql.SQL("null")
    return sql.SQL("select row_to_json(t)::text, {} from {} t").format(keyset, call)


def run_endpoint(
    endpoint: Endpoint,
    params: ApiParams,
    claims: dict[str, Any],
    slots: ConnectionSlots,
    *,
    cursor_secret: bytes,
    use_cache: bool,
) -> Page:
    ttl_seconds = endpoint.ttl_minutes * 60
    timeout_ms = STATEMENT_TIMEOUT_MS[endpoint.timeout]
    args = _filter_args(endpoint, params)
    shop = params.shop if endpoint.shop_scoped else None  # type: ignore[attr-defined]
    # 1. the cursor, bound to the endpoint and these parameters (the shop as named)
    binding = {k: str(v) for k, v in args.items()} | ({"p_shop": shop.lower()} if shop is not None else {})
    after: list[Any] = []
    if endpoint.keyset and params.cursor:  # type: ignore[attr-defined]
        try:
            after = decode_cursor(cursor_secret, endpoint.path, binding, params.cursor)  # type: ignore[attr-defined]
        except CursorError as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from exc
        if len(after) != len(endpoint.keyset):
            raise ApiError(400, "invalid_cursor", "cursor is in a format this API no longer reads")
    # a paged endpoint's page size, or an unpaged one's own `limit` (e.g. top 10)
    limit = getattr(params, "limit", None)
    # the shop is not part of the material: the scope (its resolved id) is
    material = cache_material(endpoint.path, {**binding, "p_shop": None, "after": after, "limit": limit})
    # 2. the scope, checked as the user (403 for non-members), and the shared cache: one round trip
    found = slots.run(
        lambda conn: resolve_scope_and_cache(
            conn, claims, shop=shop, material=material if use_cache else None, statement_timeout_ms=timeout_ms
        )
    )
    if found.hit is not None:
        hit = found.hit
        return _page(hit.data, hit.total, hit.next_cursor, hit.expires_at, hit.max_age, cached=True)
    if shop is not None:
        args = {"p_shop_id": UUID(found.scope[0]), **args}

    # 3. on a miss, the function, as the user
    def work(conn: psycopg.Connection) -> tuple[str, int | None, str | None]:
        page_args = dict(args)
        if endpoint.keyset and after:
            page_args.update({f"p_after_{c}": v for c, v in zip(endpoint.keyset, after, strict=True)})
        if limit is not None:
            page_args["p_limit"] = limit
        # the page and the total in one round trip; the probe for a next page needs the page
        with as_user(conn, claims, statement_timeout_ms=timeout_ms):
            call, bound = _call(endpoint.function, page_args)
            page_cursor = conn.execute(_page_query(endpoint, call), bound)
            total_cursor = None
            if endpoint.total_function:
                total_call, total_bound = _call(endpoint.total_function, args)
                total_cursor = conn.execute(sql.SQL("select {}").format(total_call), total_bound)
        fetched = page_cursor.fetchall()
        rows, keys = [r[0] for r in fetched], [r[1] for r in fetched]
        total = total_cursor.fetchone()[0] if total_cursor is not None else (None if endpoint.keyset else len(rows))
        next_cursor = None
        if endpoint.keyset and len(rows) == limit:
            last = json.loads(keys[-1])
            probe_args = {**args, **{f"p_after_{c}": v for c, v in zip(endpoint.keyset, last, strict=True)}}
            call, bound = _call(endpoint.function, {**probe_args, "p_limit": 1})
            with as_user(conn, claims, statement_timeout_ms=timeout_ms):
                probe = conn.execute(sql.SQL("select 1 from {} t").format(call), bound)
            if probe.fetchone():
                next_cursor = encode_cursor(cursor_secret, endpoint.path, binding, last)
        return "[" + ",".join(rows) + "]", total, next_cursor

    data, total, next_cursor = slots.run(work)
    expires_at = max_age = None
    if use_cache:
        try:
            stored = slots.run(
                lambda conn: cache_put(
                    conn,
                    material,
                    found.scope,
                    endpoint=endpoint.path,
                    data=data,
                    total=total,
                    next_cursor=next_cursor,
                    ttl_seconds=ttl_seconds,
                )
            )
        except psycopg.Error as exc:  # the response is still right; only caching failed
            logger.warning("cache write failed", extra={"endpoint": endpoint.path, "error": type(exc).__name__})
            stored = None
        if stored is not None:
            expires_at, max_age = stored
    return _page(data, total, next_cursor, expires_at, max_age, cached=False)


def _page(
    data: str,
    total: int | None,
    next_cursor: str | None,
    expires_at: datetime | None,
    max_age: int | None,
    *,
    cached: bool,
) -> Page:
    meta = {"total": total, "cached": cached, "cache_expires_at": _iso(expires_at), "next_cursor": next_cursor}
    body = success_body(data, meta)
    return Page(body=body, etag=etag_for(body), max_age=max_age, cached=cached)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def etag_for(body: bytes) -> str:
    """A strong validator: the hash of the exact bytes sent."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
