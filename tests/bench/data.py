"""The benchmark database: the demo shop at benchmark scale, generated once and reused.

`bench_database_url(ctx)` returns the URL of database `opsdata_bench` on the local cluster,
migrated to the checkout and holding `bench.myshopify.com` generated from BENCH_PARAMS
(>= 500k orders, >= 1.2M lines, 5k products, ~2.1k pages x 180 days of GSC and GA, 50k actions).
It regenerates only when the recorded generation parameters (or generator version) differ.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.demo import DemoParams
from opsdata.localstack import LocalCluster
from tests.bench.framework import BenchContext, console

BENCH_DB = "opsdata_bench"
BENCH_PARAMS = DemoParams(shop="bench.myshopify.com", days=180, orders=500_000, seed=42, end_date=date(2026, 11, 28))


def _recorded_params(url: str) -> dict | None:
    try:
        with connect(url) as conn:
            row = conn.execute(
                "select r.details -> 'params' from public.sync_runs r join public.shops s on s.id = r.shop_id"
                " where s.domain = %s and r.source = 'demo_data' and r.status = 'succeeded'"
                " order by r.id desc limit 1",
                (BENCH_PARAMS.shop,),
            ).fetchone()
    except Exception:  # a missing or half-made database is regenerated
        return None
    return row[0] if row else None


def generate_bench_database(ctx: BenchContext, cluster: LocalCluster) -> dict[str, object]:
    """(Re)create opsdata_bench and generate the shop in a child process; returns what it measured."""
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'drop database if exists "{BENCH_DB}" with (force)')
        admin.execute(f'create database "{BENCH_DB}" owner postgres')
    cluster.apply_platform(BENCH_DB)
    url = cluster.url(BENCH_DB)
    with connect(url) as conn:
        migrations.migrate(conn)
    p = BENCH_PARAMS
    console.print(f"generating the benchmark shop ({p.orders:,} orders, {p.days} days) into {BENCH_DB} ...")
    args = ["demo-data", "--shop", p.shop, "--days", str(p.days), "--orders", str(p.orders), "--seed", str(p.seed)]
    args += ["--end-date", p.end_date.isoformat()]
    started = time.perf_counter()
    # a child process, so its peak memory is the generator's alone (os.wait4 reports it)
    child = subprocess.Popen(
        [sys.executable, "-m", "opsdata.cli", *args],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen, so it does not wait again
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"generating the benchmark shop failed (exit {child.returncode})")
    with connect(url) as conn:
        row = conn.execute(
            "select details from public.sync_runs where source = 'demo_data' order by id desc limit 1"
        ).fetchone()
    assert row is not None
    report = {"wall_seconds": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "details": row[0]}
    ctx.shared["demo_generation"] = report
    ctx.shared["bench_database_url"] = url
    return report


def bench_database_url(ctx: BenchContext) -> str:
    """URL of the benchmark database, generating it only when its parameters are not BENCH_PARAMS'."""
    if "bench_database_url" in ctx.shared:
        return str(ctx.shared["bench_database_url"])
    cluster = LocalCluster()
    cluster.up()
    url = cluster.url(BENCH_DB)
    if _recorded_params(url) != BENCH_PARAMS.recorded():
        generate_bench_database(ctx, cluster)
    else:
        with connect(url) as conn:  # other branches' migrations reach the reused database too
            migrations.migrate(conn)
        console.print(f"reusing {BENCH_DB} (generated with the same parameters)")
    ctx.shared["bench_database_url"] = url
    return url


@contextmanager
def scratch_database(prefix: str, *, migrated: bool = True) -> Iterator[str]:
    """A database of its own on the local cluster for one section, migrated unless asked not to
    (then it is what a new Supabase project is); dropped afterwards."""
    cluster = LocalCluster()
    cluster.up()
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" owner postgres')
    try:
        cluster.apply_platform(name)
        if migrated:
            with connect(cluster.url(name)) as conn:
                migrations.migrate(conn)
        yield cluster.url(name)
    finally:
        with connect(cluster.admin_url()) as admin:
            admin.execute(f'drop database "{name}" with (force)')
