"""`opsdata backup ...` and `opsdata alerts deliver`: thin wrappers over reliability.backup / delivery."""

from __future__ import annotations

import sys
from datetime import UTC
from typing import TYPE_CHECKING, Any

import click

from opsdata.core.db import connect
from opsdata.core.settings import get_settings

if TYPE_CHECKING:
    from opsdata.reliability.summary import ShopReliability


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _database() -> str:
    from opsdata.cli import _ensure_database  # cli imports this module: import at call time

    return _ensure_database()


@click.group()
def backup() -> None:
    """Verified backups of every opsdata table (to a folder or s3://bucket/prefix)."""


@backup.command("create")
@click.option("--to", "target", required=True, help="A folder or s3://bucket/prefix.")
def backup_create(target: str) -> None:
    """Snapshot every table (one consistent snapshot) into a compressed backup with a manifest."""
    from opsdata.reliability.backup import BackupError, create_backup

    try:
        where = create_backup(_database(), target)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(f"backup written: {where}")


@backup.command("restore")
@click.argument("backup_file")
@click.option("--force", is_flag=True, help="Replace the data of a database that is not empty.")
def backup_restore(backup_file: str, force: bool) -> None:
    """Restore BACKUP_FILE (a path or s3://bucket/key.tar) into the migrated database, in one transaction."""
    from opsdata.reliability.backup import BackupError, local_copy, restore_backup

    try:
        with local_copy(backup_file) as path:
            report = restore_backup(_database(), path, force=force)
    except BackupError as exc:
        _fail(str(exc))
    click.echo(f"restored {report.rows} rows into {report.tables} tables")


@backup.command("verify")
@click.argument("backup_file")
@click.option(
    "--scratch-url",
    help="An empty, migrated database to restore into (default: a scratch database "
    "on the embedded local cluster, dropped afterwards).",
)
def backup_verify(backup_file: str, scratch_url: str | None) -> None:
    """Restore BACKUP_FILE into a scratch database and compare row counts and checksums."""
    from opsdata.reliability.backup import BackupError, local_copy, verify_backup, verify_in_scratch

    try:
        with local_copy(backup_file) as path:
            report = verify_backup(path, scratch_url) if scratch_url else verify_in_scratch(path)
    except BackupError as exc:
        _fail(str(exc))
    for check in report.tables:
        if not check.matches:
            click.echo(f"MISMATCH {check.table}: {check.rows_restored} rows restored, {check.rows_expected} expected")
    if not report.ok:
        _fail("the restored data differs from the backup")
    rows = sum(c.rows_restored for c in report.tables)
    click.echo(f"backup verified: {len(report.tables)} tables, {rows} rows, counts and checksums match")


@backup.command("prune")
@click.option("--from", "target", required=True, help="The folder or s3://bucket/prefix holding backups.")
@click.option("--keep-daily", type=click.IntRange(1, 366), default=None, help="Default: BACKUP_KEEP_DAILY (7).")
@click.option("--keep-weekly", type=click.IntRange(0, 520), default=None, help="Default: BACKUP_KEEP_WEEKLY (4).")
def backup_prune(target: str, keep_daily: int | None, keep_weekly: int | None) -> None:
    """Delete backups beyond the retention (newest per day for N days, newest per week for M weeks)."""
    from opsdata.reliability.backup import open_store, prune

    settings = get_settings()
    deleted = prune(
        open_store(target),
        keep_daily if keep_daily is not None else settings.backup_keep_daily,
        keep_weekly if keep_weekly is not None else settings.backup_keep_weekly,
    )
    click.echo(f"deleted {len(deleted)} backup(s)" + "".join(f"\n  {name}" for name in deleted))


@click.group()
def alerts() -> None:
    """Data reliability alerts."""


@alerts.command("deliver")
def alerts_deliver() -> None:
    """Send queued alerts to the webhook (ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_PARAMETER) now."""
    from opsdata.core.secrets import with_secrets
    from opsdata.reliability.delivery import WebhookConfigError, configured_webhook_url, deliver_alerts

    try:
        url = configured_webhook_url(with_secrets(get_settings(), ("alert_webhook_url",)))
        with connect(_database()) as conn:
            report = deliver_alerts(conn, url)
    except WebhookConfigError as exc:
        _fail(str(exc))
    click.echo(f"alerts: {report.claimed} due, {report.delivered} delivered, {report.failed} failed (still queued)")


@click.group()
def quality() -> None:
    """Data quality: source statuses (green/yellow/red/grey) and anomalies."""


@quality.command("check")
@click.option("--shop", "domain", help="Only this shop (its domain).")
def quality_check(domain: str | None) -> None:
    """Run the quality checks and the anomaly detector now, then show each source's status."""
    from opsdata.cli import _console
    from opsdata.reliability.summary import refresh_and_summarize

    with connect(_database()) as conn:
        shop_id = None
        if domain:
            row = conn.execute("select id from public.shops where domain = %s", (domain,)).fetchone()
            if row is None:
                _fail(f"no shop with domain {domain}")
            shop_id = row[0]
        shops = refresh_and_summarize(conn, shop_id=shop_id)
    console = _console()
    for shop in shops:
        print_shop_reliability(console, shop)


def print_shop_reliability(console: Any, shop: ShopReliability, notes: dict[str, str] | None = None) -> None:
    """The sources' statuses as a table, then the newest anomalies and the series not judged yet.

    `notes` adds a remark under a source's reason (the demo labels its deliberately stale source).
    """
    from rich import box
    from rich.table import Table

    colors = {"green": "green", "yellow": "yellow", "red": "red", "grey": "bright_black"}
    console.width = max(console.width, 120)  # piped output (make, CI) would otherwise wrap at 80
    table = Table(title=f"data sources of {shop.domain}", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("source", "status", "last sync (UTC)", "data through (UTC)", "why"):
        table.add_column(column, no_wrap=column != "why")
    for s in shop.sources:
        why = s.message or ""
        if notes and s.source in notes:
            why += f"\n[bold]{notes[s.source]}[/bold]"
        table.add_row(
            s.label,
            f"[{colors[s.status]}]{s.status}[/]",
            f"{s.last_sync_at.astimezone(UTC):%Y-%m-%d %H:%M}" if s.last_sync_at else "never",
            f"{s.data_through.astimezone(UTC):%Y-%m-%d %H:%M}" if s.data_through else "unknown",
            why,
        )
    console.print(table)
    if shop.anomalies:
        shown = len(shop.anomalies)
        console.print(f"anomalies found in {shop.domain}'s data ({shown} newest of {shop.anomalies_total}):")
    else:
        console.print(f"no anomalies found in {shop.domain}'s data")
    for a in shop.anomalies:
        console.print(
            f"  {a.observed_on}  {a.series}: {a.value:,.0f} (expected {a.expected:,.0f}, {a.direction}"
            f"{', level shift' if a.kind == 'level_shift' else ''})"
        )
    if shop.insufficient_history:
        console.print(f"not judged yet (insufficient history): {', '.join(shop.insufficient_history)}")
