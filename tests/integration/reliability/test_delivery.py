"""Alert delivery to a real webhook server on loopback: success, retry, permanent failure, concurrency."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from opsdata.core.db import connect
from opsdata.reliability.delivery import WebhookConfigError, check_webhook_url, deliver_alerts
from support import make_shop
from webhook_server import Webhook, webhook_server


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def conn(fresh_database_url: str) -> Iterator[psycopg.Connection]:
    with connect(fresh_database_url) as connection:
        yield connection


def queue_alerts(conn: psycopg.Connection, n: int, shop: uuid.UUID | None = None) -> list[int]:
    shop = shop or make_shop(conn, "alerting.myshopify.com", name="Alerting Shop")
    return [
        conn.execute(
            "select private.enqueue_alert(%s, 'status_change', 'critical', 'shopify', %s, %s, '{}', %s)",
            (shop, f"Shopify is red #{i}", "Last successful Shopify sync finished 50.0 hours ago.", f"k{i}"),
        ).fetchone()[0]
        for i in range(n)
    ]


def alert_state(conn: psycopg.Connection, alert_id: int) -> dict:
    row = conn.execute(
        "select delivery_status, attempts, last_error, next_attempt_at > now(), delivered_at is not null"
        " from public.alerts where id = %s",
        (alert_id,),
    ).fetchone()
    return dict(zip(("status", "attempts", "last_error", "waiting", "delivered"), row, strict=True))


def no_sleep(_: float) -> None:
    return None


def test_queued_alerts_are_posted_as_slack_messages_and_marked_delivered(conn, hook: Webhook) -> None:
    ids = queue_alerts(conn, 2)
    report = deliver_alerts(conn, hook.url, sleep=no_sleep)
    assert report.model_dump() == {"claimed": 2, "delivered": 2, "failed": 0}
    assert [alert_state(conn, i)["status"] for i in ids] == ["delivered", "delivered"]
    first = hook.received[0]["json"]
    assert first["text"] == "Shopify is red #0 — Alerting Shop"
    assert "Last successful Shopify sync finished 50.0 hours ago." in first["blocks"][0]["text"]["text"]
    assert "alerting.myshopify.com" in first["blocks"][0]["text"]["text"]
    # a second run finds nothing to send
    assert deliver_alerts(conn, hook.url, sleep=no_sleep).claimed == 0
    assert len(hook.received) == 2


def test_a_server_error_is_retried_and_then_delivered(conn, hook: Webhook) -> None:
    hook.script = [(500, "internal error", {}), (200, "ok", {})]
    waits: list[float] = []
    [alert] = queue_alerts(conn, 1)
    report = deliver_alerts(conn, hook.url, sleep=waits.append, backoff=0.25)
    assert report.delivered == 1 and report.failed == 0
    assert [r["status"] for r in hook.received] == [500, 200]
    assert waits == [0.25]
    assert alert_state(conn, alert)["status"] == "delivered"


def test_retry_after_from_the_webhook_is_respected(conn, hook: Webhook) -> None:
    hook.script = [(429, "rate_limited", {"Retry-After": "2"}), (200, "ok", {})]
    waits: list[float] = []
    queue_alerts(conn, 1)
    assert deliver_alerts(conn, hook.url, sleep=waits.append).delivered == 1
    assert waits == [2.0]


def test_an_undeliverable_alert_stays_queued_with_its_error_and_is_sent_later(conn, hook: Webhook) -> None:
    hook.script = [(500, "down", {})]
    [alert] = queue_alerts(conn, 1)
    report = deliver_alerts(conn, hook.url, sleep=no_sleep, tries=3)
    assert report.model_dump() == {"claimed": 1, "delivered": 0, "failed": 1}
    assert len(hook.received) == 3
    state = alert_state(conn, alert)
    assert state["status"] == "queued" and state["attempts"] == 1 and state["waiting"]
    assert state["last_error"] == "HTTP 500: down"
    assert "secret-token" not in state["last_error"]

    # backing off: the next run does not hammer the webhook
    assert deliver_alerts(conn, hook.url, sleep=no_sleep).claimed == 0
    # once due again and the webhook works, it is delivered: nothing was lost
    hook.script = [(200, "ok", {})]
    conn.execute("update public.alerts set next_attempt_at = now() where id = %s", (alert,))
    assert deliver_alerts(conn, hook.url, sleep=no_sleep).delivered == 1
    state = alert_state(conn, alert)
    assert state["status"] == "delivered" and state["attempts"] == 2 and state["last_error"] is None


def test_a_client_error_is_not_retried_in_the_same_run(conn, hook: Webhook) -> None:
    hook.script = [(404, "no_service", {})]
    [alert] = queue_alerts(conn, 1)
    assert deliver_alerts(conn, hook.url, sleep=no_sleep).failed == 1
    assert len(hook.received) == 1
    assert alert_state(conn, alert)["last_error"] == "HTTP 404: no_service"


def test_an_unreachable_webhook_keeps_alerts_queued_without_leaking_the_url(conn) -> None:
    [alert] = queue_alerts(conn, 1)
    url = "http://127.0.0.1:9/services/secret-token"  # discard port: nothing listens
    assert deliver_alerts(conn, url, sleep=no_sleep, tries=2).failed == 1
    state = alert_state(conn, alert)
    assert state["status"] == "queued" and state["last_error"].startswith("network error")
    assert "secret-token" not in state["last_error"]


def test_concurrent_deliverers_never_send_an_alert_twice(fresh_database_url: str, hook: Webhook) -> None:
    hook.delay = 0.02
    with connect(fresh_database_url) as setup:
        ids = queue_alerts(setup, 30)
    reports = []

    def worker() -> None:
        with connect(fresh_database_url) as own:
            reports.append(deliver_alerts(own, hook.url, batch_size=3, max_batches=20, sleep=no_sleep))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    titles = [r["json"]["text"] for r in hook.received]
    assert len(titles) == 30 and len(set(titles)) == 30
    assert sum(r.delivered for r in reports) == 30
    assert sum(1 for r in reports if r.delivered) >= 2, "the work was shared, not serialized into one deliverer"
    with connect(fresh_database_url) as check:
        assert all(alert_state(check, i)["status"] == "delivered" for i in ids)


@pytest.mark.parametrize(
    "url", ["http://hooks.slack.com/services/x", "ftp://127.0.0.1/x", "https:///no-host", "file:///etc/passwd"]
)
def test_webhook_urls_must_be_https_except_on_loopback(url: str) -> None:
    with pytest.raises(WebhookConfigError):
        check_webhook_url(url)
    assert check_webhook_url("https://hooks.slack.com/services/T/B/x")
    assert check_webhook_url("http://127.0.0.1:8080/x")
