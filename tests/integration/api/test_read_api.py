"""The read API over real HTTP: envelope, paging, caching, ETags, errors (uvicorn on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from opsdata.api.app import ApiContext

from .conftest import World


def test_shops_lists_the_callers_shops_with_their_role(api: httpx.Client, world: World) -> None:
    body = api.get("/api/data/shops", headers=world.auth(world.carol)).json()
    assert [(s["domain"], s["role"]) for s in body["data"]] == [
        ("alpha.test.myshopify.com", "operator"),
        ("beta.test.myshopify.com", "operator"),
    ]
    assert body["meta"]["total"] == 2 and body["meta"]["next_cursor"] is None
    alice = api.get("/api/data/shops", headers=world.auth(world.alice)).json()
    assert [(s["domain"], s["role"]) for s in alice["data"]] == [("alpha.test.myshopify.com", "viewer")]
    dave = api.get("/api/data/shops", headers=world.auth(world.dave)).json()
    assert dave["data"] == [] and dave["meta"]["total"] == 0


def test_sync_runs_newest_first_paged_by_cursor_to_the_end(api: httpx.Client, world: World) -> None:
    seen: list[tuple[str, int]] = []
    cursor = None
    pages = 0
    while True:
        params = {"shop": "alpha.test.myshopify.com", "limit": 40, **({"cursor": cursor} if cursor else {})}
        response = api.get("/api/data/sync-runs", params=params, headers=world.auth(world.alice))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"]["total"] == 130
        seen += [(r["started_at"], r["id"]) for r in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 4  # 40 + 40 + 40 + 10, and no empty last page
    assert len(seen) == len(set(seen)) == 130
    assert seen == sorted(seen, key=lambda r: (datetime.fromisoformat(r[0]), r[1]), reverse=True)


def test_sync_runs_filters_by_source_and_accepts_id_or_domain(api: httpx.Client, world: World) -> None:
    by_domain = api.get(
        "/api/data/sync-runs",
        params={"shop": "alpha.test.myshopify.com", "source": "ga4", "limit": 500},
        headers=world.auth(world.carol),
    ).json()
    assert by_domain["meta"]["total"] == len(by_domain["data"]) == 39
    assert {r["source"] for r in by_domain["data"]} == {"ga4"}
    by_id = api.get(
        "/api/data/sync-runs",
        params={"shop": str(world.alpha), "source": "ga4", "limit": 500},
        headers=world.auth(world.alice),
    ).json()
    assert by_id["data"] == by_domain["data"]
    assert by_id["meta"]["cached"] is True  # same shop, same filters: a shared entry


def test_cache_tells_the_truth(api: httpx.Client, world: World) -> None:
    params = {"shop": str(world.beta), "limit": 7}
    first = api.get("/api/data/sync-runs", params=params, headers=world.auth(world.bob))
    second = api.get("/api/data/sync-runs", params=params, headers=world.auth(world.carol))
    assert first.json()["meta"]["cached"] is False and second.json()["meta"]["cached"] is True
    assert first.json()["data"] == second.json()["data"]
    expires = datetime.fromisoformat(second.json()["meta"]["cache_expires_at"])
    assert expires == datetime.fromisoformat(first.json()["meta"]["cache_expires_at"])
    remaining = (expires - datetime.now(UTC)).total_seconds()
    assert 290 < remaining <= 300  # sync-runs: 5 minutes
    max_age = int(second.headers["cache-control"].removeprefix("private, max-age="))
    assert abs(max_age - remaining) <= 2


def test_a_cached_read_is_one_round_trip_to_postgres(
    api: httpx.Client, world: World, api_context: ApiContext, tmp_path: Path
) -> None:
    """Scope check as the user, cache read, commit: queued together, one Sync (the latency a warm
    dashboard sees is mostly network round trips)."""
    request = {"params": {"shop": "alpha.test.myshopify.com", "limit": 13}, "headers": world.auth(world.alice)}
    assert api.get("/api/data/sync-runs", **request).json()["meta"]["cached"] is False
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as sink:
        api_context.slots.run(lambda conn: conn.pgconn.trace(sink.fileno()))
        try:
            cached = api.get("/api/data/sync-runs", **request)
        finally:
            api_context.slots.run(lambda conn: conn.pgconn.untrace())
    assert cached.json()["meta"]["cached"] is True and len(cached.json()["data"]) == 13
    sent = [line.split("\t")[3] for line in trace.read_text().splitlines() if line.split("\t")[1:2] == ["F"]]
    assert sent.count("Sync") == 1, sent


def test_etag_and_304(api: httpx.Client, world: World) -> None:
    headers = world.auth(world.alice)
    api.get("/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 3}, headers=headers)
    cached = api.get("/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 3}, headers=headers)
    etag = cached.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = api.get(
        "/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 3}, headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = api.get(
        "/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 4}, headers={**headers, "If-None-Match": etag}
    )
    assert other.status_code == 200


def test_page_size_is_bounded(api: httpx.Client, world: World) -> None:
    for limit in ("0", "501", "-1", "ten"):
        response = api.get(
            "/api/data/sync-runs", params={"shop": str(world.alpha), "limit": limit}, headers=world.auth(world.alice)
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_parameter"
        assert "limit" in response.json()["error"]["message"]


def test_shop_parameter_is_required(api: httpx.Client, world: World) -> None:
    response = api.get("/api/data/sync-runs", headers=world.auth(world.alice))
    assert response.status_code == 400 and "shop" in response.json()["error"]["message"]


def test_openapi_document_describes_the_routes(api: httpx.Client, world: World) -> None:
    assert api.get("/api/data/openapi.json").status_code == 401
    document = api.get("/api/data/openapi.json", headers=world.auth(world.dave)).json()
    assert document["openapi"] == "3.1.0"
    assert {"/api/data/shops", "/api/data/sync-runs", "/health"} <= document["paths"].keys()
    params = {p["name"]: p for p in document["paths"]["/api/data/sync-runs"]["get"]["parameters"]}
    assert params["shop"]["required"] is True and params["limit"]["schema"]["maximum"] == 500
    assert "SyncRun" in document["components"]["schemas"]


def test_health_answers_without_auth_and_leaks_nothing(api: httpx.Client) -> None:
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_unknown_route_and_method(api: httpx.Client, world: World) -> None:
    missing = api.get("/api/data/nope", headers=world.auth(world.alice))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    post = api.post("/api/data/shops", headers=world.auth(world.alice))
    assert post.status_code == 405 and post.json()["error"]["code"] == "method_not_allowed"


def test_unexpected_errors_are_500_with_a_correlation_id_and_no_internals(
    api: httpx.Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import opsdata.api.app as app_module

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("password=hunter2 at /srv/secret.py")

    monkeypatch.setattr(app_module, "run_endpoint", broken)
    response = api.get("/api/data/shops", headers={**world.auth(world.alice), "X-Request-Id": "req-123"})
    assert response.status_code == 500
    assert "hunter2" not in response.text and "secret" not in response.text
    assert response.json()["error"]["details"] == {"correlation_id": "req-123"}
    assert response.headers["x-request-id"] == "req-123"


def test_database_down_is_503_for_health_and_data(world: World) -> None:
    from api_support import free_port, running_server
    from opsdata.api.app import build_context, create_app

    from .conftest import api_settings

    down = f"postgresql://postgres:postgres@127.0.0.1:{free_port()}/postgres"
    ctx = build_context(api_settings(down, api_connections=1))
    with running_server(create_app(context=ctx)) as base, httpx.Client(base_url=base) as client:
        health = client.get("/health")
        assert health.status_code == 503 and health.json() == {"status": "unavailable"}
        data = client.get("/api/data/shops", headers=world.auth(world.alice))
        assert data.status_code == 503 and data.json()["error"]["code"] == "database_unavailable"
        assert data.json()["error"]["details"] == {"correlation_id": data.headers["x-request-id"]}
        assert "127.0.0.1" not in data.text


def test_shops_cache_is_shared_only_by_identical_memberships(api: httpx.Client, world: World) -> None:
    from opsdata.core.db import connect
    from support import add_member, make_user

    with connect(world.url) as conn, conn.transaction():
        twin, other_role = make_user(conn), make_user(conn)
        add_member(conn, world.alpha, twin, "viewer")  # the same membership as alice
        add_member(conn, world.alpha, other_role, "admin")
    alice = api.get("/api/data/shops", headers=world.auth(world.alice)).json()
    twin_view = api.get("/api/data/shops", headers=world.auth(twin)).json()
    admin_view = api.get("/api/data/shops", headers=world.auth(other_role)).json()
    assert twin_view["meta"]["cached"] is True and twin_view["data"] == alice["data"]
    assert admin_view["meta"]["cached"] is False and admin_view["data"][0]["role"] == "admin"
