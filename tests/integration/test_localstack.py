"""The embedded cluster is shaped like a Supabase project, so grant and RLS bugs show up locally."""

from __future__ import annotations

import json

import psycopg
import pytest

from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.localstack import LocalCluster
from support import acting_as, make_user


def test_postgres_is_not_a_superuser_and_api_roles_have_supabase_attributes(db: psycopg.Connection) -> None:
    roles = {
        r[0]: r[1:]
        for r in db.execute(
            "select rolname, rolsuper, rolcanlogin, rolbypassrls, rolinherit from pg_roles"
            " where rolname in ('postgres','anon','authenticated','service_role','authenticator')"
        )
    }
    assert roles["postgres"] == (False, True, True, True)
    assert roles["anon"] == (False, False, False, True)
    assert roles["authenticated"] == (False, False, False, True)
    assert roles["service_role"] == (False, False, True, True)
    assert roles["authenticator"] == (False, True, False, False)


def test_api_roles_carry_postgrest_timeouts(db: psycopg.Connection) -> None:
    configs = dict(
        db.execute(
            "select rolname, array_to_string(rolconfig, ',') from pg_roles where rolname in ('anon','authenticated')"
        ).fetchall()
    )
    assert "statement_timeout=3s" in configs["anon"]
    assert "statement_timeout=8s" in configs["authenticated"]


def test_auth_uid_reads_request_claims_and_is_null_after_the_transaction(test_database_url: str) -> None:
    with connect(test_database_url) as conn:
        with conn.transaction(force_rollback=True):
            user_id = make_user(conn)
            with acting_as(conn, "authenticated", user_id):
                assert conn.execute("select auth.uid(), auth.role()").fetchone() == (user_id, "authenticated")
        # After the transaction the setting reads '' (not NULL): the helpers must cope.
        assert conn.execute("select current_setting('request.jwt.claims', true)").fetchone() in (
            ("",),
            (None,),
        )
        assert conn.execute("select auth.uid(), auth.jwt()").fetchone() == (None, None)


def test_realtime_send_stand_in_records_broadcasts(db: psycopg.Connection) -> None:
    db.execute("select realtime.send(%s::jsonb, 'metric', 'metrics:shop', true)", (json.dumps({"n": 1}),))
    assert db.execute(
        "select topic, event, payload, private from realtime.sent_messages order by id desc limit 1"
    ).fetchone() == ("metrics:shop", "metric", {"n": 1}, True)


def test_authenticated_users_cannot_broadcast_through_the_stand_in(db: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "authenticated", make_user(db)):
        db.execute("select realtime.send('{}'::jsonb, 'e', 't', true)")


def test_the_main_database_has_pg_cron_pgtap_and_the_realtime_publication(cluster: LocalCluster) -> None:
    with connect(cluster.url()) as conn:
        extensions = {r[0] for r in conn.execute("select extname from pg_extension")}
        assert {"pg_cron", "pgtap", "pgcrypto", "uuid-ossp"} <= extensions
        assert conn.execute("select count(*) from pg_publication where pubname = 'supabase_realtime'").fetchone() == (
            1,
        )


def test_jobs_declared_by_migrations_are_scheduled_in_pg_cron(cluster: LocalCluster) -> None:
    # pg_cron runs only in `postgres` (cron.database_name), as on Supabase.
    with connect(cluster.url()) as conn:
        migrations.migrate(conn)
        jobs = dict(conn.execute("select jobname, command from cron.job").fetchall())
        declared = conn.execute("select name, per_shop from private.jobs").fetchall()
    assert declared
    for name, per_shop in declared:  # per-shop jobs commit shop by shop (a procedure)
        expected = f"call private.run_job_by_shop('{name}')" if per_shop else f"select private.run_job('{name}')"
        assert jobs[name] == expected


def test_up_is_idempotent_and_reports_the_running_cluster(cluster: LocalCluster) -> None:
    first = cluster.up()
    second = cluster.up()
    assert first == second
    assert second.running and second.initialized and second.port == cluster.port
