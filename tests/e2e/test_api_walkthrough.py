"""The README walkthrough: `opsdata token`, `opsdata serve` (a real process), then HTTP requests."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from api_support import opsdata_serve
from opsdata import cli
from opsdata.core.db import connect


def _token(*args: str) -> str:
    result = CliRunner().invoke(cli.main, ["token", *args])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_token_needs_an_existing_shop_unless_asked_to_create_it(use_database: str) -> None:
    result = CliRunner().invoke(cli.main, ["token", "--email", "new@example.com", "--shop", "nope.myshopify.com"])
    assert result.exit_code != 0
    assert "no shop with domain nope.myshopify.com" in result.output and "--create-shop" in result.output
    bad = CliRunner().invoke(cli.main, ["token", "--email", "a@example.com", "--shop", "not a domain", "--create-shop"])
    assert bad.exit_code != 0 and "not a valid shop domain" in bad.output


def test_token_then_serve_then_curl(use_database: str) -> None:
    # Given a token for a new member of a new shop (and a role change on a second run)
    _token("--email", "you@example.com", "--shop", "walkthrough.myshopify.com", "--create-shop")
    token = _token("--email", "you@example.com", "--shop", "walkthrough.myshopify.com", "--role", "operator")
    with connect(use_database) as conn:
        conn.execute(
            "insert into public.sync_runs (shop_id, source, status, finished_at)"
            " select id, 'shopify_orders', 'succeeded', now() from public.shops"
            " where domain = 'walkthrough.myshopify.com'"
        )
    # When `opsdata serve` runs as its own process
    with opsdata_serve(use_database) as base:
        # Then curl with the token gets the user's data
        headers = {"Authorization": f"Bearer {token}"}
        shops = httpx.get(f"{base}/api/data/shops", headers=headers).json()
        assert [(s["domain"], s["role"]) for s in shops["data"]] == [("walkthrough.myshopify.com", "operator")]
        runs = httpx.get(
            f"{base}/api/data/sync-runs", params={"shop": "walkthrough.myshopify.com"}, headers=headers
        ).json()
        assert [r["source"] for r in runs["data"]] == ["shopify_orders"] and runs["meta"]["total"] == 1
