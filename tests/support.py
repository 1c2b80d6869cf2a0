"""Helpers tests share: build tenants and act as the roles PostgREST would use."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


def make_shop(conn: psycopg.Connection, domain: str | None = None, **fields: object) -> uuid.UUID:
    domain = domain or f"shop-{uuid.uuid4().hex[:8]}.myshopify.com"
    row = conn.execute(
        "insert into public.shops (domain, name, currency, timezone) values (%s, %s, %s, %s) returning id",
        (
            domain,
            fields.get("name", domain.split(".")[0]),
            fields.get("currency", "USD"),
            fields.get("timezone", "UTC"),
        ),
    ).fetchone()
    assert row is not None
    return row[0]


def make_user(conn: psycopg.Connection, email: str | None = None) -> uuid.UUID:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    row = conn.execute("insert into auth.users (email) values (%s) returning id", (email,)).fetchone()
    assert row is not None
    return row[0]


def add_member(conn: psycopg.Connection, shop_id: uuid.UUID, user_id: uuid.UUID, role: str = "viewer") -> None:
    conn.execute(
        "insert into public.shop_members (shop_id, user_id, role) values (%s, %s, %s)",
        (shop_id, user_id, role),
    )


@contextmanager
def acting_as(conn: psycopg.Connection, role: str, user_id: uuid.UUID | None = None) -> Iterator[None]:
    """Run the block as PostgREST would for this role and user (claims set, role switched).

    Everything runs in a savepoint that is kept: writes the role is allowed stay visible
    afterwards; errors roll the savepoint back and propagate.
    """
    claims = {"role": role, "aud": "authenticated"} if role != "anon" else {"role": "anon"}
    if user_id is not None:
        claims["sub"] = str(user_id)
    with conn.transaction():
        conn.execute("select set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
        conn.execute(f"set local role {role}")
        try:
            yield
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.INERROR:
                conn.execute("reset role")
                conn.execute("select set_config('request.jwt.claims', '', true)")
