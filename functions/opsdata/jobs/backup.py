"""Lambda: daily backup of every opsdata table to S3, then retention (EventBridge Scheduler).

The backup is named after the schedule's time, so a retried invocation rewrites the same object
instead of adding another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from opsdata.core.db import database_url
from opsdata.core.observability import count, get_metrics, logger
from opsdata.core.secrets import with_secrets
from opsdata.core.settings import get_settings
from opsdata.jobs.common import SCHEDULE_CORRELATION_PATH, ScheduledTask
from opsdata.reliability.backup import BackupError, create_backup, open_store, prune

metrics = get_metrics()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=SCHEDULE_CORRELATION_PATH)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = ScheduledTask.model_validate(event)
    settings = with_secrets(get_settings(), ("database_url",))
    if not settings.backup_target:
        raise BackupError("no backup target: set BACKUP_TARGET (s3://bucket/prefix)")
    at = task.scheduled_time or datetime.now(UTC)
    where = create_backup(database_url(settings), settings.backup_target, now=at)
    deleted = prune(open_store(settings.backup_target), settings.backup_keep_daily, settings.backup_keep_weekly)
    count("BackupsWritten")
    count("BackupsPruned", len(deleted))
    logger.info("backup written", extra={"backup": where, "pruned": deleted})
    return {"task": task.task, "execution_id": task.execution_id, "backup": where, "pruned": deleted}
