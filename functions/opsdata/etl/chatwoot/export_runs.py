"""Postgres bookkeeping for exports processed on AWS: exactly one run per export, however often
S3 and SQS deliver, and exactly one finish, whichever slice ends last.

- `register_export`: the export's row and its etl_runs/sync_runs pair, created once per object
  version (serialized by a transaction-level advisory lock on the export id, which also works
  through Supabase's transaction pooler).
- `start_processing`: the slice rows, then status `processing` (one transaction).
- `record_slice`: a slice's outcome and counts; `all_slices_finished` answers under a row lock
  on the export, so of two slices finishing at once the later one sees the other's commit.
- `finish_export`: status succeeded/failed and the run rows finished, in one transaction, only
  if the export is still open (a second finish changes nothing).
All writes as service_role.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from opsdata.etl.chatwoot import database
from opsdata.etl.chatwoot.exports import ExportObject, SplitResult

FINISHED = ("done", "failed")


@dataclass(frozen=True)
class ExportRow:
    id: int
    shop_id: uuid.UUID
    shop: str
    export_id: str
    etl_run_id: int
    sync_run_id: int
    status: str
    n_slices: int | None
    input_checksum: str | None
    input_kind: str | None

    def handle(self, since: datetime | None = None) -> database.RunHandle:
        return database.RunHandle(self.shop_id, self.etl_run_id, self.sync_run_id, False, since)


@dataclass(frozen=True)
class SliceRow:
    start: int
    end: int
    status: str
    pass_: int
    duplicate_keys: list[tuple[int, int]]
    counts: dict[str, int]
    redactions: dict[str, int]
    rows_loaded: int
    max_data_at: datetime | None
    error: str | None


_EXPORT_SELECT = (
    "select x.id, x.shop_id, s.domain as shop, x.export_id, x.etl_run_id, r.sync_run_id, x.status, x.n_slices,"
    " x.input_checksum, x.input_kind from public.chatwoot_exports x join public.shops s on s.id = x.shop_id"
    " join public.etl_runs r on r.id = x.etl_run_id"
)


def _lock_key(export_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"chatwoot-export:{export_id}".encode()).digest()[:8], "big", signed=True)


def get_export(conn: psycopg.Connection, export_id: str) -> ExportRow | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_EXPORT_SELECT + " where x.export_id = %s", (export_id,)).fetchone()
    return None if row is None else ExportRow(**row)


def register_export(conn: psycopg.Connection, export: ExportObject, shop: str) -> ExportRow:
    """The export's row (status `splitting` when new), creating the shop and run rows the first time."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_lock_key(export.export_id),))
        existing = get_export(conn, export.export_id)
        if existing is not None:
            return existing
        shop_id, _ = database.ensure_shop(conn, shop)
        options = {
            "trigger": "s3 upload",
            "input": export.uri,
            "version_id": export.version_id,
            "etag": export.etag,
            "images": "attachment worker (SQS)",
        }
        etl_run_id, _ = database.open_run_rows(conn, shop_id, options)
        conn.execute(
            "insert into public.chatwoot_exports (shop_id, export_id, bucket, object_key, version_id, etag, etl_run_id)"
            " values (%s, %s, %s, %s, %s, %s, %s)",
            (shop_id, export.export_id, export.bucket, export.key, export.version_id, export.etag, etl_run_id),
        )
        created = get_export(conn, export.export_id)
    assert created is not None
    return created


def start_processing(conn: psycopg.Connection, export: ExportRow, split: SplitResult) -> None:
    with conn.transaction():
        conn.execute("set local role service_role")
        with conn.cursor() as cur:
            cur.executemany(
                "insert into public.chatwoot_export_slices (export_id, shop_id, start_index, end_index, duplicate_keys)"
                " values (%s, %s, %s, %s, %s) on conflict do nothing",
                [
                    (export.id, export.shop_id, s.start, s.end, Jsonb([list(k) for k in s.duplicate_keys]))
                    for s in split.slices
                ],
            )
        conn.execute(
            "update public.chatwoot_exports set status = 'processing', n_records = %s, n_slices = %s,"
            " input_checksum = %s, input_kind = %s, updated_at = now() where id = %s and status = 'splitting'",
            (split.n_records, len(split.slices), split.checksum, split.kind, export.id),
        )


def slices(conn: psycopg.Connection, export: ExportRow, *, status: str | None = None) -> list[SliceRow]:
    sql = (
        "select start_index, end_index, status, pass, duplicate_keys, counts, redactions, rows_loaded, max_data_at,"
        " error from public.chatwoot_export_slices where export_id = %s"
    )
    params: tuple[Any, ...] = (export.id,)
    if status is not None:
        sql, params = sql + " and status = %s", (*params, status)
    rows = conn.execute(sql + " order by start_index", params).fetchall()
    return [SliceRow(r[0], r[1], r[2], r[3], [(a, c) for a, c in r[4]], r[5], r[6], r[7], r[8], r[9]) for r in rows]


def get_slice(conn: psycopg.Connection, export: ExportRow, start: int) -> SliceRow | None:
    return next((s for s in slices(conn, export) if s.start == start), None)


def record_slice(
    conn: psycopg.Connection,
    export: ExportRow,
    start: int,
    *,
    status: str,
    pass_: int,
    counts: Mapping[str, int] | None = None,
    redactions: Mapping[str, int] | None = None,
    rows_loaded: int = 0,
    max_data_at: int | None = None,
    error: str | None = None,
) -> None:
    """Set a slice's status; counts replace the previous pass's, rows_loaded adds to them."""
    with conn.transaction():
        conn.execute("set local role service_role")
        conn.execute(
            "update public.chatwoot_export_slices set status = %s, pass = greatest(pass, %s),"
            " counts = coalesce(%s, counts), redactions = coalesce(%s, redactions),"
            " rows_loaded = rows_loaded + %s, max_data_at = greatest(max_data_at, %s), error = %s, updated_at = now()"
            " where export_id = %s and start_index = %s and status not in ('done', 'failed')",
            (
                status,
                pass_,
                None if counts is None else Jsonb(dict(counts)),
                None if redactions is None else Jsonb(dict(redactions)),
                rows_loaded,
                None if max_data_at is None else datetime.fromtimestamp(max_data_at, UTC),
                error,
                export.id,
                start,
            ),
        )


def all_slices_finished(conn: psycopg.Connection, export: ExportRow) -> bool:
    """True when every slice is done or failed and the export is still open."""
    with conn.transaction():
        locked = conn.execute(
            "select status, n_slices from public.chatwoot_exports where id = %s for update", (export.id,)
        ).fetchone()
        if locked is None or locked[0] != "processing":
            return False
        row = conn.execute(
            "select count(*) filter (where status in ('done', 'failed')) from public.chatwoot_export_slices"
            " where export_id = %s",
            (export.id,),
        ).fetchone()
        assert row is not None
        return row[0] == locked[1]


def finish_export(
    conn: psycopg.Connection,
    export: ExportRow,
    *,
    error: str | None,
    corpus_uri: str | None = None,
    nodes: Mapping[str, int] | None = None,
) -> bool:
    """Finish the export and its run rows once (False when it was already finished).

    Counts are the sums over its slices; the sync_runs row gets rows written, records
    quarantined and the newest message time, which the freshness checks read.
    """
    done = slices(conn, export)
    counts: Counter[str] = Counter()
    redactions: Counter[str] = Counter()
    for piece in done:
        counts.update({k: v for k, v in piece.counts.items() if isinstance(v, int)})
        redactions.update(piece.redactions)
    if nodes is not None:  # the assembled corpus, not the per-slice sums (a node is in one slice)
        counts.update({f"corpus_nodes_{k}": v for k, v in nodes.items()})
    counts["slices"] = len(done)
    counts["slices_failed"] = sum(1 for s in done if s.status == "failed")
    newest = max((s.max_data_at for s in done if s.max_data_at is not None), default=None)
    status = "failed" if error else "succeeded"
    with conn.transaction():
        conn.execute("set local role service_role")
        claimed = conn.execute(
            "update public.chatwoot_exports set status = %s, error = %s, corpus_uri = %s, finished_at = now(),"
            " updated_at = now() where id = %s and status in ('splitting', 'processing') returning id",
            (status, error, corpus_uri, export.id),
        ).fetchone()
        if claimed is None:
            return False
        database.finish_run(
            conn,
            export.handle(),
            status=status,
            error=error,
            input_checksum=export.input_checksum,
            input_kind=export.input_kind,
            counts=dict(counts),
            redactions=dict(redactions),
            rows_loaded=sum(s.rows_loaded for s in done),
            rows_rejected=counts.get("quarantined", 0),
            max_data_at=None if newest is None else int(newest.timestamp()),
            unlock=False,
        )
    return True
