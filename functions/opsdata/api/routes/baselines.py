"""Baseline routes ↔ sql/functions/baselines/ (list_baselines: the stored nightly baselines;
baseline_for: one page's baseline for any window, e.g. as it stood before an action)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from opsdata.api.endpoint import ApiItem, Endpoint, PageParams, ShopParams

Metric = Literal[
    "clicks", "impressions", "ctr", "position", "sessions", "conversion_rate", "revenue", "revenue_per_session", "aov"
]
PAGE = "A URL or a path (matched by its path); `*` is the whole site."


class Baseline(ApiItem):
    shop_id: UUID
    page: str = Field(description="The page's path, or `*` for the whole site")
    metric: Metric
    source: Literal["gsc", "ga"]
    window_start: date
    window_end: date = Field(description="The source's last complete day (never today)")
    days_in_window: int
    days_observed: int = Field(description="Days the metric is defined (ratios: days with a denominator)")
    window_value: float | None = Field(description="Ratios: over the window's sums; counts: the window's total")
    mean: float | None
    stddev: float | None
    median: float | None
    p25: float | None
    p75: float | None
    dow_profile: list[float | None] = Field(description="ISO weekday 1 (Monday) .. 7")
    computed_at: datetime


class BaselinesParams(ShopParams, PageParams):
    page: str | None = Field(default=None, min_length=1, max_length=2048, description=PAGE)
    metric: Metric | None = Field(default=None, description="Only this metric.")


class BaselineForParams(ShopParams):
    page: str | None = Field(default=None, min_length=1, max_length=2048, description=PAGE + " Default: the site.")
    metric: Metric | None = Field(default=None, description="Only this metric (default: every metric).")
    as_of: date | None = Field(
        default=None, description="The window ends on or before this day, e.g. the day before an action."
    )
    days: int = Field(default=90, ge=7, le=730, description="Window length in days.")


ENDPOINTS = [
    Endpoint(
        path="/api/data/baselines",
        function="public.list_baselines",
        params=BaselinesParams,
        item=Baseline,
        summary="Stored 90-day baselines per page and for the site, by page and metric",
        ttl_minutes=60,  # recomputed nightly
        timeout="simple",
        keyset=("page", "metric"),
    ),
    Endpoint(
        path="/api/data/baseline-for",
        function="public.baseline_for",
        params=BaselineForParams,
        item=Baseline,
        summary="One page's (or the site's) baseline for any window, computed on demand",
        ttl_minutes=30,
        timeout="aggregation",
    ),
]
