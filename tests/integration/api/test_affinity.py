"""Affinity and baseline routes over real HTTP: envelope, cursors, cache, 403, valid JSON for
infinite conviction, repeatable list parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from opsdata.core.db import connect
from shop_data import add_orders, add_products

from .conftest import World

TODAY = datetime.now(UTC).date()
ALPHA = "alpha.test.myshopify.com"


@pytest.fixture(scope="module")
def shop_with_rules(world: World) -> Iterator[World]:
    """alpha: 1 is bought with 2 (often) and 3; 6 always with 3 (infinite conviction); 4 a gift card.
    Two pages of search and analytics traffic; affinity and baselines refreshed."""
    at = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) - timedelta(days=2)
    with connect(world.url) as conn, conn.transaction():
        add_products(conn, world.alpha, [1, 2, 3, 6, 7])
        add_products(conn, world.alpha, [4], is_gift_card=True)
        baskets = [[1, 2]] * 8 + [[1, 3]] * 4 + [[1, 4]] * 6 + [[2, 3]] * 3 + [[3, 6]] * 5 + [[7]] * 40
        add_orders(conn, world.alpha, [(i + 1, at, b) for i, b in enumerate(baskets)])
        conn.execute("select private.refresh_affinity(%s, p_min_count => 3)", (world.alpha,))
        for page in ("/products/mug", "/blog/tea"):
            conn.execute(
                "insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)"
                " select %s, d, %s, 5, 100, 0.05, 3.5, true"
                " from generate_series(current_date - 60, current_date - 3, interval '1 day') d",
                (world.alpha, f"https://alpha.example{page}"),
            )
            conn.execute(
                "insert into public.ga_page_daily (shop_id, date, page, sessions, engaged_sessions, key_events,"
                " transactions, purchase_revenue)"
                " select %s, d, %s, 20, 10, 0, 1, 30 from generate_series(current_date - 60, current_date - 2,"
                " interval '1 day') d",
                (world.alpha, page),
            )
        conn.execute("select private.refresh_baselines(%s)", (world.alpha,))
    return world


def _get(api: httpx.Client, world: World, path: str, params: object, user=None) -> httpx.Response:
    return api.get(path, params=params, headers=world.auth(user or world.alice))


def test_product_affinity_pages_every_rule_once_by_cursor(api: httpx.Client, shop_with_rules: World) -> None:
    world = shop_with_rules
    rows, cursor = [], None
    while True:
        params = {"shop": ALPHA, "limit": 3, **({"cursor": cursor} if cursor else {})}
        body = _get(api, world, "/api/data/product-affinity", params).json()
        rows += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    keys = [(r["product_id"], r["other_product_id"]) for r in rows]
    assert keys == sorted(set(keys)) and len(keys) == 10
    assert (1, 2) in keys and (2, 1) in keys and all(r["n_orders"] == 66 for r in rows)


def test_infinite_conviction_is_served_as_null_with_its_kind(api: httpx.Client, shop_with_rules: World) -> None:
    response = _get(api, shop_with_rules, "/api/data/product-affinity", {"shop": ALPHA, "product_id": 6})
    text = response.text
    assert "Infinity" not in text and "NaN" not in text
    (rule,) = json.loads(text)["data"]  # strict JSON
    assert (rule["other_product_id"], rule["conviction"], rule["conviction_kind"]) == (3, None, "infinite")


def test_frequently_bought_with_ranks_eligible_products_and_excludes(api: httpx.Client, shop_with_rules: World) -> None:
    world = shop_with_rules
    body = _get(api, world, "/api/data/frequently-bought-with", {"shop": ALPHA, "product": 1}).json()
    assert [r["other_product_id"] for r in body["data"]] == [2, 3], "the gift card 4 is never recommended"
    excluded = _get(
        api, world, "/api/data/frequently-bought-with", [("shop", ALPHA), ("product", 1), ("exclude", 2)]
    ).json()
    assert [r["other_product_id"] for r in excluded["data"]] == [3]
    top1 = _get(api, world, "/api/data/frequently-bought-with", {"shop": ALPHA, "product": 1, "limit": 1}).json()
    assert [r["other_product_id"] for r in top1["data"]] == [2]
    again = _get(api, world, "/api/data/frequently-bought-with", {"shop": ALPHA, "product": 1}, world.carol).json()
    assert again["meta"]["cached"] is True and again["data"] == body["data"]


def test_recommend_for_cart_takes_a_repeated_products_parameter(api: httpx.Client, shop_with_rules: World) -> None:
    world = shop_with_rules
    response = _get(api, world, "/api/data/recommend-for-cart", [("shop", ALPHA), ("products", 1), ("products", 3)])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [(r["product_id"], r["supported_by"]) for r in data] == [(6, [3]), (2, [1, 3])]
    missing = _get(api, world, "/api/data/recommend-for-cart", {"shop": ALPHA})
    assert missing.status_code == 400 and "products" in missing.json()["error"]["message"]
    repeated = _get(api, world, "/api/data/frequently-bought-with", [("shop", ALPHA), ("product", 1), ("product", 2)])
    assert repeated.status_code == 400 and repeated.json()["error"]["code"] == "repeated_parameter"


def test_baselines_page_by_cursor_and_filter(api: httpx.Client, shop_with_rules: World) -> None:
    world = shop_with_rules
    rows, cursor = [], None
    while True:
        params = {"shop": ALPHA, "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = _get(api, world, "/api/data/baselines", params).json()
        rows += body["data"]
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    keys = [(r["page"], r["metric"]) for r in rows]
    assert keys == sorted(set(keys)) and len(keys) == 27, "9 metrics for 2 pages and the site"
    ctr = _get(api, world, "/api/data/baselines", {"shop": ALPHA, "page": "https://x.test/blog/tea", "metric": "ctr"})
    (row,) = ctr.json()["data"]
    assert (row["page"], row["window_value"]) == ("/blog/tea", pytest.approx(0.05))


def test_baseline_for_computes_any_window(api: httpx.Client, shop_with_rules: World) -> None:
    params = {"shop": ALPHA, "page": "/products/mug", "metric": "sessions", "days": 7}
    (row,) = _get(api, shop_with_rules, "/api/data/baseline-for", params).json()["data"]
    assert (row["days_in_window"], row["window_value"], row["mean"]) == (7, 140, 20)
    bad = _get(api, shop_with_rules, "/api/data/baseline-for", {**params, "metric": "bounce"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/data/product-affinity", {"shop": ALPHA}),
        ("/api/data/frequently-bought-with", {"shop": ALPHA, "product": 1}),
        ("/api/data/recommend-for-cart", {"shop": ALPHA, "products": 1}),
        ("/api/data/baselines", {"shop": ALPHA}),
        ("/api/data/baseline-for", {"shop": ALPHA}),
    ],
)
def test_another_shops_member_gets_403(api: httpx.Client, shop_with_rules: World, path: str, params: dict) -> None:
    response = _get(api, shop_with_rules, path, params, shop_with_rules.bob)  # bob: admin of beta only
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "42501"
