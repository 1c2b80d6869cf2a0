"""The scheduled Lambda handlers, with AWS (S3, SSM) played by moto and everything else real."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from opsdata.core import secrets
from opsdata.core.db import connect
from opsdata.core.settings import get_settings
from opsdata.reliability.backup import backup_name, read_backup
from support import make_shop
from support_aws import LambdaContext, use_fake_aws
from webhook_server import webhook_server

BUCKET = "opsdata-backups-test"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    use_fake_aws(monkeypatch)
    from moto import mock_aws

    secrets.clear_cache()
    with mock_aws():
        yield
    secrets.clear_cache()
    get_settings.cache_clear()


def test_the_daily_backup_lands_in_s3_and_old_ones_are_pruned(
    aws: object, use_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from opsdata.jobs.backup import handler

    with connect(use_database) as conn:
        make_shop(conn, "nightly.myshopify.com")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    run_at = datetime(2026, 11, 29, 2, 30, tzinfo=UTC)
    older = [backup_name(run_at - timedelta(days=d)) for d in range(1, 41)]
    for name in older:
        s3.put_object(Bucket=BUCKET, Key=f"nightly/{name}", Body=b"an older backup")
    s3.put_object(Bucket=BUCKET, Key="nightly/README.txt", Body=b"not a backup")
    monkeypatch.setenv("BACKUP_TARGET", f"s3://{BUCKET}/nightly")
    get_settings.cache_clear()

    event = {"task": "backup", "scheduled_time": run_at.isoformat(), "execution_id": "exec-1"}
    result = handler(event, LambdaContext())

    newest = backup_name(run_at)
    assert result["backup"] == f"s3://{BUCKET}/nightly/{newest}"
    keys = sorted(o["Key"].split("/", 1)[1] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
    kept_days = sorted(n for n in keys if n.startswith("opsdata-backup-"))
    # 29 Nov is a Sunday: the 7 dailies are its ISO week; the 3 weeks before keep their Sundays
    assert kept_days == [backup_name(datetime(2026, 11, d, 2, 30, tzinfo=UTC)) for d in (8, 15, 22, *range(23, 30))]
    assert "README.txt" in keys
    assert sorted(result["pruned"]) == sorted(set(older) - set(kept_days))

    # what was uploaded is a complete, checked backup of this database
    s3.download_file(BUCKET, f"nightly/{newest}", str(Path(get_settings().local_dir) / "dl.tar"))
    local = Path(get_settings().local_dir) / "dl.tar"
    try:
        manifest = read_backup(local)
    finally:
        local.unlink()
    assert {t.qualified: t.rows for t in manifest.tables}["public.shops"] == 1

    # a retried invocation rewrites the same object instead of adding one
    handler(event, LambdaContext())
    assert len(s3.list_objects_v2(Bucket=BUCKET)["Contents"]) == len(keys)


def test_alert_delivery_reads_its_secrets_from_ssm(
    aws: object, use_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from opsdata.jobs.deliver_alerts import handler

    with connect(use_database) as conn:
        shop = make_shop(conn, "ssm.myshopify.com")
        conn.execute(
            "select private.enqueue_alert(%s, 'anomaly', 'warning', 'ga', 'Sessions dropped', 'm', '{}', 'k')", (shop,)
        )
    with webhook_server() as hook:
        ssm = boto3.client("ssm")
        ssm.put_parameter(Name="/opsdata/test/webhook", Value=hook.url, Type="SecureString")
        ssm.put_parameter(Name="/opsdata/test/database-url", Value=use_database, Type="SecureString")
        monkeypatch.delenv("DATABASE_URL")
        monkeypatch.setenv("DATABASE_URL_PARAMETER", "/opsdata/test/database-url")
        monkeypatch.setenv("ALERT_WEBHOOK_URL_PARAMETER", "/opsdata/test/webhook")
        get_settings.cache_clear()

        result = handler({"task": "deliver_alerts", "execution_id": "e-2"}, LambdaContext())
    assert result == {"task": "deliver_alerts", "execution_id": "e-2", "claimed": 1, "delivered": 1, "failed": 0}
    assert hook.received[0]["json"]["text"].startswith("Sessions dropped")


def test_a_malformed_schedule_event_is_rejected() -> None:
    from opsdata.jobs.deliver_alerts import handler

    with pytest.raises(ValidationError):
        handler({"task": "reboot_everything"}, LambdaContext())


def test_delivery_without_a_webhook_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from opsdata.core.secrets import with_secrets
    from opsdata.reliability.delivery import WebhookConfigError, configured_webhook_url

    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("ALERT_WEBHOOK_URL_PARAMETER", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(WebhookConfigError, match="ALERT_WEBHOOK_URL or ALERT_WEBHOOK_URL_PARAMETER"):
            configured_webhook_url(with_secrets(get_settings(), ("alert_webhook_url",)))
    finally:
        get_settings.cache_clear()


def test_job_logs_carry_the_execution_id_and_metrics_are_emf(
    use_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import io
    import json

    from opsdata.core.observability import logger
    from opsdata.jobs.deliver_alerts import handler

    with connect(use_database) as conn:
        shop = make_shop(conn, "observed.myshopify.com")
        conn.execute("select private.enqueue_alert(%s, 'anomaly', 'warning', 'ga', 't', 'm', '{}', 'k')", (shop,))
    log = io.StringIO()
    previous = logger.registered_handler.setStream(log)
    try:
        with webhook_server() as hook:
            monkeypatch.setenv("ALERT_WEBHOOK_URL", hook.url)
            monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "opsdata-test")
            get_settings.cache_clear()
            handler({"task": "deliver_alerts", "execution_id": "exec-42"}, LambdaContext("opsdata-jobs"))
    finally:
        logger.registered_handler.setStream(previous)
        get_settings.cache_clear()
    lines = [json.loads(line) for line in (log.getvalue() + capsys.readouterr().out).splitlines() if line[:1] == "{"]
    delivered = next(line for line in lines if line.get("message") == "alerts delivered")
    assert delivered["correlation_id"] == "exec-42" and delivered["service"] == "opsdata"
    assert delivered["delivered"] == 1 and delivered["function_name"] == "opsdata-jobs"
    assert hook.url not in json.dumps(lines)  # the webhook URL is a secret
    emf = next(line for line in lines if "_aws" in line)
    values = {name: sum(v) if isinstance(v, list) else v for name, v in emf.items() if name.startswith("Alerts")}
    assert values == {"AlertsDelivered": 1.0, "AlertsFailed": 0.0}
