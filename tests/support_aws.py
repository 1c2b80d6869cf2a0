"""Lambda-shaped events and contexts for handler tests (AWS APIs themselves are played by moto).

use_fake_aws(monkeypatch)                                               # before any boto3 client exists
context = LambdaContext("opsdata-worker")
event = s3_put_event(bucket, key, size=..., etag=..., version_id=...)   # as S3 notifies Lambda
result = drain(sqs, queue_url, handler, batch_size=3)                    # as the SQS event source does
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

REGION = "eu-central-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def use_fake_aws(monkeypatch: Any, **env: str) -> None:
    """Fake credentials and our region (plus `env`), no endpoint override: call it before any
    boto3 client exists (moto's advice), so that nothing can reach AWS."""
    for name, value in {**FAKE_CREDENTIALS, **env}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def create_idempotency_table(dynamodb: Any, name: str) -> None:
    """The DynamoDB table Powertools idempotency keeps its records in (template.yaml's shape)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class LambdaContext:
    """What Lambda passes a handler besides the event: the context object, as the runtime builds it."""

    function_name: str = "opsdata-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = "req-1"
    remaining_ms: int = 600_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "2026/11/29/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def s3_put_event(bucket: str, key: str, *, size: int, etag: str, version_id: str | None) -> dict[str, Any]:
    """An ObjectCreated:Put notification as Lambda receives it (the key URL-encoded, the ETag unquoted)."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"')}
    obj["sequencer"] = "0055AED6DCD90281E5"
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": "2026-11-29T12:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "203.0.113.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQ"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "ChatwootExportUpload",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def sqs_record(message: dict[str, Any], queue: str = "queue", receive_count: int | None = None) -> dict[str, Any]:
    """One record of an SQS event from a received message (moto's receive_message answer)."""
    attributes = dict(message.get("Attributes", {}))
    if receive_count is not None:
        attributes["ApproximateReceiveCount"] = str(receive_count)
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{queue}",
        "awsRegion": REGION,
    }


@dataclass
class Drained:
    batches: int = 0
    processed: list[dict[str, Any]] = field(default_factory=list)  # bodies (parsed) that succeeded
    failed: list[dict[str, Any]] = field(default_factory=list)  # received messages reported as failed
    responses: list[dict[str, Any]] = field(default_factory=list)


def drain(
    sqs: Any,
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    *,
    batch_size: int,
    context: Any = None,
    max_batches: int = 200,
) -> Drained:
    """Deliver what is visible in the queue to `handler` in batches, as Lambda's SQS event source does.

    Successful records are deleted; failed ones (batchItemFailures) are deleted too and returned,
    so a test decides when they come back (with `redeliver`). Delayed messages stay for later.
    """
    result = Drained()
    while result.batches < max_batches:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], VisibilityTimeout=600
        ).get("Messages", [])
        if not messages:
            break
        result.batches += 1
        response = handler({"Records": [sqs_record(m) for m in messages]}, context or LambdaContext())
        result.responses.append(response)
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if message["MessageId"] in failed:
                result.failed.append(message)
            else:
                result.processed.append(json.loads(message["Body"]))
    return result


def redeliver(sqs: Any, queue_url: str, body: str) -> str:
    """Send a body again: SQS gives it a new message id. Returns that id."""
    return sqs.send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesDelayed"])


class SqsClock:
    """Moves moto's SQS clock forward, so delayed messages come due without sleeping in a test."""

    def __init__(self, monkeypatch: Any) -> None:
        from moto.sqs import models

        self.offset_ms = 0
        real = models.unix_time_millis
        monkeypatch.setattr(models, "unix_time_millis", lambda *args: real(*args) + self.offset_ms)

    def advance(self, seconds: float) -> None:
        self.offset_ms += int(seconds * 1000)


def create_chatwoot_pipeline(s3: Any, sqs: Any, dynamodb: Any, *, bucket: str, table: str) -> dict[str, str]:
    """Inside mock_aws: the export pipeline's versioned data bucket, idempotency table and two queues.

    Returns the environment its handlers read (as template.yaml sets it); callers add the rest.
    """
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    create_idempotency_table(dynamodb, table)
    return {
        "IDEMPOTENCY_TABLE": table,
        "OPSDATA_CHATWOOT_SLICES_QUEUE_URL": sqs.create_queue(QueueName="chatwoot-slices")["QueueUrl"],
        "OPSDATA_ATTACHMENTS_QUEUE_URL": sqs.create_queue(QueueName="attachments")["QueueUrl"],
        "OPSDATA_CHATWOOT_WORK_STORE": f"s3://{bucket}/tmp/chatwoot",  # noqa: S108 - an S3 prefix
        "OPSDATA_CHATWOOT_CORPUS_STORE": f"s3://{bucket}/rag/chatwoot",
        "OPSDATA_ATTACHMENT_STORE": f"s3://{bucket}/attachments",
    }
