"""`opsdata demo` steps for product affinity and baselines: compute both for the demo shop, then
show the strongest bought-together pairs (marking the generator's planted ones) and a page's
baselines. Registered in opsdata.demo.commands.DEMO_STEPS."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsdata.demo.commands import DemoContext

TOP_PAIRS = 10


def planted_pair_keys(details: dict[str, Any] | None) -> set[frozenset[int]]:
    """The planted pairs of a demo_data run (unordered), from its recorded details, else regenerated."""
    from opsdata.demo import DemoParams, planted_pairs

    if not details:
        return set()
    pairs = details.get("planted_pairs")
    if pairs is None and details.get("params"):
        params = DemoParams.model_validate({k: v for k, v in details["params"].items() if k != "generator_version"})
        pairs = [p.model_dump() for p in planted_pairs(params.seed, params.n_products)]
    return {frozenset((int(p["product_id"]), int(p["with_product_id"]))) for p in pairs or []}


def _demo_details(conn, shop_id: uuid.UUID) -> dict[str, Any] | None:
    row = conn.execute(
        "select details from public.sync_runs where shop_id = %s and source = 'demo_data' and status = 'succeeded'"
        " order by id desc limit 1",
        (shop_id,),
    ).fetchone()
    return row[0] if row else None


def step_affinity(ctx: DemoContext) -> None:
    """Refresh the demo shop's affinity and baselines; print the top pairs."""
    from rich import box
    from rich.table import Table

    from opsdata.cli import _console
    from opsdata.core.db import connect

    assert ctx.shop_id is not None
    console = _console()
    with connect(ctx.url) as conn:
        affinity = conn.execute("select private.refresh_affinity(%s)", (ctx.shop_id,)).fetchone()[0]
        baselines = conn.execute("select private.refresh_baselines(%s)", (ctx.shop_id,)).fetchone()[0]
        planted = planted_pair_keys(_demo_details(conn, ctx.shop_id))
        top = conn.execute(
            """
            select a.product_id, p.title, a.other_product_id, o.title, a.n_together, a.support, a.confidence,
                   a.lift, a.conviction, a.conviction_kind, a.score
            from public.product_affinity a
            join public.products p on p.shop_id = a.shop_id and p.id = a.product_id
            join public.products o on o.shop_id = a.shop_id and o.id = a.other_product_id
            where a.shop_id = %s and a.window_days = 365
            order by a.score desc, a.confidence desc, a.product_id, a.other_product_id
            limit %s
            """,
            (ctx.shop_id, TOP_PAIRS * 2),
        ).fetchall()
    window = affinity["windows"][0]
    console.print(
        f"product affinity for {ctx.shop}: {affinity['mode']} refresh, {window['n_orders']:,} orders"
        f" {window['first_day']}..{window['last_day']}, min count {window['min_count']};"
        f" baselines: {baselines['baselines']:,} stored"
    )
    table = Table(title=f"top {TOP_PAIRS} bought-together rules (score = shrunk lift)", box=box.SIMPLE_HEAD)
    columns = ("product", "bought with", "orders", "support", "confidence", "lift", "conviction", "score", "planted")
    for column in columns:
        left = column in ("product", "bought with", "planted")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)
    shown, seen = 0, set()
    for pid, title, oid, other_title, n, support, confidence, lift, conviction, kind, score in top:
        pair = frozenset((pid, oid))
        if pair in seen:  # both directions share the score: show the stronger (first) one
            continue
        seen.add(pair)
        shown += 1
        table.add_row(
            title,
            other_title,
            f"{n:,}",
            f"{support:.4f}",
            f"{confidence:.3f}",
            f"{lift:.1f}",
            f"{conviction:.2f}" if kind == "finite" else kind,
            f"{score:.1f}",
            "yes" if pair in planted else "-",
        )
        if shown == TOP_PAIRS:
            break
    console.width = max(console.width, 140)
    console.print(table)
    found = sum(1 for pair in seen if pair in planted)
    console.print(f"{found} of the {len(planted)} planted pairs are among these {shown}")


def step_baselines(ctx: DemoContext) -> None:
    """Print the stored baselines of the demo shop's busiest page."""
    from rich import box
    from rich.table import Table

    from opsdata.cli import _console
    from opsdata.core.db import connect

    assert ctx.shop_id is not None
    with connect(ctx.url) as conn:
        page = conn.execute(
            "select page from public.baseline_metrics where shop_id = %s and page <> '*' and metric = 'sessions'"
            " order by window_value desc nulls last, page limit 1",
            (ctx.shop_id,),
        ).fetchone()
        if page is None:
            _console().print("baselines: no page has data yet")
            return
        rows = conn.execute(
            "select metric, source, window_start, window_end, days_observed, window_value, mean, stddev, median,"
            " p25, p75 from public.list_baselines(p_shop_id => %s, p_page => %s, p_limit => 100)",
            (ctx.shop_id, page[0]),
        ).fetchall()
    table = Table(title=f"90-day baselines of {page[0]} ({ctx.shop})", box=box.SIMPLE_HEAD)
    for column in ("metric", "source", "window", "days", "window value", "mean", "stddev", "median", "p25-p75"):
        table.add_column(column, justify="left" if column in ("metric", "source", "window") else "right", no_wrap=True)

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:,.4g}"

    for metric, source, start, end, days, value, mean, stddev, median, p25, p75 in rows:
        table.add_row(
            metric,
            source,
            f"{start}..{end}",
            str(days),
            fmt(value),
            fmt(mean),
            fmt(stddev),
            fmt(median),
            f"{fmt(p25)}-{fmt(p75)}",
        )
    console = _console()
    console.width = max(console.width, 140)
    console.print(table)
