"""Migrating an empty project from scratch: what `supabase db push` + function files cost."""

from __future__ import annotations

import time

from opsdata.core import migrations
from opsdata.core.db import connect
from tests.bench.data import scratch_database
from tests.bench.framework import BenchContext, Result


def run(ctx: BenchContext) -> list[Result]:
    with scratch_database("opsdata_bench_migrate", migrated=False) as url, connect(url) as conn:
        started = time.perf_counter()
        report = migrations.migrate(conn)
        first = time.perf_counter() - started
        started = time.perf_counter()
        migrations.migrate(conn)
        again = time.perf_counter() - started
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
