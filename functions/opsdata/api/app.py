"""The read API: one ASGI app (Starlette), served by uvicorn locally and by Mangum on Lambda.

Routes come from the endpoint declarations in opsdata.api.routes; this module adds what every
route shares: bearer token verification, query string checks, the error envelope, ETag / 304,
Cache-Control, a correlation id per request (X-Request-Id) and one JSON log line per request.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_origin
from urllib.parse import parse_qsl

import psycopg
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdata import __version__
from opsdata.api.endpoint import Endpoint, Page, run_endpoint
from opsdata.api.routes import ENDPOINTS
from opsdata.api.status_page import STATUS_PATH, status_route
from opsdata.core.auth import AuthError, JwksCache, KeysUnavailable, TokenVerifier
from opsdata.core.db import database_url
from opsdata.core.envelope import ApiError, error_body, from_database_error, internal_error
from opsdata.core.observability import logger
from opsdata.core.session import ConnectionSlots
from opsdata.core.settings import Settings, get_settings

MAX_QUERY_STRING = 2048
OPENAPI_PATH = "/api/data/openapi.json"
# The only routes answered without a bearer token: neither returns data.
PUBLIC_PATHS = ("/health", STATUS_PATH)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class ApiContext:
    settings: Settings
    slots: ConnectionSlots
    verifier: TokenVerifier
    cursor_secret: bytes


def build_context(settings: Settings, slots: ConnectionSlots | None = None) -> ApiContext:
    jwt_secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else None
    return ApiContext(
        settings=settings,
        slots=slots or ConnectionSlots(database_url(settings), size=settings.api_connections),
        verifier=TokenVerifier(
            issuer=settings.issuer,
            hs256_secret=jwt_secret,
            jwks=JwksCache(settings.jwks_url) if settings.jwks_url else None,
        ),
        cursor_secret=settings.cursor_secret.get_secret_value().encode(),
    )


# ----- responses -----------------------------------------------------------------------
def _json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error_response(error: ApiError, correlation_id: str) -> Response:
    headers = {"Cache-Control": "no-store", **error.headers}
    if error.status >= 500:  # 5xx bodies carry nothing but the id to quote
        error.details = {"correlation_id": correlation_id}
    return _json_response(error.status, error_body(error), headers)


def _if_none_match(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: weak comparison, lists and `*`."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _page_response(page: Page, request: Request) -> Response:
    headers = {
        "ETag": page.etag,
        "Cache-Control": f"private, max-age={page.max_age}" if page.max_age is not None else "private, no-cache",
        "Vary": "Authorization",
        "X-Cache": "hit" if page.cached else "miss",
    }
    if _if_none_match(request.headers.get("if-none-match"), page.etag):
        return Response(status_code=304, headers=headers)
    return _json_response(200, page.body, headers)


# ----- request parsing -----------------------------------------------------------------
def _query_params(request: Request, allowed: set[str], repeatable: frozenset[str] = frozenset()) -> dict[str, Any]:
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_QUERY_STRING:
        raise ApiError(414, "query_too_long", f"the query string is longer than {MAX_QUERY_STRING} bytes")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(
            400, "malformed_query", "the query string is not valid (percent-encoded UTF-8 expected)"
        ) from exc
    params: dict[str, Any] = {name: [] for name in repeatable}
    for name, value in pairs:
        if name not in allowed:
            expected = ", ".join(sorted(allowed)) or "none"
            raise ApiError(400, "unknown_parameter", f"unknown parameter '{name[:40]}' (expected: {expected})")
        if name in params and name not in repeatable:
            raise ApiError(400, "repeated_parameter", f"parameter '{name}' is given more than once")
        if _CONTROL.search(value):
            raise ApiError(400, "invalid_parameter", f"parameter '{name}' contains control characters")
        if name in repeatable:
            params[name].append(value)
        else:
            params[name] = value
    # a list parameter left out takes its default (e.g. no exclusions), as any other parameter
    return {name: value for name, value in params.items() if value != []}


def _validation_error(exc: ValidationError) -> ApiError:
    problems = [
        {"param": ".".join(str(p) for p in err["loc"]) or "query", "message": err["msg"]} for err in exc.errors()
    ]
    first = problems[0]
    return ApiError(400, "invalid_parameter", f"{first['param']}: {first['message']}", problems)


# ----- routes --------------------------------------------------------------------------
def _authenticate(ctx: ApiContext, request: Request) -> dict[str, Any]:
    try:
        claims = ctx.verifier.verify_header(request.headers.get("authorization"))
    except AuthError as exc:
        raise ApiError(401, "invalid_token", exc.description, headers={"WWW-Authenticate": exc.challenge}) from exc
    except KeysUnavailable as exc:
        raise ApiError(503, "keys_unavailable", "token signing keys are unavailable, try again shortly") from exc
    request.scope["opsdata.user"] = claims["sub"]
    return claims


def _guarded(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """Every failure becomes the error envelope; unexpected ones a 500 with the correlation id."""

    def endpoint(request: Request) -> Response:
        correlation_id = request.scope.get("opsdata.correlation_id", "")
        try:
            return handler(request)
        except ApiError as exc:
            return _error_response(exc, correlation_id)
        except psycopg.OperationalError as exc:
            if exc.sqlstate:  # a query error (e.g. statement timeout), not a missing database
                return _error_response(from_database_error(exc, correlation_id), correlation_id)
            logger.warning("database unavailable", extra={"correlation_id": correlation_id, "error": str(exc)[:200]})
            unavailable = ApiError(503, "database_unavailable", "the database is not available, try again shortly")
            return _error_response(unavailable, correlation_id)
        except psycopg.Error as exc:
            error = from_database_error(exc, correlation_id)
            if error.status >= 500:
                logger.exception("database error", extra={"correlation_id": correlation_id})
            return _error_response(error, correlation_id)
        except Exception:
            logger.exception("unexpected error", extra={"correlation_id": correlation_id})
            return _error_response(internal_error(correlation_id), correlation_id)

    return endpoint


def _endpoint_route(ctx: ApiContext, endpoint: Endpoint) -> Route:
    # query parameter names are the fields' aliases where given (e.g. `product` for product_id);
    # list fields may repeat (`?products=1&products=2`)
    fields = endpoint.params.model_fields
    allowed = {field.alias or name for name, field in fields.items()}
    repeatable = frozenset(
        field.alias or name for name, field in fields.items() if get_origin(field.annotation) is list
    )

    def handle(request: Request) -> Response:
        claims = _authenticate(ctx, request)
        raw = _query_params(request, allowed, repeatable)
        try:
            params = endpoint.params.model_validate(raw)
        except ValidationError as exc:
            raise _validation_error(exc) from exc
        page = run_endpoint(
            endpoint,
            params,
            claims,
            ctx.slots,
            cursor_secret=ctx.cursor_secret,
            use_cache=ctx.settings.api_cache,
        )
        request.scope["opsdata.cache"] = "hit" if page.cached else "miss"
        return _page_response(page, request)

    return Route(endpoint.path, _guarded(handle), methods=["GET"], name=endpoint.name)


def _health_route(ctx: ApiContext) -> Route:
    def health(request: Request) -> Response:
        try:
            ctx.slots.run(lambda conn: conn.execute("select 1").fetchone(), acquire_timeout=2)
        except psycopg.Error:
            logger.warning("health check: database unavailable")
            return _json_response(503, b'{"status":"unavailable"}', {"Cache-Control": "no-store"})
        return _json_response(200, b'{"status":"ok"}', {"Cache-Control": "no-store"})

    return Route("/health", health, methods=["GET"], name="health")


def _openapi_route(ctx: ApiContext, endpoints: list[Endpoint]) -> Route:
    document: list[bytes] = []

    def openapi(request: Request) -> Response:
        _authenticate(ctx, request)
        if not document:
            from opsdata.api.openapi import build_document

            document.append(json.dumps(build_document(endpoints, __version__)).encode())
        return _json_response(200, document[0], {"Cache-Control": "private, max-age=3600"})

    return Route(OPENAPI_PATH, _guarded(openapi), methods=["GET"], name="openapi")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = {404: "no such route", 405: "method not allowed"}.get(exc.status_code, str(exc.detail))
    return _error_response(ApiError(exc.status_code, code, message, headers=dict(exc.headers or {})), "")


# ----- middleware ----------------------------------------------------------------------
class RequestContext:
    """Correlation id (API Gateway's request id, a sane X-Request-Id, or a new one), echoed in
    X-Request-Id, and one log line per request (never the token or the query string)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        event = scope.get("aws.event") or {}
        correlation_id = (event.get("requestContext") or {}).get("requestId") or ""
        if not correlation_id:
            given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
            correlation_id = given if _REQUEST_ID.match(given) else os.urandom(16).hex()
        scope["opsdata.correlation_id"] = correlation_id
        status = [0]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", correlation_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "request",
                extra={
                    "correlation_id": correlation_id,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status[0],
                    "cache": scope.get("opsdata.cache"),
                    "user": scope.get("opsdata.user"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


def _inline(route: Route) -> Route:
    """The route with its blocking handler called on the event loop instead of a worker thread."""
    handler = route.endpoint

    async def run_inline(request: Request) -> Response:
        return handler(request)

    return Route(route.path, run_inline, methods=list(route.methods or ["GET"]), name=route.name)


def create_app(
    settings: Settings | None = None,
    context: ApiContext | None = None,
    endpoints: list[Endpoint] | None = None,
    *,
    one_request_at_a_time: bool = False,
) -> Starlette:
    """The app. `one_request_at_a_time` runs the blocking handlers on the event loop, one request at a
    time per process, skipping the hop to a worker thread per request (on this machine a cached read
    spends more time in that hop than in Python); the first request also skips starting the thread
    pool. For Lambda (Mangum hands over one event at a time per execution environment) and
    `opsdata serve`'s worker processes. Left off, uvicorn serves concurrent requests in threads
    (tests embed the app so)."""
    ctx = context or build_context(settings or get_settings())
    endpoints = ENDPOINTS if endpoints is None else endpoints
    routes = [
        _health_route(ctx),
        status_route(_guarded),
        _openapi_route(ctx, endpoints),
        *(_endpoint_route(ctx, e) for e in endpoints),
    ]
    if one_request_at_a_time:
        routes = [_inline(route) for route in routes]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(RequestContext)],
        exception_handlers={HTTPException: _http_exception},
    )
    app.state.ctx = ctx
    return app


def create_worker_app() -> Starlette:
    """One `opsdata serve` worker process, run as a Lambda execution environment runs: one request
    at a time on the event loop, one database connection. Concurrency comes from the processes."""
    settings = get_settings().model_copy(update={"api_connections": 1})
    return create_app(settings, one_request_at_a_time=True)
