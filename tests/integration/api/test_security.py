"""Security of the read API over real HTTP: tokens, cross-shop reads, injection, query strings,
cursors, removed members and the cache, identity on a reused connection."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from api_support import SigningKeys, claims_for
from opsdata.api.app import ApiContext
from opsdata.core.db import connect
from opsdata.core.settings import LOCAL_JWT_SECRET
from support import add_member, make_shop, make_user

from .conftest import World

ROUTES = ["/api/data/shops", "/api/data/sync-runs?shop=alpha.test.myshopify.com", "/api/data/openapi.json"]


def _token_cases(world: World, keys: SigningKeys) -> dict[str, str | None]:
    now = int(time.time())
    user = world.alice
    anon_key = jwt.encode({"iss": "supabase", "role": "anon", "iat": now, "exp": now + 10**8}, LOCAL_JWT_SECRET)
    service_key = jwt.encode(
        {"iss": "supabase", "role": "service_role", "iat": now, "exp": now + 10**8}, LOCAL_JWT_SECRET
    )
    unsigned = jwt.encode(claims_for(user), None, algorithm="none")
    return {
        "missing": None,
        "malformed": "definitely.not.a-token",
        "expired": world.token(user, iat=now - 3600, exp=now - 60),
        "issued in the future": world.token(user, iat=now + 300),
        "wrong audience": world.token(user, aud="somebody-else"),
        "wrong issuer": world.token(user, iss="https://abcdefgh.supabase.co/auth/v1"),
        "alg none": unsigned,
        "unknown key": jwt.encode(claims_for(user), SigningKeys().ec_key, algorithm="ES256", headers={"kid": "nope"}),
        "legacy anon key": anon_key,
        "legacy service_role key": service_key,
        "HS/RS confusion": jwt.encode(claims_for(user), keys.rsa_key, algorithm="RS256", headers={"kid": keys.ec_kid}),
    }


@pytest.mark.parametrize("route", ROUTES)
def test_every_rejected_token_is_401_with_a_challenge(
    api: httpx.Client, world: World, signing_keys: SigningKeys, route: str
) -> None:
    for case, token in _token_cases(world, signing_keys).items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = api.get(route, headers=headers)
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"].startswith('Bearer realm="opsdata"'), case
        if token:
            assert 'error="invalid_token"' in response.headers["www-authenticate"], case
        assert response.json()["error"]["code"] == "invalid_token", case


def test_es256_and_rs256_tokens_from_the_jwks_are_accepted(
    api: httpx.Client, world: World, signing_keys: SigningKeys
) -> None:
    for key, alg, kid in (
        (signing_keys.ec_key, "ES256", signing_keys.ec_kid),
        (signing_keys.rsa_key, "RS256", signing_keys.rsa_kid),
    ):
        token = jwt.encode(claims_for(world.alice), key, algorithm=alg, headers={"kid": kid})
        response = api.get("/api/data/shops", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("shop", ["beta.test.myshopify.com", "BETA.test.myshopify.com", "nosuch.myshopify.com"])
def test_cross_shop_reads_are_403_not_empty(api: httpx.Client, world: World, shop: str) -> None:
    for params in ({"shop": shop}, {"shop": shop, "source": "shopify_orders", "limit": 1}):
        response = api.get("/api/data/sync-runs", params=params, headers=world.auth(world.alice))
        assert response.status_code == 403
        assert response.json()["error"] == {
            "code": "42501",
            "message": "not a member of this shop",
            "details": {"hint": "GET /api/data/shops (or rpc my_shops) lists the shops you can read"},
        }
    by_id = api.get("/api/data/sync-runs", params={"shop": str(world.beta)}, headers=world.auth(world.alice))
    assert by_id.status_code == 403
    random_id = api.get("/api/data/sync-runs", params={"shop": str(uuid.uuid4())}, headers=world.auth(world.alice))
    assert random_id.status_code == 403


INJECTIONS = [
    "' or '1'='1",
    "alpha.test.myshopify.com' or 1=1 --",
    "1; drop table public.sync_runs; --",
    "shopify_orders') or true --",
    "$$ select 1 $$",
    "\\' union select * from auth.users --",
    "%27%20OR%201=1",
    "shopify_orders;select pg_sleep(5)",
]


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_in_every_parameter_is_refused_and_harmless(api: httpx.Client, world: World, value: str) -> None:
    headers = world.auth(world.alice)
    base = {"shop": "alpha.test.myshopify.com", "limit": "5"}
    for name in ("shop", "source", "limit", "cursor"):
        response = api.get("/api/data/sync-runs", params={**base, name: value}, headers=headers)
        assert response.status_code in (400, 403), (name, response.text)
        assert response.json()["error"]["code"] in ("invalid_parameter", "invalid_cursor", "22023", "42501")
    response = api.get("/api/data/shops", params={"x": value}, headers=headers)
    assert response.status_code == 400
    with connect(world.url) as conn:
        assert conn.execute("select count(*) from public.sync_runs").fetchone()[0] == 150


def test_oversized_and_malformed_query_strings(api: httpx.Client, world: World) -> None:
    headers = world.auth(world.alice)
    too_long = api.get("/api/data/sync-runs?shop=" + "a" * 5000, headers=headers)
    assert too_long.status_code == 414 and too_long.json()["error"]["code"] == "query_too_long"
    cases = {
        "shop=%ff%fe": "malformed_query",
        "shop=alpha.test.myshopify.com%00": "invalid_parameter",
        "shop=alpha.test.myshopify.com&shop=beta.test.myshopify.com": "repeated_parameter",
        "shop=alpha.test.myshopify.com&sorce=ga4": "unknown_parameter",
        "shop=alpha.test.myshopify.com&limit=1e3": "invalid_parameter",
        "shop=alpha.test.myshopify.com&source=GA4": "invalid_parameter",
        "shop=" + "x" * 300: "invalid_parameter",
    }
    for query, code in cases.items():
        response = api.get(f"/api/data/sync-runs?{query}", headers=headers)
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == code, query


def test_tampered_and_foreign_cursors_are_400(api: httpx.Client, world: World) -> None:
    headers = world.auth(world.carol)
    first = api.get("/api/data/sync-runs", params={"shop": "alpha.test.myshopify.com", "limit": 2}, headers=headers)
    cursor = first.json()["meta"]["next_cursor"]
    version, payload, signature = cursor.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    cases = {
        f"{version}.{flipped}.{signature}": "modified",
        "v0." + payload + "." + signature: "format",
        cursor[:-3]: "modified",
    }
    for bad, words in cases.items():
        response = api.get(
            "/api/data/sync-runs",
            params={"shop": "alpha.test.myshopify.com", "limit": 2, "cursor": bad},
            headers=headers,
        )
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_cursor"
        assert words in response.json()["error"]["message"]
    # carol may read beta too, but alpha's cursor does not page beta
    foreign = api.get(
        "/api/data/sync-runs", params={"shop": "beta.test.myshopify.com", "cursor": cursor}, headers=headers
    )
    assert foreign.status_code == 400 and "other parameters" in foreign.json()["error"]["message"]
    filtered = api.get(
        "/api/data/sync-runs",
        params={"shop": "alpha.test.myshopify.com", "source": "ga4", "cursor": cursor},
        headers=headers,
    )
    assert filtered.status_code == 400
    # the page size may change between pages
    resized = api.get(
        "/api/data/sync-runs",
        params={"shop": "alpha.test.myshopify.com", "limit": 5, "cursor": cursor},
        headers=headers,
    )
    assert resized.status_code == 200 and len(resized.json()["data"]) == 5


def test_a_removed_member_is_never_served_from_the_cache(api: httpx.Client, world: World) -> None:
    # Given two members of a fresh shop, one of whom filled the cache
    with connect(world.url) as conn, conn.transaction():
        shop = make_shop(conn)
        erin, frank = make_user(conn), make_user(conn)
        add_member(conn, shop, erin)
        add_member(conn, shop, frank)
    params = {"shop": str(shop)}
    assert api.get("/api/data/sync-runs", params=params, headers=world.auth(erin)).json()["meta"]["cached"] is False
    assert api.get("/api/data/sync-runs", params=params, headers=world.auth(frank)).json()["meta"]["cached"] is True
    shops_before = api.get("/api/data/shops", headers=world.auth(erin)).json()
    # When erin loses her membership
    with connect(world.url) as conn:
        conn.execute("delete from public.shop_members where user_id = %s", (erin,))
    # Then the live cache entry is not served to her, by either route
    assert api.get("/api/data/sync-runs", params=params, headers=world.auth(erin)).status_code == 403
    shops_after = api.get("/api/data/shops", headers=world.auth(erin)).json()
    assert [s["id"] for s in shops_before["data"]] == [str(shop)] and shops_after["data"] == []
    assert api.get("/api/data/sync-runs", params=params, headers=world.auth(frank)).json()["meta"]["cached"] is True


def test_cache_entries_are_never_shared_across_shops(api: httpx.Client, world: World) -> None:
    alpha = api.get(
        "/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 9}, headers=world.auth(world.carol)
    )
    beta = api.get("/api/data/sync-runs", params={"shop": str(world.beta), "limit": 9}, headers=world.auth(world.carol))
    assert {r["shop_id"] for r in alpha.json()["data"]} == {str(world.alpha)}
    assert {r["shop_id"] for r in beta.json()["data"]} == {str(world.beta)}


def _connection_state(ctx: ApiContext) -> tuple:
    return ctx.slots.run(
        lambda conn: conn.execute(
            "select current_user, nullif(current_setting('request.jwt.claims', true), ''), auth.uid(),"
            " current_setting('statement_timeout'), current_setting('transaction_read_only'),"
            " nullif(current_setting('opsdata.scope', true), '')"
        ).fetchone()
    )


def test_no_identity_survives_a_request_on_the_reused_connection(
    api: httpx.Client, world: World, api_context: ApiContext
) -> None:
    baseline = _connection_state(api_context)
    assert baseline[:3] == ("postgres", None, None) and baseline[5] is None
    for response in (
        api.get("/api/data/sync-runs", params={"shop": str(world.alpha), "limit": 11}, headers=world.auth(world.alice)),
        api.get("/api/data/sync-runs", params={"shop": str(world.beta)}, headers=world.auth(world.alice)),  # 403
        api.get(
            "/api/data/sync-runs",
            params={"shop": str(world.alpha), "cursor": "v1.x.y"},
            headers=world.auth(world.alice),
        ),
        api.get("/api/data/shops", headers=world.auth(world.carol)),
    ):
        assert response.status_code in (200, 400, 403)
        assert _connection_state(api_context) == baseline
    # and the next user sees only their own data on that same connection
    assert [s["role"] for s in api.get("/api/data/shops", headers=world.auth(world.bob)).json()["data"]] == ["admin"]


def test_a_dead_connection_is_replaced_transparently(api: httpx.Client, world: World, api_context: ApiContext) -> None:
    pid = api_context.slots.run(lambda conn: conn.info.backend_pid)
    with connect(world.url) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    before = api_context.slots.reconnects
    response = api.get("/api/data/shops", headers=world.auth(world.alice))
    assert response.status_code == 200
    assert api_context.slots.reconnects == before + 1
    assert api_context.slots.run(lambda conn: conn.info.backend_pid) != pid


def test_unreachable_jwks_is_503_not_401(world: World, signing_keys: SigningKeys) -> None:
    from api_support import free_port, running_server
    from opsdata.api.app import build_context, create_app

    from .conftest import api_settings

    dead_jwks = f"http://127.0.0.1:{free_port()}/auth/v1/.well-known/jwks.json"
    ctx = build_context(api_settings(world.url, supabase_jwks_url=dead_jwks, api_connections=1))
    token = jwt.encode(
        claims_for(world.alice), signing_keys.ec_key, algorithm="ES256", headers={"kid": signing_keys.ec_kid}
    )
    with running_server(create_app(context=ctx)) as base, httpx.Client(base_url=base) as client:
        response = client.get("/api/data/shops", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503 and response.json()["error"]["code"] == "keys_unavailable"
        # HS256 tokens do not depend on the JWKS
        assert client.get("/api/data/shops", headers=world.auth(world.alice)).status_code == 200
    ctx.slots.close()


def test_a_function_failing_on_a_cache_miss_leaves_no_identity_behind(world: World, api_context: ApiContext) -> None:
    """The miss path's own transaction (page, total) fails inside Postgres: the caller gets the
    mapped error, and the reused connection is back to its own role, without claims or scope."""
    from api_support import running_server
    from opsdata.api.app import create_app
    from opsdata.api.endpoint import ApiItem, Endpoint, ShopParams

    with connect(world.url) as conn:
        conn.execute(
            "create or replace function public.test_always_fails(p_shop_id uuid) returns setof public.sync_runs"
            " language plpgsql stable set search_path = '' as $$"
            " begin perform private.assert_shop_member(p_shop_id);"
            " raise exception 'this report is broken' using errcode = 'P0001'; end $$;"
            " grant execute on function public.test_always_fails(uuid) to authenticated"
        )
    failing = Endpoint(
        path="/api/data/always-fails", function="public.test_always_fails", params=ShopParams, item=ApiItem,
        summary="fails", ttl_minutes=5,
    )  # fmt: skip
    baseline = _connection_state(api_context)
    with (
        running_server(create_app(context=api_context, endpoints=[failing])) as base,
        httpx.Client(base_url=base) as client,
    ):
        response = client.get("/api/data/always-fails?shop=alpha.test.myshopify.com", headers=world.auth(world.alice))
        assert response.status_code == 400 and response.json()["error"]["message"] == "this report is broken"
        assert _connection_state(api_context) == baseline
        forbidden = client.get("/api/data/always-fails?shop=beta.test.myshopify.com", headers=world.auth(world.alice))
        assert forbidden.status_code == 403
        assert _connection_state(api_context) == baseline
