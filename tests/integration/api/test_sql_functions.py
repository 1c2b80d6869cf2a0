"""The API's SQL functions called the way PostgREST calls them: role and claims set in a
transaction, named arguments bound. Same answers as the HTTP API (403 = 42501, not empty)."""

from __future__ import annotations

from uuid import UUID

import psycopg
import pytest
from psycopg import errors

from support import acting_as, add_member, make_shop, make_user


@pytest.fixture
def tenants(db: psycopg.Connection) -> dict:
    alpha, beta = make_shop(db), make_shop(db)
    member, outsider = make_user(db), make_user(db)
    add_member(db, alpha, member, "operator")
    db.execute(
        "insert into public.sync_runs (shop_id, source, started_at, finished_at, status)"
        " select s, 'shopify_orders', now() - g * interval '1 minute', now(), 'succeeded'"
        " from unnest(array[%s, %s]::uuid[]) s, generate_series(1, 5) g",
        (alpha, beta),
    )
    return {"alpha": alpha, "beta": beta, "member": member, "outsider": outsider}


def rpc(db: psycopg.Connection, call: str, args: dict) -> list[tuple]:
    return db.execute(f"select * from {call}", args).fetchall()


def test_member_reads_own_shop_in_pages(db: psycopg.Connection, tenants: dict) -> None:
    with acting_as(db, "authenticated", tenants["member"]):
        page = rpc(db, "public.list_sync_runs(p_shop_id => %(s)s, p_limit => %(n)s)", {"s": tenants["alpha"], "n": 3})
        last = page[-1]
        columns = [c.name for c in db.execute("select * from public.sync_runs limit 0").description]
        started_at, run_id = last[columns.index("started_at")], last[columns.index("id")]
        rest = rpc(
            db,
            "public.list_sync_runs(p_shop_id => %(s)s, p_after_started_at => %(a)s, p_after_id => %(i)s)",
            {"s": tenants["alpha"], "a": started_at, "i": run_id},
        )
        total = db.execute("select public.count_sync_runs(p_shop_id => %s)", (tenants["alpha"],)).fetchone()[0]
    assert len(page) == 3 and len(rest) == 2 and total == 5
    assert {r[columns.index("shop_id")] for r in page + rest} == {tenants["alpha"]}


@pytest.mark.parametrize(
    "call",
    [
        "public.list_sync_runs(p_shop_id => %(s)s)",
        "public.list_sync_runs(p_shop_id => %(s)s, p_source => 'shopify_orders', p_limit => 1)",
        "public.count_sync_runs(p_shop_id => %(s)s)",
        "private.resolve_shop(p_shop => %(s)s::text)",
    ],
)
def test_non_member_gets_42501_not_an_empty_result(db: psycopg.Connection, tenants: dict, call: str) -> None:
    for user, shop in ((tenants["outsider"], tenants["alpha"]), (tenants["member"], tenants["beta"])):
        with pytest.raises(errors.InsufficientPrivilege, match="not a member"), acting_as(db, "authenticated", user):
            rpc(db, call, {"s": shop})


def test_anon_cannot_call_any_api_function(db: psycopg.Connection, tenants: dict) -> None:
    for call in (
        "public.my_shops()",
        "public.list_sync_runs(p_shop_id => %(s)s)",
        "public.count_sync_runs(p_shop_id => %(s)s)",
        "private.api_cache_get(p_material => 'x', p_scope => '{}')",
    ):
        with pytest.raises(errors.InsufficientPrivilege), acting_as(db, "anon"):
            rpc(db, call, {"s": tenants["alpha"]})


def test_app_users_cannot_touch_the_cache(db: psycopg.Connection, tenants: dict) -> None:
    for call in (
        "private.api_cache_get(p_material => 'x', p_scope => '{}')",
        "private.api_cache_key(p_material => 'x', p_scope => '{}')",
        "private.api_cache_put('x', '{}', 'e', '[]', 0, null, 300)",
        "private.api_cache",
    ):
        with pytest.raises(errors.InsufficientPrivilege), acting_as(db, "authenticated", tenants["member"]):
            rpc(db, call, {})


def test_bad_arguments_are_od003(db: psycopg.Connection, tenants: dict) -> None:
    with acting_as(db, "authenticated", tenants["member"]):
        for args in ("p_limit => 0", "p_limit => 501", "p_after_id => 3"):
            with pytest.raises(psycopg.Error) as caught, db.transaction():
                rpc(db, f"public.list_sync_runs(p_shop_id => %(s)s, {args})", {"s": tenants["alpha"]})
            assert caught.value.sqlstate == "OD003"


def test_bound_injection_strings_are_just_values(db: psycopg.Connection, tenants: dict) -> None:
    with acting_as(db, "authenticated", tenants["member"]):
        rows = rpc(
            db,
            "public.list_sync_runs(p_shop_id => %(s)s, p_source => %(x)s)",
            {"s": tenants["alpha"], "x": "x' or '1'='1"},
        )
        with pytest.raises(errors.InvalidParameterValue), db.transaction():
            rpc(db, "private.resolve_shop(p_shop => %(x)s)", {"x": "a' or 1=1 --"})
    assert rows == []


def test_my_shops_and_membership_scope(db: psycopg.Connection, tenants: dict) -> None:
    with acting_as(db, "authenticated", tenants["member"]):
        shops = rpc(db, "public.my_shops()", {})
        scope = db.execute("select private.my_membership_scope()").fetchone()[0]
    assert [(s[0], s[5]) for s in shops] == [(tenants["alpha"], "operator")]
    assert scope == [f"{tenants['alpha']}:operator"]


def test_cache_put_keeps_a_live_entry_and_purge_removes_expired(db: psycopg.Connection) -> None:
    shop = "6f1c3e9a-0000-4000-8000-000000000001"
    scope = [shop]
    put = "select * from private.api_cache_put(%s, %s::text[], 'e', %s, 1, null, %s)"
    first = db.execute(put, ("m", scope, "[1]", 300)).fetchone()
    second = db.execute(put, ("m", scope, "[2]", 600)).fetchone()
    assert first[0] == second[0]  # the live entry stays; the second writer learns its expiry
    get = "select data from private.api_cache_get(%s, %s::text[])"
    assert db.execute(get, ("m", scope)).fetchone()[0] == "[1]"
    # the same material in another scope, or other material in the same scope, is another entry
    assert db.execute(get, ("m", ["6f1c3e9a-0000-4000-8000-000000000002"])).fetchone() is None
    assert db.execute(get, ("m2", scope)).fetchone() is None
    stored = db.execute(
        "select shop_ids, key = private.api_cache_key('m', %s::text[]) from private.api_cache where data = '[1]'",
        (scope,),
    ).fetchone()
    assert stored == ([UUID(shop)], True)
    # a membership scope ('shop_id:role' strings) covers those shops
    db.execute(put, ("mine", [f"{shop}:admin"], "[3]", 300))
    assert db.execute("select shop_ids from private.api_cache where data = '[3]'").fetchone()[0] == [UUID(shop)]
    with pytest.raises(psycopg.Error) as caught, db.transaction():
        db.execute(put, ("other", scope, "[]", 60))
    assert caught.value.sqlstate == "OD003"
    other = db.execute("select private.api_cache_key('expired', %s::text[])", (scope,)).fetchone()[0]
    db.execute(
        "insert into private.api_cache (key, endpoint, shop_ids, data, created_at, expires_at)"
        " values (%s, 'e', '{}', '[]', now() - interval '2 hours', now() - interval '1 hour')",
        (other,),
    )
    assert db.execute(get, ("expired", scope)).fetchone() is None
    run_id = db.execute("select private.run_job('purge_api_cache')").fetchone()[0]
    result = db.execute("select status, result from private.job_runs where id = %s", (run_id,)).fetchone()
    assert result == ("succeeded", {"deleted": 1})
    assert db.execute("select count(*) from private.api_cache where key = %s", (other,)).fetchone()[0] == 0
