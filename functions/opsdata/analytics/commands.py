"""`opsdata baselines`: compute a shop's baselines now (the nightly job does it afterwards)."""

from __future__ import annotations

import json

import click
import psycopg

from opsdata.core.db import connect
from opsdata.core.shops import UnknownShopError, shop_id_for_domain


@click.group()
def baselines() -> None:
    """90-day baselines per page and for the whole site (Search Console and GA4)."""


@baselines.command("backfill")
@click.option("--shop", "shop_domain", required=True, help="The shop's domain, e.g. example.myshopify.com.")
@click.option("--days", default=90, show_default=True, type=click.IntRange(7, 730), help="Window length in days.")
def backfill(shop_domain: str, days: int) -> None:
    """Compute and store a shop's baselines now, e.g. right after loading a new shop's history."""
    from opsdata.cli import _ensure_database, _fail

    with connect(_ensure_database()) as conn:
        try:
            shop_id = shop_id_for_domain(conn, shop_domain)
            summary = conn.execute("select private.refresh_baselines(%s, %s)", (shop_id, days)).fetchone()[0]
        except (UnknownShopError, psycopg.Error) as exc:
            _fail(str(exc).strip())
    windows = ", ".join(f"{source} {w['window_start']}..{w['window_end']}" for source, w in summary["windows"].items())
    click.echo(f"{summary['baselines']} baselines stored for {shop_domain} ({windows or 'no source data yet'})")
    click.echo(json.dumps(summary, default=str))
