"""One call for the demo and the CLI: run the checks and the detector now, return what they found."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel


class SourceStatus(BaseModel):
    source: str
    label: str
    status: str
    message: str | None
    last_sync_at: datetime | None
    data_through: datetime | None


class AnomalyLine(BaseModel):
    series: str
    observed_on: date
    value: float
    expected: float
    direction: str
    kind: str


class ShopReliability(BaseModel):
    shop_id: UUID
    domain: str
    sources: list[SourceStatus]
    anomalies: list[AnomalyLine]  # the newest ones
    anomalies_total: int
    insufficient_history: list[str]


def refresh_and_summarize(
    conn: psycopg.Connection, *, shop_id: UUID | None = None, anomalies_limit: int = 10
) -> list[ShopReliability]:
    """Run private.run_quality_checks and private.detect_anomalies now (as the jobs would), then read back."""
    conn.execute("select private.run_quality_checks(now(), %s)", (shop_id,))
    conn.execute("select private.detect_anomalies(%s)", (shop_id,))
    out = []
    with conn.cursor(row_factory=dict_row) as cur:
        shops = cur.execute(
            "select id, domain from public.shops where %s::uuid is null or id = %s order by domain", (shop_id, shop_id)
        ).fetchall()
        for shop in shops:
            sources = cur.execute(
                "select source, label, status, message, last_sync_at, data_through from public.data_quality(%s)",
                (shop["id"],),
            ).fetchall()
            found = cur.execute(
                "select series, observed_on, value, expected, direction, kind"
                " from public.list_anomalies(%s, p_limit => %s)",
                (shop["id"], anomalies_limit),
            ).fetchall()
            total = cur.execute("select public.count_anomalies(%s) as n", (shop["id"],)).fetchone()
            learning = cur.execute(
                "select series from public.anomaly_series_status(%s) where state = 'insufficient_history'",
                (shop["id"],),
            ).fetchall()
            out.append(
                ShopReliability(
                    shop_id=shop["id"],
                    domain=shop["domain"],
                    sources=[SourceStatus(**s) for s in sources],
                    anomalies=[AnomalyLine(**a) for a in found],
                    anomalies_total=total["n"] if total else 0,
                    insufficient_history=[r["series"] for r in learning],
                )
            )
    return out
