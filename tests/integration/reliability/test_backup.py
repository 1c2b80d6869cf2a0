"""Backups against real databases: round trip, refusal, corruption, catalog discovery, CLI."""

from __future__ import annotations

import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from opsdata import cli
from opsdata.core.db import connect
from opsdata.reliability.backup import (
    BackupError,
    compare_with_manifest,
    discover_tables,
    read_backup,
    restore_backup,
    verify_in_scratch,
    write_backup,
)
from support import add_member, make_shop, make_user


def fill(url: str) -> dict[str, uuid.UUID]:
    """A shop with a bit of everything, including identity columns, FKs to auth.users and odd text."""
    with connect(url) as conn, conn.transaction():
        shop = make_shop(conn, "backup.myshopify.com", name="Backup \t Shop\nwith \\ odd text")
        user = make_user(conn, "owner@backup.test")
        add_member(conn, shop, user, "admin")
        conn.execute(
            "insert into public.products (shop_id, id, title, handle, price, inventory) values"
            " (%s, 1, 'Mug', 'mug', 12.50, null), (%s, 2, 'Tea ☕', 'tea', 5, 3)",
            (shop, shop),
        )
        conn.execute(
            "insert into public.shopify_orders (shop_id, id, created_at, processed_at, currency, subtotal, total)"
            " select %s, n, now() - n * interval '1 hour', now(), 'USD', n, n from generate_series(1, 50) n",
            (shop,),
        )
        conn.execute(
            "insert into public.shopify_order_lines (shop_id, order_id, line_id, product_id, quantity,"
            " current_quantity, unit_price, discounted_total)"
            " select %s, n, n, 1 + n %% 2, 1, 1, 5, 5 from generate_series(1, 50) n",
            (shop,),
        )
        conn.execute(
            "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, details)"
            " select %s, 'shopify', now() - n * interval '1 day', now() - n * interval '1 day' + interval '1 minute',"
            " 'succeeded', 100, '{\"cursor\": \"a\\\\nb\"}' from generate_series(1, 10) n",
            (shop,),
        )
        conn.execute("select private.run_quality_checks()")
        conn.execute("select private.enqueue_alert(%s, 'anomaly', 'warning', 'shopify', 't', 'm', '{}', 'x')", (shop,))
    return {"shop": shop, "user": user}


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every backed-up table's rows in key order: what "restore equals original" compares."""
    with connect(url) as conn:
        out = {}
        for table in discover_tables(conn):
            order = ", ".join(f'"{c}"' for c in (table.pk or table.columns))
            cols = ", ".join(f'"{c}"' for c in table.columns)
            out[f"{table.schema}.{table.name}"] = conn.execute(
                f'select {cols} from "{table.schema}"."{table.name}" order by {order}'
            ).fetchall()
        return out


@pytest.fixture
def original(fresh_database_url: str) -> str:
    fill(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def backup_file(original: str, tmp_path: Path) -> Path:
    return write_backup(original, tmp_path)


@pytest.fixture
def empty_database(cluster, template_database: str):
    """A second migrated database with no data (the original is `fresh_database_url`)."""
    from conftest import SESSION_TAG, create_database_from

    name = f"opsdata_fresh_{SESSION_TAG}_{uuid.uuid4().hex[:8]}_target"
    url = create_database_from(cluster, name, template_database)
    yield url
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def add_users_like(source_url: str, target_url: str) -> None:
    """Supabase Auth keeps users when the database is restored in the same project."""
    with connect(source_url) as src, connect(target_url) as dst:
        for uid, email in src.execute("select id, email from auth.users").fetchall():
            dst.execute("insert into auth.users (id, email) values (%s, %s)", (uid, email))


def test_restore_equals_original(original: str, backup_file: Path, empty_database: str) -> None:
    add_users_like(original, empty_database)
    report = restore_backup(empty_database, backup_file)
    assert report.rows == sum(t.rows for t in read_backup(backup_file).tables)
    assert snapshot(empty_database) == snapshot(original)
    # identity columns continue after the restored ids
    with connect(empty_database) as conn:
        new_id = conn.execute(
            "insert into public.sync_runs (shop_id, source) select id, 'ga' from public.shops returning id"
        ).fetchone()[0]
        assert new_id > conn.execute("select max(id) from public.sync_runs where source = 'shopify'").fetchone()[0]


def test_the_manifest_records_schema_version_counts_and_checksums(original: str, backup_file: Path) -> None:
    manifest = read_backup(backup_file)
    with connect(original) as conn:
        versions = [v for (v,) in conn.execute("select version from supabase_migrations.schema_migrations order by 1")]
        orders = conn.execute("select count(*) from public.shopify_orders").fetchone()[0]
    assert manifest.migrations == versions
    by_name = {t.qualified: t for t in manifest.tables}
    assert by_name["public.shopify_orders"].rows == orders == 50
    assert by_name["private.jobs"].seeded and not by_name["public.shops"].seeded
    assert all(len(t.sha256) == 64 and len(t.file_sha256) == 64 for t in manifest.tables)
    names = list(by_name)
    assert (
        names.index("public.shops") < names.index("public.shopify_orders") < names.index("public.shopify_order_lines")
    )
    assert [r.values for r in manifest.external_refs if r.table == "users"] != []


def test_restore_refuses_a_database_with_data_unless_forced(original: str, backup_file: Path) -> None:
    with pytest.raises(BackupError, match=r"not empty .*public\.shop"):
        restore_backup(original, backup_file)
    with connect(original) as conn:
        conn.execute("update public.shops set name = 'changed after the backup'")
        conn.execute("insert into public.sync_runs (shop_id, source) select id, 'late' from public.shops")
    report = restore_backup(original, backup_file, force=True)
    assert report.replaced_existing
    assert compare_with_manifest(original, read_backup(backup_file)).ok


def test_restore_names_missing_auth_users(backup_file: Path, empty_database: str) -> None:
    with pytest.raises(BackupError, match=r"auth\.users row\(s\) the backup refers to are missing"):
        restore_backup(empty_database, backup_file)
    with connect(empty_database) as conn:
        assert conn.execute("select count(*) from public.shops").fetchone()[0] == 0


def test_verify_restores_into_a_scratch_database_and_compares(backup_file: Path) -> None:
    report = verify_in_scratch(backup_file)
    assert report.ok
    assert {c.table for c in report.tables} >= {"public.shops", "public.alerts", "private.job_runs"}


def test_compare_notices_a_changed_row(original: str, backup_file: Path) -> None:
    with connect(original) as conn:
        conn.execute("update public.products set price = 13 where id = 1")
    report = compare_with_manifest(original, read_backup(backup_file))
    assert not report.ok
    assert [c.table for c in report.tables if not c.matches] == ["public.products"]


def _rewrite(src: Path, dst: Path, member: str, change) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for info in tin.getmembers():
            data = tin.extractfile(info).read()
            if info.name == member:
                data = change(data)
                info.size = len(data)
            tout.addfile(info, __import__("io").BytesIO(data))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("truncate", "truncated|damaged|missing"),
        ("flip_data", r"data/public\.shopify_orders\.copy\.gz .*(altered|damaged|does not match)"),
        ("manifest", "manifest.json does not match manifest.sha256"),
    ],
)
def test_a_damaged_backup_is_rejected_before_anything_is_written(
    backup_file: Path, empty_database: str, tmp_path: Path, damage: str, message: str
) -> None:
    bad = tmp_path / "bad" / backup_file.name
    bad.parent.mkdir()
    if damage == "truncate":
        data = backup_file.read_bytes()
        bad.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "flip_data":
        _rewrite(backup_file, bad, "data/public.shopify_orders.copy.gz", lambda d: d[:40] + bytes([d[40] ^ 1]) + d[41:])
    else:
        _rewrite(backup_file, bad, "manifest.json", lambda d: d.replace(b'"rows": 50', b'"rows": 51'))
    with pytest.raises(BackupError, match=message):
        read_backup(bad)
    with pytest.raises(BackupError, match=message):
        restore_backup(empty_database, bad, create_missing_refs=True)
    with connect(empty_database) as conn:
        assert conn.execute("select count(*) from public.shops").fetchone()[0] == 0


def test_tables_added_later_are_discovered_and_caches_are_not(fresh_database_url: str) -> None:
    with connect(fresh_database_url) as conn:
        conn.execute("create table public.later_feature (id int primary key, note text)")
        conn.execute("alter table public.later_feature enable row level security")
        conn.execute("insert into public.later_feature values (1, 'kept')")
        conn.execute("create table private.api_response_cache (k text primary key)")
        conn.execute("create table public.scratchpad (k text)")
        conn.execute("comment on table public.scratchpad is 'temporary [backup: skip]'")
        names = {f"{t.schema}.{t.name}" for t in discover_tables(conn)}
    assert "public.later_feature" in names
    assert "private.api_response_cache" not in names and "public.scratchpad" not in names


def test_the_cli_creates_verifies_and_restores(use_database: str, tmp_path: Path) -> None:
    fill(use_database)
    runner = CliRunner()
    result = runner.invoke(cli.main, ["backup", "create", "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [path] = list(tmp_path.glob("opsdata-backup-*.tar"))
    result = runner.invoke(cli.main, ["backup", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "counts and checksums match" in result.output
    result = runner.invoke(cli.main, ["backup", "restore", str(path)])
    assert result.exit_code == 1 and "not empty" in result.output
    result = runner.invoke(cli.main, ["backup", "restore", str(path), "--force"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli.main, ["backup", "restore", str(tmp_path / "missing.tar")])
    assert result.exit_code == 1 and "no such backup file" in result.output


def test_no_partial_file_is_left_when_the_database_fails(tmp_path: Path) -> None:
    with pytest.raises(psycopg.OperationalError):
        write_backup("postgresql://postgres:postgres@127.0.0.1:9/none", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_session_time_zone_and_date_style_do_not_change_the_backup(
    original: str, empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libpq applies PGTZ / PGDATESTYLE to new sessions: a backup taken by a client set up like this
    monkeypatch.setenv("PGTZ", "Asia/Kolkata")
    monkeypatch.setenv("PGDATESTYLE", "SQL, DMY")
    path = write_backup(original, tmp_path)
    monkeypatch.setenv("PGTZ", "America/Los_Angeles")
    monkeypatch.setenv("PGDATESTYLE", "German")
    add_users_like(original, empty_database)
    restore_backup(empty_database, path)
    monkeypatch.delenv("PGTZ")
    monkeypatch.delenv("PGDATESTYLE")
    assert compare_with_manifest(empty_database, read_backup(path)).ok
    assert snapshot(empty_database) == snapshot(original)
