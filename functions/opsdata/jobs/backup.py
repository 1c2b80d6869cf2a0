"""Lambda: daily backup of every opsdata table to S3, then retention (EventBridge Scheduler).

The backup is named after the schedule's time, so a retried invocation rewrites the same object
instead of adding another.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from opsdata.core.settings import get_settings
from opsdata.jobs.common import ScheduledTask, job_database_url
from opsdata.reliability.backup import BackupError, create_backup, open_store, prune

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    task = ScheduledTask.model_validate(event)
    settings = get_settings()
    if not settings.backup_target:
        raise BackupError("no backup target: set BACKUP_TARGET (s3://bucket/prefix)")
    at = task.scheduled_time or datetime.now(UTC)
    where = create_backup(job_database_url(settings), settings.backup_target, now=at)
    deleted = prune(open_store(settings.backup_target), settings.backup_keep_daily, settings.backup_keep_weekly)
    logger.info("backup written", extra={"execution_id": task.execution_id, "backup": where, "pruned": deleted})
    return {"task": task.task, "execution_id": task.execution_id, "backup": where, "pruned": deleted}
