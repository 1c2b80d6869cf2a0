"""Generating the demo shop at benchmark scale: time, rows/s per table, generator peak memory.

Measures a fresh generation into opsdata_bench (which later sections reuse), unless this
`make bench` run already generated it.
"""

from __future__ import annotations

from opsdata.demo.store import SHOP_TABLES
from opsdata.localstack import LocalCluster
from tests.bench.data import BENCH_PARAMS, generate_bench_database
from tests.bench.framework import BenchContext, Result


def _scale_met(rows: dict[str, int]) -> bool:
    page_days = 2000 * BENCH_PARAMS.days
    return (
        rows["shopify_orders"] >= 500_000
        and rows["shopify_order_lines"] >= 1_200_000
        and rows["products"] >= 5000
        and min(rows["gsc_page_daily"], rows["ga_page_daily"])
        >= 0.9 * page_days  # a page-day without traffic has no row
        and rows["actions"] >= 50_000
    )


def run(ctx: BenchContext) -> list[Result]:
    report = ctx.shared.get("demo_generation")
    if report is None:
        cluster = LocalCluster()
        cluster.up()
        report = generate_bench_database(ctx, cluster)
    assert isinstance(report, dict)
    details = report["details"]
    rows: dict[str, int] = details["rows"]
    seconds: dict[str, float] = details["seconds"]
    table = [
        [
            "generate (numpy, all tables)",
            sum(rows.values()),
            seconds["generate"],
            sum(rows.values()) / seconds["generate"],
        ]
    ]
    for name in SHOP_TABLES:  # load order (jsonb does not keep the keys' order)
        count = rows[name]
        table.append([f"COPY {name}", count, seconds[name], count / seconds[name] if seconds[name] else 0.0])
    total = sum(seconds.values())
    table.append(["total", sum(rows.values()), total, sum(rows.values()) / total])
    p = BENCH_PARAMS
    return [
        Result(
            f"demo data at benchmark scale ({p.orders:,} orders, {p.days} days, seed {p.seed})",
            ["step", "rows", "seconds", "rows/s"],
            table,
            notes=[
                f"whole `opsdata demo-data` process: {report['wall_seconds']:.1f} s wall,"
                f" peak RSS {report['peak_rss_mib']:.0f} MiB",
                "COPY includes formatting rows in Python and Postgres checking keys, foreign keys and indexes",
                "benchmark scale (>= 500k orders, 1.2M lines, 5k products, 2k pages x 180 days, 50k actions): "
                + ("met" if _scale_met(rows) else "NOT met"),
            ],
        )
    ]
