"""A committed database with two shops and four users, and the read API serving it over HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from api_support import JwksServer, SigningKeys, hs256_token, running_server
from opsdata.api.app import ApiContext, build_context, create_app
from opsdata.core.db import connect
from opsdata.core.settings import Settings
from opsdata.localstack import LocalCluster
from support import add_member, make_shop, make_user


@dataclass
class World:
    url: str
    alpha: uuid.UUID  # alpha.test.myshopify.com: 130 runs (100 shopify_orders, 30 ga4)
    beta: uuid.UUID  # beta.test.myshopify.com: 20 runs
    alice: uuid.UUID  # viewer of alpha
    bob: uuid.UUID  # admin of beta
    carol: uuid.UUID  # operator of alpha and beta
    dave: uuid.UUID  # member of nothing

    def token(self, user: uuid.UUID, **claims: object) -> str:
        return hs256_token(user, **claims)

    def auth(self, user: uuid.UUID) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}


@pytest.fixture(scope="module")
def world(cluster: LocalCluster, template_database: str) -> Iterator[World]:
    name = f"opsdata_fresh_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" template "{template_database}" owner postgres')
    url = cluster.url(name)
    with connect(url) as conn, conn.transaction():
        alpha = make_shop(conn, "alpha.test.myshopify.com", name="Alpha")
        beta = make_shop(conn, "beta.test.myshopify.com", name="Beta")
        alice, bob, carol, dave = (make_user(conn, f"{n}@example.com") for n in ("alice", "bob", "carol", "dave"))
        add_member(conn, alpha, alice, "viewer")
        add_member(conn, beta, bob, "admin")
        add_member(conn, alpha, carol, "operator")
        add_member(conn, beta, carol, "operator")
        conn.execute(
            """
            insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, error)
            select %(alpha)s, case when g %% 10 < 7 then 'shopify_orders' else 'ga4' end,
                   timestamptz '2026-11-01' + g * interval '1 hour' - (g %% 3) * interval '1 hour',
                   timestamptz '2026-11-01' + g * interval '1 hour', 'succeeded', g, null
            from generate_series(1, 130) g
            union all
            select %(beta)s, 'shopify_orders', timestamptz '2026-11-01' + g * interval '1 hour',
                   null, 'running', 0, null
            from generate_series(1, 20) g
            """,
            {"alpha": alpha, "beta": beta},
        )
    yield World(url, alpha, beta, alice, bob, carol, dave)
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def signing_keys() -> SigningKeys:
    return SigningKeys()


@pytest.fixture(scope="module")
def jwks(signing_keys: SigningKeys) -> Iterator[JwksServer]:
    with JwksServer(signing_keys.jwks()) as server:
        yield server


def api_settings(database_url: str, **update: object) -> Settings:
    return Settings().model_copy(update={"database_url": database_url, **update})


@pytest.fixture(scope="module")
def api_context(world: World, jwks: JwksServer) -> Iterator[ApiContext]:
    # One connection, as on Lambda: every request reuses it (identity leaks would show).
    ctx = build_context(api_settings(world.url, supabase_jwks_url=jwks.url, api_connections=1))
    yield ctx
    ctx.slots.close()


@pytest.fixture(scope="module")
def api(api_context: ApiContext) -> Iterator[httpx.Client]:
    with running_server(create_app(context=api_context)) as base_url, httpx.Client(base_url=base_url) as client:
        yield client
