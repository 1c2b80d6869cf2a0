"""The migrator's file handling: statement splitting, discovery, bundling (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from opsdata.core import migrations


def test_split_statements_keeps_function_bodies_and_quotes_whole() -> None:
    sql = """
    -- a comment; with a semicolon
    create table t (a text default 'x;y', "we;ird" int);
    /* block; comment */
    create function f() returns int language sql as $$ select 1; $$;
    create function g() returns int language plpgsql as $body$ begin return 2; end $body$;
    select 'it''s; fine';
    """
    statements = migrations.split_statements(sql)
    assert len(statements) == 4
    assert statements[1].startswith("/* block; comment */\n    create function f()")
    assert "$$ select 1; $$" in statements[1]
    assert "begin return 2; end" in statements[2]
    assert statements[3] == "select 'it''s; fine'"


def test_split_statements_ignores_trailing_comments_and_empty_statements() -> None:
    assert migrations.split_statements("select 1;;\n-- done\n") == ["select 1"]
    assert migrations.split_statements("select 1") == ["select 1"]


def test_split_statements_does_not_split_inside_parentheses() -> None:
    sql = "create function h() returns int language sql begin atomic (select 1; ) end; select 2;"
    assert len(migrations.split_statements(sql)) == 2


def test_discover_migrations_rejects_names_the_supabase_cli_would_skip(tmp_path: Path) -> None:
    (tmp_path / "20260101000000_ok.sql").write_text("select 1;")
    (tmp_path / "not-a-migration.sql").write_text("select 1;")
    with pytest.raises(ValueError, match=r"not-a-migration\.sql: migration file names must look like"):
        migrations.discover_migrations(tmp_path)


def test_discover_migrations_rejects_duplicate_versions(tmp_path: Path) -> None:
    (tmp_path / "20260101000000_a.sql").write_text("select 1;")
    (tmp_path / "20260101000000_b.sql").write_text("select 1;")
    with pytest.raises(ValueError, match="duplicate migration versions: 20260101000000"):
        migrations.discover_migrations(tmp_path)


def test_discover_migrations_orders_by_name(tmp_path: Path) -> None:
    for name in ("20260102000000_second.sql", "20260101000000_first.sql"):
        (tmp_path / name).write_text("select 1;")
    assert [m.name for m in migrations.discover_migrations(tmp_path)] == ["first", "second"]


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    functions = tmp_path / "functions"
    (functions / "area").mkdir(parents=True)
    (functions / "area" / "one.sql").write_text(
        "create or replace function public.one() returns int language sql as $$ select 1 $$;\n"
    )
    (functions / "two.sql").write_text(
        "create or replace function public.two() returns int language sql as $$ select 2 $$;\n"
    )
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "20261129100000_core.sql").write_text("select 1;")
    return {"functions": functions, "migrations": mig, "lock": tmp_path / "bundle.lock.json"}


def test_bundle_writes_every_function_the_first_time_then_only_changes(project: dict[str, Path]) -> None:
    when = datetime(2026, 12, 1, 8, 30, 0, tzinfo=UTC)
    first = migrations.bundle(when, project["functions"], project["migrations"], project["lock"])
    assert first is not None and first.name == "20261201083000_function_bundle.sql"
    text = first.read_text()
    assert "-- ===== sql/functions/area/one.sql =====" in text
    assert "public.two()" in text
    assert set(json.loads(project["lock"].read_text())) == {"area/one.sql", "two.sql"}

    # Nothing changed: no new migration.
    assert migrations.bundle(when, project["functions"], project["migrations"], project["lock"]) is None

    # One file changed: only it goes into the next bundle.
    (project["functions"] / "two.sql").write_text(
        "create or replace function public.two() returns int language sql as $$ select 22 $$;\n"
    )
    second = migrations.bundle(when, project["functions"], project["migrations"], project["lock"])
    assert second is not None
    assert second.name > first.name, "a later bundle must sort after the earlier one"
    assert "select 22" in second.read_text()
    assert "public.one()" not in second.read_text()


def test_bundle_is_named_after_the_newest_migration_even_when_the_clock_is_behind(
    project: dict[str, Path],
) -> None:
    when = datetime(2020, 1, 1, tzinfo=UTC)
    target = migrations.bundle(when, project["functions"], project["migrations"], project["lock"])
    assert target is not None and target.name == "20261129100001_function_bundle.sql"


def test_repository_migrations_and_functions_are_well_formed() -> None:
    found = migrations.discover_migrations()
    assert found, "the repository has migrations"
    for migration in found:
        text = migration.sql.lower()
        assert "\\connect" not in text and "\n\\" not in text, f"{migration.path.name}: no psql meta-commands"
        assert "create index concurrently" not in text, f"{migration.path.name}: runs inside a transaction"
    for path in migrations.discover_function_files():
        text = path.read_text().lower()
        kind = "procedure" if "create or replace procedure" in text else "function"  # procedures: COMMIT inside
        assert f"create or replace {kind}" in text, f"{path}: function files are idempotent"
        assert f"revoke execute on {kind}" in text, f"{path}: revokes EXECUTE from public"
