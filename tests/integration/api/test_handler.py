"""The Lambda handler with real API Gateway HTTP API (v2) event payloads, named stage included."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from psycopg.pq import TransactionStatus

from opsdata.core.db import connect
from opsdata.core.session import warm_request_path
from opsdata.core.settings import get_settings
from support_aws import LambdaContext, use_fake_aws

from .conftest import World


def http_api_event(
    path: str,
    *,
    stage: str = "$default",
    query: str = "",
    token: str | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
) -> dict:
    """The shape API Gateway sends (payload format 2.0); a named stage prefixes the path."""
    full_path = path if stage == "$default" else f"/{stage}{path}"
    all_headers = {
        "accept": "application/json",
        "host": "abcdef1234.execute-api.eu-central-1.amazonaws.com",
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-6758a1b2-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
        **({"authorization": f"Bearer {token}"} if token else {}),
        **(headers or {}),
    }
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": full_path,
        "rawQueryString": query,
        **({"queryStringParameters": dict(p.split("=", 1) for p in query.split("&"))} if query else {}),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "domainName": "abcdef1234.execute-api.eu-central-1.amazonaws.com",
            "domainPrefix": "abcdef1234",
            "http": {
                "method": method,
                "path": full_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "VbN3tjzXliAEMdA=",
            "routeKey": "$default",
            "stage": stage,
            "time": "29/Nov/2026:14:48:25 +0000",
            "timeEpoch": 1796050105000,
        },
        "isBase64Encoded": False,
    }


def _load_handler(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> ModuleType:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    sys.modules.pop("opsdata.api.handler", None)
    return importlib.import_module("opsdata.api.handler")


@pytest.fixture
def handler(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "opsdata-test")
    module = _load_handler(monkeypatch, {"DATABASE_URL": world.url})
    yield module
    module.app.state.ctx.slots.close()
    sys.modules.pop("opsdata.api.handler", None)
    get_settings.cache_clear()


@pytest.mark.parametrize("stage", ["$default", "prod", "v1-beta"])
def test_routes_with_and_without_a_named_stage(handler: ModuleType, world: World, stage: str) -> None:
    event = http_api_event(
        "/api/data/sync-runs",
        stage=stage,
        query="shop=alpha.test.myshopify.com&limit=3",
        token=world.token(world.alice),
    )
    response = handler.handler(event, LambdaContext())
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert len(body["data"]) == 3 and body["meta"]["total"] == 130
    assert response["headers"]["x-request-id"] == "VbN3tjzXliAEMdA="  # API Gateway's request id


def test_health_and_errors_through_lambda(handler: ModuleType, world: World) -> None:
    health = handler.handler(http_api_event("/health", stage="prod"), LambdaContext())
    assert health["statusCode"] == 200 and json.loads(health["body"]) == {"status": "ok"}
    unauthorized = handler.handler(http_api_event("/api/data/shops", stage="prod"), LambdaContext())
    assert unauthorized["statusCode"] == 401 and "www-authenticate" in unauthorized["headers"]
    forbidden = handler.handler(
        http_api_event("/api/data/sync-runs", stage="prod", query=f"shop={world.beta}", token=world.token(world.alice)),
        LambdaContext(),
    )
    assert forbidden["statusCode"] == 403
    missing = handler.handler(http_api_event("/prod/api/data/shops", token=world.token(world.alice)), LambdaContext())
    assert missing["statusCode"] == 404  # a stage-looking prefix on $default is not stripped


def test_etag_round_trip_through_lambda(handler: ModuleType, world: World) -> None:
    token = world.token(world.bob)
    first = handler.handler(http_api_event("/api/data/shops", stage="prod", token=token), LambdaContext())
    again = handler.handler(
        http_api_event(
            "/api/data/shops", stage="prod", token=token, headers={"if-none-match": first["headers"]["etag"]}
        ),
        LambdaContext(),
    )
    assert first["statusCode"] == 200 and again["statusCode"] in (200, 304)
    cached = handler.handler(
        http_api_event(
            "/api/data/shops", stage="prod", token=token, headers={"if-none-match": again["headers"]["etag"]}
        ),
        LambdaContext(),
    )
    assert cached["statusCode"] == 304 and not cached.get("body")


def test_logs_and_metrics_are_json_lines(handler: ModuleType, world: World, capsys: pytest.CaptureFixture) -> None:
    import io

    from opsdata.core.observability import logger

    log = io.StringIO()
    previous = logger.registered_handler.setStream(log)
    try:
        handler.handler(
            http_api_event("/api/data/shops", stage="prod", token=world.token(world.alice)), LambdaContext()
        )
    finally:
        logger.registered_handler.setStream(previous)
    output = log.getvalue() + capsys.readouterr().out
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    request_log = next(line for line in lines if line.get("message") == "request")
    assert request_log["correlation_id"] == "VbN3tjzXliAEMdA=" and request_log["status"] == 200
    assert "authorization" not in json.dumps(request_log).lower()
    emf = next(line for line in lines if "_aws" in line)
    names = {m["Name"] for d in emf["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"Requests"} <= names and (names & {"CacheHit", "CacheMiss"})


def test_secrets_come_from_ssm_and_local_defaults_are_refused_on_lambda(
    monkeypatch: pytest.MonkeyPatch, world: World
) -> None:
    from moto import mock_aws

    use_fake_aws(monkeypatch)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from opsdata.api import handler as _unused  # noqa: F401  (module import needs a database URL)
    from opsdata.api.handler import ConfigurationError, lambda_settings
    from opsdata.core.settings import Settings

    with mock_aws():
        import boto3

        ssm = boto3.client("ssm")
        ssm.put_parameter(Name="/opsdata/database-url", Value=world.url, Type="SecureString")
        ssm.put_parameter(Name="/opsdata/jwt-secret", Value="a-real-project-secret-of-32-chars!!", Type="SecureString")
        ssm.put_parameter(Name="/opsdata/cursor-secret", Value="a-random-cursor-secret", Type="SecureString")
        base = Settings().model_copy(
            update={
                "lambda_function_name": "opsdata-api",
                "supabase_url": "https://abcdefgh.supabase.co",
                "database_url_parameter": "/opsdata/database-url",
                "jwt_secret_parameter": "/opsdata/jwt-secret",
                "cursor_secret_parameter": "/opsdata/cursor-secret",
            }
        )
        settings = lambda_settings(base)
        assert settings.database_url == world.url
        assert settings.supabase_jwt_secret.get_secret_value() == "a-real-project-secret-of-32-chars!!"
        assert settings.cursor_secret.get_secret_value() == "a-random-cursor-secret"
        with pytest.raises(ConfigurationError, match="local development secret"):
            lambda_settings(base.model_copy(update={"cursor_secret_parameter": None}))
        with pytest.raises(ConfigurationError, match="SUPABASE_URL"):
            lambda_settings(base.model_copy(update={"supabase_url": "http://127.0.0.1:54321"}))


def test_warm_invocations_reuse_one_connection_and_leave_no_threads(handler: ModuleType, world: World) -> None:
    import threading

    token = world.token(world.alice)
    handler.handler(http_api_event("/api/data/shops", stage="prod", token=token), LambdaContext())
    slots = handler.app.state.ctx.slots
    pid = slots.run(lambda conn: conn.info.backend_pid)
    threads = threading.active_count()
    for _ in range(30):
        response = handler.handler(http_api_event("/api/data/shops", stage="prod", token=token), LambdaContext())
        assert response["statusCode"] == 200
    assert slots.run(lambda conn: conn.info.backend_pid) == pid
    assert threading.active_count() <= threads + 1


def test_the_status_page_through_lambda_under_a_named_stage(handler: ModuleType) -> None:
    event = http_api_event("/status", stage="prod", headers={"accept": "text/html"})
    response = handler.handler(event, LambdaContext())
    assert response["statusCode"] == 200 and not response["isBase64Encoded"]
    assert response["headers"]["content-type"] == "text/html; charset=utf-8"
    assert "frame-ancestors 'none'" in response["headers"]["content-security-policy"]
    # the page finds the API next to itself: /prod/status reads /prod/api/data/...
    assert 'location.pathname.replace(/\\/status\\/?$/, "/") + "api/data/"' in response["body"]


def test_the_cold_start_warm_up_leaves_no_identity_on_its_connection(world: World) -> None:
    """The handler's background connection is taken once along the request path while the module
    imports (warm_request_path); the first request must find it idle, as its own role, no claims."""
    with connect(world.url) as conn:
        warm_request_path(conn)
        assert conn.info.transaction_status == TransactionStatus.IDLE
        row = conn.execute(
            "select current_user, coalesce(current_setting('request.jwt.claims', true), ''),"
            " current_setting('statement_timeout')"
        ).fetchone()
        assert row[:2] == (conn.info.user, "")
        assert row[2] != "3s"  # the warm-up's own statement timeout ended with its transaction
