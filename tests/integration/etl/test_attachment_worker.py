"""The SQS attachment worker end to end: moto queue, idempotency table and bucket, images
served by the loopback server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from opsdata.core.settings import get_settings
from support_aws import REGION, LambdaContext, create_idempotency_table, use_fake_aws
from support_http import LoopbackServer, Reply
from support_images import SVG, jpeg_with_gps

BUCKET = "opsdata-attachments-test"
TABLE = "opsdata-idempotency-test"
PREFIX = "chatwoot"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, http_server: LoopbackServer) -> Iterator[dict]:
    use_fake_aws(
        monkeypatch,
        OPSDATA_ATTACHMENT_STORE=f"s3://{BUCKET}/{PREFIX}",
        IDEMPOTENCY_TABLE=TABLE,
        OPSDATA_ATTACHMENT_ALLOW_HOSTS="127.0.0.1",
    )
    import boto3
    from moto import mock_aws

    from opsdata.etl.chatwoot.attachments import FetchPolicy
    from opsdata.jobs import attachment_worker

    monkeypatch.setattr(
        attachment_worker, "POLICY", FetchPolicy(max_attempts=2, backoff_initial=0.01, read_timeout=1.0)
    )
    get_settings.cache_clear()
    attachment_worker.runtime.cache_clear()
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        dynamodb = boto3.client("dynamodb")
        create_idempotency_table(dynamodb, TABLE)
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(QueueName="attachments")["QueueUrl"]
        yield {"s3": s3, "dynamodb": dynamodb, "sqs": sqs, "queue_url": queue_url, "worker": attachment_worker}
    attachment_worker.runtime.cache_clear()
    get_settings.cache_clear()


def deliver(aws: dict, *bodies: str) -> dict:
    """Send bodies through the queue, receive them as Lambda would, and invoke the handler."""
    sqs, queue_url = aws["sqs"], aws["queue_url"]
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(messages) == len(bodies)
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:attachments",
                "awsRegion": "eu-central-1",
            }
            for m in messages
        ]
    }
    for m in messages:  # Lambda deletes what succeeded; failures become visible again later
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    response = aws["worker"].handler(
        event, LambdaContext("opsdata-attachment-worker", memory_limit_in_mb=512, remaining_ms=60_000)
    )
    return {"response": response, "ids": {_label(m["Body"]): m["MessageId"] for m in messages}}


def _label(body: str) -> str:
    """The attachment key of a message, or the body itself when it is not JSON."""
    try:
        return json.loads(body)["key"]
    except ValueError:
        return body


def message(key: str, url: str) -> str:
    return json.dumps({"key": key, "url": url, "declared_type": "image", "declared_size": None})


def outcome(aws: dict, key: str) -> dict:
    path = aws["worker"].outcome_path(key)
    return json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=f"{PREFIX}/{path}")["Body"].read())


def test_a_batch_stores_images_and_reports_only_the_retryable_failures(aws: dict, http_server: LoopbackServer):
    # Given a good photo, a failing server, an SVG, a 404 and a body that is not JSON
    photo = http_server.route("/photo.jpg", Reply(body=jpeg_with_gps()))
    down = http_server.route("/down.png", Reply(status=503))
    svg = http_server.route("/logo.png", Reply(body=SVG))
    gone = http_server.route("/gone.png", Reply(status=404))

    result = deliver(
        aws,
        message("att:1", photo),
        message("att:2", down),
        message("att:3", svg),
        message("att:4", gone),
        "not json at all",
    )

    failed = {f["itemIdentifier"] for f in result["response"]["batchItemFailures"]}
    assert failed == {result["ids"]["att:2"], result["ids"]["not json at all"]}
    ok = outcome(aws, "att:1")
    assert (ok["status"], ok["width"], ok["height"]) == ("ok", 32, 64)
    stored = aws["s3"].get_object(Bucket=BUCKET, Key=f"{PREFIX}/{ok['stored_path']}")
    assert stored["ContentType"] == "image/jpeg" and b"Exif" not in stored["Body"].read()
    assert outcome(aws, "att:3")["reason"] == "not_an_image: content looks like svg"
    assert (outcome(aws, "att:4")["status"], outcome(aws, "att:4")["retryable"]) == ("failed", False)
    assert http_server.hits["/down.png"] == 2  # in-process retries happened before giving up
    # No URL is written anywhere: outcomes and idempotency records hold keys and hashes only.
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert len(items) == 3 and all(i["status"]["S"] == "COMPLETED" for i in items)
    assert http_server.base_url not in json.dumps(items) + json.dumps(ok)


def test_a_redelivered_message_is_answered_without_downloading_again(aws: dict, http_server: LoopbackServer):
    photo = http_server.route("/photo.jpg", Reply(body=jpeg_with_gps()))

    first = deliver(aws, message("att:1", photo))
    again = deliver(aws, message("att:1", photo))  # same attachment, new SQS messageId
    other_key = deliver(aws, message("att:9", photo))  # the same URL queued for another attachment

    assert first["response"] == again["response"] == other_key["response"] == {"batchItemFailures": []}
    assert first["ids"]["att:1"] != again["ids"]["att:1"]
    assert http_server.hits["/photo.jpg"] == 1
    assert outcome(aws, "att:9")["stored_path"] == outcome(aws, "att:1")["stored_path"]
    assert outcome(aws, "att:9")["key"] == "att:9"


def test_a_retryable_failure_is_retried_on_redelivery_and_then_succeeds(aws: dict, http_server: LoopbackServer):
    url = http_server.route("/flaky.jpg", Reply(status=503), Reply(status=503), Reply(body=jpeg_with_gps()))

    first = deliver(aws, message("att:1", url))
    second = deliver(aws, message("att:1", url))

    assert len(first["response"]["batchItemFailures"]) == 1
    assert second["response"] == {"batchItemFailures": []}
    assert outcome(aws, "att:1")["status"] == "ok"


def test_the_worker_refuses_to_start_without_its_configuration(monkeypatch: pytest.MonkeyPatch):
    from opsdata.jobs import attachment_worker

    monkeypatch.delenv("OPSDATA_ATTACHMENT_STORE", raising=False)
    get_settings.cache_clear()
    attachment_worker.runtime.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="OPSDATA_ATTACHMENT_STORE and IDEMPOTENCY_TABLE must be set"):
            attachment_worker.runtime()
    finally:
        get_settings.cache_clear()
        attachment_worker.runtime.cache_clear()
