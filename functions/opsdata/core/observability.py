"""The one module that creates the Powertools Logger and Metrics; everyone imports them from here.

The Logger writes JSON lines (service, level, message, correlation_id) on Lambda and locally.
Metrics (CloudWatch EMF on stdout) are created on first use: only the Lambda handlers flush
them, and their import is not paid by code that never records one.
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
