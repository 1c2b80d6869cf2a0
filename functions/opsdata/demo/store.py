"""Writing a generated demo shop into Postgres with COPY, and reading back what is loaded.

A run replaces the shop's data in one transaction as service_role, or skips when the shop
already holds data generated from the same parameters (recorded in a `demo_data` sync run).
A shop holding data that demo-data did not generate is never touched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from opsdata.demo.generator import GENERATED_SOURCES, Col, DemoParams, PlantedPair, Table, generate
from opsdata.etl.landing import as_service_role

CHUNK_ROWS = 100_000
DEMO_SOURCE = "demo_data"
# tables a demo shop fills, children before parents for deletion (reverse of load order)
SHOP_TABLES = (
    "products",
    "shopify_orders",
    "shopify_order_lines",
    "gsc_page_daily",
    "ga_page_daily",
    "events",
    "actions",
    "sync_runs",
)


class DemoError(Exception):
    """The demo data could not be written; nothing was changed."""


class DemoResult(BaseModel):
    shop: str
    shop_id: uuid.UUID
    skipped: bool  # True: the shop already held data from the same parameters
    params: dict[str, object]
    rows: dict[str, int]
    seconds: dict[str, float]  # "generate" (numpy) and COPY time per table
    planted_pairs: list[PlantedPair]


def _format(col: Col, lo: int, hi: int) -> list[str]:
    """COPY text for rows lo..hi of a column."""
    values = col.values[lo:hi]
    if col.kind == "int":
        out = list(map(str, values.tolist()))
    elif col.kind == "money":
        out = [f"{v:.2f}" for v in (values / 100).tolist()]
    elif col.kind == "fixed3":
        out = [f"{v:.3f}" for v in (values / 1000).tolist()]
    elif col.kind == "fixed6":
        out = [f"{v:.6f}" for v in (values / 1_000_000).tolist()]
    elif col.kind == "ts":
        out = np.datetime_as_string(values.astype("datetime64[s]"), unit="s", timezone="UTC").tolist()
    elif col.kind == "date":
        out = np.datetime_as_string(values.astype("datetime64[D]")).tolist()
    elif col.kind == "bool":
        out = np.where(values, "t", "f").tolist()
    else:  # text: generated strings never hold tabs, newlines or backslashes
        out = values.tolist()
    if col.null is not None:
        for i in np.flatnonzero(col.null[lo:hi]).tolist():
            out[i] = "\\N"
    return out


def _copy_chunks(table: Table, shop_id: uuid.UUID) -> Iterator[bytes]:
    n = len(next(iter(table.values())).values)
    for lo in range(0, n, CHUNK_ROWS):
        hi = min(n, lo + CHUNK_ROWS)
        columns = [[str(shop_id)] * (hi - lo), *(_format(col, lo, hi) for col in table.values())]
        yield ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()


def copy_table(conn: psycopg.Connection, name: str, table: Table, shop_id: uuid.UUID) -> None:
    names = sql.SQL(", ").join(map(sql.Identifier, ["shop_id", *table]))
    query = sql.SQL("copy public.{} ({}) from stdin").format(sql.Identifier(name), names)
    with conn.cursor().copy(query) as copy:
        for chunk in _copy_chunks(table, shop_id):
            copy.write(chunk)


def ensure_shop(conn: psycopg.Connection, domain: str) -> uuid.UUID:
    """The shop's id, creating the shop if it does not exist."""
    with conn.transaction():
        conn.execute(
            "insert into public.shops (domain, name, currency, timezone) values (%s, %s, 'USD', 'UTC')"
            " on conflict (domain) do nothing",
            (domain, domain.split(".")[0].replace("-", " ").title()),
        )
        row = conn.execute("select id from public.shops where domain = %s", (domain,)).fetchone()
    assert row is not None
    return row[0]


def ensure_operator(conn: psycopg.Connection, shop_id: uuid.UUID, email: str) -> uuid.UUID:
    """The demo operator: a user who decides the demo's actions, an operator of the shop."""
    with conn.transaction():
        conn.execute("insert into auth.users (email) values (%s) on conflict (email) do nothing", (email,))
        row = conn.execute("select id from auth.users where email = %s", (email,)).fetchone()
        assert row is not None
        conn.execute(
            "insert into public.shop_members (shop_id, user_id, role) values (%s, %s, 'operator')"
            " on conflict (shop_id, user_id) do nothing",
            (shop_id, row[0]),
        )
    return row[0]


def table_rows(conn: psycopg.Connection, shop_id: uuid.UUID) -> dict[str, int]:
    counts = {}
    for name in SHOP_TABLES:
        query = sql.SQL("select count(*) from public.{} where shop_id = %s").format(sql.Identifier(name))
        if name == "sync_runs":  # only the runs the generator writes: jobs (affinity, checks...) add their own
            query += sql.SQL(" and source = any(%s)")
        row = conn.execute(query, (shop_id, list(GENERATED_SOURCES)) if name == "sync_runs" else (shop_id,)).fetchone()
        counts[name] = row[0] if row else 0
    return counts


def _previous_run(conn: psycopg.Connection, shop_id: uuid.UUID) -> dict | None:
    row = conn.execute(
        "select details from public.sync_runs where shop_id = %s and source = %s and status = 'succeeded'"
        " order by id desc limit 1",
        (shop_id, DEMO_SOURCE),
    ).fetchone()
    return row[0] if row else None


def write_demo_shop(conn: psycopg.Connection, params: DemoParams, *, force: bool = False) -> DemoResult:
    """Generate the shop for params and store it, replacing earlier demo data of that shop.

    Skips (and says so) when the shop already holds the rows of a run with the same parameters.
    """
    shop_id = ensure_shop(conn, params.shop)
    previous = _previous_run(conn, shop_id)
    current = table_rows(conn, shop_id)
    if previous is None and any(current.values()):
        raise DemoError(
            f"shop {params.shop} holds data that demo-data did not generate; refusing to replace it"
            " (use another --shop)"
        )
    if previous and not force and previous.get("params") == params.recorded() and previous.get("rows") == current:
        return DemoResult(
            shop=params.shop,
            shop_id=shop_id,
            skipped=True,
            params=params.recorded(),
            rows=current,
            seconds={},
            planted_pairs=[PlantedPair.model_validate(p) for p in previous.get("planted_pairs", [])],
        )
    started_at = datetime.now().astimezone()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()
    data = generate(params)
    seconds["generate"] = time.perf_counter() - clock
    operator = ensure_operator(conn, shop_id, data.operator_email)
    data.tables["actions"]["decided_by"].values[:] = str(operator)
    try:
        with as_service_role(conn):
            conn.execute("set local synchronous_commit = off")  # one durable commit at the end is enough
            for name in reversed(SHOP_TABLES):
                conn.execute(
                    sql.SQL("delete from public.{} where shop_id = %s").format(sql.Identifier(name)), (shop_id,)
                )
            for name, table in data.tables.items():
                clock = time.perf_counter()
                copy_table(conn, name, table, shop_id)
                seconds[name] = time.perf_counter() - clock
            rows = {name: data.rows(name) for name in data.tables}
            details = {
                "params": params.recorded(),
                "rows": rows,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
                "planted_pairs": [p.model_dump() for p in data.planted],
                "operator": data.operator_email,
            }
            conn.execute(
                "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded,"
                " max_data_at, details) values (%s, %s, %s, clock_timestamp(), 'succeeded', %s, %s, %s)",
                (shop_id, DEMO_SOURCE, started_at, sum(rows.values()), params.as_of, Jsonb(details)),
            )
    except psycopg.Error as exc:
        with as_service_role(conn):
            conn.execute(
                "insert into public.sync_runs (shop_id, source, started_at, finished_at, status, error, details)"
                " values (%s, %s, %s, clock_timestamp(), 'failed', %s, %s)",
                (shop_id, DEMO_SOURCE, started_at, str(exc).strip(), Jsonb({"params": params.recorded()})),
            )
        raise DemoError(f"writing the demo shop failed, nothing was changed: {str(exc).strip()}") from exc
    # Statistics now, not when autovacuum gets round to it: a refresh planned on the empty
    # tables' estimates right after a bulk load can take minutes instead of seconds.
    clock = time.perf_counter()
    for name in data.tables:
        conn.execute(sql.SQL("analyze public.{}").format(sql.Identifier(name)))
    seconds["analyze"] = time.perf_counter() - clock
    return DemoResult(
        shop=params.shop,
        shop_id=shop_id,
        skipped=False,
        params=params.recorded(),
        rows=rows,
        seconds=seconds,
        planted_pairs=data.planted,
    )


# ----- what is loaded -------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedSource:
    source: str
    table: str
    rows: int
    first: object
    last: object
    last_sync: datetime | None
    last_status: str | None


# table, sync source, the column that dates a row
_SUMMARY = (
    ("products", "shopify", None),
    ("shopify_orders", "shopify", "created_at"),
    ("shopify_order_lines", "shopify", None),
    ("gsc_page_daily", "gsc", "date"),
    ("ga_page_daily", "ga", "date"),
    ("events", "events", "occurred_at"),
    ("actions", "actions", "proposed_at"),
)


def loaded_summary(conn: psycopg.Connection, shop_id: uuid.UUID) -> list[LoadedSource]:
    """Per landing table: rows, date range, and the latest sync run of its source."""
    out = []
    for table, source, dated in _SUMMARY:
        span = sql.SQL("min({c}), max({c})").format(c=sql.Identifier(dated)) if dated else sql.SQL("null, null")
        query = sql.SQL("select count(*), {} from public.{} where shop_id = %s").format(span, sql.Identifier(table))
        count, first, last = conn.execute(query, (shop_id,)).fetchone()  # type: ignore[misc]
        run = conn.execute(
            "select started_at, status from public.sync_runs where shop_id = %s and source = %s"
            " order by started_at desc, id desc limit 1",
            (shop_id, source),
        ).fetchone()
        out.append(LoadedSource(source, table, count, first, last, run[0] if run else None, run[1] if run else None))
    return out
