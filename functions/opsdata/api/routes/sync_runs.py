"""GET /api/data/sync-runs ↔ sql/functions/sync_runs/list_sync_runs.sql (+ count_sync_runs.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from opsdata.api.endpoint import ApiItem, Endpoint, PageParams, ShopParams


class SyncRunsParams(ShopParams, PageParams):
    source: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Only runs of this source (e.g. shopify_orders).",
    )


class SyncRun(ApiItem):
    id: int
    shop_id: UUID
    source: str
    started_at: datetime
    finished_at: datetime | None
    status: Literal["running", "succeeded", "failed"]
    rows_loaded: int
    rows_rejected: int
    max_data_at: datetime | None
    error: str | None
    details: dict[str, Any]


ENDPOINTS = [
    Endpoint(
        path="/api/data/sync-runs",
        function="public.list_sync_runs",
        params=SyncRunsParams,
        item=SyncRun,
        summary="Recent loader and pipeline runs of a shop, newest first",
        ttl_minutes=5,
        timeout="simple",
        keyset=("started_at", "id"),
        total_function="public.count_sync_runs",
    ),
]
