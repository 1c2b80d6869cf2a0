"""What the scheduled handlers share: the EventBridge Scheduler event."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

# the schedule's execution id is the correlation id of every log line of an invocation
SCHEDULE_CORRELATION_PATH = "execution_id"


class ScheduledTask(BaseModel):
    """The `Input` of a SAM ScheduleV2 event, delivered as is (no envelope)."""

    model_config = ConfigDict(extra="forbid")

    task: Literal["deliver_alerts", "backup"]
    scheduled_time: datetime | None = None
    execution_id: str | None = None
