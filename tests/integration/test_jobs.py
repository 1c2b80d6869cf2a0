"""Jobs in the database pg_cron serves: scheduled, runnable by the roles that run them."""

from __future__ import annotations

import psycopg
import pytest
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


def test_a_per_shop_job_commits_each_shop_on_its_own(fresh_database_url: str) -> None:
    # Given three shops and a per-shop job that fails for one of them
    with connect(fresh_database_url) as conn, conn.transaction():
        for domain in ("a-shop.myshopify.com", "b-shop.myshopify.com", "c-shop.myshopify.com"):
            conn.execute("insert into public.shops (domain, name) values (%s, %s)", (domain, domain))
        conn.execute(
            "insert into private.jobs (name, schedule, command, description) values ('test_each_shop', '0 0 * * *',"
            " '(select jsonb_build_object(''xid'', txid_current(),"
            " ''n'', 1 / (s.domain <> ''b-shop.myshopify.com'')::int) from public.shops s where s.id = $1)', 'test')"
        )
    # When it runs as pg_cron runs it: CALL as the whole top-level command
    with connect(fresh_database_url) as conn:
        conn.autocommit = True
        run_id = conn.execute("call private.run_job_by_shop('test_each_shop', null)").fetchone()[0]
        status, result, error = conn.execute(
            "select status, result, error from private.job_runs where id = %s", (run_id,)
        ).fetchone()
    # Then the good shops' work is kept, each in its own transaction, and the failure is recorded
    assert status == "failed" and "b-shop.myshopify.com: 22012" in error
    done = result["shops"]
    assert set(done) == {"a-shop.myshopify.com", "c-shop.myshopify.com"}
    assert done["a-shop.myshopify.com"]["xid"] != done["c-shop.myshopify.com"]["xid"]
    assert set(result["failed"]) == {"b-shop.myshopify.com"}


def test_run_job_by_shop_refuses_unknown_and_database_wide_jobs(fresh_database_url: str) -> None:
    with connect(fresh_database_url) as conn:
        conn.autocommit = True
        for name, code in (("no_such_job", "OD010"), ("purge_job_history", "OD003")):
            with pytest.raises(psycopg.Error) as failure:
                conn.execute("call private.run_job_by_shop(%s, null)", (name,))
            assert failure.value.diag.sqlstate == code
