"""Database connections.

psycopg 3 with prepare_threshold=None everywhere: Supabase's transaction pooler (port 6543),
like PgBouncer in transaction mode, breaks server-side prepared statements.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg

from opsdata.core.settings import LOCAL_DB_PASSWORD, Settings, get_settings


def local_url(port: int, *, user: str = "postgres", dbname: str = "postgres") -> str:
    return f"postgresql://{user}:{LOCAL_DB_PASSWORD}@127.0.0.1:{port}/{dbname}"


def database_url(settings: Settings | None = None) -> str:
    """The database every command uses: DATABASE_URL, else the embedded cluster."""
    settings = settings or get_settings()
    return settings.database_url or local_url(settings.db_port)


def with_dbname(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def connect(url: str | None = None, *, autocommit: bool = True, **kwargs: object) -> psycopg.Connection:
    """A connection safe for transaction poolers; autocommit so callers own their transactions."""
    kwargs.setdefault("connect_timeout", 5)
    return psycopg.connect(
        url or database_url(),
        autocommit=autocommit,
        prepare_threshold=None,
        **kwargs,  # type: ignore[arg-type]
    )
