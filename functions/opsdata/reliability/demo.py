"""`opsdata demo` steps for data reliability: a deliberately stale source, the checks and the
anomaly detector run now on the demo shop, and where to see it all (/status)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import psycopg

if TYPE_CHECKING:
    from opsdata.demo.commands import DemoContext

STALE_SOURCE = "demo_stale_feed"  # the demo_ prefix: not counted as generated demo data
STALE_AGE = timedelta(days=3)
STALE_NOTE = "deliberately stale for the demonstration: its last sync is 3 days old (red after 48 h)"


def plant_stale_source(conn: psycopg.Connection, shop_id: uuid.UUID, now: datetime) -> datetime:
    """Two weeks of daily syncs of STALE_SOURCE that stopped STALE_AGE before `now`; returns the last sync.

    Re-running replaces the runs, so the source is always exactly 3 days stale after `make demo`.
    """
    last = now - STALE_AGE
    with conn.transaction():
        conn.execute("delete from public.sync_runs where shop_id = %s and source = %s", (shop_id, STALE_SOURCE))
        conn.execute(
            """
            insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded,
                                          max_data_at, details)
            select %(shop)s, %(source)s, %(last)s - d * interval '1 day' - interval '4 minutes',
                   %(last)s - d * interval '1 day', 'succeeded', 400 + (d * 37) %% 60,
                   %(last)s - d * interval '1 day', jsonb_build_object('demonstration', %(note)s::text)
            from generate_series(0, 13) d
            """,
            {"shop": shop_id, "source": STALE_SOURCE, "last": last, "note": STALE_NOTE},
        )
    return last


def step_reliability(ctx: DemoContext) -> None:
    """Plant the stale source, run the checks and the detector now, print statuses and anomalies."""
    from opsdata.cli import _console
    from opsdata.core.db import connect
    from opsdata.reliability.commands import print_shop_reliability
    from opsdata.reliability.summary import refresh_and_summarize

    assert ctx.shop_id is not None
    console = _console()
    with connect(ctx.url) as conn:
        plant_stale_source(conn, ctx.shop_id, datetime.now(UTC))
        [shop] = refresh_and_summarize(conn, shop_id=ctx.shop_id)
    console.print()
    console.print("data reliability: the quality checks and the anomaly detector, run now as their jobs would")
    print_shop_reliability(console, shop, notes={STALE_SOURCE: f"^ {STALE_NOTE}"})


def step_status_page(ctx: DemoContext) -> None:
    from opsdata.cli import _console

    console = _console()
    console.print()
    console.print("see it on the status page:")
    console.print("  opsdata serve                     # then open http://127.0.0.1:8000/status")
    console.print(f"  opsdata token --email you@example.com --shop {ctx.shop}")
    console.print("  # paste the token into the page, or open http://127.0.0.1:8000/status#access_token=<token>")
