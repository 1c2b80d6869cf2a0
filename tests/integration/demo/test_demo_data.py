"""The demo shop generator against the real cluster: determinism, re-runs, realistic invariants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import psycopg
import pytest

from opsdata.core.db import connect
from opsdata.demo import DemoParams, planted_pairs
from opsdata.demo.store import DemoError, write_demo_shop

END = date(2026, 11, 28)
SMALL = DemoParams(shop="small.myshopify.com", days=182, orders=3000, seed=5, end_date=END)
KEYS = {
    "products": "id",
    "shopify_orders": "id",
    "shopify_order_lines": "line_id",
    "gsc_page_daily": "date, page",
    "ga_page_daily": "date, page",
    "events": "event_id",
    "actions": "id",
    "sync_runs": "source, started_at",
}


def checksums(conn: psycopg.Connection, shop_id: uuid.UUID) -> dict[str, str]:
    """md5 of every table's rows in key order, without columns that differ between databases."""
    out = {}
    for table, key in KEYS.items():
        skip = ["shop_id", "loaded_at", "decided_by"] + (["id"] if table == "sync_runs" else [])
        columns = [
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_schema = 'public'"
                " and table_name = %s and column_name <> all(%s) order by ordinal_position",
                (table, skip),
            )
        ]
        row = f"({', '.join(columns)})::text" if len(columns) > 1 else f"{columns[0]}::text"
        query = f"select md5(string_agg({row}, '|' order by {key})) from public.{table} where shop_id = %s"
        if table == "sync_runs":
            query += " and source <> 'demo_data'"
        out[table] = conn.execute(query, (shop_id,)).fetchone()[0]
    return out


@pytest.fixture(scope="module")
def small_shop(cluster, template_database) -> Iterator[tuple[str, uuid.UUID]]:
    """One committed small demo shop shared by the read-only invariant tests of this module."""
    from conftest import _drop_database, create_database_from

    name = f"opsdata_fresh_{uuid.uuid4().hex[:8]}_demo"
    url = create_database_from(cluster, name, template_database)
    with connect(url) as conn:
        result = write_demo_shop(conn, SMALL)
    yield url, result.shop_id
    _drop_database(cluster, name)


@pytest.fixture
def conn(small_shop: tuple[str, uuid.UUID]) -> Iterator[psycopg.Connection]:
    with connect(small_shop[0]) as connection:
        yield connection


def _one(conn: psycopg.Connection, query: str, *args: object) -> tuple:
    row = conn.execute(query, args).fetchone()
    assert row is not None
    return row


def test_same_parameters_give_identical_data_and_a_rerun_duplicates_nothing(fresh_database_url: str) -> None:
    params = DemoParams(shop="twice.myshopify.com", days=30, orders=400, seed=11, end_date=END)
    with connect(fresh_database_url) as conn:
        first = write_demo_shop(conn, params)
        sums = checksums(conn, first.shop_id)
        again = write_demo_shop(conn, params, force=True)  # replaces the shop's data
        assert checksums(conn, again.shop_id) == sums
        assert again.rows == first.rows
        assert _one(conn, "select count(*) from public.shopify_orders")[0] == 400

        skipped = write_demo_shop(conn, params)
        assert skipped.skipped and skipped.rows == first.rows
        runs = _one(conn, "select count(*) from public.sync_runs where source = 'demo_data'")[0]
        assert runs == 1, "replacing drops the old run with its data; a skipped re-run writes none"

        other = write_demo_shop(conn, params.model_copy(update={"seed": 12}))
        assert not other.skipped
        assert checksums(conn, other.shop_id)["shopify_order_lines"] != sums["shopify_order_lines"]


def test_a_shop_with_data_demo_data_did_not_write_is_left_alone(fresh_database_url: str) -> None:
    with connect(fresh_database_url) as conn:
        shop = _one(conn, "insert into public.shops (domain, name) values ('real.myshopify.com', 'Real') returning id")[
            0
        ]
        conn.execute(
            "insert into public.products (shop_id, id, title, handle, price) values (%s, 1, 'x', 'x', 1)", (shop,)
        )
        with pytest.raises(DemoError, match="holds data that demo-data did not generate"):
            write_demo_shop(conn, DemoParams(shop="real.myshopify.com", days=14, orders=50, end_date=END))
        assert _one(conn, "select count(*) from public.products")[0] == 1


def test_sizes_follow_the_parameters(conn: psycopg.Connection, small_shop: tuple[str, uuid.UUID]) -> None:
    shop = small_shop[1]
    assert _one(conn, "select count(*) from public.shopify_orders where shop_id = %s", shop)[0] == 3000
    assert _one(conn, "select count(*) from public.products where shop_id = %s", shop)[0] == SMALL.n_products
    lines_per_order = _one(conn, "select count(*)::float / 3000 from public.shopify_order_lines")[0]
    assert 2.2 < lines_per_order < 3.2
    first, last = _one(conn, "select min(created_at)::date, max(created_at)::date from public.shopify_orders")
    assert (first, last) == (date(2026, 5, 31), END)


def test_refunds_cancellations_and_test_orders_are_present_and_consistent(conn: psycopg.Connection) -> None:
    test_share, cancelled_share, refunded_share = _one(
        conn,
        "select avg(is_test::int), avg((cancelled_at is not null)::int),"
        " avg((total_refunded > 0 and cancelled_at is null)::int) from public.shopify_orders",
    )
    assert 0.001 < test_share < 0.012
    assert 0.01 < cancelled_share < 0.035
    assert 0.035 < refunded_share < 0.09
    # a cancelled order is refunded in full and keeps no items; refunds match the refunded lines
    bad = _one(
        conn,
        """
        with per_order as (
          select order_id, sum(current_quantity) as kept, sum(discounted_total) as subtotal,
                 sum(floor(discounted_total * (quantity - current_quantity) * 100 / quantity) / 100) as refunded
          from public.shopify_order_lines group by order_id
        )
        select count(*) from public.shopify_orders o join per_order l on l.order_id = o.id
        where o.subtotal <> l.subtotal
           or (o.cancelled_at is not null and (l.kept <> 0 or o.total_refunded <> o.total))
           or (o.cancelled_at is null and o.total_refunded <> l.refunded)
           or o.cancelled_at < o.created_at
        """,
    )[0]
    assert bad == 0
    assert _one(conn, "select count(*) from public.shopify_order_lines where current_quantity > quantity")[0] == 0


def test_weekends_sell_more_than_midweek(conn: psycopg.Connection) -> None:
    saturday, tuesday = _one(
        conn,
        "select count(*) filter (where extract(isodow from created_at) = 6),"
        " count(*) filter (where extract(isodow from created_at) = 2) from public.shopify_orders",
    )
    assert saturday > tuesday * 1.05


def test_planted_pairs_are_recorded_and_bought_together(conn: psycopg.Connection) -> None:
    pairs = planted_pairs(SMALL.seed, SMALL.n_products)
    recorded = _one(conn, "select details -> 'planted_pairs' from public.sync_runs where source = 'demo_data'")[0]
    assert recorded == [p.model_dump() for p in pairs]
    head = pairs[0]  # the best-selling planted product: enough orders to measure
    with_a, both = _one(
        conn,
        """
        with baskets as (
          select order_id, bool_or(product_id = %s) as a, bool_or(product_id = %s) as b
          from public.shopify_order_lines group by order_id
        )
        select count(*) filter (where a), count(*) filter (where a and b) from baskets
        """,
        head.product_id,
        head.with_product_id,
    )
    assert with_a > 30
    assert both / with_a > head.probability * 0.7


def test_search_console_lags_with_the_last_two_days_not_final(conn: psycopg.Connection) -> None:
    rows = conn.execute(
        "select date, bool_and(is_final), bool_or(is_final) from public.gsc_page_daily"
        " group by date order by date desc limit 4"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (END, False, False),
        (date(2026, 11, 27), False, False),
        (date(2026, 11, 26), True, True),
        (date(2026, 11, 25), True, True),
    ]
    top, low = _one(
        conn,
        "select sum(clicks) filter (where position < 4)::float / sum(impressions) filter (where position < 4),"
        " sum(clicks) filter (where position > 15)::float / sum(impressions) filter (where position > 15)"
        " from public.gsc_page_daily",
    )
    assert top > 3 * low, "click-through falls with position"
    assert (
        _one(conn, "select count(*) from public.gsc_page_daily where clicks > impressions or impressions = 0")[0] == 0
    )


def test_analytics_sessions_and_transactions_agree_with_the_orders(conn: psycopg.Connection) -> None:
    assert (
        _one(
            conn,
            "select count(*) from public.ga_page_daily where transactions > sessions or engaged_sessions > sessions"
            " or key_events < transactions",
        )[0]
        == 0
    )
    ga, shop = _one(
        conn,
        "select (select sum(transactions) from public.ga_page_daily),"
        " (select count(*) from public.shopify_orders where landing_page is not null and not is_test)",
    )
    assert 0.85 * shop < ga <= shop, "GA sees most but not all orders"


def test_events_form_a_narrowing_funnel_ending_in_the_orders(conn: psycopg.Connection) -> None:
    steps = dict(
        conn.execute("select event_name, count(distinct session_id) from public.events group by event_name").fetchall()
    )
    assert (
        steps["page_viewed"]
        >= steps["product_viewed"]
        > steps["product_added_to_cart"]
        > steps["checkout_started"]
        > steps["checkout_completed"]
        > 0
    )
    purchases, orders = _one(
        conn,
        "select (select count(*) from public.events where event_name = 'checkout_completed'),"
        " (select count(*) from public.shopify_orders where source_name = 'web' and not is_test"
        "  and created_at >= (select min(occurred_at) from public.events) - interval '1 hour')",
    )
    assert purchases == orders


def test_actions_follow_their_lifecycle_and_the_operator_can_continue_it(
    conn: psycopg.Connection, small_shop: tuple[str, uuid.UUID]
) -> None:
    statuses = dict(conn.execute("select status, count(*) from public.actions group by status").fetchall())
    assert set(statuses) == {"proposed", "approved", "rejected", "executed", "reverted"}
    assert sum(statuses.values()) == SMALL.n_actions
    operator = _one(conn, "select id from auth.users where email = %s", f"operator@{SMALL.shop}")[0]
    assert (
        _one(conn, "select count(*) from public.actions where status <> 'proposed' and decided_by <> %s", operator)[0]
        == 0
    )
    assert _one(
        conn, "select role from public.shop_members where shop_id = %s and user_id = %s", small_shop[1], operator
    ) == ("operator",)
    approved = _one(conn, "select id from public.actions where status = 'approved' limit 1")[0]
    with conn.transaction(force_rollback=True):
        conn.execute("set local role service_role")
        assert _one(conn, "select status from public.set_action_status(%s, 'executed')", approved) == ("executed",)


def test_each_source_has_daily_sync_runs_and_the_generation_run_records_its_parameters(
    conn: psycopg.Connection,
) -> None:
    per_source = dict(
        conn.execute(
            "select source, count(*) from public.sync_runs where source <> 'demo_data' group by source"
        ).fetchall()
    )
    assert per_source == {"shopify": 182, "gsc": 182, "ga": 182, "events": 14}
    loaded = _one(conn, "select sum(rows_loaded) from public.sync_runs where source = 'gsc' and status = 'succeeded'")[
        0
    ]
    assert loaded <= _one(conn, "select count(*) from public.gsc_page_daily")[0]
    assert _one(conn, "select max(finished_at) < '2026-11-29' from public.sync_runs where source <> 'demo_data'") == (
        True,
    )
    details = _one(conn, "select details from public.sync_runs where source = 'demo_data'")[0]
    assert details["params"] == SMALL.recorded()
    assert details["rows"]["shopify_orders"] == 3000
