"""The real Supabase CLI and our migrator agree: a project deployed with `supabase db push` is
the project `opsdata db migrate` builds, and the CLI sees our migrator's history as its own.

The CLI is the npm package `supabase`, pinned in the Makefile and installed by `make deps`
into .local/supabase-cli; with --db-url these commands need no Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.core.settings import REPO_ROOT
from opsdata.localstack import LocalCluster

SUPABASE_CLI = REPO_ROOT / ".local" / "supabase-cli" / "node_modules" / ".bin" / "supabase"


def supabase(*args: str, workdir: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    if not SUPABASE_CLI.exists():
        pytest.fail(f"{SUPABASE_CLI} is missing: run `make deps` (or `make supabase-cli`)")
    env = dict(os.environ, SUPABASE_TELEMETRY_DISABLED="1", DO_NOT_TRACK="1")
    return subprocess.run(
        [str(SUPABASE_CLI), *args, "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def cli_url(url: str) -> str:
    # the local cluster has no TLS; the CLI would otherwise try it first
    return f"{url}?sslmode=disable"


def _history(url: str) -> list[tuple]:
    with connect(url) as conn:
        return conn.execute(
            "select version, name, statements from supabase_migrations.schema_migrations order by version"
        ).fetchall()


# What a deployed schema is made of, in the schemas opsdata owns.
SCHEMA_QUERIES = {
    "columns": """
        select table_schema, table_name, column_name, data_type, is_nullable, column_default
        from information_schema.columns where table_schema in ('public', 'private')""",
    "row security": """
        select n.nspname, c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'private') and c.relkind = 'r'""",
    "indexes": "select schemaname, indexname, indexdef from pg_indexes where schemaname in ('public', 'private')",
    "constraints": """
        select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint
        where connamespace in ('public'::regnamespace, 'private'::regnamespace)""",
    "policies": """
        select schemaname, tablename, policyname, cmd, roles::text, qual, with_check from pg_policies
        where schemaname in ('public', 'private')""",
    "table grants": """
        select table_schema, table_name, grantee, privilege_type from information_schema.role_table_grants
        where table_schema in ('public', 'private')""",
    "functions": """
        select p.oid::regprocedure::text, pg_get_functiondef(p.oid), coalesce(p.proacl::text, '')
        from pg_proc p where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)""",
    "jobs": "select name, schedule, command from private.jobs",
}


def _schema(url: str) -> dict[str, list[tuple]]:
    with connect(url) as conn:
        return {name: sorted(conn.execute(query).fetchall()) for name, query in SCHEMA_QUERIES.items()}


@pytest.fixture
def deployable_project(tmp_path: Path) -> Path:
    """A copy of the Supabase project as a user deploys it: migrations, plus the function files
    bundled into a migration (`opsdata db bundle`), since `db push` applies migrations only."""
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT / "supabase", project / "supabase", ignore=shutil.ignore_patterns("tests"))
    bundled = migrations.bundle(migrations_dir=project / "supabase" / "migrations", lock_file=tmp_path / "lock.json")
    assert bundled is not None
    return project


def test_db_push_builds_the_same_project_and_history_as_our_migrator(
    new_project_database: Callable[[], str], deployable_project: Path
) -> None:
    # Given two new projects
    pushed, migrated = new_project_database(), new_project_database()

    # When the Supabase CLI pushes the project to one and our migrator migrates the other
    result = supabase("db", "push", "--db-url", cli_url(pushed), "--yes", workdir=deployable_project)
    assert result.returncode == 0, result.stdout + result.stderr
    with connect(migrated) as conn:
        migrations.migrate(conn, migrations_dir=deployable_project / "supabase" / "migrations")

    # Then both recorded the same history (version, name and statements) ...
    history = _history(pushed)
    assert [version for version, _, _ in history] == [
        m.version for m in migrations.discover_migrations(deployable_project / "supabase" / "migrations")
    ]
    assert history == _history(migrated)
    # ... and built the same schema: tables, RLS, policies, grants, functions, jobs
    pushed_schema, migrated_schema = _schema(pushed), _schema(migrated)
    for part in SCHEMA_QUERIES:
        assert pushed_schema[part] == migrated_schema[part], f"{part} differ"
    assert any("set_action_status" in row[0] for row in pushed_schema["functions"]), "function files were deployed"


def _migration_list(url: str) -> list[dict[str, str]]:
    result = supabase("migration", "list", "--db-url", cli_url(url), "--output-format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)["migrations"]


def test_migration_list_sees_everything_our_migrator_applied_as_applied(fresh_database_url: str) -> None:
    # Given a database migrated by our migrator (the test template)
    listed = _migration_list(fresh_database_url)

    local = [m.version for m in migrations.discover_migrations()]
    assert [row["local"] for row in listed] == local
    assert [row["remote"] for row in listed] == local, "every local migration is applied remotely, nothing pending"


def test_migration_list_shows_a_migration_missing_from_the_history_as_pending(fresh_database_url: str) -> None:
    last = migrations.discover_migrations()[-1].version
    with connect(fresh_database_url) as conn:
        conn.execute("delete from supabase_migrations.schema_migrations where version = %s", (last,))

    pending = [row["local"] for row in _migration_list(fresh_database_url) if not row["remote"]]
    assert pending == [last]


def test_db_lint_finds_no_errors_in_the_migrated_project(cluster: LocalCluster) -> None:
    # The database pg_cron lives in (cron.database_name), like `postgres` on Supabase: the job
    # functions refer to the cron schema, which exists only there.
    with connect(cluster.url()) as conn:
        migrations.migrate(conn)

    result = supabase("db", "lint", "--db-url", cli_url(cluster.url()), "-s", "public,private", "--fail-on", "error")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No schema errors found" in result.stdout + result.stderr


def test_db_lint_reports_a_broken_function(fresh_database_url: str) -> None:
    with connect(fresh_database_url) as conn:
        conn.execute(
            "create function public.broken_report() returns bigint language plpgsql as"
            " $$ begin return (select count(*) from public.no_such_table); end $$"
        )

    result = supabase("db", "lint", "--db-url", cli_url(fresh_database_url), "-s", "public", "--fail-on", "error")
    assert result.returncode != 0
    assert "public.broken_report" in result.stdout
    assert "no_such_table" in result.stdout
