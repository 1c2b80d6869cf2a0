"""`opsdata token` and `opsdata serve`: curl the local read API in one step."""

from __future__ import annotations

import os
import time
import uuid

import click

from opsdata.core.settings import get_settings

# Twice the cores: a worker waiting on the database leaves its core to another (as gunicorn's
# sync workers are sized); a slow request holds up only its own worker.
DEFAULT_WORKERS = 2 * (os.cpu_count() or 1)


def make_token(user_id: str, email: str, *, ttl_seconds: int = 3600) -> str:
    """An access token shaped like Supabase Auth's, signed with the configured HS256 secret."""
    import jwt

    settings = get_settings()
    if settings.supabase_jwt_secret is None or not settings.supabase_jwt_secret.get_secret_value():
        raise click.ClickException("SUPABASE_JWT_SECRET is empty: no secret to sign a local token with")
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": "authenticated",
        "sub": user_id,
        "email": email,
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, settings.supabase_jwt_secret.get_secret_value(), algorithm="HS256")


@click.command("token")
@click.option("--email", required=True, help="The user (created in auth.users if missing).")
@click.option("--shop", "domain", required=True, help="Shop domain the user becomes a member of.")
@click.option(
    "--role",
    type=click.Choice(["viewer", "operator", "admin"]),
    default=None,
    help="Membership role (default: keep the current one, viewer for a new member).",
)
@click.option("--create-shop", is_flag=True, help="Create the shop if it does not exist (otherwise an error).")
@click.option("--ttl", "ttl_minutes", type=click.IntRange(1, 24 * 60), default=60, show_default=True, help="Minutes.")
def token(email: str, domain: str, role: str | None, create_shop: bool, ttl_minutes: int) -> None:
    """Print a local access token for EMAIL as a member of the shop DOMAIN.

    For local development only: signed with SUPABASE_JWT_SECRET (the Supabase CLI's local
    default unless set), accepted by `opsdata serve`.
    """
    import psycopg

    from opsdata.cli import _ensure_database
    from opsdata.core.db import connect

    domain = domain.strip().lower()
    with connect(_ensure_database()) as conn, conn.transaction():
        row = conn.execute("select id from public.shops where domain = %s", (domain,)).fetchone()
        if row is None and not create_shop:
            known = [r[0] for r in conn.execute("select domain from public.shops order by domain limit 20")]
            hint = f" Known shops: {', '.join(known)}." if known else " No shop exists yet (run `make demo`)."
            raise click.ClickException(f"no shop with domain {domain}.{hint} Or pass --create-shop.")
        if row is None:
            try:
                row = conn.execute(
                    "insert into public.shops (domain, name) values (%s, %s) returning id",
                    (domain, domain.split(".")[0]),
                ).fetchone()
            except psycopg.errors.CheckViolation as exc:
                raise click.ClickException(f"{domain} is not a valid shop domain") from exc
        shop_id = row[0]
        user = conn.execute(
            "insert into auth.users (email) values (%s) on conflict (email) do update set updated_at = now()"
            " returning id",
            (email,),
        ).fetchone()
        user_id = user[0]
        conn.execute(
            "insert into public.shop_members (shop_id, user_id, role) values (%s, %s, %s)"
            " on conflict (shop_id, user_id) do update set role = coalesce(%s, shop_members.role)",
            (shop_id, user_id, role or "viewer", role),
        )
    click.echo(make_token(str(user_id), email, ttl_seconds=ttl_minutes * 60))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Worker processes; each serves one request at a time with one database connection.",
)
def serve(host: str, port: int, workers: int) -> None:
    """Run the read API locally (uvicorn), against DATABASE_URL or the embedded cluster."""
    import uvicorn

    from opsdata.cli import _ensure_database

    _ensure_database()
    click.echo(
        f"opsdata read API on http://{host}:{port} (OpenAPI: /api/data/openapi.json), {workers} worker(s)", err=True
    )
    uvicorn.run(
        "opsdata.api.app:create_worker_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )
