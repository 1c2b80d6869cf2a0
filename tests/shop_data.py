"""Small, explicit Shopify data for tests: products, orders with lines, refunds, cancellations."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import psycopg

_line_ids = itertools.count(1)


def add_products(conn: psycopg.Connection, shop_id: uuid.UUID, ids: Iterable[int], **fields: object) -> None:
    """Recommendable products (active, published, priced, untracked inventory) unless overridden."""
    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.products (shop_id, id, title, handle, status, price, inventory, is_gift_card,"
            " is_published) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    shop_id,
                    pid,
                    f"Product {pid}",
                    f"product-{pid}",
                    fields.get("status", "active"),
                    fields.get("price", 10),
                    fields.get("inventory"),
                    fields.get("is_gift_card", False),
                    fields.get("is_published", True),
                )
                for pid in ids
            ],
        )


def add_orders(
    conn: psycopg.Connection,
    shop_id: uuid.UUID,
    orders: Sequence[tuple[int, datetime, Sequence[int | None]]],
    *,
    is_test: bool = False,
    cancelled_at: datetime | None = None,
) -> dict[int, list[int]]:
    """Orders (id, created_at, product per line; a repeated product is a duplicate line).

    Returns the line ids per order, so tests can refund or delete individual lines.
    """
    lines: dict[int, list[int]] = {}
    with conn.cursor() as cur:
        cur.executemany(
            "insert into public.shopify_orders (shop_id, id, created_at, cancelled_at, is_test, currency,"
            " subtotal, total) values (%s, %s, %s, %s, %s, 'USD', 10, 10)",
            [(shop_id, oid, created_at, cancelled_at, is_test) for oid, created_at, _ in orders],
        )
        rows = []
        for oid, _, products in orders:
            for pid in products:
                line_id = next(_line_ids)
                lines.setdefault(oid, []).append(line_id)
                rows.append((shop_id, oid, line_id, pid))
        cur.executemany(
            "insert into public.shopify_order_lines (shop_id, order_id, line_id, product_id, quantity,"
            " current_quantity, unit_price, discounted_total) values (%s, %s, %s, %s, 1, 1, 10, 10)",
            rows,
        )
    return lines


def refund_line(conn: psycopg.Connection, shop_id: uuid.UUID, line_id: int) -> None:
    conn.execute(
        "update public.shopify_order_lines set current_quantity = 0 where shop_id = %s and line_id = %s",
        (shop_id, line_id),
    )


def cancel_order(conn: psycopg.Connection, shop_id: uuid.UUID, order_id: int, at: datetime) -> None:
    conn.execute(
        "update public.shopify_orders set cancelled_at = %s where shop_id = %s and id = %s",
        (at, shop_id, order_id),
    )
