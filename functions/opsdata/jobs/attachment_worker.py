"""SQS-triggered attachment worker: one message = one attachment to download, clean and store.

Message body (JSON): {"key": "...", "url": "...", "declared_type": "...", "declared_size": n}.
- Idempotent on the attachment URL (DynamoDB, Powertools), not on the SQS message id: a
  message delivered again, or the same URL queued under another key, is answered from the
  idempotency record without downloading again.
- ok and rejected outcomes, and failures that retrying cannot fix (404 …), complete the
  record; retryable failures (timeouts, 5xx, 429 after the in-process retries) are reported
  as batchItemFailures so SQS redelivers them later and, after maxReceiveCount, parks them
  in the dead-letter queue. A malformed body is a batchItemFailure too.
- Every completed record leaves `outcomes/<sha256(key)>.json` in the store (the outcome,
  never the URL), which the ETL reads into `rag_attachments`.
Environment: OPSDATA_ATTACHMENT_STORE (s3://bucket/prefix), IDEMPOTENCY_TABLE,
OPSDATA_ATTACHMENT_ALLOW_HOSTS (optional, comma-separated).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from opsdata.core.observability import count, get_metrics, logger
from opsdata.core.safe_http import SafeHttpClient
from opsdata.core.settings import get_settings
from opsdata.etl.chatwoot.attachments import (
    AttachmentOutcome,
    AttachmentRequest,
    FetchPolicy,
    fetch_attachment,
    outcome_path,
)
from opsdata.etl.chatwoot.storage import Store, open_store

metrics = get_metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
POLICY = FetchPolicy()
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600


class AttachmentMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key: str = Field(min_length=1, max_length=500)
    url: str = Field(min_length=1, max_length=8192)
    declared_type: str | None = Field(default=None, max_length=200)
    declared_size: int | None = Field(default=None, ge=0)


class RetryLater(Exception):
    """A retryable failure: the record is reported failed and nothing is remembered."""


@dataclass(frozen=True)
class Runtime:
    store: Store
    download: Callable[..., dict[str, Any]]
    register_context: Callable[[LambdaContext], None]


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    """Built on first use and kept while the execution environment is warm (pool included)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    settings = get_settings()
    if not settings.attachment_store or not settings.idempotency_table:
        raise RuntimeError("OPSDATA_ATTACHMENT_STORE and IDEMPOTENCY_TABLE must be set")
    store = open_store(settings.attachment_store)
    allow_hosts = [h for h in settings.attachment_allow_hosts.split(",") if h.strip()]
    client = SafeHttpClient(allow_hosts=allow_hosts, policy=POLICY, max_connections=4)
    config = IdempotencyConfig(
        event_key_jmespath="url", expires_after_seconds=IDEMPOTENCY_TTL_SECONDS, raise_on_no_idempotency_key=True
    )
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)

    @idempotent_function(data_keyword_argument="request", config=config, persistence_store=persistence)
    def download(request: dict[str, Any]) -> dict[str, Any]:
        outcome = fetch_attachment(AttachmentRequest(**request), client=client, store=store, policy=POLICY)
        if outcome.status == "failed" and outcome.retryable:
            raise RetryLater(outcome.reason)
        return asdict(outcome)

    return Runtime(store, download, config.register_lambda_context)


def record_handler(record: SQSRecord) -> dict[str, Any]:
    logger.set_correlation_id(record.message_id)
    message = AttachmentMessage.model_validate_json(record.body)
    rt = runtime()
    result = rt.download(request=message.model_dump())
    outcome = replace(AttachmentOutcome(**result), key=message.key)
    rt.store.write(outcome_path(message.key), json.dumps(asdict(outcome)).encode(), content_type="application/json")
    logger.info("attachment done", extra={"key": message.key, "status": outcome.status, "reason": outcome.reason})
    count(f"Attachments{outcome.status.capitalize()}")
    return asdict(outcome)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime().register_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
