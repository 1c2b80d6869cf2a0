"""Lambda: deliver queued data reliability alerts to the webhook (EventBridge Scheduler, every 5 minutes)."""

from __future__ import annotations

import time
from typing import Any

from opsdata.core.db import connect, database_url
from opsdata.core.observability import count, get_metrics, logger
from opsdata.core.secrets import with_secrets
from opsdata.core.settings import get_settings
from opsdata.jobs.common import SCHEDULE_CORRELATION_PATH, ScheduledTask
from opsdata.reliability.delivery import configured_webhook_url, deliver_alerts

SAFETY_MARGIN_MS = 15_000  # stop claiming with this much of the invocation left
metrics = get_metrics()


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=SCHEDULE_CORRELATION_PATH)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    task = ScheduledTask.model_validate(event)
    settings = with_secrets(get_settings(), ("database_url", "alert_webhook_url"))
    deadline = time.monotonic() + (context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000
    with connect(database_url(settings)) as conn:
        report = deliver_alerts(conn, configured_webhook_url(settings), deadline=deadline)
    count("AlertsDelivered", report.delivered)
    count("AlertsFailed", report.failed)
    logger.info("alerts delivered", extra=report.model_dump())
    return {"task": task.task, "execution_id": task.execution_id, **report.model_dump()}
