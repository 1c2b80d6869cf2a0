"""Migrating an empty project from scratch: what `supabase db push` + function files cost."""

from __future__ import annotations

import time
import uuid

from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.localstack import LocalCluster
from tests.bench.framework import BenchContext, Result


def run(ctx: BenchContext) -> list[Result]:
    cluster = LocalCluster()
    cluster.up()
    name = f"opsdata_bench_migrate_{uuid.uuid4().hex[:8]}"
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" owner postgres')
    try:
        cluster.apply_platform(name)
        with connect(cluster.url(name)) as conn:
            started = time.perf_counter()
            report = migrations.migrate(conn)
            first = time.perf_counter() - started
            started = time.perf_counter()
            migrations.migrate(conn)
            again = time.perf_counter() - started
    finally:
        with connect(cluster.admin_url()) as admin:
            admin.execute(f'drop database "{name}" with (force)')
    return [
        Result(
            "migrator",
            ["run", "migrations", "function files", "seconds"],
            [
                ["empty project", len(report.applied_migrations), len(report.applied_functions), first],
                ["nothing pending", 0, 0, again],
            ],
        )
    ]
