"""`run_chatwoot_etl`: export in, PII-free LlamaIndex corpus out (files and Postgres).

Flow per batch of conversations: validate (quarantine what is malformed) -> redact and cut into
turns -> resolve images (already stored, downloaded, or skipped) -> build node dicts -> audit
the conversation's nodes for its own known PII -> append to the staging output -> upsert the
batch in one transaction. At the end: audit everything written, then swap the output in, unless
it is byte-for-byte what is already there (a re-run of the same export changes nothing).
"""

from __future__ import annotations

import gc
import platform
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from opsdata.etl.chatwoot.audit import Auditor, PrivacyAuditError
from opsdata.etl.chatwoot.corpus import BuiltConversation, ImagePlan, StoredImage, build_nodes, plan_conversation
from opsdata.etl.chatwoot.model import DROPPED_CONTENT_TYPES, Validator
from opsdata.etl.chatwoot.output import OutputWriter, corpus_digest
from opsdata.etl.chatwoot.reader import ExportReader, InputError
from opsdata.etl.chatwoot.redaction import PII_TYPES

PIPELINE_VERSION = "1"
LLAMA_INDEX_LAYOUT = "llama-index-core 0.14 (SimpleDocumentStore)"
_SHOP_DOMAIN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"

ImageFetcher = Callable[[Sequence[ImagePlan], Path], Mapping[str, StoredImage]]


class ImagesUnavailableError(RuntimeError):
    """--images download was asked for but this build has no attachment downloader."""


class EtlOptions(BaseModel):
    input: str
    shop: str = Field(pattern=_SHOP_DOMAIN)
    out: Path
    images: Literal["download", "skip"] = "download"
    store: str | None = None
    allow_hosts: list[str] = Field(default_factory=list)
    concurrency: int = Field(default=8, ge=1, le=64)
    include_private_notes: bool = False
    retry_permanent: bool = False  # also fetch again attachments rejected or failed for good earlier
    database: bool = True
    batch_size: int = Field(default=500, ge=1, le=10_000)

    @field_validator("shop")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    def policy(self) -> dict[str, Any]:
        return {
            "pii_types_redacted": list(PII_TYPES),
            "placeholders": "typed, numbered per conversation ([CUSTOMER], [AGENT], [EMAIL_1], [PHONE_1], ...)",
            "dropped": [
                "activity messages",
                "template messages",
                "deleted messages",
                "private notes" if not self.include_private_notes else "(private notes included)",
                "bot menus and forms: " + ", ".join(sorted(DROPPED_CONTENT_TYPES)),
                "email quoted history and signatures",
                "attachment URLs (signed, never expiring)",
            ],
            "images": self.images,
            "include_private_notes": self.include_private_notes,
        }


class EtlSummary(BaseModel):
    status: Literal["succeeded", "failed"]
    output: str
    changed_output: bool
    etl_run_id: int | None = None
    counts: dict[str, int]
    nodes: dict[str, int]
    images: dict[str, int]
    redactions: dict[str, int]
    timings: dict[str, float]
    error: str | None = None
    rows_loaded: int = 0  # rag_documents rows written
    max_data_at: int | None = None  # newest message time (epoch seconds)


class Progress(Protocol):
    def update(self, *, conversations: int, messages: int, images: int, bytes_read: int) -> None: ...


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def default_image_fetcher(options: EtlOptions) -> ImageFetcher:
    """The attachment downloader (opsdata.etl.chatwoot.attachments), imported only when needed."""
    try:
        from opsdata.etl.chatwoot.attachments import AttachmentRequest, fetch_attachments  # type: ignore
        from opsdata.etl.chatwoot.storage import open_store  # type: ignore
    except ImportError as exc:
        raise ImagesUnavailableError(
            "image download is not available in this build (no attachment downloader); use --images skip"
        ) from exc

    def fetch(plans: Sequence[ImagePlan], staging: Path) -> Mapping[str, StoredImage]:
        store = open_store(options.store or str(staging))
        requests = [
            AttachmentRequest(
                key=plan.key,
                url=plan.url,
                declared_type=f"image/{plan.extension}" if plan.extension else "image",
                declared_size=plan.declared_size,
            )
            for plan in plans
            if plan.url
        ]
        outcomes = {
            o.key: StoredImage(
                o.status,
                o.sha256,
                o.content_type,
                o.width,
                o.height,
                o.size,
                o.stored_path,
                o.reason,
                o.attempts,
                o.retryable,
            )
            for o in fetch_attachments(
                requests, store=store, allow_hosts=options.allow_hosts, concurrency=options.concurrency
            )
        }
        for plan in plans:
            if not plan.url:
                outcomes[plan.key] = StoredImage("rejected", reason="attachment has no data_url")
        return outcomes

    return fetch


class _Run:
    def __init__(self, options: EtlOptions, fetcher: ImageFetcher | None, progress: Progress | None) -> None:
        self.options = options
        self.fetcher = fetcher
        self.progress = progress
        self.counts: Counter[str] = Counter()
        self.images: Counter[str] = Counter()
        self.redactions: Counter[str] = Counter({kind: 0 for kind in PII_TYPES})
        self.timings: Counter[str] = Counter()
        self.auditor = Auditor()
        self.validator = Validator(include_private_notes=options.include_private_notes)
        self.agent_names: dict[str, None] = {}
        self.max_data_at: int | None = None
        self.rows_loaded = 0

    def materialize(self, stored: StoredImage, staging: Path) -> bool:
        """Put an already stored image into the staging output; False when its file is gone."""
        assert stored.stored_path is not None
        target = staging / stored.stored_path
        if target.exists():
            return True
        for root in (Path(self.options.store) if self.options.store else None, self.options.out):
            if root is None or str(root).startswith("s3://"):
                continue
            source = root / stored.stored_path
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    target.hardlink_to(source)
                except OSError:
                    shutil.copy2(source, target)
                return True
        return bool(self.options.store and self.options.store.startswith("s3://"))


def run_chatwoot_etl(
    options: EtlOptions,
    *,
    database_url: str | None = None,
    progress: Progress | None = None,
    fetcher: ImageFetcher | None = None,
) -> EtlSummary:
    """Run the ETL once. Raises InputError (unreadable input), PrivacyAuditError, ImagesUnavailableError."""
    started = time.perf_counter()
    if options.images == "download" and fetcher is None:
        fetcher = default_image_fetcher(options)
    run = _Run(options, fetcher, progress)
    writer = OutputWriter(options.out)
    conn = handle = None
    try:
        if options.database:
            from opsdata.core.db import connect
            from opsdata.etl.chatwoot import database

            conn = connect(database_url)
            handle = database.start_run(conn, options.shop, options.model_dump(mode="json"))
        reader = ExportReader(options.input)
        summary = _execute(run, reader, writer, conn, handle)
        summary.timings["total_s"] = round(time.perf_counter() - started, 3)
        summary.rows_loaded, summary.max_data_at = run.rows_loaded, run.max_data_at
        if conn is not None and handle is not None:
            from opsdata.etl.chatwoot import database

            database.finish_run(
                conn,
                handle,
                status="succeeded",
                error=None,
                input_checksum=reader.checksum,
                input_kind=reader.kind,
                counts={**summary.counts, **{f"nodes_{k}": v for k, v in summary.nodes.items()}},
                redactions=summary.redactions,
                rows_loaded=run.rows_loaded,
                rows_rejected=summary.counts.get("quarantined", 0),
                max_data_at=run.max_data_at,
            )
            summary.etl_run_id = handle.etl_run_id
        return summary
    except BaseException as exc:
        writer.discard()
        if conn is not None and handle is not None and not conn.closed:
            from opsdata.etl.chatwoot import database

            message = str(exc) if isinstance(exc, InputError | PrivacyAuditError) else type(exc).__name__
            database.finish_run(
                conn,
                handle,
                status="failed",
                error=message[:2000] or type(exc).__name__,
                input_checksum=None,
                input_kind=None,
                counts=dict(run.counts),
                redactions=dict(run.redactions),
                rows_loaded=run.rows_loaded,
                rows_rejected=run.counts.get("quarantined", 0),
                max_data_at=run.max_data_at,
            )
        raise
    finally:
        run.auditor.close()
        if conn is not None:
            conn.close()


def run_chatwoot_slice(
    options: EtlOptions,
    reader: ExportReader,
    *,
    conn: Any,
    handle: Any,
    fetcher: ImageFetcher,
    agent_names: Sequence[str] = (),
    seen: Iterable[tuple[int, int]] = (),
) -> EtlSummary:
    """One slice of a larger export, inside that export's run (the AWS slice worker).

    The caller owns the run rows (`handle`, from opsdata.etl.chatwoot.export_runs) and the connection.
    What a whole-export run learns before a slice starts is passed in: every agent name of the
    export (redacted wherever they appear) and the conversation keys seen in earlier slices
    (later records with those keys are quarantined as duplicates). Raises like run_chatwoot_etl.
    """
    started = time.perf_counter()
    run = _Run(options, fetcher, None)
    run.agent_names.update(dict.fromkeys(agent_names))
    run.validator.seen.update(seen)
    writer = OutputWriter(options.out)
    try:
        summary = _execute(run, reader, writer, conn, handle)
    except BaseException:
        writer.discard()
        raise
    summary.timings["total_s"] = round(time.perf_counter() - started, 3)
    summary.rows_loaded, summary.max_data_at = run.rows_loaded, run.max_data_at
    return summary


@contextmanager
def _rare_gc_passes() -> Iterator[None]:
    """Raise the cyclic garbage collector's first threshold for the run. The ETL makes no
    reference cycles (its records, plans and node dicts are freed by reference counting), but at
    the default threshold (700 allocations) the collector ran ~800 times per 5,000 conversations
    and every few passes walked all long-lived objects (phonenumbers' metadata among them): about
    7 % of the run's CPU time. Cycles are still collected, just less often."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], 50_000), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _execute(run: _Run, reader: ExportReader, writer: OutputWriter, conn: Any, handle: Any) -> EtlSummary:
    with _rare_gc_passes():
        return _execute_run(run, reader, writer, conn, handle)


def _execute_run(run: _Run, reader: ExportReader, writer: OutputWriter, conn: Any, handle: Any) -> EtlSummary:
    options = run.options
    validator = run.validator
    batch: list[Any] = []
    messages_total = 0

    def flush() -> None:
        if batch:
            _process_batch(run, batch, writer, conn, handle)
            batch.clear()

    transform_started = time.perf_counter()
    for record in reader:
        run.counts["records"] += 1
        conversation, problems = validator.validate(record.ref, record.data)
        for problem in problems:
            writer.quarantine(problem.to_json())
            run.counts["quarantined"] += 1
        if conversation is None:
            continue
        messages_total += conversation.n_source_messages
        run.counts["messages_read"] += conversation.n_source_messages
        run.counts["messages_kept"] += len(conversation.messages)
        if conversation.last_message_at is not None:
            run.max_data_at = max(run.max_data_at or 0, conversation.last_message_at)
        plan = plan_conversation(conversation, tuple(run.agent_names))
        for name in conversation.agent_names:
            run.agent_names.setdefault(name, None)
        batch.append(plan)
        if len(batch) >= options.batch_size:
            flush()
        if run.progress is not None:
            run.progress.update(
                conversations=run.counts["conversations"] + len(batch),
                messages=messages_total,
                images=sum(run.images.values()),
                bytes_read=0,
            )
    flush()
    run.timings["transform_s"] = time.perf_counter() - transform_started - run.timings["images_s"] - run.timings["db_s"]

    audit_started = time.perf_counter()
    manifest = _manifest(run, reader, writer)
    writer.finish(manifest)
    run.auditor.check_output(writer.staging)
    if conn is not None and handle is not None:
        from opsdata.etl.chatwoot.database import iter_rows_for_audit

        for where, value in iter_rows_for_audit(conn, handle):
            run.auditor.check_value(where, value)
    run.auditor.raise_if_found()
    run.timings["audit_s"] = time.perf_counter() - audit_started

    previous = options.out / "manifest.json"
    digest = manifest["corpus_digest"] = corpus_digest(writer.staging)
    unchanged = False
    if previous.exists():
        import json

        try:
            unchanged = json.loads(previous.read_text()).get("corpus_digest") == digest
        except ValueError:
            unchanged = False
    if unchanged:
        writer.discard()
    else:
        import json

        (writer.staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        writer.commit()
    return EtlSummary(
        status="succeeded",
        output=str(options.out),
        changed_output=not unchanged,
        counts=dict(run.counts),
        nodes=dict(writer.n_nodes),
        images=dict(run.images),
        redactions=dict(run.redactions),
        timings={k: round(v, 3) for k, v in run.timings.items()},
    )


def _process_batch(run: _Run, plans: list[Any], writer: OutputWriter, conn: Any, handle: Any) -> None:
    options = run.options
    wanted = [image for plan in plans for image in plan.images]
    resolved: dict[str, StoredImage] = {}
    images_started = time.perf_counter()
    if wanted and conn is not None:
        from opsdata.etl.chatwoot.database import settled_images

        keys = [i.key for i in wanted]
        for key, stored in settled_images(conn, handle.shop_id, keys, retry_permanent=options.retry_permanent).items():
            if stored.status != "ok" or run.materialize(stored, writer.staging):
                resolved[key] = stored
    missing = [image for image in wanted if image.key not in resolved]
    if missing and options.images == "download" and run.fetcher is not None:
        fetched = run.fetcher(missing, writer.staging)
        for key, outcome in fetched.items():
            if outcome.status == "ok" and outcome.stored_path and not run.materialize(outcome, writer.staging):
                outcome = StoredImage(
                    "failed", reason="stored file not found after download", attempts=outcome.attempts, retryable=True
                )
            resolved[key] = outcome
    for image in wanted:
        outcome = resolved.setdefault(
            image.key,
            StoredImage("skipped", reason="images were not downloaded (--images skip)")
            if options.images == "skip"
            else StoredImage("failed", reason="no outcome from the downloader", retryable=True),
        )
        run.images[outcome.status] += 1
    run.timings["images_s"] += time.perf_counter() - images_started

    built_batch: list[BuiltConversation] = []
    for plan in plans:
        built = build_nodes(plan, resolved)
        where = f"conversation {plan.conversation.display_id}"
        run.auditor.check_conversation(plan.redactor, where, built.nodes)
        run.auditor.raise_if_found()
        run.auditor.remember(plan.identity)
        run.redactions.update(plan.redaction_counts)
        writer.add(built)
        built_batch.append(built)
        run.counts["conversations"] += 1
        if not built.nodes:
            run.counts["conversations_without_content"] += 1
    if conn is not None:
        from opsdata.etl.chatwoot.database import load_batch

        db_started = time.perf_counter()
        result = load_batch(conn, handle, built_batch, resolved)
        run.counts["conversations_changed"] += result.changed_conversations
        run.rows_loaded += result.documents_written
        run.timings["db_s"] += time.perf_counter() - db_started


def _manifest(run: _Run, reader: ExportReader, writer: OutputWriter) -> dict[str, Any]:
    options = run.options
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pipeline": {"name": "opsdata chatwoot etl", "version": PIPELINE_VERSION},
        "versions": {
            "opsdata": _version("opsdata"),
            "python": platform.python_version(),
            "ijson": _version("ijson"),
            "phonenumbers": _version("phonenumberslite"),
            "layout": LLAMA_INDEX_LAYOUT,
        },
        "input": {
            "checksum_sha256": reader.checksum,
            "kind": reader.kind,
            "gzip": reader.compressed,
            "bytes": reader.size,
        },
        "shop": options.shop,
        "counts": dict(run.counts),
        "nodes": dict(writer.n_nodes),
        "images": dict(run.images),
        "redactions": dict(run.redactions),
        "timings_s": {k: round(v, 3) for k, v in run.timings.items()},
        "policy": options.policy(),
        "image_paths": "relative to this directory (images/<sha256>.<ext>); with an S3 store, relative to the store",
    }
