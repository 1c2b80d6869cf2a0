"""Data reliability reads ↔ sql/functions/reliability/: data_quality, list_alerts (+ count_alerts),
list_anomalies (+ count_anomalies), anomaly_series_status and source_daily_rows.

Cache TTLs follow how often the data can change: statuses and alerts come from the
`data_quality_checks` job every 15 minutes (5 min: the shortest TTL, so a status the job just
changed shows within 5 minutes); anomalies, series verdicts and daily row counts change at most
hourly (`detect_anomalies`) or per day, so 15 minutes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from opsdata.api.endpoint import ApiItem, Endpoint, PageParams, ShopParams

Status = Literal["green", "yellow", "red", "grey"]
AlertKind = Literal["status_change", "reminder", "anomaly"]
Direction = Literal["spike", "drop"]


def _source_filter() -> Any:
    return Field(
        default=None, max_length=64, pattern=r"^[a-z][a-z0-9_]*$", description="Only this source (e.g. shopify, gsc)."
    )


class QualityCheck(ApiItem):
    check: Literal["sync_freshness", "data_recency", "volume", "validity"]
    status: Status
    observed: float | None = Field(description="What was measured, in `unit`; null when it could not be measured")
    unit: Literal["hours", "rows", "ratio"]
    threshold_warn: float | None = Field(description="Beyond this (strictly): yellow")
    threshold_error: float | None = Field(description="Beyond this (strictly): red")
    message: str
    checked_at: datetime


class SourceQuality(ApiItem):
    source: str
    label: str = Field(description="The name people know the source by")
    status: Status = Field(description="The worst of its checks (green < grey < yellow < red)")
    status_since: datetime | None
    message: str | None = Field(description="Why the source has its status")
    enabled: bool
    last_checked_at: datetime | None
    last_sync_at: datetime | None = Field(description="End of the last successful sync run")
    data_through: datetime | None = Field(description="How far the source's data reaches")
    expected_lag_hours: float
    warn_after_hours: float
    error_after_hours: float
    checks: list[QualityCheck] = Field(description="The latest result of each check")


class AlertsParams(ShopParams, PageParams):
    source: str | None = _source_filter()
    kind: AlertKind | None = Field(default=None, description="Only this kind.")


class Alert(ApiItem):
    id: int
    shop_id: UUID
    kind: AlertKind
    severity: Literal["info", "warning", "critical"]
    source: str | None
    title: str
    message: str
    details: dict[str, Any]
    dedupe_key: str
    created_at: datetime
    delivery_status: Literal["queued", "delivered"] = Field(description="Webhook delivery state")
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None = Field(description="Why the last delivery failed (never the webhook URL)")
    delivered_at: datetime | None


class AnomaliesParams(ShopParams, PageParams):
    series: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)?$",
        description="Only this series (e.g. orders, rows_loaded.gsc).",
    )
    source: str | None = _source_filter()


class Anomaly(ApiItem):
    id: int
    shop_id: UUID
    series: str
    metric: str
    source: str
    observed_on: date
    value: float
    expected: float
    band_low: float
    band_high: float
    score: float = Field(description="(value - expected) / robust sigma")
    direction: Direction
    kind: Literal["point", "level_shift"]
    sensitivity: float
    history_points: int
    excluded_from_baseline: bool
    detected_at: datetime


class AnomalySeries(ApiItem):
    shop_id: UUID
    series: str
    metric: str
    source: str
    last_evaluated_on: date | None
    baseline_start_on: date | None = Field(description="Set after a level shift: older days no longer count")
    state: Literal["ok", "anomaly", "insufficient_history"]
    history_points: int
    min_history: int
    message: str
    updated_at: datetime


class DailyRowsParams(ShopParams):
    days: int = Field(default=30, ge=1, le=366, description="How many days, ending today (shop's time zone).")


class SourceDay(ApiItem):
    source: str
    day: date
    rows_loaded: int = Field(description="Rows loaded by successful sync runs that started that day")
    anomaly_id: int | None = Field(description="The day's rows_loaded anomaly, if any")
    anomaly_direction: Direction | None


ENDPOINTS = [
    Endpoint(
        path="/api/data/data-quality",
        function="public.data_quality",
        params=ShopParams,
        item=SourceQuality,
        summary="Per source: status (green/yellow/red/grey), latest checks, last sync, data through",
        description="Worst status first. Statuses are evaluated every 15 minutes (pg_cron `data_quality_checks`).",
        ttl_minutes=5,
    ),
    Endpoint(
        path="/api/data/alerts",
        function="public.list_alerts",
        params=AlertsParams,
        item=Alert,
        summary="Data reliability alerts (status changes, reminders, anomalies), newest first",
        ttl_minutes=5,
        keyset=("created_at", "id"),
        total_function="public.count_alerts",
    ),
    Endpoint(
        path="/api/data/anomalies",
        function="public.list_anomalies",
        params=AnomaliesParams,
        item=Anomaly,
        summary="Flagged points of the daily series, newest day first",
        description="Judged hourly (pg_cron `detect_anomalies`); /api/data/anomaly-series lists series not judged yet.",
        ttl_minutes=15,
        keyset=("observed_on", "id"),
        total_function="public.count_anomalies",
    ),
    Endpoint(
        path="/api/data/anomaly-series",
        function="public.anomaly_series_status",
        params=ShopParams,
        item=AnomalySeries,
        summary="Per daily series: last judged day and verdict, including 'insufficient history'",
        ttl_minutes=15,
    ),
    Endpoint(
        path="/api/data/source-daily-rows",
        function="public.source_daily_rows",
        params=DailyRowsParams,
        item=SourceDay,
        summary="Rows loaded per source and day, zeros included, with the day's rows_loaded anomaly",
        description="One row per source and day, oldest day first per source: the status page's charts.",
        ttl_minutes=15,
        timeout="aggregation",
    ),
]
