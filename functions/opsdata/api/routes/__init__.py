"""Every read endpoint, by area. A new area adds a module here and one line to ENDPOINTS."""

from __future__ import annotations

from opsdata.api.endpoint import Endpoint
from opsdata.api.routes import affinity, baselines, reliability, shops, sync_runs

ENDPOINTS: list[Endpoint] = [
    *shops.ENDPOINTS,
    *sync_runs.ENDPOINTS,
    *reliability.ENDPOINTS,
    *affinity.ENDPOINTS,
    *baselines.ENDPOINTS,
]
