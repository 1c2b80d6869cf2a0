"""Data reliability routes over real HTTP (api/routes/reliability.py ↔ sql/functions/reliability/),
and the /status page's headers."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from opsdata.api.app import PUBLIC_PATHS, create_app
from opsdata.api.routes import reliability
from opsdata.core.db import connect

from .conftest import World

ALERTS = 25
ANOMALY_DAYS = 12


@pytest.fixture(scope="module")
def reliable(world: World) -> World:
    """Alpha's checks have run (its sources ga4 and shopify_orders are red: their runs are weeks
    old), plus 25 alerts of a feed source and 12 planted anomalies; beta has one alert of its own."""
    with connect(world.url) as conn, conn.transaction():
        conn.execute("select private.run_quality_checks(now(), %s)", (world.alpha,))
        for i in range(ALERTS):
            conn.execute(
                "select private.enqueue_alert(%s, %s, 'warning', 'feed', %s, 'm', '{}', %s,"
                " now() - make_interval(mins => %s))",
                (world.alpha, "anomaly" if i % 5 == 0 else "reminder", f"alert {i}", f"k{i}", i),
            )
        conn.execute(
            "select private.enqueue_alert(%s, 'anomaly', 'warning', 'feed', 'beta only', 'm', '{}', 'b1')",
            (world.beta,),
        )
        conn.execute(
            """
            insert into public.anomalies (shop_id, series, metric, source, observed_on, value, expected, band_low,
                                          band_high, score, direction, sensitivity, history_points)
            select %s, case when g %% 2 = 0 then 'rows_loaded.shopify_orders' else 'orders' end,
                   case when g %% 2 = 0 then 'rows_loaded' else 'orders' end, 'shopify_orders',
                   current_date - g, 5 * g, 100, 80, 120, -9, 'drop', 4, 8
            from generate_series(1, %s) g
            """,
            (world.alpha, ANOMALY_DAYS),
        )
    return world


def _get(api: httpx.Client, path: str, user, world: World, **params) -> httpx.Response:
    return api.get(path, params=params, headers=world.auth(user))


def test_data_quality_lists_each_source_with_status_checks_and_dates(api: httpx.Client, reliable: World) -> None:
    w = reliable
    response = _get(api, "/api/data/data-quality", w.alice, w, shop="alpha.test.myshopify.com")
    assert response.status_code == 200, response.text
    body = response.json()
    by_source = {s["source"]: s for s in body["data"]}
    assert set(by_source) == {"ga4", "shopify_orders"} and body["meta"]["total"] == 2
    orders = by_source["shopify_orders"]
    # the last run finished 2026-11-01 + 130 h: far beyond 48 h, so red, with the reason
    assert orders["status"] == "red" and "sync" in orders["message"].lower()
    assert datetime.fromisoformat(orders["last_sync_at"]) == datetime(2026, 11, 6, 10, tzinfo=UTC)
    assert {c["check"] for c in orders["checks"]} == {"sync_freshness", "data_recency", "volume"}
    freshness = next(c for c in orders["checks"] if c["check"] == "sync_freshness")
    assert freshness["status"] == "red" and freshness["threshold_error"] == 48 and freshness["unit"] == "hours"


@pytest.mark.parametrize(
    "path",
    [
        "/api/data/data-quality",
        "/api/data/alerts",
        "/api/data/anomalies",
        "/api/data/anomaly-series",
        "/api/data/source-daily-rows",
    ],
)
def test_cross_shop_reads_are_403(api: httpx.Client, reliable: World, path: str) -> None:
    w = reliable
    for user in (w.bob, w.dave):  # an admin of another shop, a member of nothing
        response = _get(api, path, user, w, shop=str(w.alpha))
        assert response.status_code == 403, response.text
        assert "beta only" not in response.text and "alert 0" not in response.text
    assert api.get(path, params={"shop": str(w.alpha)}).status_code == 401


def test_alerts_page_by_cursor_newest_first_and_filter(api: httpx.Client, reliable: World) -> None:
    w = reliable
    seen: list[tuple[str, int]] = []
    cursor, pages = None, 0
    while True:
        params = {"shop": str(w.alpha), "source": "feed", "limit": 10, **({"cursor": cursor} if cursor else {})}
        body = _get(api, "/api/data/alerts", w.carol, w, **params).json()
        assert body["meta"]["total"] == ALERTS
        seen += [(a["created_at"], a["id"]) for a in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and len(set(seen)) == ALERTS  # 10 + 10 + 5, no empty last page
    assert seen == sorted(seen, key=lambda a: (datetime.fromisoformat(a[0]), a[1]), reverse=True)
    anomalies_only = _get(api, "/api/data/alerts", w.alice, w, shop=str(w.alpha), kind="anomaly", limit=500).json()
    assert {a["kind"] for a in anomalies_only["data"]} == {"anomaly"} and anomalies_only["meta"]["total"] == 5
    beta = _get(api, "/api/data/alerts", w.bob, w, shop=str(w.beta)).json()
    assert [a["title"] for a in beta["data"]] == ["beta only"]
    bad = _get(api, "/api/data/alerts", w.alice, w, shop=str(w.alpha), kind="everything")
    assert bad.status_code == 400 and "kind" in bad.json()["error"]["message"]


def test_a_cursor_works_only_where_it_was_made(api: httpx.Client, reliable: World) -> None:
    w = reliable
    page = _get(api, "/api/data/alerts", w.alice, w, shop=str(w.alpha), source="feed", limit=5).json()
    cursor = page["meta"]["next_cursor"]
    other_filter = _get(api, "/api/data/alerts", w.alice, w, shop=str(w.alpha), limit=5, cursor=cursor)
    other_endpoint = _get(api, "/api/data/anomalies", w.alice, w, shop=str(w.alpha), limit=5, cursor=cursor)
    tampered = _get(api, "/api/data/alerts", w.alice, w, shop=str(w.alpha), source="feed", cursor=cursor[:-2] + "AA")
    for response in (other_filter, other_endpoint, tampered):
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"


def test_anomalies_page_by_cursor_and_filter_by_series(api: httpx.Client, reliable: World) -> None:
    w = reliable
    first = _get(api, "/api/data/anomalies", w.alice, w, shop=str(w.alpha), limit=5).json()
    assert first["meta"]["total"] == ANOMALY_DAYS and len(first["data"]) == 5
    days = [date.fromisoformat(a["observed_on"]) for a in first["data"]]
    assert days == [date.today() - timedelta(days=d) for d in range(1, 6)]
    rest = _get(
        api, "/api/data/anomalies", w.alice, w, shop=str(w.alpha), limit=500, cursor=first["meta"]["next_cursor"]
    ).json()
    assert len(rest["data"]) == ANOMALY_DAYS - 5 and rest["meta"]["next_cursor"] is None
    loaded = _get(api, "/api/data/anomalies", w.alice, w, shop=str(w.alpha), series="rows_loaded.shopify_orders")
    assert {a["series"] for a in loaded.json()["data"]} == {"rows_loaded.shopify_orders"}
    assert loaded.json()["meta"]["total"] == ANOMALY_DAYS // 2
    first_row = first["data"][0]
    assert first_row["direction"] == "drop" and first_row["expected"] == 100 and first_row["band_low"] == 80
    bad = _get(api, "/api/data/anomalies", w.alice, w, shop=str(w.alpha), series="x; drop table")
    assert bad.status_code == 400 and "series" in bad.json()["error"]["message"]


def test_source_daily_rows_has_every_day_with_anomaly_marks(api: httpx.Client, reliable: World) -> None:
    w = reliable
    body = _get(api, "/api/data/source-daily-rows", w.alice, w, shop=str(w.alpha), days=14).json()
    orders = [r for r in body["data"] if r["source"] == "shopify_orders"]
    assert len(orders) == 14 and [r["day"] for r in orders] == sorted(r["day"] for r in orders)
    marked = {r["day"]: r["anomaly_direction"] for r in orders if r["anomaly_id"] is not None}
    # planted on even days back: 2, 4, ... 12 days ago (the rows_loaded series of the source)
    assert marked == {str(date.today() - timedelta(days=d)): "drop" for d in range(2, 13, 2)}
    too_many = _get(api, "/api/data/source-daily-rows", w.alice, w, shop=str(w.alpha), days=367)
    assert too_many.status_code == 400 and "days" in too_many.json()["error"]["message"]


def test_anomaly_series_reports_insufficient_history(api: httpx.Client, reliable: World) -> None:
    w = reliable
    with connect(w.url) as conn:
        conn.execute("select private.detect_anomalies(%s)", (w.alpha,))
    body = _get(api, "/api/data/anomaly-series", w.carol, w, shop=str(w.alpha)).json()
    states = {s["series"]: s["state"] for s in body["data"]}
    assert states and set(states.values()) <= {"ok", "anomaly", "insufficient_history"}
    assert "insufficient_history" in states.values()


def test_cache_ttls_follow_how_fresh_the_data_can_be(api: httpx.Client, reliable: World) -> None:
    w = reliable
    with connect(w.url) as conn:  # start from an empty cache (earlier tests filled it)
        conn.execute("delete from private.api_cache")
    for path, minutes, params in [
        ("/api/data/data-quality", 5, {}),
        ("/api/data/alerts", 5, {"limit": 3}),
        ("/api/data/anomalies", 15, {"limit": 3}),
        ("/api/data/anomaly-series", 15, {}),
        ("/api/data/source-daily-rows", 15, {"days": 7}),
    ]:
        first = _get(api, path, w.alice, w, shop=str(w.alpha), **params)
        shared = _get(api, path, w.carol, w, shop="alpha.test.myshopify.com", **params)  # another member
        assert first.json()["meta"]["cached"] is False and shared.json()["meta"]["cached"] is True, path
        assert shared.json()["data"] == first.json()["data"]
        remaining = (datetime.fromisoformat(shared.json()["meta"]["cache_expires_at"]) - datetime.now(UTC)).seconds
        assert minutes * 60 - 15 < remaining <= minutes * 60, path
        revalidated = api.get(
            path,
            params={"shop": str(w.alpha), **params},
            headers={**w.auth(w.alice), "If-None-Match": shared.headers["etag"]},
        )
        assert revalidated.status_code == 304
        # a cached answer is never a way around membership
        assert _get(api, path, w.bob, w, shop=str(w.alpha), **params).status_code == 403


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_status_page_is_self_contained_and_locked_down(api: httpx.Client) -> None:
    response = api.get("/status")
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    csp = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    script = re.search(r"<script>(.*)</script>", html, re.S).group(1)
    style = re.search(r"<style>(.*)</style>", html, re.S).group(1)
    assert csp["script-src"] == _csp_hash(script) and csp["style-src"] == _csp_hash(style)
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert csp["default-src"] == "'none'" and csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert csp["require-trusted-types-for"] == "'script'"
    assert response.headers["x-frame-options"] == "DENY" and response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    # no external assets: nothing loads from anywhere, and data never becomes HTML
    assert not re.search(r"\b(src|href)=\"(https?:)?//", html) and "@import" not in html
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script
    assert api.get("/status", headers={"If-None-Match": response.headers["etag"]}).status_code == 304


def test_status_page_refuses_a_token_in_the_query_string(api: httpx.Client, reliable: World) -> None:
    response = api.get("/status", params={"access_token": reliable.token(reliable.alice)})
    assert response.status_code == 400 and response.json()["error"]["code"] == "token_in_query"
    assert "#access_token" in response.json()["error"]["message"]
    assert response.headers["cache-control"] == "no-store"


def test_only_health_and_status_answer_without_a_token(api: httpx.Client, api_context) -> None:
    app = create_app(context=api_context)
    paths = {route.path for route in app.routes}
    assert set(PUBLIC_PATHS) == {"/health", "/status"} <= paths
    for path in sorted(paths - set(PUBLIC_PATHS)):
        response = api.get(path, params={"shop": "alpha.test.myshopify.com"})
        assert response.status_code == 401, path
    for path in PUBLIC_PATHS:
        assert api.get(path).status_code == 200


def test_openapi_documents_the_reliability_routes_and_the_page(api: httpx.Client, reliable: World) -> None:
    document = api.get("/api/data/openapi.json", headers=reliable.auth(reliable.dave)).json()
    for endpoint in reliability.ENDPOINTS:
        assert endpoint.path in document["paths"]
        assert f"Cached for {endpoint.ttl_minutes} min" in document["paths"][endpoint.path]["get"]["description"]
    assert document["paths"]["/status"]["get"]["security"] == []
    alerts = {p["name"]: p for p in document["paths"]["/api/data/alerts"]["get"]["parameters"]}
    assert alerts["kind"]["schema"]["enum"] == ["status_change", "reminder", "anomaly"]
    assert {"SourceQuality", "QualityCheck", "Alert", "Anomaly", "SourceDay"} <= document["components"][
        "schemas"
    ].keys()
