"""What scheduled handlers share: the EventBridge Scheduler event, secrets from SSM, the database URL."""

from __future__ import annotations

from datetime import datetime
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


PARAMETER_MAX_AGE_SECONDS = 900  # a rotated secret is picked up within 15 minutes by warm functions


def ssm_parameter(name: str) -> str:
    """A (SecureString) parameter, decrypted, through Powertools Parameters (cached for 15 minutes)."""
    # Imported here: Parameters pulls in boto3 (~290 ms), which only functions reading secrets need.
    from aws_lambda_powertools.utilities.parameters import get_parameter

    return get_parameter(name, decrypt=True, max_age=PARAMETER_MAX_AGE_SECONDS)


def clear_parameter_cache() -> None:
    """Forget cached parameters and their SSM client (tests switch mocked AWS accounts between cases)."""
    from aws_lambda_powertools.utilities.parameters import clear_caches

    clear_caches()


def job_database_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    if settings.database_url is None and settings.database_url_parameter:
        return ssm_parameter(settings.database_url_parameter)
    return database_url(settings)
