"""`opsdata demo-data` (a demo shop of any size) and `opsdata demo` (what `make demo` runs)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import click

from opsdata.demo.generator import DemoParams


def _day(value: object) -> str:
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d}"
    return str(value) if isinstance(value, date) else "-"


def _write(url: str, params: DemoParams, force: bool = False):
    from opsdata.cli import _fail
    from opsdata.core.db import connect
    from opsdata.demo.store import DemoError, write_demo_shop

    with connect(url) as conn:
        try:
            return write_demo_shop(conn, params, force=force)
        except DemoError as exc:
            _fail(str(exc))
    raise AssertionError("unreachable")  # pragma: no cover - _fail exits


def _describe(result) -> str:
    if result.skipped:
        return (
            f"{result.shop}: already holds the demo data for these parameters "
            f"(seed {result.params['seed']}, {result.params['orders']:,} orders); nothing rewritten"
        )
    total = sum(result.seconds.values())
    return (
        f"{result.shop}: generated {sum(result.rows.values()):,} rows in {total:.1f}s "
        f"(seed {result.params['seed']}, {len(result.planted_pairs)} planted co-purchase pairs)"
    )


@click.command("demo-data")
@click.option("--shop", default="demo.myshopify.com", show_default=True, help="Shop domain (created if missing).")
@click.option("--days", type=int, default=180, show_default=True, help="Days of history, ending --end-date.")
@click.option("--orders", type=int, default=20_000, show_default=True, help="Orders in the period.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed and sizes, same data.")
@click.option("--end-date", type=click.DateTime(["%Y-%m-%d"]), help="Last day with data [default: yesterday, UTC].")
@click.option("--force", is_flag=True, help="Regenerate even when the shop holds data from the same parameters.")
def demo_data(shop: str, days: int, orders: int, seed: int, end_date: datetime | None, force: bool) -> None:
    """Generate a deterministic, realistic demo shop and load it.

    Replaces the shop's earlier demo data in one transaction; skips when the shop already holds
    the data of the same parameters. A shop with data demo-data did not write is refused.
    """
    from pydantic import ValidationError
    from rich.table import Table

    from opsdata.cli import _console, _ensure_database

    try:
        fields = {"shop": shop.lower(), "days": days, "orders": orders, "seed": seed}
        params = DemoParams(**fields, **({"end_date": end_date.date()} if end_date else {}))
    except ValidationError as exc:
        raise click.BadParameter(
            "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()), param_hint="options"
        ) from None
    result = _write(_ensure_database(), params, force)
    console = _console()
    console.print(_describe(result))
    table = Table(title=f"demo data for {result.shop}")
    for column in ("table", "rows", "seconds", "rows/s"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, rows in result.rows.items():
        seconds = result.seconds.get(name)
        rate = f"{rows / seconds:,.0f}" if seconds else "-"
        table.add_row(name, f"{rows:,}", f"{seconds:.2f}" if seconds else "-", rate)
    console.print(table)


# ----- opsdata demo: a list of steps later features extend -------------------------------


@dataclass
class DemoContext:
    url: str
    shop: str = DemoParams().shop
    shop_id: uuid.UUID | None = None


def _step_demo_shop(ctx: DemoContext) -> None:
    from opsdata.cli import _console

    result = _write(ctx.url, DemoParams(shop=ctx.shop))
    ctx.shop_id = result.shop_id
    _console().print(_describe(result))


def _step_summary(ctx: DemoContext) -> None:
    from rich import box
    from rich.table import Table

    from opsdata.cli import _console
    from opsdata.core.db import connect
    from opsdata.demo.store import loaded_summary

    assert ctx.shop_id is not None
    with connect(ctx.url) as conn:
        loaded = loaded_summary(conn, ctx.shop_id)
    table = Table(title=f"what is loaded for {ctx.shop}", box=box.SIMPLE_HEAD)
    for column in ("source", "table", "rows", "from", "to", "last sync (UTC)"):
        table.add_column(column, justify="right" if column == "rows" else "left", no_wrap=True)
    for item in loaded:
        last = f"{item.last_sync.astimezone(UTC):%Y-%m-%d %H:%M} {item.last_status}" if item.last_sync else "-"
        table.add_row(item.source, item.table, f"{item.rows:,}", _day(item.first), _day(item.last), last)
    console = _console()
    console.width = max(console.width, 100)  # piped output (make, CI) would otherwise wrap at 80
    console.print(table)


def _step_reliability(ctx: DemoContext) -> None:
    from opsdata.reliability.demo import step_reliability

    step_reliability(ctx)


def _step_status_page(ctx: DemoContext) -> None:
    from opsdata.reliability.demo import step_status_page

    step_status_page(ctx)


from opsdata.analytics.demo_steps import step_affinity, step_baselines  # noqa: E402 - after DemoContext
from opsdata.etl.chatwoot.demo import step_chatwoot  # noqa: E402 - after DemoContext

DEMO_STEPS: list[tuple[str, Callable[[DemoContext], None]]] = [
    ("demo shop", _step_demo_shop),
    ("summary", _step_summary),
    ("support history", step_chatwoot),
    ("product affinity", step_affinity),
    ("baselines", step_baselines),
    # after every step that records runs: all sources are judged on the first run, so a second one
    # (at any hour) raises no alert for a source it sees for the first time
    ("data reliability", _step_reliability),
    ("status page", _step_status_page),  # last: it ends with how to open /status
]


@click.command("demo")
def demo() -> None:
    """Load the demo shop (demo.myshopify.com) if needed and show what is loaded. Idempotent."""
    from opsdata.cli import _ensure_database

    ctx = DemoContext(url=_ensure_database())
    for _, step in DEMO_STEPS:
        step(ctx)
