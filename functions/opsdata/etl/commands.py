"""`opsdata load`: a CSV or JSONL file into a landing table."""

from __future__ import annotations

from pathlib import Path

import click

from opsdata.etl import landing


@click.command("load")
@click.argument("table", type=click.Choice(landing.TABLES))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--shop", "shop", metavar="DOMAIN", help="The shop's domain (needed when several shops exist).")
@click.option("--skip-bad-rows", is_flag=True, help="Load the good rows; write the bad ones to a rejects file.")
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where --skip-bad-rows writes rejected lines (JSONL; default FILE.rejects.jsonl).",
)
def load(table: str, file: Path, shop: str | None, skip_bad_rows: bool, rejects: Path | None) -> None:
    """Load FILE (CSV or JSONL, optionally gzipped) into TABLE, upserting on its natural key.

    A file with any bad line is rejected whole, listing every bad line; nothing is written.
    Each load is recorded in sync_runs.
    """
    from opsdata.cli import _ensure_database, _fail
    from opsdata.core.db import connect

    if rejects is not None and not skip_bad_rows:
        raise click.UsageError("--rejects only makes sense with --skip-bad-rows")
    with connect(_ensure_database()) as conn:
        try:
            report = landing.load_file(
                conn, table, file, shop_domain=shop, skip_bad_rows=skip_bad_rows, rejects_path=rejects
            )
        except landing.LoadError as exc:
            for problem in exc.problems:
                click.echo(problem.describe(str(file)), err=True)
            run = f" (sync run {exc.sync_run_id} recorded as failed)" if exc.sync_run_id else ""
            _fail(f"{exc}{run}")
    click.echo(
        f"loaded {report.rows_read - report.rejected} row(s) into {table} for {report.shop_domain}: "
        f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged "
        f"(sync run {report.sync_run_id})"
    )
    if report.rejects_file:
        click.echo(f"skipped {report.rejected} bad line(s): see {report.rejects_file}")
