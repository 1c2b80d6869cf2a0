"""The migrator against a real database: order, idempotence, failure, Supabase CLI records."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from opsdata.core import migrations
from opsdata.core.db import connect


def test_migrates_an_empty_project_and_records_like_the_supabase_cli(empty_database: str) -> None:
    with connect(empty_database) as conn:
        report = migrations.migrate(conn)
        expected = [m.path.name for m in migrations.discover_migrations()]
        assert report.applied_migrations == expected
        assert sorted(report.applied_functions) == sorted(
            migrations.function_key(p) for p in migrations.discover_function_files()
        )
        rows = conn.execute(
            "select version, name, array_length(statements, 1) from supabase_migrations.schema_migrations order by 1"
        ).fetchall()
        assert [(v, n) for v, n, _ in rows] == [(m.version, m.name) for m in migrations.discover_migrations()]
        assert all(count and count > 0 for _, _, count in rows), "statements are recorded, as the CLI does"

        # A second run applies nothing.
        again = migrations.migrate(conn)
        assert again.applied_migrations == []
        assert again.applied_functions == []
        assert again.unchanged_functions == len(migrations.discover_function_files())


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_failing_migration_names_the_file_and_leaves_the_database_as_it_was(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    mig = tmp_path / "migrations"
    _write(mig / "20300101000000_good.sql", "create table public.t_good (id int);")
    _write(
        mig / "20300101000001_bad.sql",
        "create table public.t_half (id int);\nselect no_such_column from public.t_good;",
    )
    _write(mig / "20300101000002_later.sql", "create table public.t_later (id int);")
    functions = tmp_path / "functions"
    functions.mkdir()

    good, bad, _ = migrations.discover_migrations(mig)
    migrations.apply_migration(db, good)
    with pytest.raises(migrations.MigrationError) as failure:
        migrations.apply_migration(db, bad)
    assert "20300101000001_bad.sql" in str(failure.value)
    assert "no_such_column" in str(failure.value)
    assert failure.value.sqlstate == "42703"

    tables = {r[0] for r in db.execute("select tablename from pg_tables where schemaname = 'public'")}
    assert "t_good" in tables
    assert "t_half" not in tables, "the failing file's own statements were rolled back"
    versions = {r[0] for r in db.execute("select version from supabase_migrations.schema_migrations")}
    assert "20300101000000" in versions and "20300101000001" not in versions


def test_function_files_are_applied_in_dependency_order_and_reapplied_only_when_changed(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    functions = tmp_path / "functions"
    # a_outer.sql sorts first but calls b_inner (a SQL function body is checked on creation).
    _write(
        functions / "a_outer.sql",
        "create or replace function public.t_outer() returns int language sql as $$ select public.t_inner() + 1 $$;",
    )
    _write(
        functions / "b_inner.sql",
        "create or replace function public.t_inner() returns int language sql as $$ select 41 $$;",
    )
    applied = migrations.apply_function_files(db, migrations.discover_function_files(functions), functions)
    assert applied == ["b_inner.sql", "a_outer.sql"]
    assert db.execute("select public.t_outer()").fetchone() == (42,)

    assert migrations.changed_function_files(db, functions) == []
    _write(
        functions / "b_inner.sql",
        "create or replace function public.t_inner() returns int language sql as $$ select 99 $$;",
    )
    assert migrations.changed_function_files(db, functions) == [functions / "b_inner.sql"]
    migrations.apply_function_files(db, migrations.changed_function_files(db, functions), functions)
    assert db.execute("select public.t_outer()").fetchone() == (100,)


def test_a_broken_function_file_stops_the_run_with_its_name(db: psycopg.Connection, tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    _write(
        functions / "good.sql",
        "create or replace function public.t_good_fn() returns int language sql as $$ select 1 $$;",
    )
    _write(
        functions / "broken.sql",
        "create or replace function public.t_broken() returns int language sql as $$ select from nowhere $$;",
    )
    with pytest.raises(migrations.MigrationError, match=r"broken\.sql: 42P01 relation \"nowhere\" does not exist"):
        migrations.apply_function_files(db, migrations.discover_function_files(functions), functions)
    assert db.execute("select to_regproc('public.t_broken')").fetchone() == (None,)
    recorded = {r[0] for r in db.execute("select path from opsdata_migrations.function_files")}
    assert "broken.sql" not in recorded
