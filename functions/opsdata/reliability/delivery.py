"""Alert delivery: queued alerts (public.alerts) to a Slack-compatible webhook.

Claiming is SQL (private.claim_alerts: FOR UPDATE SKIP LOCKED plus a lease that commits before
any HTTP call), so concurrent deliverers never post the same alert. Each alert gets a few quick
retries for transient failures (network, 408, 429, 5xx); one that still fails stays queued with
its attempt count, last error and next attempt time (private.mark_alert_failed's backoff).
A deliverer that dies mid-post leaves its alerts to be claimed again when the lease ends, so
delivery is at least once: a crash between the POST and the commit can repeat one message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import class_row
from pydantic import BaseModel

from opsdata.core.settings import Settings

TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}
SEVERITY_ICON = {"critical": ":red_circle:", "warning": ":large_yellow_circle:", "info": ":large_green_circle:"}


class WebhookConfigError(ValueError):
    """The webhook URL is missing or not acceptable."""


class ClaimedAlert(BaseModel):
    id: int
    shop_id: UUID
    shop_name: str
    shop_domain: str
    kind: str
    severity: str
    source: str | None
    title: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    attempts: int


class DeliveryReport(BaseModel):
    claimed: int = 0
    delivered: int = 0
    failed: int = 0


class _Failure(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def configured_webhook_url(settings: Settings) -> str:
    """The webhook from the settings (with SSM secrets already filled in), or a clear error."""
    if settings.alert_webhook_url is None:
        raise WebhookConfigError("no alert webhook: set ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_PARAMETER")
    return settings.alert_webhook_url.get_secret_value()


def check_webhook_url(url: str) -> str:
    """https only, except for loopback (a local receiver); no credentials in the URL's host part."""
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise WebhookConfigError("the alert webhook must be an https:// URL (http:// only for loopback)")
    if not parts.hostname:
        raise WebhookConfigError("the alert webhook URL has no host")
    return url


def _escape(text: str) -> str:
    # Slack mrkdwn control characters; the text comes from data (source names, values)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: ClaimedAlert) -> dict[str, Any]:
    """Slack-compatible message: `text` for notifications and clients without blocks, plus blocks."""
    icon = SEVERITY_ICON.get(alert.severity, "")
    headline = f"{icon} *{_escape(alert.title)}* — {_escape(alert.shop_name)} ({_escape(alert.shop_domain)})"
    context = (
        f"{alert.kind.replace('_', ' ')} · {alert.source or 'all sources'} · {alert.created_at:%Y-%m-%d %H:%M} UTC"
    )
    body = _escape(alert.message) if alert.message != alert.title else ""
    return {
        "text": f"{alert.title} — {alert.shop_name}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{headline}\n{body}".strip()}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(context)}]},
        ],
    }


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _post_once(client: httpx.Client, url: str, payload: dict[str, Any]) -> None:
    try:
        response = client.post(url, json=payload)
    except httpx.HTTPError as exc:
        # the exception text can carry the URL, which is a secret: keep only the kind
        raise _Failure(f"network error: {type(exc).__name__}") from None
    if response.is_success:
        return
    detail = response.text[:200].strip().replace(url, "<webhook>")
    raise _Failure(f"HTTP {response.status_code}: {detail}", _retry_after(response))


def _post(
    client: httpx.Client,
    url: str,
    payload: dict[str, Any],
    tries: int,
    backoff: float,
    sleep: Callable[[float], None],
) -> None:
    for attempt in range(1, tries + 1):
        try:
            _post_once(client, url, payload)
            return
        except _Failure as failure:
            status = str(failure).split(":", 1)[0]
            transient = status == "network error" or any(status == f"HTTP {s}" for s in TRANSIENT_STATUS)
            if attempt == tries or not transient:
                raise
            wait = failure.retry_after if failure.retry_after is not None else backoff * 2 ** (attempt - 1)
            sleep(min(wait, 10.0))


def deliver_alerts(
    conn: psycopg.Connection,
    webhook_url: str,
    *,
    client: httpx.Client | None = None,
    batch_size: int = 20,
    max_batches: int = 10,
    tries: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> DeliveryReport:
    """Deliver due alerts until none is left, max_batches is reached or the deadline (monotonic) passes.

    `conn` must be in autocommit mode: each claim and each mark commits on its own.
    """
    check_webhook_url(webhook_url)
    report = DeliveryReport()
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0), follow_redirects=False)
    try:
        for _ in range(max_batches):
            if deadline is not None and time.monotonic() > deadline:
                break
            with conn.cursor(row_factory=class_row(ClaimedAlert)) as cur:
                alerts = cur.execute("select * from private.claim_alerts(p_limit => %s)", (batch_size,)).fetchall()
            if not alerts:
                break
            report.claimed += len(alerts)
            for alert in alerts:
                try:
                    _post(client, webhook_url, slack_payload(alert), tries, backoff, sleep)
                except _Failure as failure:
                    retry = f"{failure.retry_after} seconds" if failure.retry_after is not None else None
                    conn.execute(
                        "select private.mark_alert_failed(%s, %s, %s::interval)", (alert.id, str(failure), retry)
                    )
                    report.failed += 1
                else:
                    conn.execute("select private.mark_alert_delivered(%s)", (alert.id,))
                    report.delivered += 1
    finally:
        if own_client:
            client.close()
    return report
