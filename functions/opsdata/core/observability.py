"""The one module that creates the Powertools Logger and Metrics; every handler imports them from here.

The Logger writes JSON lines (service, level, message, correlation_id) on Lambda and locally;
handlers set the correlation id with `logger.inject_lambda_context(correlation_id_path=...)`
(API Gateway's request id, the schedule's execution id, the SQS message id per record).
Metrics (CloudWatch EMF on stdout) are created on first use: handlers decorate themselves with
`get_metrics().log_metrics` and record with `count()`; code that never records one never
imports them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from aws_lambda_powertools.logging import Logger

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import Metrics

SERVICE = "opsdata"
METRICS_NAMESPACE = "opsdata"

# POWERTOOLS_SERVICE_NAME and POWERTOOLS_LOG_LEVEL override these defaults.
logger = Logger(service=SERVICE)


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    from aws_lambda_powertools.metrics import Metrics

    return Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)


def count(name: str, value: int = 1) -> None:
    """Add `value` to the Count metric `name` (flushed by the handler's log_metrics decorator)."""
    from aws_lambda_powertools.metrics import MetricUnit

    get_metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)
