"""Jobs in the database pg_cron serves: scheduled, runnable by the roles that run them."""

from __future__ import annotations

from click.testing import CliRunner

from opsdata import cli
from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.localstack import LocalCluster
from support import acting_as


def test_service_role_can_run_the_history_purge_where_pg_cron_lives(cluster: LocalCluster) -> None:
    # Given the main database, where pg_cron's schema exists (service_role has no rights on it)
    with connect(cluster.url()) as conn:
        migrations.migrate(conn)
        with conn.transaction(force_rollback=True):
            # When a job runner acting as service_role runs the purge
            with acting_as(conn, "service_role"):
                run_id = conn.execute("select private.run_job('purge_job_history')").fetchone()[0]
            # Then it succeeded (it touches cron.job_run_details as its owner)
            status, error = conn.execute(
                "select status, error from private.job_runs where id = %s", (run_id,)
            ).fetchone()
            assert (status, error) == ("succeeded", None)


def test_db_status_says_when_jobs_are_not_scheduled(use_database: str) -> None:
    # A test database is not cron.database_name: jobs are registered but pg_cron is absent.
    result = CliRunner().invoke(cli.main, ["db", "status"])
    assert "NOT scheduled: pg_cron is not installed in this database" in result.output


def test_db_status_counts_scheduled_jobs_in_the_cron_database(cluster: LocalCluster) -> None:
    with connect(cluster.url()) as conn:
        migrations.migrate(conn)
        summary = cli._jobs_scheduling_summary(conn)
        registered = conn.execute("select count(*) from private.jobs").fetchone()[0]
    assert f"jobs: {registered} registered" in summary
    assert f"{registered} scheduled in pg_cron" in summary
