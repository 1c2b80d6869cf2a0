"""The Chatwoot ETL on AWS: an uploaded export becomes slices, slices become rows and corpus parts,
the parts become one corpus.

    S3 upload exports/chatwoot/<shop>/<file>
      -> split_upload (S3 event): register the export once (etl_runs + sync_runs), stream it into
         slice objects under the work store, queue one message per slice
      -> process_slice (SQS worker): the ETL pipeline over the slice (run_chatwoot_slice) with
         QueuedImages as its image fetcher: stored images come from the attachment worker's
         outcomes, the others are queued to it; rows are upserted; the slice's nodes.jsonl and
         quarantine.jsonl go to the work store. A slice with images still downloading looks
         again later (a delayed message, `pass` + 1) and, once their outcomes are in, runs the
         pipeline again: rag_attachments get the outcomes and the ImageNodes appear.
      -> assemble_export (SQS worker, when the last slice has finished): one docstore.json,
         nodes.jsonl, quarantine.jsonl and manifest.json from the slices' parts, audited, with
         the images copied beside them, under the corpus store; the run rows are finished.

Every step is safe to repeat: slice objects and corpus files are rewritten identically, rows are
content-hash upserts, run rows are finished once (export_runs), and the SQS handler puts each
message behind Powertools idempotency keyed on the work's identity.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import IO, Any

import psycopg

from opsdata.core.settings import Settings
from opsdata.etl.chatwoot import export_runs
from opsdata.etl.chatwoot.attachments import outcome_path
from opsdata.etl.chatwoot.audit import Auditor, PrivacyAuditError
from opsdata.etl.chatwoot.corpus import ImagePlan, StoredImage
from opsdata.etl.chatwoot.exports import (
    AssembleMessage,
    ExportObject,
    S3Prefix,
    SliceMessage,
    SliceReader,
    context_path,
    shop_from_key,
    slice_output_path,
    slice_path,
    split_export,
)
from opsdata.etl.chatwoot.output import OutputWriter, corpus_digest
from opsdata.etl.chatwoot.pipeline import LLAMA_INDEX_LAYOUT, PIPELINE_VERSION, EtlOptions, run_chatwoot_slice
from opsdata.etl.chatwoot.reader import ExportReader, InputError

SQS_BATCH = 10
GONE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "PreconditionFailed", "412", "404"})
CONTENT_TYPES = {"docstore.json": "application/json", "manifest.json": "application/json"}
CONTENT_TYPES |= {"nodes.jsonl": "application/x-ndjson", "quarantine.jsonl": "application/x-ndjson"}
SLICE_OUTPUTS = ("nodes.jsonl", "quarantine.jsonl", "manifest.json")
CORPUS_FILES = ("docstore.json", "nodes.jsonl", "quarantine.jsonl", "manifest.json")  # manifest last


class NotConfiguredError(RuntimeError):
    """A setting the pipeline needs on AWS is missing."""


class SlicesUnfinishedError(RuntimeError):
    """The assemble step ran before every slice had finished: retried later."""


@dataclass
class AwsEnv:
    """What the handlers give the pipeline: settings, AWS clients and the database connection."""

    settings: Settings
    s3: Any
    sqs: Any
    connection: Callable[[], psycopg.Connection]

    def _store(self, spec: str | None, variable: str) -> S3Prefix:
        if not spec:
            raise NotConfiguredError(f"{variable} must be set (s3://bucket/prefix)")
        return S3Prefix.parse(spec, self.s3)

    @cached_property
    def work(self) -> S3Prefix:
        return self._store(self.settings.chatwoot_work_store, "OPSDATA_CHATWOOT_WORK_STORE")

    @cached_property
    def corpus(self) -> S3Prefix:
        return self._store(self.settings.chatwoot_corpus_store, "OPSDATA_CHATWOOT_CORPUS_STORE")

    @cached_property
    def attachments(self) -> S3Prefix:
        return self._store(self.settings.attachment_store, "OPSDATA_ATTACHMENT_STORE")

    def queue(self, url: str | None, variable: str) -> str:
        if not url:
            raise NotConfiguredError(f"{variable} must be set (an SQS queue URL)")
        return url

    def send(self, queue_url: str, bodies: Sequence[str], *, delay_seconds: int = 0) -> None:
        """Send in batches of 10; a message SQS refuses raises (the caller's work is retried)."""
        for first in range(0, len(bodies), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": body, "DelaySeconds": delay_seconds}
                for i, body in enumerate(bodies[first : first + SQS_BATCH])
            ]
            failed = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if failed:
                codes = sorted({f.get("Code", "unknown") for f in failed})
                raise RuntimeError(f"SQS refused {len(failed)} message(s): {', '.join(codes)}")

    def send_work(self, messages: Sequence[SliceMessage | AssembleMessage], *, delay_seconds: int = 0) -> None:
        queue = self.queue(self.settings.chatwoot_slices_queue_url, "OPSDATA_CHATWOOT_SLICES_QUEUE_URL")
        self.send(queue, [m.model_dump_json(by_alias=True) for m in messages], delay_seconds=delay_seconds)


@contextmanager
def _s3_body(client: Any, bucket: str, key: str, **extra: str) -> Iterator[IO[bytes]]:
    body = client.get_object(Bucket=bucket, Key=key, **extra)["Body"]
    try:
        yield body
    finally:
        body.close()


def _client_error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


# ----- 1. the upload trigger -------------------------------------------------------------
def split_upload(export: ExportObject, env: AwsEnv) -> dict[str, Any]:
    """Register the export (once), split it into slices and queue them. InputError-class problems
    (not JSON, not Chatwoot, truncated, the object gone) finish the export as failed, naming why."""
    shop = shop_from_key(export.key)
    conn = env.connection()
    row = export_runs.register_export(conn, export, shop)
    if row.status == "splitting":
        version = {"VersionId": export.version_id} if export.version_id else {"IfMatch": export.etag}
        reader = ExportReader(export.uri, opener=lambda: _s3_body(env.s3, export.bucket, export.key, **version))
        try:
            split = split_export(
                reader,
                env.work,
                row.export_id,
                max_records=env.settings.chatwoot_slice_conversations,
                max_bytes=env.settings.chatwoot_slice_bytes,
            )
        except InputError as exc:
            export_runs.finish_export(conn, row, error=str(exc)[:2000])
            return {"export_id": row.export_id, "status": "failed", "error": str(exc)[:2000]}
        except Exception as exc:
            if _client_error_code(exc) not in GONE_CODES:
                raise
            error = f"{export.uri}: the uploaded object version is gone ({_client_error_code(exc)})"
            export_runs.finish_export(conn, row, error=error)
            return {"export_id": row.export_id, "status": "failed", "error": error}
        export_runs.start_processing(conn, row, split)
        row = export_runs.get_export(conn, row.export_id) or row
    queued = 0
    if row.status == "processing":
        # Slices not started yet: all of them the first time, the rest when a failed attempt is retried.
        waiting = export_runs.slices(conn, row, status="queued")
        env.send_work([SliceMessage(export=export, start=s.start, end=s.end) for s in waiting if s.pass_ == 0])
        queued = len(waiting)
    return {
        "export_id": row.export_id,
        "shop": row.shop,
        "status": row.status,
        "slices": row.n_slices,
        "queued": queued,
    }


# ----- 2. the slice worker ---------------------------------------------------------------
def attachment_queue_key(shop_id: object, key: str) -> str:
    """Attachment keys are per Chatwoot account; the shop makes them unique across tenants."""
    return f"{shop_id}/{key}"


class QueuedImages:
    """The ETL's image fetcher on AWS: downloads happen in the attachment worker, not here.

    For each image the database does not already hold as stored: the attachment worker's
    outcome when it has recorded one; otherwise (on the slice's first pass) a message on the
    attachments queue, and the image is `skipped` with reason `pending: …` until a later pass
    finds its outcome. Failed outcomes are used as they are and queued again (the next export
    gets the retry's result). URLs go only into the (encrypted) queue, never anywhere else.
    """

    def __init__(self, env: AwsEnv, shop_id: object, *, queue: bool, final: bool) -> None:
        self.env = env
        self.shop_id = shop_id
        self.queue = queue
        self.final = final
        self.pending: list[str] = []
        self.queued = 0

    def outcome_path(self, key: str) -> str:
        return outcome_path(attachment_queue_key(self.shop_id, key))

    def outcome(self, key: str) -> StoredImage | None:
        path = self.outcome_path(key)
        if not self.env.attachments.exists(path):
            return None
        data = json.loads(self.env.attachments.get_bytes(path))
        return StoredImage(
            data["status"],
            data.get("sha256"),
            data.get("content_type"),
            data.get("width"),
            data.get("height"),
            data.get("size"),
            data.get("stored_path"),
            data.get("reason"),
            int(data.get("attempts") or 0),
        )

    def __call__(self, plans: Sequence[ImagePlan], staging: Path) -> Mapping[str, StoredImage]:
        outcomes: dict[str, StoredImage] = {}
        messages: list[str] = []
        for plan in plans:
            if not plan.url:
                outcomes[plan.key] = StoredImage("rejected", reason="attachment has no data_url")
                continue
            recorded = self.outcome(plan.key)
            if (recorded is None or recorded.status == "failed") and self.queue:
                messages.append(
                    json.dumps(
                        {
                            "key": attachment_queue_key(self.shop_id, plan.key),
                            "url": plan.url,
                            "declared_type": f"image/{plan.extension}" if plan.extension else "image",
                            "declared_size": plan.declared_size,
                        }
                    )
                )
            if recorded is not None:
                outcomes[plan.key] = recorded
            elif self.final:
                outcomes[plan.key] = StoredImage("skipped", reason="pending: no outcome from the attachment worker yet")
            else:
                outcomes[plan.key] = StoredImage("skipped", reason="pending: queued for the attachment worker")
                self.pending.append(plan.key)
        if messages:
            queue = self.env.queue(self.env.settings.attachments_queue_url, "OPSDATA_ATTACHMENTS_QUEUE_URL")
            self.env.send(queue, messages)
            self.queued += len(messages)
        return outcomes


def _slice_counts(summary: Any) -> dict[str, int]:
    counts = {k: v for k, v in summary.counts.items() if isinstance(v, int)}
    counts.update({f"nodes_{k}": v for k, v in summary.nodes.items()})
    counts.update({f"images_{k}": v for k, v in summary.images.items()})
    return counts


def process_slice(message: SliceMessage, env: AwsEnv) -> dict[str, Any]:
    """One pass over one slice. Returns a summary without PII (it is kept by the idempotency layer)."""
    conn = env.connection()
    export = export_runs.get_export(conn, message.export.export_id)
    if export is None:
        raise RuntimeError(f"export {message.export.export_id} is not registered")
    piece = export_runs.get_slice(conn, export, message.start)
    if piece is None or piece.end != message.end:
        raise RuntimeError(f"export {export.export_id} has no slice {message.start}-{message.end}")
    described = {"export_id": export.export_id, "start": message.start, "end": message.end, "pass": message.pass_}
    if export.status != "processing" or piece.status in export_runs.FINISHED:
        _assemble_if_complete(conn, export, message.export, env)  # a crash may have happened before it
        return {**described, "status": piece.status, "note": "already finished"}
    if piece.pass_ > message.pass_:
        return {**described, "status": piece.status, "note": "a later pass of this slice exists"}

    final = message.pass_ >= env.settings.chatwoot_image_wait_passes
    if message.pass_ > 0 and not final:
        lookup = QueuedImages(env, export.shop_id, queue=False, final=False)
        waiting = [key for key in message.pending if not env.attachments.exists(lookup.outcome_path(key))]
        if waiting:
            _wait_for_images(message, waiting, export, conn, env)
            return {**described, "status": "waiting_images", "pending": len(waiting)}

    fetcher = QueuedImages(env, export.shop_id, queue=message.pass_ == 0, final=final)
    context = json.loads(env.work.get_bytes(context_path(export.export_id)))
    workdir = Path(tempfile.mkdtemp(prefix="opsdata-slice-"))
    try:
        options = EtlOptions(
            input=env.work.uri(slice_path(export.export_id, message.start, message.end)),
            shop=export.shop,
            out=workdir / "out",
            store=env.attachments.uri(),
        )
        source = slice_path(export.export_id, message.start, message.end)
        reader = SliceReader(options.input, opener=lambda: _s3_body(env.s3, env.work.bucket, env.work.key(source)))
        try:
            summary = run_chatwoot_slice(
                options,
                reader,
                conn=conn,
                handle=export.handle(since=datetime.now(UTC)),
                fetcher=fetcher,
                agent_names=context.get("agent_names", []),
                seen=piece.duplicate_keys,
            )
        except PrivacyAuditError as exc:  # deterministic: retrying cannot help; the export will fail
            export_runs.record_slice(conn, export, message.start, status="failed", pass_=message.pass_, error=str(exc))
            _assemble_if_complete(conn, export, message.export, env)
            return {**described, "status": "failed", "error": "privacy audit failed"}
        target = slice_output_path(export.export_id, message.start, message.end)
        for name in SLICE_OUTPUTS:
            env.work.put_file(f"{target}/{name}", workdir / "out" / name, CONTENT_TYPES[name])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    recorded = {
        "counts": _slice_counts(summary),
        "redactions": summary.redactions,
        "rows_loaded": summary.rows_loaded,
        "max_data_at": summary.max_data_at,
    }
    if fetcher.pending:
        _wait_for_images(message, fetcher.pending, export, conn, env, **recorded)
        status = "waiting_images"
    else:
        export_runs.record_slice(conn, export, message.start, status="done", pass_=message.pass_, **recorded)
        _assemble_if_complete(conn, export, message.export, env)
        status = "done"
    return {
        **described,
        "status": status,
        "conversations": summary.counts.get("conversations", 0),
        "quarantined": summary.counts.get("quarantined", 0),
        "images_queued": fetcher.queued,
        "images_pending": len(fetcher.pending),
    }


def _wait_for_images(
    message: SliceMessage,
    pending: list[str],
    export: export_runs.ExportRow,
    conn: psycopg.Connection,
    env: AwsEnv,
    **recorded: Any,
) -> None:
    # Message first, then the row: if the row update is lost, the retry sends the same (deduplicated) message.
    env.send_work([message.next_pass(pending)], delay_seconds=env.settings.chatwoot_image_wait_seconds)
    export_runs.record_slice(conn, export, message.start, status="waiting_images", pass_=message.pass_ + 1, **recorded)


def give_up_slice(message: SliceMessage, env: AwsEnv, error: str) -> None:
    """The slice failed on its last allowed receive: record it, so the export still finishes (as failed)."""
    conn = env.connection()
    export = export_runs.get_export(conn, message.export.export_id)
    if export is None:
        return
    export_runs.record_slice(conn, export, message.start, status="failed", pass_=message.pass_, error=error)
    _assemble_if_complete(conn, export, message.export, env)


def give_up_export(message: AssembleMessage, env: AwsEnv, error: str) -> None:
    """Assembling failed on its last allowed receive: finish the export as failed (no corpus)."""
    conn = env.connection()
    export = export_runs.get_export(conn, message.export.export_id)
    if export is not None:
        export_runs.finish_export(conn, export, error=f"assembling the corpus failed: {error}"[:4000])


def _assemble_if_complete(
    conn: psycopg.Connection, export: export_runs.ExportRow, identity: ExportObject, env: AwsEnv
) -> None:
    if export_runs.all_slices_finished(conn, export):
        env.send_work([AssembleMessage(export=identity)])


# ----- 3. assembling the corpus ----------------------------------------------------------
def _group_by_conversation(lines: Iterator[bytes]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """nodes.jsonl holds each conversation's Document followed by its turns and images."""
    doc_id: str | None = None
    group: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        node = json.loads(line)
        if node["class_name"] == "Document":
            if doc_id is not None:
                yield doc_id, group
            doc_id, group = node["id_"], []
        group.append(node)
    if doc_id is not None:
        yield doc_id, group


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def assemble_export(message: AssembleMessage, env: AwsEnv) -> dict[str, Any]:
    """Build the export's corpus from its slices, audit it, publish it and finish the run (once)."""
    conn = env.connection()
    export = export_runs.get_export(conn, message.export.export_id)
    if export is None:
        raise RuntimeError(f"export {message.export.export_id} is not registered")
    described = {"export_id": export.export_id, "shop": export.shop}
    if export.status != "processing":
        return {**described, "status": export.status, "note": "already finished"}
    pieces = export_runs.slices(conn, export)
    unfinished = [p for p in pieces if p.status not in export_runs.FINISHED]
    if unfinished:
        raise SlicesUnfinishedError(f"export {export.export_id}: {len(unfinished)} slice(s) still running")
    failed = [p for p in pieces if p.status == "failed"]
    if failed:
        shown = "; ".join(f"records {p.start}-{p.end - 1}: {p.error}" for p in failed[:5])
        more = f" (and {len(failed) - 5} more)" if len(failed) > 5 else ""
        export_runs.finish_export(conn, export, error=f"{len(failed)} slice(s) failed: {shown}{more}"[:4000])
        return {**described, "status": "failed", "slices_failed": len(failed)}

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="opsdata-corpus-"))
    try:
        writer = OutputWriter(workdir / "corpus")
        images: set[str] = set()
        for piece in pieces:
            base = slice_output_path(export.export_id, piece.start, piece.end)
            for doc_id, nodes in _group_by_conversation(env.work.iter_lines(f"{base}/nodes.jsonl")):
                images.update(n["image_path"] for n in nodes if n["class_name"] == "ImageNode")
                writer.add_nodes(doc_id, nodes)
            for line in env.work.iter_lines(f"{base}/quarantine.jsonl"):
                if line.strip():
                    writer.quarantine(json.loads(line))
        manifest = _corpus_manifest(export, message.export, pieces, writer)
        writer.finish(manifest)
        auditor = Auditor()  # every detector over every string; known values were checked per slice
        auditor.check_output(writer.staging)
        try:
            auditor.raise_if_found()
        except PrivacyAuditError as exc:
            writer.discard()
            export_runs.finish_export(conn, export, error=str(exc)[:4000])
            return {**described, "status": "failed", "error": "privacy audit failed"}
        manifest["corpus_digest"] = corpus_digest(writer.staging)
        manifest["timings_s"] = {"assemble_s": round(time.perf_counter() - started, 3)}
        (writer.staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        writer.commit()
        prefix = f"{export.shop}/{export.export_id}"
        with ThreadPoolExecutor(max_workers=8) as pool:  # server-side copies: the corpus is self-contained
            list(pool.map(lambda path: env.corpus.copy_from(env.attachments, path, f"{prefix}/{path}"), sorted(images)))
        for name in CORPUS_FILES:  # manifest last: its presence means the corpus is complete
            env.corpus.put_file(f"{prefix}/{name}", workdir / "corpus" / name, CONTENT_TYPES[name])
        nodes = dict(writer.n_nodes)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    corpus_uri = env.corpus.uri(f"{prefix}/")
    export_runs.finish_export(conn, export, error=None, corpus_uri=corpus_uri, nodes=nodes)
    return {**described, "status": "succeeded", "corpus": corpus_uri, "nodes": nodes, "images": len(images)}


def _corpus_manifest(
    export: export_runs.ExportRow,
    identity: ExportObject,
    pieces: Sequence[export_runs.SliceRow],
    writer: OutputWriter,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    redactions: dict[str, int] = {}
    for piece in pieces:
        for key, value in piece.counts.items():
            counts[key] = counts.get(key, 0) + value
        for key, value in piece.redactions.items():
            redactions[key] = redactions.get(key, 0) + value
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "pipeline": {"name": "opsdata chatwoot etl (AWS slices)", "version": PIPELINE_VERSION},
        "versions": {
            "opsdata": _version("opsdata"),
            "ijson": _version("ijson"),
            "phonenumbers": _version("phonenumberslite"),
            "layout": LLAMA_INDEX_LAYOUT,
        },
        "input": {"uri": identity.uri, "checksum_sha256": export.input_checksum, "kind": export.input_kind},
        "shop": export.shop,
        "slices": len(pieces),
        "counts": counts,
        "nodes": dict(writer.n_nodes),
        "redactions": redactions,
        "policy": EtlOptions(input=identity.uri, shop=export.shop, out=Path(".")).policy(),
        "image_paths": "relative to this folder (images/<sha256>.<ext>, copied from the attachment store)",
    }
