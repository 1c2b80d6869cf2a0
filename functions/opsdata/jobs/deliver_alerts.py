"""Lambda: deliver queued data reliability alerts to the webhook (EventBridge Scheduler, every 5 minutes)."""

from __future__ import annotations

import logging
import time
from typing import Any

from opsdata.core.db import connect
from opsdata.core.settings import Settings, get_settings
from opsdata.jobs.common import ScheduledTask, job_database_url, ssm_parameter
from opsdata.reliability.delivery import WebhookConfigError, deliver_alerts

logger = logging.getLogger(__name__)
SAFETY_MARGIN_MS = 15_000  # stop claiming with this much of the invocation left


def webhook_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.alert_webhook_url is not None:
        return settings.alert_webhook_url.get_secret_value()
    if settings.alert_webhook_url_parameter:
        return ssm_parameter(settings.alert_webhook_url_parameter)
    raise WebhookConfigError("no alert webhook: set ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_PARAMETER")


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    task = ScheduledTask.model_validate(event)
    deadline = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        deadline = time.monotonic() + (context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000
    with connect(job_database_url()) as conn:
        report = deliver_alerts(conn, webhook_url(), deadline=deadline)
    logger.info("alerts delivered", extra={"execution_id": task.execution_id, **report.model_dump()})
    return {"task": task.task, "execution_id": task.execution_id, **report.model_dump()}
