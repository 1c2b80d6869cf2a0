"""Looking shops up by what people type: their myshopify domain."""

from __future__ import annotations

import uuid

import psycopg


class UnknownShopError(LookupError):
    """No shop has this domain."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"no shop with domain {domain!r} (see public.shops)")
        self.domain = domain


def shop_id_for_domain(conn: psycopg.Connection, domain: str) -> uuid.UUID:
    """The id of the shop with this domain (case and surrounding spaces ignored)."""
    row = conn.execute("select id from public.shops where domain = %s", (domain.strip().lower(),)).fetchone()
    if row is None:
        raise UnknownShopError(domain)
    return row[0]
