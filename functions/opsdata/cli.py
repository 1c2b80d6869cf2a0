"""The `opsdata` command. Thin: parse arguments, call one function, print the outcome.

Every command uses DATABASE_URL when it is set, and the embedded local cluster otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from opsdata.core import migrations
from opsdata.core.db import connect, database_url, redact_url
from opsdata.core.settings import REPO_ROOT, get_settings

PGTAP_DIR = REPO_ROOT / "supabase" / "tests"


def _console():  # rich is imported lazily: it costs import time and only the CLI uses it
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    _console().print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)
    sys.exit(1)


def _ensure_database() -> str:
    """Start the embedded cluster unless DATABASE_URL points elsewhere; return the URL to use."""
    settings = get_settings()
    if settings.uses_local_cluster:
        from opsdata.localstack import ClusterError, LocalCluster

        try:
            LocalCluster(settings).up()
        except ClusterError as exc:
            _fail(str(exc))
    return database_url(settings)


@click.group()
@click.version_option(package_name="opsdata")
def main() -> None:
    """opsdata: the data layer of an AI-assisted operations dashboard for a Shopify store."""


# ----- opsdata db ---------------------------------------------------------------------
@main.group()
def db() -> None:
    """The database: embedded local cluster (default) or DATABASE_URL."""


def _local_cluster_or_explain(action: str):
    settings = get_settings()
    if not settings.uses_local_cluster:
        click.echo(f"DATABASE_URL is set: nothing local to {action} ({redact_url(settings.database_url or '')}).")
        return None
    from opsdata.localstack import LocalCluster

    return LocalCluster(settings)


@db.command("up")
def db_up() -> None:
    """Start the embedded cluster (initializing it on first use)."""
    from opsdata.localstack import ClusterError

    cluster = _local_cluster_or_explain("start")
    if cluster is None:
        return
    try:
        status = cluster.up()
    except ClusterError as exc:
        _fail(str(exc))
    click.echo(f"local cluster running on 127.0.0.1:{status.port} ({status.data_dir})")
    click.echo(f"DATABASE_URL={cluster.url()}")


@db.command("down")
def db_down() -> None:
    """Stop the embedded cluster (data is kept)."""
    cluster = _local_cluster_or_explain("stop")
    if cluster is not None:
        cluster.down()
        click.echo("local cluster stopped")


@db.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_reset(yes: bool) -> None:
    """Delete the embedded cluster's data, start empty and migrate."""
    cluster = _local_cluster_or_explain("reset")
    if cluster is None:
        return
    if not yes:
        click.confirm("This deletes all local data. Continue?", abort=True)
    cluster.reset()
    _migrate(cluster.url())


@db.command("migrate")
def db_migrate() -> None:
    """Apply pending migrations, then changed function files."""
    _migrate(_ensure_database())


def _migrate(url: str) -> None:
    try:
        with connect(url) as conn:
            report = migrations.migrate(conn)
    except migrations.MigrationError as exc:
        _fail(f"migration stopped: {exc}")
    for name in report.applied_migrations:
        click.echo(f"applied migration {name}")
    for key in report.applied_functions:
        click.echo(f"applied function file {key}")
    click.echo(
        f"migrated: {len(report.applied_migrations)} migration(s), "
        f"{len(report.applied_functions)} function file(s) applied, "
        f"{report.unchanged_functions} unchanged"
    )


@db.command("status")
def db_status() -> None:
    """Which database is in use, whether it answers, and what is applied."""
    from rich.table import Table

    settings = get_settings()
    console = _console()
    url = database_url(settings)
    if settings.uses_local_cluster:
        from opsdata.localstack import LocalCluster

        status = LocalCluster(settings).status()
        state = "running" if status.running else ("stopped" if status.initialized else "not created")
        console.print(f"database: embedded local cluster ({state}), {redact_url(url)}")
        console.print(f"data directory: {status.data_dir}")
    else:
        console.print(f"database: DATABASE_URL {redact_url(url)}")
    try:
        with connect(url) as conn:
            version = conn.execute("show server_version").fetchone()
            state = migrations.applied_state(conn)
    except Exception as exc:  # a status command reports, it does not crash
        console.print(f"reachable: [red]no[/red] ({type(exc).__name__}: {str(exc).strip()})")
        sys.exit(1)
    console.print(f"reachable: [green]yes[/green] (PostgreSQL {version[0] if version else '?'})")

    applied = {version for version, _ in state.migrations}
    table = Table(title="migrations")
    table.add_column("version")
    table.add_column("name")
    table.add_column("state")
    for migration in migrations.discover_migrations():
        table.add_row(
            migration.version,
            migration.name,
            "applied" if migration.version in applied else "[yellow]pending[/yellow]",
        )
    known = {m.version for m in migrations.discover_migrations()}
    for version, name in state.migrations:
        if version not in known:
            table.add_row(version, name, "[red]applied, file missing[/red]")
    console.print(table)

    files = migrations.discover_function_files()
    changed = 0
    for path in files:
        recorded = state.functions.get(migrations.function_key(path))
        if recorded != migrations.checksum(path.read_text()):
            changed += 1
            label = "not applied" if recorded is None else "changed since applied"
            console.print(f"  function file {migrations.function_key(path)}: [yellow]{label}[/yellow]")
    console.print(f"function files: {len(files) - changed} of {len(files)} applied and current")
    with connect(url) as conn:
        console.print(_jobs_scheduling_summary(conn))


def _jobs_scheduling_summary(conn) -> str:
    """Whether the registered jobs are really scheduled (pg_cron runs in one database only)."""
    if conn.execute("select to_regclass('private.jobs') is null").fetchone()[0]:
        return "jobs: none registered (not migrated)"
    registered = conn.execute("select count(*) from private.jobs").fetchone()[0]
    if not conn.execute("select exists (select 1 from pg_extension where extname = 'pg_cron')").fetchone()[0]:
        return (
            f"jobs: {registered} registered, [yellow]NOT scheduled: pg_cron is not installed in this database[/yellow]"
        )
    scheduled = conn.execute(
        "select count(*) from cron.job where jobname in (select name from private.jobs)"
    ).fetchone()[0]
    colour = "green" if scheduled == registered else "yellow"
    return f"jobs: {registered} registered, [{colour}]{scheduled} scheduled in pg_cron[/{colour}]"


@db.command("bundle")
def db_bundle() -> None:
    """Write function files changed since the last bundle into a new migration (for `supabase db push`)."""
    target = migrations.bundle()
    if target is None:
        click.echo("no function file changed since the last bundle")
    else:
        click.echo(f"wrote {target.relative_to(REPO_ROOT)} (commit it with sql/bundle.lock.json)")


@db.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def db_test(paths: tuple[Path, ...]) -> None:
    """Run the pgTAP suite (supabase/tests) with pg_prove, as `supabase test db` does."""
    from urllib.parse import urlsplit

    url = _ensure_database()
    parts = urlsplit(url)
    env = dict(os.environ, PGPASSWORD=parts.password or "")
    with connect(url) as conn:  # as `supabase test db` does
        conn.execute("create extension if not exists pgtap with schema extensions")
    cmd = [
        "pg_prove",
        "--ext",
        ".sql",
        "-r",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-d",
        parts.path.lstrip("/") or "postgres",
        *[str(p) for p in (paths or (PGTAP_DIR,))],
    ]
    sys.exit(subprocess.run(cmd, env=env).returncode)


# ----- opsdata jobs -------------------------------------------------------------------
@main.group()
def jobs() -> None:
    """Scheduled jobs (pg_cron): list them or run one now."""


@jobs.command("list")
def jobs_list() -> None:
    """The registered jobs, their schedules and last runs."""
    from rich.table import Table

    with connect(_ensure_database()) as conn:
        rows = conn.execute(
            """
            select j.name, j.schedule, j.description, r.status, r.started_at
            from private.jobs j
            left join lateral (
              select status, started_at from private.job_runs r
              where r.job_name = j.name order by started_at desc limit 1
            ) r on true
            order by j.name
            """
        ).fetchall()
    table = Table(title="jobs")
    for column in ("name", "schedule", "last run", "description"):
        table.add_column(column)
    for name, schedule, description, status, started_at in rows:
        last = f"{status} {started_at:%Y-%m-%d %H:%M}" if started_at else "never"
        table.add_row(name, schedule, last, description)
    _console().print(table)


@jobs.command("run")
@click.argument("name")
@click.option("--shop", "shop_domain", help="Run a per-shop job for this shop only (default: every shop).")
def jobs_run(name: str, shop_domain: str | None) -> None:
    """Run one job now, as pg_cron would."""
    import psycopg

    from opsdata.core.shops import UnknownShopError, shop_id_for_domain

    with connect(_ensure_database()) as conn:
        try:
            shop_id = shop_id_for_domain(conn, shop_domain) if shop_domain else None
            per_shop = conn.execute("select per_shop from private.jobs where name = %s", (name,)).fetchone()
            if shop_id is None and per_shop and per_shop[0]:
                # every shop, each in its own transaction, as pg_cron runs it (the CALL must be top-level)
                conn.rollback()
                conn.autocommit = True
                run_id = conn.execute("call private.run_job_by_shop(%s, null)", (name,)).fetchone()[0]
            else:
                run_id = conn.execute("select private.run_job(%s, %s)", (name, shop_id)).fetchone()[0]
        except (UnknownShopError, psycopg.Error) as exc:
            _fail(str(exc).strip())
        status, result, error = conn.execute(
            "select status, result, error from private.job_runs where id = %s", (run_id,)
        ).fetchone()
    if status != "succeeded":
        _fail(f"job {name} failed: {error}")
    click.echo(f"job {name} succeeded: {result}")


# ----- opsdata etl --------------------------------------------------------------------
from opsdata.etl.chatwoot.commands import etl  # noqa: E402 - the group registers itself below

main.add_command(etl)

# ----- data reliability (opsdata backup, opsdata alerts) -----------------------------------
from opsdata.reliability.commands import alerts as _alerts_group  # noqa: E402
from opsdata.reliability.commands import backup as _backup_group  # noqa: E402
from opsdata.reliability.commands import quality as _quality_group  # noqa: E402

main.add_command(_backup_group)
main.add_command(_alerts_group)
main.add_command(_quality_group)

# ----- opsdata load, demo-data, demo (loaders and demo data) ----------------------------
from opsdata.demo.commands import demo, demo_data  # noqa: E402 - commands register after main exists
from opsdata.etl.commands import load  # noqa: E402

main.add_command(load)
main.add_command(demo_data)
main.add_command(demo)


# ----- opsdata token / serve (the read API) --------------------------------------------
from opsdata.api.commands import serve, token  # noqa: E402

main.add_command(token)
main.add_command(serve)

# ----- opsdata baselines (functions/opsdata/analytics/commands.py) ----------------------
from opsdata.analytics.commands import baselines  # noqa: E402 - registered after main exists

main.add_command(baselines)


if __name__ == "__main__":  # pragma: no cover
    main()
