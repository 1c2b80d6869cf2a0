"""What scheduled handlers share: the EventBridge Scheduler event, secrets from SSM, the database URL."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from opsdata.core.db import database_url
from opsdata.core.settings import Settings, get_settings


class ScheduledTask(BaseModel):
    """The `Input` of a SAM ScheduleV2 event, delivered as is (no envelope)."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["deliver_alerts", "backup"]
    scheduled_time: datetime | None = None
    execution_id: str | None = None


@lru_cache(maxsize=8)
def ssm_parameter(name: str) -> str:
    """A (SecureString) parameter, decrypted; cached for the life of the execution environment."""
    import boto3  # the Lambda runtime ships boto3; imported only when a parameter is needed

    response = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    return response["Parameter"]["Value"]


def job_database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url is None and settings.database_url_parameter:
        return ssm_parameter(settings.database_url_parameter)
    return database_url(settings)
