"""Lambda handlers of the Chatwoot export pipeline (the flow: opsdata.etl.chatwoot.export_pipeline).

- `trigger_handler`: S3 ObjectCreated events for exports/chatwoot/<shop-domain>/<file>. Each
  object version is split once: Powertools idempotency keyed on (bucket, key, version, ETag), the
  producer's identity of the upload, answers a repeated event from DynamoDB.
- `work_handler`: SQS batches of slice and assemble messages. Powertools BatchProcessor reports
  only the failed records (ReportBatchItemFailures); idempotency is keyed on the work itself
  (export version, slice start/end, pass), never on the SQS message id, so a slice sent again
  under a new message id is answered from DynamoDB without touching the database. A slice that
  still fails on its last allowed receive is recorded as failed (the export then finishes as
  failed) before SQS moves it to the dead-letter queue; so is an export whose assembly keeps failing.
Logs carry ids, counts and error types: never message text, contact fields or attachment URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

import psycopg
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import S3Event
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from opsdata.core.db import connect, database_url
from opsdata.core.observability import logger
from opsdata.core.secrets import with_secrets
from opsdata.core.settings import get_settings
from opsdata.etl.chatwoot.export_pipeline import (
    AwsEnv,
    assemble_export,
    give_up_export,
    give_up_slice,
    process_slice,
    split_upload,
)
from opsdata.etl.chatwoot.exports import (
    IDEMPOTENCY_KEY_JMESPATH,
    ExportKeyError,
    ExportObject,
    SliceMessage,
    WorkMessage,
    shop_from_key,
)
from opsdata.etl.chatwoot.reader import InputError

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600
WORK = TypeAdapter(WorkMessage)

_connection: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    """One connection per execution environment, replaced when it died while the function was frozen."""
    global _connection
    if _connection is None or _connection.closed or _connection.broken:
        _connection = connect(database_url(with_secrets(get_settings(), ("database_url",))))
    return _connection


@dataclass(frozen=True)
class Runtime:
    env: AwsEnv
    split: Callable[..., dict[str, Any]]
    work: Callable[..., dict[str, Any]]
    register_context: Callable[[LambdaContext], None]


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    """Built on first use (boto3 clients, idempotency) and kept while the environment is warm."""
    import boto3
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    settings = get_settings()
    if not settings.idempotency_table:
        raise RuntimeError("IDEMPOTENCY_TABLE must be set")
    env = AwsEnv(settings, boto3.client("s3"), boto3.client("sqs"), connection)
    split_config = IdempotencyConfig(
        event_key_jmespath="[bucket, key, version_id, etag]",
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    work_config = IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY_JMESPATH,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )

    # One persistence layer per decorated function: a layer keeps the first configuration it gets.
    @idempotent_function(
        data_keyword_argument="export",
        config=split_config,
        persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
    )
    def split(export: dict[str, Any]) -> dict[str, Any]:
        return split_upload(ExportObject.model_validate(export), env)

    @idempotent_function(
        data_keyword_argument="message",
        config=work_config,
        persistence_store=DynamoDBPersistenceLayer(table_name=settings.idempotency_table),
    )
    def work(message: dict[str, Any]) -> dict[str, Any]:
        parsed = WORK.validate_python(message)
        if isinstance(parsed, SliceMessage):
            return process_slice(parsed, env)
        return assemble_export(parsed, env)

    def register(context: LambdaContext) -> None:
        split_config.register_lambda_context(context)
        work_config.register_lambda_context(context)

    return Runtime(env, split, work, register)


# ----- S3 upload trigger -------------------------------------------------------------------
@logger.inject_lambda_context
def trigger_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    rt = runtime()
    rt.register_context(context)
    results: list[dict[str, Any]] = []
    for record in S3Event(event).records if "Records" in event else []:
        if not record.event_name.startswith("ObjectCreated"):
            continue
        stored = record.s3.get_object
        export = ExportObject(
            bucket=record.s3.bucket.name,
            key=unquote_plus(stored.key),  # notifications carry keys URL-encoded ("a b" arrives as "a+b")
            version_id=stored.version_id or "",
            etag=stored.etag,
        )
        try:
            shop_from_key(export.key)
        except ExportKeyError as exc:
            logger.warning("not an export upload; ignored", extra={"reason": str(exc)})
            results.append({"key": export.key, "status": "ignored", "reason": str(exc)})
            continue
        result = rt.split(export=export.model_dump())
        logger.info("export registered", extra=result)
        results.append(result)
    return {"exports": results}


# ----- SQS worker ----------------------------------------------------------------------------
def _describe(exc: Exception) -> str:
    """An error for the run rows: our own input errors say where; anything else only its type
    (driver and SDK messages can quote row values)."""
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, InputError) else type(exc).__name__


def record_handler(record: SQSRecord) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    message = WORK.validate_json(record.body)
    rt = runtime()
    try:
        result = rt.work(message=message.model_dump(mode="json", by_alias=True))
    except IdempotencyAlreadyInProgressError:
        raise  # another invocation is working on it: not a failure of the work
    except Exception as exc:
        receives = int(record.attributes.approximate_receive_count or 1)
        logger.warning(
            "work failed",
            extra={"kind": message.kind, "export_id": message.export.export_id, "error": type(exc).__name__},
        )
        if receives >= rt.env.settings.chatwoot_slice_max_receives:
            error = f"{_describe(exc)} (receive {receives}, the last)"[:2000]
            if isinstance(message, SliceMessage):
                give_up_slice(message, rt.env, error)
            else:
                give_up_export(message, rt.env, error)
        raise
    logger.info("work done", extra=result)
    return result


@logger.inject_lambda_context
def work_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    runtime().register_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
