"""`opsdata quality check` and `opsdata alerts deliver` against a real database and webhook."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from opsdata import cli
from opsdata.core.db import connect
from opsdata.core.settings import get_settings
from support import make_shop
from webhook_server import webhook_server


def stale_and_fresh_shop(url: str) -> None:
    with connect(url) as conn:
        shop = make_shop(conn, "demo-rel.myshopify.com")
        conn.execute(
            "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at)"
            " values (%s, 'shopify', now() - interval '1 hour', now() - interval '55 minutes', 'succeeded', 10, now()),"
            "        (%s, 'ga', now() - interval '3 days', now() - interval '3 days', 'succeeded', 10,"
            "         now() - interval '4 days')",
            (shop, shop),
        )


def test_quality_check_shows_a_stale_source_red(use_database: str) -> None:
    stale_and_fresh_shop(use_database)
    result = CliRunner().invoke(cli.main, ["quality", "check", "--shop", "demo-rel.myshopify.com"])
    assert result.exit_code == 0, result.output
    status = {
        label: line.split(label, 1)[1].split()[0]
        for line in result.output.splitlines()
        for label in ("Google Analytics", "Shopify")
        if line.strip().startswith(label)
    }
    assert status["Google Analytics"] == "red"
    assert status["Shopify"] == "grey"  # fresh, but no volume history yet: not vouched for
    assert "insufficient history" in result.output
    unknown = CliRunner().invoke(cli.main, ["quality", "check", "--shop", "nope.myshopify.com"])
    assert unknown.exit_code == 1 and "no shop with domain" in unknown.output


def test_alerts_deliver_sends_the_red_source_alert(use_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stale_and_fresh_shop(use_database)
    with connect(use_database) as conn:
        conn.execute("select private.run_quality_checks()")
    with webhook_server() as hook:
        monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
        get_settings.cache_clear()
        result = CliRunner().invoke(cli.main, ["alerts", "deliver"])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 delivered" in result.output
    assert hook.received[0]["json"]["text"] == "Google Analytics is red — demo-rel"
