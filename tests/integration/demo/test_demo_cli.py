"""`opsdata demo-data` and `opsdata demo` (what `make demo` runs), end to end."""

from __future__ import annotations

from click.testing import CliRunner

from opsdata import cli


def test_demo_data_generates_then_skips_the_same_parameters(use_database: str) -> None:
    args = ["demo-data", "--shop", "cli.myshopify.com", "--days", "20", "--orders", "200", "--seed", "3"]
    first = CliRunner().invoke(cli.main, [*args, "--end-date", "2026-11-28"])
    assert first.exit_code == 0, first.output
    assert "cli.myshopify.com: generated" in first.output
    assert "shopify_orders" in first.output and "200" in first.output
    again = CliRunner().invoke(cli.main, [*args, "--end-date", "2026-11-28"])
    assert "already holds the demo data for these parameters" in again.output


def test_demo_data_rejects_impossible_sizes(use_database: str) -> None:
    result = CliRunner().invoke(cli.main, ["demo-data", "--days", "3"])
    assert result.exit_code == 2
    assert "days: Input should be greater than or equal to 14" in result.output


def test_demo_loads_the_default_shop_once_and_prints_the_same_summary_twice(demo_env: str) -> None:
    first = CliRunner().invoke(cli.main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "demo.myshopify.com: generated" in first.output
    for expected in ("shopify_orders", "20,000", "gsc_page_daily", "ga_page_daily", "events", "actions", "succeeded"):
        assert expected in first.output
    second = CliRunner().invoke(cli.main, ["demo"])
    assert second.exit_code == 0
    assert "nothing rewritten" in second.output
    summary = first.output.split("what is loaded", 1)[1].split("support history", 1)[0]
    assert second.output.split("what is loaded", 1)[1].split("support history", 1)[0] == summary


def test_demo_shows_source_statuses_a_deliberately_stale_red_source_and_anomalies(demo_env: str) -> None:
    from opsdata.core.db import connect

    first = CliRunner().invoke(cli.main, ["demo"])
    assert first.exit_code == 0, first.output
    reliability = first.output.split("data reliability", 1)[1]
    stale = next(line for line in reliability.splitlines() if line.strip().startswith("demo_stale_feed"))
    assert " red " in stale
    assert "deliberately stale for the demonstration" in " ".join(reliability.split())  # wrapped in its cell
    for source in ("Shopify", "Google Search Console", "Google Analytics", "Storefront events"):
        assert source in reliability
    assert "demo_data" not in reliability  # the generator's bookkeeping run is not a data source
    assert "anomalies found in demo.myshopify.com's data" in reliability
    assert "http://127.0.0.1:8000/status" in reliability
    assert "opsdata token --email you@example.com --shop demo.myshopify.com" in reliability
    # Then a second run changes nothing it should not: still red, no new alert, no regeneration
    with connect(demo_env) as conn:
        alerts = conn.execute("select count(*) from public.alerts").fetchone()[0]
    second = CliRunner().invoke(cli.main, ["demo"])
    assert "nothing rewritten" in second.output and "deliberately stale" in second.output
    with connect(demo_env) as conn:
        assert conn.execute("select count(*) from public.alerts").fetchone()[0] == alerts
        status, last = conn.execute(
            "select d.status, max(r.finished_at) from public.data_sources d join public.sync_runs r"
            " using (shop_id, source) where d.source = 'demo_stale_feed' group by d.status"
        ).fetchone()
        age = conn.execute("select now() - %s", (last,)).fetchone()[0]
    assert status == "red" and 71.9 * 3600 < age.total_seconds() < 72.1 * 3600


def test_demo_data_refuses_a_shop_with_data_it_did_not_write(use_database: str) -> None:
    from opsdata.core.db import connect

    with connect(use_database) as conn:
        conn.execute("insert into public.shops (domain, name) values ('live.myshopify.com', 'Live')")
        conn.execute(
            "insert into public.products (shop_id, id, title, handle, price)"
            " select id, 1, 'Mug', 'mug', 9 from public.shops where domain = 'live.myshopify.com'"
        )
    result = CliRunner().invoke(cli.main, ["demo-data", "--shop", "live.myshopify.com", "--orders", "100"])
    assert result.exit_code == 1
    assert "holds data that demo-data did not generate; refusing to replace it" in result.output
