"""The `opsdata` command against real databases."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from opsdata import cli
from opsdata.core import migrations
from opsdata.core.db import connect


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_db_status_reports_the_database_in_use_and_what_is_applied(runner: CliRunner, use_database: str) -> None:
    result = runner.invoke(cli.main, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "DATABASE_URL postgresql://postgres:***@127.0.0.1" in result.output
    assert "reachable: yes" in result.output
    assert "core_tenancy" in result.output and "pending" not in result.output
    n = len(migrations.discover_function_files())
    assert f"function files: {n} of {n} applied and current" in result.output


def test_db_status_shows_pending_work_and_unreachable_databases(runner: CliRunner, use_database: str) -> None:
    with connect(use_database) as conn:
        conn.execute("delete from supabase_migrations.schema_migrations where name = 'jobs'")
        conn.execute("delete from opsdata_migrations.function_files where path = 'jobs/run_job.sql'")
    result = runner.invoke(cli.main, ["db", "status"])
    assert "pending" in result.output
    assert "jobs/run_job.sql: not applied" in result.output


def test_db_status_fails_when_the_database_does_not_answer(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsdata.core.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:x@127.0.0.1:9/none")
    get_settings.cache_clear()
    try:
        result = runner.invoke(cli.main, ["db", "status"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "reachable: no" in result.output


def test_db_up_and_down_do_nothing_when_database_url_is_set(runner: CliRunner, use_database: str) -> None:
    for command in ("up", "down"):
        result = runner.invoke(cli.main, ["db", command])
        assert result.exit_code == 0
        assert "DATABASE_URL is set: nothing local to" in result.output
        assert "postgres:***@" in result.output, "the password is never printed"


def test_db_migrate_is_idempotent(runner: CliRunner, use_database: str) -> None:
    result = runner.invoke(cli.main, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert "migrated: 0 migration(s), 0 function file(s) applied" in result.output


def test_db_migrate_reports_the_failing_file(
    runner: CliRunner, use_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "20990101000000_broken.sql").write_text("alter table public.nope add column x int;")
    monkeypatch.setattr(migrations, "MIGRATIONS_DIR", tmp_path)
    monkeypatch.setattr(migrations.migrate, "__defaults__", (tmp_path, migrations.FUNCTIONS_DIR))
    result = runner.invoke(cli.main, ["db", "migrate"])
    assert result.exit_code == 1
    assert "20990101000000_broken.sql" in result.output
    assert 'relation "public.nope" does not exist' in result.output


def test_jobs_run_records_the_run_and_jobs_list_shows_it(runner: CliRunner, use_database: str) -> None:
    result = runner.invoke(cli.main, ["jobs", "run", "purge_job_history"])
    assert result.exit_code == 0, result.output
    assert "job purge_job_history succeeded" in result.output
    listing = runner.invoke(cli.main, ["jobs", "list"])
    assert "purge_job_history" in listing.output and "succeeded" in listing.output


def test_jobs_run_refuses_an_unknown_job(runner: CliRunner, use_database: str) -> None:
    result = runner.invoke(cli.main, ["jobs", "run", "no_such_job"])
    assert result.exit_code == 1
    assert 'unknown job "no_such_job"' in result.output


def test_a_failing_job_is_recorded_as_failed(runner: CliRunner, use_database: str) -> None:
    with connect(use_database) as conn:
        conn.execute(
            "insert into private.jobs (name, schedule, command, description)"
            " values ('always_fails', '* * * * *', 'private.no_such_function()', 'test')"
        )
    result = runner.invoke(cli.main, ["jobs", "run", "always_fails"])
    assert result.exit_code == 1
    assert "job always_fails failed: 42883" in result.output
    with connect(use_database) as conn:
        assert conn.execute("select status from private.job_runs where job_name = 'always_fails'").fetchone() == (
            "failed",
        )


def test_db_test_runs_pgtap_files(runner: CliRunner, use_database: str, tmp_path: Path) -> None:
    passing = tmp_path / "ok.test.sql"
    passing.write_text("begin; select plan(1); select ok(true, 'fine'); select * from finish(); rollback;\n")
    result = runner.invoke(cli.main, ["db", "test", str(passing)])
    assert result.exit_code == 0

    failing = tmp_path / "bad.test.sql"
    failing.write_text("begin; select plan(1); select ok(false, 'broken'); select * from finish(); rollback;\n")
    assert runner.invoke(cli.main, ["db", "test", str(failing)]).exit_code != 0


def test_migrated_database_answers_as_postgres(use_database: str) -> None:
    with psycopg.connect(use_database) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_jobs_run_refresh_affinity_for_one_shop_or_every_shop(runner: CliRunner, use_database: str) -> None:
    with connect(use_database) as conn:
        for domain in ("one.myshopify.com", "two.myshopify.com"):
            conn.execute("insert into public.shops (domain, name) values (%s, 'x')", (domain,))
    result = runner.invoke(cli.main, ["jobs", "run", "refresh_affinity", "--shop", "One.myshopify.com"])
    assert result.exit_code == 0, result.output
    assert "one.myshopify.com" in result.output and "two.myshopify.com" not in result.output
    everyone = runner.invoke(cli.main, ["jobs", "run", "refresh_affinity"])
    assert everyone.exit_code == 0, everyone.output
    assert "one.myshopify.com" in everyone.output and "two.myshopify.com" in everyone.output
    with connect(use_database) as conn:
        assert conn.execute("select count(*) from public.sync_runs where source = 'affinity'").fetchone() == (3,)


def test_jobs_run_names_an_unknown_shop_and_a_shop_given_to_a_global_job(runner: CliRunner, use_database: str) -> None:
    unknown = runner.invoke(cli.main, ["jobs", "run", "refresh_affinity", "--shop", "nope.myshopify.com"])
    assert unknown.exit_code == 1 and "no shop with domain 'nope.myshopify.com'" in unknown.output
    with connect(use_database) as conn:
        conn.execute("insert into public.shops (domain, name) values ('one.myshopify.com', 'x')")
    global_job = runner.invoke(cli.main, ["jobs", "run", "purge_job_history", "--shop", "one.myshopify.com"])
    assert global_job.exit_code == 1 and "takes no shop" in global_job.output


def test_a_per_shop_job_failing_for_one_shop_keeps_the_others(runner: CliRunner, use_database: str) -> None:
    with connect(use_database) as conn:
        conn.execute("insert into public.shops (domain, name) values ('one.myshopify.com', 'x')")
        conn.execute("insert into public.shops (domain, name) values ('two.myshopify.com', 'x')")
        conn.execute(
            "insert into private.jobs (name, schedule, command, description) values ('picky', '* * * * *',"
            " $$jsonb_build_object('x', 1 / (position('two' in (select domain from public.shops where id = $1)) - 1))$$"
            ", 'test')"
        )
    result = runner.invoke(cli.main, ["jobs", "run", "picky"])
    assert result.exit_code == 1
    assert "two.myshopify.com: 22012" in result.output
    with connect(use_database) as conn:
        status, shops = conn.execute(
            "select status, result -> 'shops' from private.job_runs where job_name = 'picky'"
        ).fetchone()
    assert status == "failed" and list(shops) == ["one.myshopify.com"]
