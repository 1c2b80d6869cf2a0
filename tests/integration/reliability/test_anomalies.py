"""Anomaly detection on planted data in a real database (private.detect_anomalies)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import psycopg
import pytest

from support import acting_as, add_member, make_shop, make_user

TODAY = date(2026, 11, 30)  # a Monday; yesterday (Sunday 29 Nov) is the newest complete day
WEEKLY = {0: 40, 1: 42, 2: 40, 3: 38, 4: 36, 5: 24, 6: 28}  # orders by weekday, Monday first


def orders_per_day(days: int, overrides: dict[date, int] | None = None) -> dict[date, int]:
    overrides = overrides or {}
    first = TODAY - timedelta(days=days)
    return {
        first + timedelta(d): overrides.get(first + timedelta(d), WEEKLY[(first + timedelta(d)).weekday()])
        for d in range(days)
    }


def load_orders(conn: psycopg.Connection, shop: uuid.UUID, counts: dict[date, int]) -> None:
    conn.execute(
        "insert into public.shopify_orders (shop_id, id, created_at, processed_at, currency, subtotal, total)"
        " select %s, row_number() over (), d + interval '12 hours', d + interval '12 hours', 'USD', 30, 30"
        " from unnest(%s::date[], %s::int[]) as c(d, n), generate_series(1, c.n)",
        (shop, list(counts), list(counts.values())),
    )


def detect(conn: psycopg.Connection, shop: uuid.UUID, today: date = TODAY) -> dict:
    return conn.execute("select private.detect_anomalies(%s, %s)", (shop, today)).fetchone()[0][str(shop)]


def anomalies(conn: psycopg.Connection, shop: uuid.UUID, series: str = "orders") -> list[dict]:
    cur = conn.execute(
        "select observed_on, value, expected, band_low, band_high, score, direction, kind, history_points"
        " from public.anomalies where shop_id = %s and series = %s order by observed_on",
        (shop, series),
    )
    names = [c.name for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def shop(db: psycopg.Connection) -> uuid.UUID:
    return make_shop(db, "anomalies.myshopify.com")


def test_a_planted_drop_is_flagged_with_expected_value_band_and_direction(db, shop) -> None:
    drop_day = TODAY - timedelta(days=2)  # Saturday 28 Nov: normally 24 orders
    load_orders(db, shop, orders_per_day(84, {drop_day: 3}))
    result = detect(db, shop)
    [found] = anomalies(db, shop)
    assert found["observed_on"] == drop_day and found["direction"] == "drop" and found["kind"] == "point"
    assert found["value"] == 3 and found["expected"] == 24
    assert found["band_low"] < 24 < found["band_high"] and found["score"] < -4
    assert found["history_points"] == 8
    assert result["anomalies"] >= 1
    alert = db.execute(
        "select kind, title from public.alerts where shop_id = %s and details ->> 'series' = 'orders'", (shop,)
    ).fetchone()
    assert alert == ("anomaly", "Orders dropped on Sat 28 Nov 2026: 3, expected about 24 (normal range 4 to 44).")


def test_a_metric_whose_table_does_not_exist_is_skipped_not_an_error(db, shop) -> None:
    # Given a registered metric over a table this deployment does not have (yet)
    db.execute(
        "insert into private.anomaly_metrics (metric, label, unit, is_count, fill_missing_with_zero,"
        " required_relation, values_sql, description) values ('future_metric', 'Future', 'count', true, true,"
        " 'public.no_such_table', 'select series, source, day, value from public.no_such_table', 'test')"
    )
    load_orders(db, shop, orders_per_day(84, {}))
    # When detection runs, Then the metric is reported as skipped and the others still run
    result = detect(db, shop)
    assert "future_metric" in result["skipped_metrics"]
    assert "orders" not in result["skipped_metrics"]


def test_a_run_again_finds_nothing_new_and_alerts_once(db, shop) -> None:
    load_orders(db, shop, orders_per_day(84, {TODAY - timedelta(days=1): 90}))
    detect(db, shop)
    before = db.execute("select count(*) from public.alerts").fetchone()[0]
    again = detect(db, shop)
    assert again["points_judged"] == 0 and again["anomalies"] == 0
    assert db.execute("select count(*) from public.alerts").fetchone()[0] == before


def test_too_little_history_is_reported_not_silent(db, shop) -> None:
    load_orders(db, shop, orders_per_day(20, {TODAY - timedelta(days=1): 200}))
    detect(db, shop)
    assert anomalies(db, shop) == []
    state, history, needed, message = db.execute(
        "select state, history_points, min_history, message from public.anomaly_series_state"
        " where shop_id = %s and series = 'orders'",
        (shop,),
    ).fetchone()
    assert (state, history, needed) == ("insufficient_history", 2, 4)
    assert message == "Insufficient history on 2026-11-29: 2 of 4 same-weekday points needed."


def test_the_point_under_test_and_earlier_flags_stay_out_of_the_baseline(db, shop) -> None:
    # two outages on consecutive Saturdays: with the first in the baseline the second would look normal-ish
    sat1, sat2 = TODAY - timedelta(days=9), TODAY - timedelta(days=2)
    load_orders(db, shop, orders_per_day(84, {sat1: 2, sat2: 2}))
    detect(db, shop)
    found = anomalies(db, shop)
    assert [a["observed_on"] for a in found] == [sat1, sat2]
    assert found[1]["expected"] == 24 and found[1]["history_points"] == 7  # 8 weeks less the flagged one


def test_a_lasting_level_shift_is_recognized_and_the_baseline_relearns(db, shop) -> None:
    start = TODAY - timedelta(days=12)
    counts = orders_per_day(84)
    counts.update({d: n * 3 for d, n in counts.items() if d >= start})
    load_orders(db, shop, counts)
    detect(db, shop)
    found = anomalies(db, shop)
    assert {a["kind"] for a in found} == {"level_shift"} and found[0]["observed_on"] == start
    state, baseline_start = db.execute(
        "select state, baseline_start_on from public.anomaly_series_state where shop_id = %s and series = 'orders'",
        (shop,),
    ).fetchone()
    assert baseline_start == start and state == "insufficient_history"
    assert len(found) == 4, "after 4 flags in 7 days the new level is no longer flagged day after day"


def test_direction_and_sensitivity_are_configurable_per_series(db, shop) -> None:
    load_orders(db, shop, orders_per_day(84, {TODAY - timedelta(days=2): 3, TODAY - timedelta(days=1): 60}))
    db.execute(
        "insert into public.anomaly_settings (shop_id, series, direction, sensitivity)"
        " values (%s, 'orders', 'spike', 2)",
        (shop,),
    )
    detect(db, shop)
    assert [a["direction"] for a in anomalies(db, shop)] == ["spike"]


def test_search_console_days_inside_the_expected_lag_are_not_judged(db, shop) -> None:
    first = TODAY - timedelta(days=70)
    db.execute(
        "insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position)"
        " select %s, d, '/', case when d >= %s then 1 else 100 end, 1000, 0.1, 3"
        " from generate_series(%s::date, %s::date, interval '1 day') d",
        (shop, TODAY - timedelta(days=3), first, TODAY - timedelta(days=1)),
    )
    detect(db, shop)
    last = db.execute(
        "select last_evaluated_on from public.anomaly_series_state where shop_id = %s and series = 'gsc_clicks'",
        (shop,),
    ).fetchone()[0]
    assert last == TODAY - timedelta(days=4)  # GSC lags 3 days: the collapsed last 3 days wait
    assert anomalies(db, shop, "gsc_clicks") == []


def test_rows_loaded_per_source_catch_a_loader_that_stopped_loading(db, shop) -> None:
    db.execute(
        "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded)"
        " select %s, 'chatwoot', d + interval '3 hours', d + interval '3 hours 1 minute', 'succeeded',"
        " case when d::date = %s then 0 else 500 end"
        " from generate_series(%s::date, %s::date, interval '1 day') d",
        (shop, TODAY - timedelta(days=1), TODAY - timedelta(days=60), TODAY - timedelta(days=1)),
    )
    detect(db, shop)
    [found] = anomalies(db, shop, "rows_loaded.chatwoot")
    assert found["direction"] == "drop" and found["observed_on"] == TODAY - timedelta(days=1)


def test_members_page_through_anomalies_newest_first(db, shop) -> None:
    days = [TODAY - timedelta(days=d) for d in (1, 8, 15)]
    db.execute(
        "insert into public.anomalies (shop_id, series, metric, source, observed_on, value, expected, band_low,"
        " band_high, score, direction, sensitivity, history_points)"
        " select %s, 'orders', 'orders', 'shopify', d, 1, 30, 10, 50, -5, 'drop', 4, 8 from unnest(%s::date[]) d",
        (shop, days),
    )
    viewer = make_user(db)
    add_member(db, shop, viewer)
    with acting_as(db, "authenticated", viewer):
        page1 = db.execute("select observed_on, id from public.list_anomalies(%s, p_limit => 2)", (shop,)).fetchall()
        last = page1[-1]
        page2 = db.execute(
            "select observed_on from public.list_anomalies(%s, p_limit => 2, p_after_observed_on => %s,"
            " p_after_id => %s)",
            (shop, last[0], last[1]),
        ).fetchall()
    assert [d for d, _ in page1] + [d for (d,) in page2] == days


def test_members_page_through_alerts_and_bad_cursors_are_refused(db, shop) -> None:
    for n in range(5):
        db.execute(
            "select private.enqueue_alert(%s, 'anomaly', 'warning', 'ga', %s, 'm', '{}', %s,"
            " now() - %s * interval '1 minute')",
            (shop, f"alert {n}", f"k{n}", n),
        )
    viewer = make_user(db)
    add_member(db, shop, viewer)
    seen: list[str] = []
    cursor: tuple | None = None
    with acting_as(db, "authenticated", viewer):
        while True:
            args = (shop, *(cursor or (None, None)))
            rows = db.execute(
                "select title, created_at, id from public.list_alerts(%s, p_limit => 2,"
                " p_after_created_at => %s, p_after_id => %s)",
                args,
            ).fetchall()
            if not rows:
                break
            seen += [r[0] for r in rows]
            cursor = (rows[-1][1], rows[-1][2])
    assert seen == [f"alert {n}" for n in range(5)]
    with pytest.raises(psycopg.Error) as failure, acting_as(db, "authenticated", viewer):
        db.execute("select * from public.list_alerts(%s, p_after_id => 3)", (shop,))
    assert failure.value.diag.sqlstate == "OD003"
