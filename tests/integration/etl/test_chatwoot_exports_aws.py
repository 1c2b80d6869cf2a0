"""The Chatwoot ETL on AWS end to end: an export uploaded to S3 becomes rows and one corpus.

moto plays S3 (versioned bucket), SQS (slices and attachments queues) and DynamoDB (the
idempotency table); Postgres is the real local cluster; images come from the loopback HTTP
server. Handlers are imported inside the fixture, after mock_aws starts, so every boto3 client
they make is mocked.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from opsdata.core.db import connect
from opsdata.core.settings import get_settings
from opsdata.etl.chatwoot.generator import GeneratedExport, write_export
from support_aws import (
    Drained,
    LambdaContext,
    SqsClock,
    create_chatwoot_pipeline,
    drain,
    queue_depth,
    redeliver,
    s3_put_event,
    sqs_record,
    use_fake_aws,
)
from support_http import LoopbackServer, Reply
from support_images import SVG
from tests_etl_support import png

BUCKET = "opsdata-data-test"
TABLE = "opsdata-idempotency-test"
SHOP = "aws.myshopify.com"
SLICE = 25
WAIT = 300  # seconds a slice waits before looking for its images again (moved on by SqsClock)


@dataclass
class Stack:
    s3: Any
    sqs: Any
    dynamodb: Any
    slices_url: str
    attachments_url: str
    database_url: str
    exports: Any  # opsdata.jobs.chatwoot_exports
    attachment_worker: Any
    clock: SqsClock

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Put the object and return the notification S3 sends for it."""
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return s3_put_event(BUCKET, key, size=len(data), etag=put["ETag"], version_id=put.get("VersionId"))

    def trigger(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.exports.trigger_handler(event, LambdaContext("opsdata-chatwoot-trigger"))

    def run_slices(self, batch_size: int = 3) -> Drained:
        context = LambdaContext("opsdata-chatwoot-worker")
        return drain(self.sqs, self.slices_url, self.exports.work_handler, batch_size=batch_size, context=context)

    def run_attachments(self) -> Drained:
        context = LambdaContext("opsdata-attachment-worker")
        return drain(self.sqs, self.attachments_url, self.attachment_worker.handler, batch_size=5, context=context)

    def export_row(self) -> dict[str, Any]:
        with connect(self.database_url) as conn:
            row = conn.execute("select status, n_slices, corpus_uri, error, export_id from chatwoot_exports").fetchone()
        assert row is not None
        return dict(zip(("status", "n_slices", "corpus_uri", "error", "export_id"), row, strict=True))

    def slice_states(self) -> dict[int, tuple[str, int]]:
        with connect(self.database_url) as conn:
            rows = conn.execute("select start_index, status, pass from chatwoot_export_slices order by 1").fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    def keys(self, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def _reset_runtimes(exports: Any, attachment_worker: Any) -> None:
    from opsdata.core.secrets import clear_cache as clear_parameter_cache

    get_settings.cache_clear()
    clear_parameter_cache()
    exports.runtime.cache_clear()
    attachment_worker.runtime.cache_clear()
    if exports._connection is not None:
        exports._connection.close()
        exports._connection = None


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, use_database: str, http_server: LoopbackServer) -> Iterator[Stack]:
    use_fake_aws(monkeypatch)
    import boto3
    from moto import mock_aws

    from opsdata.etl.chatwoot.attachments import FetchPolicy
    from opsdata.jobs import attachment_worker, chatwoot_exports

    monkeypatch.setattr(
        attachment_worker, "POLICY", FetchPolicy(max_attempts=2, backoff_initial=0.01, read_timeout=2.0)
    )
    with mock_aws():
        s3, sqs, dynamodb = boto3.client("s3"), boto3.client("sqs"), boto3.client("dynamodb")
        environment = create_chatwoot_pipeline(s3, sqs, dynamodb, bucket=BUCKET, table=TABLE)
        slices_url = environment["OPSDATA_CHATWOOT_SLICES_QUEUE_URL"]
        attachments_url = environment["OPSDATA_ATTACHMENTS_QUEUE_URL"]
        for name, value in {
            **environment,
            "OPSDATA_ATTACHMENT_ALLOW_HOSTS": "127.0.0.1",
            "OPSDATA_CHATWOOT_SLICE_CONVERSATIONS": str(SLICE),
            "OPSDATA_CHATWOOT_IMAGE_WAIT_SECONDS": str(WAIT),
            "OPSDATA_CHATWOOT_IMAGE_WAIT_PASSES": "4",
        }.items():
            monkeypatch.setenv(name, value)
        _reset_runtimes(chatwoot_exports, attachment_worker)
        clock = SqsClock(monkeypatch)
        yield Stack(
            s3, sqs, dynamodb, slices_url, attachments_url, use_database, chatwoot_exports, attachment_worker, clock
        )
        _reset_runtimes(chatwoot_exports, attachment_worker)


def serve_images(server: LoopbackServer, generated: GeneratedExport) -> None:
    """Every image of the export as a PNG, except one that is gone (404) and one that is an SVG."""
    names = sorted(set(generated.images))
    gone, svg = names[0], names[1]
    for name in names:
        reply = Reply(status=404) if name == gone else Reply(body=SVG) if name == svg else Reply(body=png(name))
        server.route(f"/img/{name}", reply)


def rows(url: str, sql: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(sql).fetchall()


def table_state(url: str) -> dict[str, list[tuple]]:
    return {
        "conversations": rows(
            url, "select conversation_id, content_hash, updated_at from chatwoot_conversations order by 1"
        ),
        "documents": rows(url, "select node_id, node_hash, updated_at from rag_documents order by 1"),
        "attachments": rows(url, "select attachment_key, status, reason, updated_at from rag_attachments order by 1"),
        "runs": rows(url, "select id, status, finished_at from etl_runs order by 1"),
        "slices": rows(url, "select start_index, status, pass, updated_at from chatwoot_export_slices order by 1"),
    }


def finish(stack: Stack, rounds: int = 10) -> None:
    """Let delayed re-checks come due and the workers take them, until the export is finished."""
    for _ in range(rounds):
        if stack.export_row()["status"] in ("succeeded", "failed"):
            return
        stack.clock.advance(WAIT)
        stack.run_slices()
    raise AssertionError(f"the export did not finish: {stack.slice_states()}")


def test_an_uploaded_export_becomes_rows_and_one_corpus(
    stack: Stack,
    http_server: LoopbackServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    generated = write_export(tmp_path / "export.json.gz", 120, seed=11, image_base_url=http_server.url("/img"))
    serve_images(http_server, generated)
    uploaded = generated.path.read_bytes()
    key = f"exports/chatwoot/{SHOP}/export 2026-11-29.json.gz"  # a space: the event carries it URL-encoded
    event = stack.upload(key, uploaded)

    # When S3 notifies the trigger, twice (S3 delivers at least once)
    first = stack.trigger(event)
    again = stack.trigger(event)

    # Then the export is registered and split once: 5 slices of 25 conversations, one message each
    assert first == again
    (registered,) = first["exports"]
    assert (registered["shop"], registered["slices"], registered["queued"]) == (SHOP, 5, 5)
    assert queue_depth(stack.sqs, stack.slices_url) == 5
    export_id = registered["export_id"]
    assert len(stack.keys(f"tmp/chatwoot/{export_id}/slices/")) == 5
    assert rows(stack.database_url, "select count(*) from etl_runs") == [(1,)]

    # Given the second slice's object is damaged when its worker first reads it
    damaged = f"tmp/chatwoot/{export_id}/slices/{SLICE:09d}-{2 * SLICE:09d}.jsonl.gz"
    intact = stack.read(damaged)
    stack.s3.put_object(Bucket=BUCKET, Key=damaged, Body=b"\x1f\x8b not really gzip")

    # When the workers take the queue in batches of 3
    first_round = stack.run_slices(batch_size=3)

    # Then only that slice is reported in batchItemFailures; the other slices committed their work
    assert first_round.batches == 2
    failures = [f["itemIdentifier"] for r in first_round.responses for f in r["batchItemFailures"]]
    assert failures == [first_round.failed[0]["MessageId"]]
    assert json.loads(first_round.failed[0]["Body"])["start"] == SLICE
    states = stack.slice_states()
    assert states[SLICE] == ("queued", 0)
    assert {s for start, (s, _) in states.items() if start != SLICE} <= {"waiting_images", "done"}
    committed = rows(stack.database_url, "select count(*) from chatwoot_conversations")[0][0]
    assert 80 <= committed <= 100  # 4 slices of 25 records, minus quarantined ones
    images_queued = queue_depth(stack.sqs, stack.attachments_url)
    assert images_queued > 0

    # When a finished slice is delivered again under a new message id
    done_body = json.dumps(first_round.processed[0])
    before = table_state(stack.database_url)
    depth = queue_depth(stack.sqs, stack.slices_url)
    monkeypatch.setattr(stack.exports, "process_slice", _must_not_run)
    redeliver(stack.sqs, stack.slices_url, done_body)
    resent = stack.run_slices()
    # Then it is answered from DynamoDB: no work, no rows, no messages
    assert resent.failed == [] and resent.batches == 1
    assert table_state(stack.database_url) == before
    assert queue_depth(stack.sqs, stack.slices_url) == depth
    assert queue_depth(stack.sqs, stack.attachments_url) == images_queued
    from opsdata.etl.chatwoot import export_pipeline

    monkeypatch.setattr(stack.exports, "process_slice", export_pipeline.process_slice)

    # When the damaged slice comes back (SQS redelivers it) and its object is readable again
    stack.s3.put_object(Bucket=BUCKET, Key=damaged, Body=intact)
    redeliver(stack.sqs, stack.slices_url, first_round.failed[0]["Body"])
    retried = stack.run_slices()
    assert retried.failed == [] and stack.slice_states()[SLICE][0] in ("waiting_images", "done")

    # When slices look again before the attachment worker has run, they keep waiting (pass 2)
    stack.clock.advance(WAIT)
    early = stack.run_slices()
    assert early.failed == [] and early.processed
    waiting = {start: state for start, state in stack.slice_states().items() if state[0] == "waiting_images"}
    assert waiting and all(p == 2 for _, p in waiting.values())
    assert rows(stack.database_url, "select count(*) from rag_attachments where status = 'ok'") == [(0,)]

    # When the attachment worker downloads the queued images, then the slices finish and assemble
    pictures = stack.run_attachments()
    assert pictures.failed == [] and len(pictures.processed) >= images_queued
    finish(stack)

    # Then the export succeeded, recorded exactly once in etl_runs and sync_runs
    export = stack.export_row()
    assert export["status"] == "succeeded", export["error"]
    assert export["corpus_uri"] == f"s3://{BUCKET}/rag/chatwoot/{SHOP}/{export_id}/"
    checksum = hashlib.sha256(uploaded).hexdigest()
    runs = rows(stack.database_url, "select status, input_checksum, input_kind, sync_run_id from etl_runs")
    assert [(s, c, k) for s, c, k, _ in runs] == [("succeeded", checksum, "json-array")]
    (sync,) = rows(
        stack.database_url,
        "select id, source, status, rows_loaded, rows_rejected, max_data_at is not null from sync_runs",
    )
    assert sync[0] == runs[0][3] and sync[1:3] == ("chatwoot", "succeeded") and sync[3] > 0 and sync[5]
    assert sync[4] >= generated.broken

    # The corpus loads with stock llama-index-core, and its ImageNodes point at stored images
    corpus = download(stack, f"rag/chatwoot/{SHOP}/{export_id}/", tmp_path / "corpus")
    assert sorted(p.name for p in corpus.iterdir()) == [
        "docstore.json",
        "images",
        "manifest.json",
        "nodes.jsonl",
        "quarantine.jsonl",
    ]
    llama = pytest.importorskip("llama_index.core")
    from llama_index.core.schema import Document, ImageNode
    from llama_index.core.storage.docstore import SimpleDocumentStore

    assert llama
    store = SimpleDocumentStore.from_persist_path(str(corpus / "docstore.json"))
    nodes = list(store.docs.values())
    image_nodes = [n for n in nodes if isinstance(n, ImageNode)]
    assert image_nodes and all((corpus / n.image_path).is_file() for n in image_nodes)
    documents = rows(stack.database_url, "select count(*) from rag_documents")[0][0]
    assert documents == len(nodes)
    outcomes = dict(rows(stack.database_url, "select status, count(*) from rag_attachments group by 1"))
    assert outcomes.get("ok") == len(image_nodes)
    assert set(outcomes) == {"ok", "failed", "rejected"}, "every queued image got its outcome"
    rejected = rows(stack.database_url, "select reason from rag_attachments where status = 'rejected'")
    assert ("not_an_image: content looks like svg",) in rejected
    assert (
        sum(isinstance(n, Document) for n in nodes)
        == rows(stack.database_url, "select count(*) from chatwoot_conversations where n_turns > 0")[0][0]
    )
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert manifest["input"]["checksum_sha256"] == checksum and manifest["slices"] == 5

    # The same export through the CLI pipeline gives the same corpus, byte for byte
    from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl

    cli = tmp_path / "cli"
    run_chatwoot_etl(
        EtlOptions(input=str(generated.path), shop=SHOP, out=cli, allow_hosts=["127.0.0.1"], database=False)
    )
    for name in ("nodes.jsonl", "docstore.json", "quarantine.jsonl"):
        assert (corpus / name).read_bytes() == (cli / name).read_bytes(), name
    assert sorted(p.name for p in (cli / "images").iterdir()) == sorted(p.name for p in (corpus / "images").iterdir())

    # No PII anywhere the pipeline wrote: corpus, rows, idempotency records, outcomes, logs
    written = everything_written(stack, corpus)
    logs = capsys.readouterr()
    written["logs"] = logs.out + logs.err + caplog.text
    assert_no_pii(written, generated, http_server)
    audit(stack, corpus)


def _must_not_run(*args: object, **kwargs: object) -> dict[str, Any]:
    raise AssertionError("a slice answered by the idempotency layer must not be processed again")


def download(stack: Stack, prefix: str, target: Path) -> Path:
    for key in stack.keys(prefix):
        path = target / key[len(prefix) :]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(stack.read(key))
    return target


def everything_written(stack: Stack, corpus: Path) -> dict[str, str]:
    """What the pipeline wrote outside the raw inputs (the export and its slice copies under tmp/)."""
    url = stack.database_url
    written = {f"corpus {p.name}": p.read_text() for p in corpus.iterdir() if p.is_file()}
    for table in (
        "rag_documents",
        "chatwoot_conversations",
        "rag_attachments",
        "etl_runs",
        "sync_runs",
        "chatwoot_exports",
        "chatwoot_export_slices",
    ):
        written[table] = "\n".join(r[0] for r in rows(url, f"select to_jsonb(t)::text from public.{table} t"))
    items = stack.dynamodb.scan(TableName=TABLE)["Items"]
    written["idempotency records"] = json.dumps(items)
    for prefix in ("attachments/outcomes/", f"tmp/chatwoot/{stack.export_row()['export_id']}/out/"):
        for key in stack.keys(prefix):
            written[key] = stack.read(key).decode()
    return written


def assert_no_pii(written: dict[str, str], generated: GeneratedExport, server: LoopbackServer) -> None:
    """No planted PII value, contact field or attachment URL in any of the texts (one regex pass each)."""
    values = {p.value.lower() for p in generated.planted}
    values |= {c[f].lower() for c in generated.contacts for f in ("email", "phone_number", "name")}
    alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    planted = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
    raw = gzip.decompress(generated.path.read_bytes()).decode()
    assert planted.search(raw.lower()), "the check finds the values in the raw export"
    for where, text in written.items():
        found = planted.search(text.lower())
        assert found is None, f"{where}: a planted value at offset {found.start() if found else 0}"
        assert server.base_url not in text and "/img/img-" not in text, f"{where}: an attachment URL"


def audit(stack: Stack, corpus: Path) -> None:
    """The ETL's own privacy audit over the corpus files and the rows, as the CLI run does."""
    from opsdata.etl.chatwoot.audit import Auditor

    auditor = Auditor()
    auditor.check_output(corpus)
    url = stack.database_url
    for where, sql in (
        ("rag_documents", "select node_id, node from rag_documents"),
        ("chatwoot_conversations", "select document_id, to_jsonb(labels) from chatwoot_conversations"),
        ("rag_attachments", "select attachment_key, to_jsonb(array[reason, stored_path]) from rag_attachments"),
        ("etl_runs", "select id::text, jsonb_build_array(counts, redactions, error) from etl_runs"),
        ("export slices", "select start_index::text, jsonb_build_array(counts, error) from chatwoot_export_slices"),
    ):
        for name, value in rows(url, sql):
            auditor.check_value(f"{where} {name}", value)
    auditor.raise_if_found()


def test_a_slice_that_keeps_failing_fails_its_export_once(stack: Stack, http_server: LoopbackServer, tmp_path: Path):
    # Given a 30-conversation export (2 slices) whose second slice cannot be read
    generated = write_export(tmp_path / "small.jsonl", 30, seed=3, fmt="jsonl", image_base_url=http_server.url("/img"))
    serve_images(http_server, generated)
    (registered,) = stack.trigger(stack.upload(f"exports/chatwoot/{SHOP}/small.jsonl", generated.path.read_bytes()))[
        "exports"
    ]
    export_id = registered["export_id"]
    stack.s3.put_object(
        Bucket=BUCKET, Key=f"tmp/chatwoot/{export_id}/slices/{SLICE:09d}-{30:09d}.jsonl.gz", Body=b"garbage"
    )
    first = stack.run_slices(batch_size=2)
    assert len(first.failed) == 1

    # When SQS delivers it for the last allowed time and it fails again
    redeliver(stack.sqs, stack.slices_url, first.failed[0]["Body"])
    (last,) = stack.sqs.receive_message(QueueUrl=stack.slices_url, AttributeNames=["All"])["Messages"]
    response = stack.exports.work_handler(
        {"Records": [sqs_record(last, receive_count=5)]}, LambdaContext("opsdata-chatwoot-worker")
    )
    assert response["batchItemFailures"] == [{"itemIdentifier": last["MessageId"]}]  # on to the dead-letter queue

    # Then the slice is recorded as failed and, once the other slice is done, the export fails, once
    stack.run_attachments()
    finish(stack)
    export = stack.export_row()
    assert export["status"] == "failed" and export["corpus_uri"] is None
    assert f"records {SLICE}-29: InputError" in export["error"] and "receive 5, the last" in export["error"]
    assert rows(stack.database_url, "select status, error from etl_runs") == [("failed", export["error"])]
    sync = rows(stack.database_url, "select status, error is not null, rows_loaded > 0 from sync_runs")
    assert sync == [("failed", True, True)]
    assert "garbage" not in export["error"]


def test_an_unreadable_upload_fails_its_run_with_the_reason_and_queues_nothing(stack: Stack) -> None:
    event = stack.upload(f"exports/chatwoot/{SHOP}/broken.json", b'[{"id": 1, "messages": [}]')
    (result,) = stack.trigger(event)["exports"]
    assert result["status"] == "failed" and "invalid JSON" in result["error"] and "byte offset" in result["error"]
    assert queue_depth(stack.sqs, stack.slices_url) == 0
    assert rows(stack.database_url, "select status, error like '%%invalid JSON%%' from etl_runs") == [("failed", True)]
    assert rows(stack.database_url, "select status from sync_runs") == [("failed",)]
    # and a repeated notification changes nothing
    stack.trigger(event)
    assert rows(stack.database_url, "select count(*) from etl_runs") == [(1,)]


def test_uploads_outside_the_key_convention_are_ignored(stack: Stack) -> None:
    for key in ("exports/chatwoot/export.json", "exports/chatwoot/Not_A_Domain/x.json", "exports/chatwoot/a.com/"):
        (result,) = stack.trigger(stack.upload(key, b"[]"))["exports"]
        assert result["status"] == "ignored"
    assert rows(stack.database_url, "select count(*) from shops") == [(0,)]
    assert queue_depth(stack.sqs, stack.slices_url) == 0


def test_the_database_url_comes_from_ssm_when_database_url_is_unset(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import boto3

    boto3.client("ssm").put_parameter(Name="/opsdata/test/database-url", Value=stack.database_url, Type="SecureString")
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DATABASE_URL_PARAMETER", "/opsdata/test/database-url")
    _reset_runtimes(stack.exports, stack.attachment_worker)
    data = gzip.compress(b'{"id": 7, "account_id": 1, "status": "open", "messages": []}\n')
    (result,) = stack.trigger(stack.upload(f"exports/chatwoot/{SHOP}/one.jsonl.gz", data))["exports"]
    assert (result["status"], result["slices"]) == ("processing", 1)
    assert rows(stack.database_url, "select input_kind from chatwoot_exports") == [("jsonl",)]


def test_a_cli_run_does_not_take_an_aws_export_for_an_interrupted_run(stack: Stack, tmp_path: Path) -> None:
    data = b'{"id": 7, "account_id": 1, "status": "open", "messages": []}\n'
    stack.trigger(stack.upload(f"exports/chatwoot/{SHOP}/one.jsonl", data))
    from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl

    local = tmp_path / "local.jsonl"
    local.write_bytes(data)
    run_chatwoot_etl(
        EtlOptions(input=str(local), shop=SHOP, out=tmp_path / "out", images="skip"), database_url=stack.database_url
    )
    statuses = rows(
        stack.database_url,
        "select r.status, x.id is not null from etl_runs r left join chatwoot_exports x on x.etl_run_id = r.id"
        " order by r.id",
    )
    assert statuses == [("running", True), ("succeeded", False)]


def test_an_export_whose_corpus_cannot_be_published_fails_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a one-slice export and a corpus store that does not exist
    now = int(time.time())
    message = {
        "id": 1,
        "message_type": 0,
        "content": "Where is my parcel?",
        "created_at": now,
        "sender": {"type": "contact"},
    }
    record = {"id": 7, "account_id": 1, "status": "open", "created_at": now, "messages": [message]}
    stack.trigger(stack.upload(f"exports/chatwoot/{SHOP}/one.jsonl", json.dumps(record).encode() + b"\n"))
    monkeypatch.setenv("OPSDATA_CHATWOOT_CORPUS_STORE", "s3://no-such-bucket-opsdata/rag")
    _reset_runtimes(stack.exports, stack.attachment_worker)

    # When the slice is done and the assemble step fails, also on its last allowed receive
    first = stack.run_slices()
    (failed,) = first.failed
    assert json.loads(failed["Body"])["kind"] == "assemble" and stack.slice_states() == {0: ("done", 0)}
    redeliver(stack.sqs, stack.slices_url, failed["Body"])
    (last,) = stack.sqs.receive_message(QueueUrl=stack.slices_url, AttributeNames=["All"])["Messages"]
    response = stack.exports.work_handler(
        {"Records": [sqs_record(last, receive_count=5)]}, LambdaContext("opsdata-chatwoot-worker")
    )

    # Then the message goes on to the dead-letter queue and the export and its run are failed, once
    assert response["batchItemFailures"] == [{"itemIdentifier": last["MessageId"]}]
    export = stack.export_row()
    assert export["status"] == "failed" and export["error"].startswith("assembling the corpus failed: ")
    assert rows(stack.database_url, "select status from etl_runs") == [("failed",)]
    assert rows(stack.database_url, "select status from sync_runs") == [("failed",)]
