"""More of the Supabase shape the embedded cluster must reproduce (infra/local/platform.sql):
the traps and limits a migration meets on a real project should bite locally too."""

from __future__ import annotations

import json

import psycopg
import pytest

from opsdata.core.db import connect, local_url
from opsdata.localstack import LocalCluster
from support import acting_as, make_user


def test_new_tables_are_not_granted_to_the_api_roles_but_new_functions_are_executable_by_anon(
    db: psycopg.Connection,
) -> None:
    # New Supabase projects no longer auto-grant public tables (hence explicit grants in every
    # migration), while Postgres still grants EXECUTE on new functions to PUBLIC (hence the revokes).
    db.execute("create table public.just_made (id int)")
    db.execute("create function public.just_made_fn() returns int language sql as 'select 1'")
    table_privileges = db.execute(
        "select r, has_table_privilege(r, 'public.just_made', 'select') from unnest(array['anon', 'authenticated']) r"
    ).fetchall()
    assert table_privileges == [("anon", False), ("authenticated", False)]
    assert db.execute("select has_function_privilege('anon', 'public.just_made_fn()', 'execute')").fetchone() == (True,)


def test_postgres_cannot_create_untrusted_extensions_or_objects_in_auth(db: psycopg.Connection) -> None:
    denied = psycopg.errors.InsufficientPrivilege
    with pytest.raises(denied, match="permission denied to create extension"), db.transaction():
        db.execute("create extension file_fdw")
    with pytest.raises(denied, match="permission denied for schema auth"), db.transaction():
        db.execute("create table auth.mine (id int)")


def test_plpgsql_check_is_preinstalled_for_supabase_db_lint(db: psycopg.Connection) -> None:
    assert db.execute(
        "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace"
        " where e.extname = 'plpgsql_check'"
    ).fetchone() == ("extensions",)


def test_authenticator_becomes_only_the_api_roles_and_holds_nothing_itself(test_database_url: str) -> None:
    url = test_database_url.replace("postgresql://postgres:", "postgresql://authenticator:", 1)
    with connect(url) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select count(*) from public.shops")  # noinherit: no rights of its own
        for role in ("anon", "authenticated", "service_role"):
            conn.execute(f"set role {role}")
            assert conn.execute("select current_user").fetchone() == (role,)
            conn.execute("reset role")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("set role postgres")


def test_the_cluster_refuses_a_wrong_password(cluster: LocalCluster) -> None:
    url = local_url(cluster.port).replace(":postgres@", ":not-the-password@", 1)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(url, connect_timeout=5)


def test_pg_net_stand_in_queues_requests_for_jobs_only(db: psycopg.Connection) -> None:
    request_id = db.execute(
        "select net.http_post(url => 'https://hooks.example.com/alert', body => %s::jsonb)",
        (json.dumps({"text": "orders are late"}),),
    ).fetchone()[0]
    queued = db.execute("select method, url, body from net.http_request_queue where id = %s", (request_id,))
    assert queued.fetchone() == ("POST", "https://hooks.example.com/alert", {"text": "orders are late"})
    with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "authenticated", make_user(db)):
        db.execute("select net.http_post(url => 'https://example.com')")
