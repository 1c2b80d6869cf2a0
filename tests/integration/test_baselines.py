"""Baselines: windows end at each source's last complete day, ratios of sums, zeros for missing
days, the same numbers stored and on demand, members only."""

from __future__ import annotations

import random
import statistics
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from click.testing import CliRunner

from opsdata import cli
from opsdata.core.db import connect
from support import acting_as, add_member, make_shop, make_user

COLUMNS = (
    "page, metric, source, window_start, window_end, days_in_window, days_observed, window_value,"
    " mean, stddev, median, p25, p75, dow_profile"
)


def _today(conn: psycopg.Connection) -> date:
    """The day baselines count back from: now() is the transaction's start, so a test that runs
    across midnight still agrees with the SQL (the shops here are on UTC)."""
    return conn.execute("select (now() at time zone 'UTC')::date").fetchone()[0]


def _load(conn: psycopg.Connection, shop: uuid.UUID, today: date, seed: int = 1) -> dict:
    """Two pages over 120 days (GSC as URLs, GA as paths), with gaps; GSC final up to today - 3."""
    rng = random.Random(seed)
    gsc, ga = {}, {}
    for page, share in (("/products/mug", 0.9), ("/blog/tea", 0.3)):
        for back in range(1, 121):
            day = today - timedelta(days=back)
            if rng.random() < share:
                impressions = rng.randint(1, 400)
                gsc[(page, day)] = (rng.randint(0, impressions // 4), impressions, round(rng.uniform(1, 30), 3))
            if rng.random() < share:
                sessions = rng.randint(1, 80)
                transactions = rng.randint(0, sessions // 5)
                ga[(page, day)] = (sessions, transactions, round(transactions * rng.uniform(10, 90), 2))
    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (shop, day, f"https://shop.example{page}", c, i, c / i, p, day <= today - timedelta(days=3))
                for (page, day), (c, i, p) in gsc.items()
            ],
        )
        cur.executemany(
            "insert into public.ga_page_daily (shop_id, date, page, sessions, engaged_sessions, key_events,"
            " transactions, purchase_revenue) values (%s, %s, %s, %s, %s, 0, %s, %s)",
            [(shop, day, page, s, s, t, r) for (page, day), (s, t, r) in ga.items()],
        )
    return {"gsc": gsc, "ga": ga}


def _expected(data: dict, page: str, metric: str, last: date, days: int) -> dict:
    """The baseline computed the obvious way in Python."""
    source = "gsc" if metric in ("clicks", "impressions", "ctr", "position") else "ga"
    rows = data[source]
    first = max(last - timedelta(days=days - 1), min(day for _, day in rows))
    window = [first + timedelta(days=n) for n in range((last - first).days + 1)]

    def num_den(day: date) -> tuple[float, float]:
        pages = [p for p in {p for p, _ in rows} if page in ("*", p)]
        vals = [rows.get((p, day)) for p in pages]
        vals = [v for v in vals if v]
        total = [sum(v[i] for v in vals) for i in range(3)] if vals else [0, 0, 0]
        if source == "gsc":
            clicks, impressions = total[0], total[1]
            weighted = sum(v[2] * v[1] for v in vals)
            return {
                "clicks": (clicks, 1),
                "impressions": (impressions, 1),
                "ctr": (clicks, impressions),
                "position": (weighted, impressions),
            }[metric]
        sessions, transactions, revenue = total
        return {
            "sessions": (sessions, 1),
            "revenue": (revenue, 1),
            "conversion_rate": (transactions, sessions),
            "revenue_per_session": (revenue, sessions),
            "aov": (revenue, transactions),
        }[metric]

    pairs = [(day, *num_den(day)) for day in window]
    values = [n / d for _, n, d in pairs if d > 0]
    ratio = metric in ("ctr", "position", "conversion_rate", "revenue_per_session", "aov")
    total_num, total_den = sum(n for _, n, _ in pairs), sum(d for _, _, d in pairs)
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    dow = []
    for weekday in range(1, 8):
        n = sum(x for day, x, _ in pairs if day.isoweekday() == weekday)
        d = sum(y for day, _, y in pairs if day.isoweekday() == weekday)
        dow.append(n / d if d else None)
    return {
        "source": source,
        "window_start": first,
        "window_end": last,
        "days_in_window": len(window),
        "days_observed": len(values),
        "window_value": total_num / total_den if ratio else total_num,
        "mean": statistics.fmean(values),
        "stddev": statistics.stdev(values),
        "median": q2,
        "p25": q1,
        "p75": q3,
        "dow_profile": dow,
    }


def _baseline_for(conn: psycopg.Connection, shop: uuid.UUID, page: str | None, metric: str, **args: object) -> dict:
    named = "".join(f", p_{k} => %({k})s" for k in args)
    row = conn.execute(
        f"select {COLUMNS} from public.baseline_for(p_shop_id => %(shop)s, p_page => %(page)s,"
        f" p_metric => %(metric)s{named})",
        {"shop": shop, "page": page, "metric": metric, **args},
    ).fetchone()
    assert row is not None, (page, metric)
    return dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))


def _assert_matches(actual: dict, expected: dict) -> None:
    for key, value in expected.items():
        if key == "dow_profile":
            assert actual[key] == pytest.approx(value, rel=1e-9), key
        elif isinstance(value, float):
            assert actual[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
        else:
            assert actual[key] == value, key


@pytest.fixture
def shop_with_traffic(db: psycopg.Connection) -> dict:
    shop, today = make_shop(db), _today(db)
    return {"shop": shop, "today": today, "data": _load(db, shop, today)}


METRICS = ["clicks", "impressions", "ctr", "position", "sessions", "conversion_rate", "revenue"]
METRICS += ["revenue_per_session", "aov"]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("page", ["/products/mug", "/blog/tea", "*"])
def test_baseline_for_equals_the_obvious_computation(
    db: psycopg.Connection, shop_with_traffic: dict, page: str, metric: str
) -> None:
    # Search Console's window ends at its newest final day; GA4's two days before today
    last = shop_with_traffic["today"] - timedelta(
        days=3 if metric in ("clicks", "impressions", "ctr", "position") else 2
    )
    actual = _baseline_for(db, shop_with_traffic["shop"], page, metric)
    _assert_matches(actual, _expected(shop_with_traffic["data"], page, metric, last, 90))


def test_ctr_is_clicks_over_impressions_not_a_mean_of_daily_ratios(db: psycopg.Connection) -> None:
    shop, today = make_shop(db), _today(db)
    days = [today - timedelta(days=10), today - timedelta(days=9)]
    for day, clicks, impressions in ((days[0], 1, 10), (days[1], 50, 100)):
        db.execute(
            "insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)"
            " values (%s, %s, '/p', %s, %s, 0, 3, true)",
            (shop, day, clicks, impressions),
        )
    ctr = _baseline_for(db, shop, "/p", "ctr")
    assert ctr["window_value"] == pytest.approx(51 / 110)
    assert ctr["mean"] == pytest.approx(0.3)
    assert (ctr["window_start"], ctr["days_in_window"]) == (days[0], 2), "no zeros before the source's first day"


def test_a_page_given_as_url_or_path_is_the_same_page(db: psycopg.Connection, shop_with_traffic: dict) -> None:
    by_path = _baseline_for(db, shop_with_traffic["shop"], "/products/mug", "clicks")
    by_url = _baseline_for(db, shop_with_traffic["shop"], "https://shop.example/products/mug?utm_source=x", "clicks")
    assert by_url == by_path


def test_a_member_gets_the_same_baselines_and_urls_of_one_path_are_summed(
    db: psycopg.Connection, shop_with_traffic: dict
) -> None:
    # Members read through RLS, where one page's rows are found by its stored page_path column.
    shop = shop_with_traffic["shop"]
    mug, site = (_baseline_for(db, shop, page, "clicks")["window_value"] for page in ("/products/mug", "*"))
    db.execute(
        "insert into public.gsc_page_daily (shop_id, date, page, clicks, impressions, ctr, position, is_final)"
        " values (%s, %s, 'https://m.shop.example/products/mug?ref=mail#top', 7, 70, 0.1, 2.5, true)",
        (shop, shop_with_traffic["today"] - timedelta(days=5)),
    )
    member = make_user(db)
    add_member(db, shop, member)
    pages = ["/products/mug", "https://shop.example/blog/tea", "*"]
    unrestricted = {(page, metric): _baseline_for(db, shop, page, metric) for page in pages for metric in METRICS}
    with acting_as(db, "authenticated", member):
        for (page, metric), expected in unrestricted.items():
            _assert_matches(_baseline_for(db, shop, page, metric), expected)
    assert unrestricted[("/products/mug", "clicks")]["window_value"] == mug + 7
    assert unrestricted[("*", "clicks")]["window_value"] == site + 7


def test_stored_baselines_are_what_baseline_for_computes(db: psycopg.Connection, shop_with_traffic: dict) -> None:
    shop = shop_with_traffic["shop"]
    summary = db.execute("select private.refresh_baselines(%s)", (shop,)).fetchone()[0]
    assert summary["baselines"] == 3 * 9
    assert summary["windows"]["gsc"]["window_end"] == str(shop_with_traffic["today"] - timedelta(days=3))
    stored = db.execute(
        f"select {COLUMNS} from public.baseline_metrics where shop_id = %s order by page, metric", (shop,)
    ).fetchall()
    on_demand = [
        tuple(_baseline_for(db, shop, page, metric).values()) for page, metric in sorted({(r[0], r[1]) for r in stored})
    ]
    # the same SQL; only float sums taken in another row order may differ in the last bit
    assert len(stored) == len(on_demand)
    for row, again in zip(stored, on_demand, strict=True):
        assert row[:7] == again[:7]
        assert row[7:13] == pytest.approx(again[7:13], rel=1e-12)
        assert row[13] == pytest.approx(again[13], rel=1e-12)
    runs = db.execute(
        "select status, rows_loaded from public.sync_runs where shop_id = %s and source = 'baselines'", (shop,)
    )
    assert runs.fetchall() == [("succeeded", 27)]


def test_a_baseline_as_it_stood_before_an_action(db: psycopg.Connection, shop_with_traffic: dict) -> None:
    action_day = shop_with_traffic["today"] - timedelta(days=30)
    before = _baseline_for(db, shop_with_traffic["shop"], "/products/mug", "sessions", as_of=action_day, days=28)
    _assert_matches(before, _expected(shop_with_traffic["data"], "/products/mug", "sessions", action_day, 28))


def test_a_shop_without_source_data_has_no_baselines(db: psycopg.Connection) -> None:
    shop = make_shop(db)
    assert db.execute("select private.refresh_baselines(%s)", (shop,)).fetchone()[0]["baselines"] == 0
    assert db.execute("select * from public.baseline_for(%s, '/x', 'ctr')", (shop,)).fetchall() == []


def test_baselines_are_for_members_only_and_arguments_are_checked(
    db: psycopg.Connection, shop_with_traffic: dict
) -> None:
    shop = shop_with_traffic["shop"]
    member, stranger = make_user(db), make_user(db)
    add_member(db, shop, member)
    db.execute("select private.refresh_baselines(%s)", (shop,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "authenticated", stranger):
        db.execute("select * from public.baseline_for(%s, '/blog/tea', 'ctr')", (shop,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "authenticated", stranger):
        db.execute("select * from public.list_baselines(%s)", (shop,))
    for sql in (
        "select * from public.baseline_for(%s, '/blog/tea', 'bounce_rate')",
        "select * from public.baseline_for(%s, '/blog/tea', 'ctr', p_days => 3)",
        "select * from public.list_baselines(%s, p_after_page => '*')",
    ):
        with pytest.raises(psycopg.Error) as failure, acting_as(db, "authenticated", member):
            db.execute(sql, (shop,))
        assert failure.value.diag.sqlstate == "OD003", sql
    with acting_as(db, "authenticated", member):
        pages, after = [], (None, None)
        while page := db.execute(
            "select page, metric from public.list_baselines(%s, p_after_page => %s, p_after_metric => %s,"
            " p_limit => 4)",
            (shop, *after),
        ).fetchall():
            pages += page
            after = page[-1]
        site = db.execute("select metric from public.list_baselines(%s, p_page => '*', p_metric => 'aov')", (shop,))
        assert site.fetchall() == [("aov",)]
    assert len(pages) == 27 and pages == sorted(pages) and pages[0][0] == "*"


def test_opsdata_baselines_backfill(use_database: str) -> None:
    with connect(use_database) as conn:
        shop = make_shop(conn, "tea.myshopify.com")
        _load(conn, shop, datetime.now(UTC).date())
    result = CliRunner().invoke(cli.main, ["baselines", "backfill", "--shop", "tea.myshopify.com", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "27 baselines stored for tea.myshopify.com" in result.output
    with connect(use_database) as conn:
        days = conn.execute(
            "select distinct days_in_window from public.baseline_metrics where shop_id = %s", (shop,)
        ).fetchall()
    assert days == [(30,)]
    unknown = CliRunner().invoke(cli.main, ["baselines", "backfill", "--shop", "nope.myshopify.com"])
    assert unknown.exit_code == 1 and "no shop with domain" in unknown.output
