"""`opsdata etl chatwoot`: thin CLI over run_chatwoot_etl, with a rich progress display on a terminal.

Exit codes: 0 the run completed (quarantined records included), 1 unreadable or wrong-format
input, 2 usage errors (click), 3 the privacy audit failed, 4 any other failure (database, images).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from opsdata.core.settings import get_settings

EXIT_INPUT = 1
EXIT_PRIVACY = 3
EXIT_FAILED = 4


class RichProgress:
    """Conversations, messages, images, rate and ETA (by input bytes) on a live terminal line."""

    def __init__(self, total_bytes: int | None) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]chatwoot[/bold]"),
            BarColumn(),
            TextColumn("{task.fields[conversations]:,} conversations · {task.fields[messages]:,} messages"),
            TextColumn("· {task.fields[images]:,} images · {task.fields[rate]:,.0f}/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
        self._task = self._progress.add_task("etl", total=total_bytes, conversations=0, messages=0, images=0, rate=0.0)
        self._started = time.perf_counter()
        self._last = 0.0

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, *, conversations: int, messages: int, images: int, bytes_read: int) -> None:
        now = time.perf_counter()
        if now - self._last < 0.1:
            return
        self._last = now
        rate = conversations / max(now - self._started, 1e-6)
        fields: dict[str, Any] = {"conversations": conversations, "messages": messages, "images": images, "rate": rate}
        if bytes_read:
            fields["completed"] = bytes_read
        self._progress.update(self._task, **fields)


def show_progress() -> bool:
    settings = get_settings()
    return sys.stderr.isatty() and not settings.ci and not settings.lambda_function_name


def summary_table(summary: Any) -> Any:
    """The run summary the CLI (and `opsdata demo`) prints: counts, nodes, images, redactions by type."""
    from rich.table import Table

    table = Table(title="Chatwoot ETL", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right", overflow="fold")  # a long output path wraps, never cut
    counts = summary.counts
    rows = [
        ("conversations loaded", counts.get("conversations", 0)),
        ("conversations changed in the database", counts.get("conversations_changed", 0)),
        ("messages read / kept", f"{counts.get('messages_read', 0):,} / {counts.get('messages_kept', 0):,}"),
        ("quarantined records", counts.get("quarantined", 0)),
        ("documents / turns / images", "{Document} / {TextNode} / {ImageNode}".format(**summary.nodes)),
    ]
    rows += [(f"images {status}", n) for status, n in sorted(summary.images.items())]
    rows += [(f"redacted {kind}", n) for kind, n in sorted(summary.redactions.items()) if n]
    rows.append(("output", f"{summary.output} ({'replaced' if summary.changed_output else 'unchanged'})"))
    rows.append(("seconds", f"{summary.timings.get('total_s', 0):.1f}"))
    for what, value in rows:
        table.add_row(what, f"{value:,}" if isinstance(value, int) else str(value))
    return table


@click.group("etl")
def etl() -> None:
    """Pipelines that turn source exports into data opsdata serves."""


@etl.command("chatwoot")
@click.argument("input_spec", metavar="INPUT")
@click.option("--shop", required=True, help="Shop domain, e.g. demo.myshopify.com (created if unknown).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output directory.")
@click.option("--images", type=click.Choice(["download", "skip"]), default="download", show_default=True)
@click.option("--store", help="Where images are stored: a directory or s3://bucket/prefix (default: OUT).")
@click.option("--allow-host", "allow_hosts", multiple=True, help="Host allowed even on a private address (repeat).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--include-private-notes", is_flag=True, help="Keep agents' private notes (redacted) in the corpus.")
@click.option(
    "--retry-permanent",
    is_flag=True,
    help="Also fetch again attachments an earlier run rejected or that failed for good (404), e.g. after --allow-host.",
)
@click.option("--no-db", is_flag=True, help="Write the output directory only, not the database.")
def chatwoot(
    input_spec: str,
    shop: str,
    out: Path,
    images: str,
    store: str | None,
    allow_hosts: tuple[str, ...],
    concurrency: int,
    include_private_notes: bool,
    retry_permanent: bool,
    no_db: bool,
) -> None:
    """Turn a Chatwoot export (INPUT: file, .gz, JSON Lines, page directory or s3://...) into a PII-free corpus."""
    from pydantic import ValidationError
    from rich.console import Console

    from opsdata.etl.chatwoot.audit import PrivacyAuditError
    from opsdata.etl.chatwoot.pipeline import EtlOptions, ImagesUnavailableError, run_chatwoot_etl
    from opsdata.etl.chatwoot.reader import InputError, is_s3

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        options = EtlOptions(
            input=input_spec,
            shop=shop,
            out=out,
            images=images,  # type: ignore[arg-type]
            store=store,
            allow_hosts=list(allow_hosts),
            concurrency=concurrency,
            include_private_notes=include_private_notes,
            retry_permanent=retry_permanent,
            database=not no_db,
        )
    except ValidationError as exc:
        raise click.UsageError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from exc
    database_url = None
    if options.database:
        from opsdata.cli import _ensure_database

        database_url = _ensure_database()
    try:
        if show_progress():
            size = None if is_s3(input_spec) or Path(input_spec).is_dir() else Path(input_spec).stat().st_size
            with RichProgress(size) as progress:
                summary = run_chatwoot_etl(options, database_url=database_url, progress=progress)
        else:
            summary = run_chatwoot_etl(options, database_url=database_url)
    except InputError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(EXIT_INPUT)
    except PrivacyAuditError as exc:
        console.print(f"[red]error:[/red] {exc}\nNothing was replaced in {out}.")
        sys.exit(EXIT_PRIVACY)
    except (ImagesUnavailableError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(EXIT_FAILED)
    Console(highlight=False, soft_wrap=True).print(summary_table(summary))
