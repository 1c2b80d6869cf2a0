"""Postgres side of the Chatwoot ETL: run bookkeeping and batched upserts as service_role.

- One advisory lock per shop makes runs for one shop sequential; a run that finds another
  run's row still `running` under the lock knows that run was killed and marks it failed.
- Each batch is one transaction: rows are COPYed into temp tables, then merged. A conversation
  whose content_hash is unchanged is not touched (no update, no new rows); a changed one has its
  nodes replaced, so nodes of removed turns disappear.
- Run rows: one `etl_runs` row and one `sync_runs` row (source `chatwoot`) per execution.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from opsdata.etl.chatwoot.corpus import BuiltConversation, StoredImage, channel_name

SOURCE = "chatwoot"


def _lock_key(shop_id: uuid.UUID) -> int:
    """A stable signed 64-bit advisory lock key per shop for Chatwoot runs."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"chatwoot-etl:{shop_id}".encode()).digest()[:8], "big", signed=True)


class RunLockedError(RuntimeError):
    """Another Chatwoot ETL run for the same shop is in progress."""


@dataclass(frozen=True)
class RunHandle:
    shop_id: uuid.UUID
    etl_run_id: int
    sync_run_id: int
    created_shop: bool
    # A slice of an AWS export shares its export's run: its audit reads only rows written since it started.
    since: datetime | None = None


def _ts(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def start_run(conn: psycopg.Connection, shop_domain: str, options: Mapping[str, Any]) -> RunHandle:
    """Lock the shop for this run (session-level lock on `conn`), close killed runs, open the run rows."""
    with conn.transaction():
        shop_id, created = ensure_shop(conn, shop_domain)
    locked = conn.execute("select pg_try_advisory_lock(%s)", (_lock_key(shop_id),)).fetchone()
    if not (locked and locked[0]):
        raise RunLockedError(f"another Chatwoot ETL run for {shop_domain} is in progress")
    with conn.transaction():
        conn.execute("set local role service_role")
        interrupted = "interrupted: the process stopped before the run finished"
        # Exports processed on AWS (chatwoot_exports) run across many invocations without this lock:
        # a running one is not an interrupted one.
        conn.execute(
            "update public.etl_runs set status = 'failed', finished_at = now(), error = %s"
            " where shop_id = %s and source = %s and status = 'running'"
            " and id not in (select etl_run_id from public.chatwoot_exports)",
            (interrupted, shop_id, SOURCE),
        )
        conn.execute(
            "update public.sync_runs set status = 'failed', finished_at = now(), error = %s"
            " where shop_id = %s and source = %s and status = 'running' and id not in"
            " (select r.sync_run_id from public.etl_runs r join public.chatwoot_exports x on x.etl_run_id = r.id"
            "  where r.sync_run_id is not null)",
            (interrupted, shop_id, SOURCE),
        )
        etl_run_id, sync_run_id = open_run_rows(conn, shop_id, options)
    return RunHandle(shop_id, etl_run_id, sync_run_id, created)


def ensure_shop(conn: psycopg.Connection, shop_domain: str) -> tuple[uuid.UUID, bool]:
    """(shop id, created): an unknown shop is created without members. Call inside a transaction."""
    conn.execute("set local role service_role")
    row = conn.execute(
        "insert into public.shops (domain, name) values (%s, %s) on conflict (domain) do nothing returning id",
        (shop_domain, shop_domain.split(".")[0]),
    ).fetchone()
    if row is not None:
        return row[0], True
    row = conn.execute("select id from public.shops where domain = %s", (shop_domain,)).fetchone()
    assert row is not None
    return row[0], False


def open_run_rows(conn: psycopg.Connection, shop_id: uuid.UUID, options: Mapping[str, Any]) -> tuple[int, int]:
    """(etl_runs id, sync_runs id) of a new running run. Call inside a transaction."""
    conn.execute("set local role service_role")
    sync_row = conn.execute(
        "insert into public.sync_runs (shop_id, source) values (%s, %s) returning id", (shop_id, SOURCE)
    ).fetchone()
    assert sync_row is not None
    run_row = conn.execute(
        "insert into public.etl_runs (shop_id, source, sync_run_id, options) values (%s, %s, %s, %s) returning id",
        (shop_id, SOURCE, sync_row[0], Jsonb(dict(options))),
    ).fetchone()
    assert run_row is not None
    return run_row[0], sync_row[0]


def finish_run(
    conn: psycopg.Connection,
    run: RunHandle,
    *,
    status: str,
    error: str | None,
    input_checksum: str | None,
    input_kind: str | None,
    counts: Mapping[str, Any],
    redactions: Mapping[str, int],
    rows_loaded: int,
    rows_rejected: int,
    max_data_at: int | None,
    unlock: bool = True,
) -> None:
    """Record the outcome on the run rows; `unlock=False` for runs that never took the shop lock."""
    with conn.transaction():
        conn.execute("set local role service_role")
        conn.execute(
            "update public.etl_runs set status = %s, finished_at = now(), error = %s, input_checksum = %s,"
            " input_kind = %s, counts = %s, redactions = %s where id = %s",
            (status, error, input_checksum, input_kind, Jsonb(dict(counts)), Jsonb(dict(redactions)), run.etl_run_id),
        )
        conn.execute(
            "update public.sync_runs set status = %s, finished_at = now(), error = %s, rows_loaded = %s,"
            " rows_rejected = %s, max_data_at = %s, details = %s where id = %s",
            (
                status,
                error,
                rows_loaded,
                rows_rejected,
                _ts(max_data_at),
                Jsonb({"etl_run_id": run.etl_run_id, **{k: v for k, v in counts.items() if isinstance(v, int)}}),
                run.sync_run_id,
            ),
        )
    if unlock:
        conn.execute("select pg_advisory_unlock(%s)", (_lock_key(run.shop_id),))


def settled_images(
    conn: psycopg.Connection, shop_id: uuid.UUID, keys: Iterable[str], *, retry_permanent: bool = False
) -> dict[str, StoredImage]:
    """Images an earlier run settled, not fetched again: stored (ok), refused by the policy
    (rejected) and failed for good (404 and other 4xx). Skipped ones and retryable failures are
    not settled; with retry_permanent only stored ones are."""
    keys = list(keys)
    if not keys:
        return {}
    rows = conn.execute(
        "select attachment_key, status, sha256, content_type, width, height, size_bytes, stored_path, reason,"
        " attempts from public.rag_attachments where shop_id = %s and attachment_key = any(%s)"
        " and (status = 'ok' or (not %s and (status = 'rejected' or (status = 'failed' and not retryable))))",
        (shop_id, keys, retry_permanent),
    ).fetchall()
    return {row[0]: StoredImage(*row[1:]) for row in rows}


_STAGE_SQL = """
create temp table if not exists stage_conversations (like public.chatwoot_conversations) on commit drop;
create temp table if not exists stage_documents (like public.rag_documents) on commit drop;
create temp table if not exists stage_attachments (like public.rag_attachments) on commit drop;
"""
_CONVERSATION_COLUMNS = (
    "shop_id, account_id, conversation_id, document_id, inbox_id, channel, status, priority, labels, language,"
    " csat_rating, n_messages, n_turns, n_images, created_at, resolved_at, last_message_at, content_hash,"
    " loaded_run_id, updated_at"
)
_DOCUMENT_COLUMNS = (
    "shop_id, node_id, source, account_id, conversation_id, class_name, text, metadata, node, node_hash,"
    " loaded_run_id, updated_at"
)
_ATTACHMENT_COLUMNS = (
    "shop_id, attachment_key, account_id, conversation_id, message_id, attachment_id, node_id, status, reason,"
    " attempts, retryable, sha256, content_type, width, height, size_bytes, stored_path, loaded_run_id, updated_at"
)


@dataclass
class BatchResult:
    changed_conversations: int = 0
    documents_written: int = 0
    attachments_written: int = 0


def load_batch(
    conn: psycopg.Connection,
    run: RunHandle,
    batch: list[BuiltConversation],
    images: Mapping[str, StoredImage],
) -> BatchResult:
    """Upsert one batch of conversations in one transaction, as service_role."""
    result = BatchResult()
    if not batch:
        return result
    now = datetime.now(UTC)
    with conn.transaction():
        conn.execute("set local role service_role")
        conn.execute(_STAGE_SQL)
        with conn.cursor().copy(f"copy stage_conversations ({_CONVERSATION_COLUMNS}) from stdin") as copy:
            for built in batch:
                c = built.plan.conversation
                copy.write_row(
                    (
                        run.shop_id,
                        c.account_id,
                        c.display_id,
                        built.doc_id,
                        c.inbox_id,
                        channel_name(c.channel),
                        c.status,
                        c.priority,
                        [label for label in built.plan.metadata.get("labels", "").split(",") if label],
                        c.language,
                        c.csat_rating,
                        len(c.messages),
                        len(built.plan.turns),
                        built.n_images,
                        _ts(c.created_at),
                        _ts(c.resolved_at),
                        _ts(c.last_message_at),
                        built.content_hash,
                        run.etl_run_id,
                        now,
                    )
                )
        with conn.cursor().copy(f"copy stage_documents ({_DOCUMENT_COLUMNS}) from stdin") as copy:
            for built in batch:
                c = built.plan.conversation
                for node, hashed in zip(built.nodes, built.node_hashes, strict=True):
                    copy.write_row(
                        (
                            run.shop_id,
                            node["id_"],
                            SOURCE,
                            c.account_id,
                            c.display_id,
                            node["class_name"],
                            node["text"],
                            Jsonb(node["metadata"]),
                            Jsonb(node),
                            hashed,
                            run.etl_run_id,
                            now,
                        )
                    )
        with conn.cursor().copy(f"copy stage_attachments ({_ATTACHMENT_COLUMNS}) from stdin") as copy:
            for built in batch:
                c = built.plan.conversation
                for image in built.plan.images:
                    outcome = images.get(image.key) or StoredImage("skipped", reason="images were not downloaded")
                    copy.write_row(
                        (
                            run.shop_id,
                            image.key,
                            c.account_id,
                            c.display_id,
                            image.message_id,
                            image.attachment_id,
                            image.node_id,
                            outcome.status,
                            outcome.reason,
                            outcome.attempts,
                            outcome.status == "failed" and outcome.retryable,
                            outcome.sha256,
                            outcome.content_type,
                            outcome.width,
                            outcome.height,
                            outcome.size,
                            outcome.stored_path,
                            run.etl_run_id,
                            now,
                        )
                    )
        changed = conn.execute(
            f"""
            insert into public.chatwoot_conversations ({_CONVERSATION_COLUMNS})
            select {_CONVERSATION_COLUMNS} from stage_conversations
            on conflict (shop_id, account_id, conversation_id) do update set
              document_id = excluded.document_id, inbox_id = excluded.inbox_id, channel = excluded.channel,
              status = excluded.status, priority = excluded.priority, labels = excluded.labels,
              language = excluded.language, csat_rating = excluded.csat_rating, n_messages = excluded.n_messages,
              n_turns = excluded.n_turns, n_images = excluded.n_images, created_at = excluded.created_at,
              resolved_at = excluded.resolved_at, last_message_at = excluded.last_message_at,
              content_hash = excluded.content_hash, loaded_run_id = excluded.loaded_run_id,
              updated_at = excluded.updated_at
            where chatwoot_conversations.content_hash is distinct from excluded.content_hash
            returning account_id, conversation_id
            """
        ).fetchall()
        result.changed_conversations = len(changed)
        if changed:
            conn.execute(
                "create temp table if not exists changed_conversations (account_id bigint, conversation_id bigint)"
                " on commit drop"
            )
            with conn.cursor().copy("copy changed_conversations from stdin") as copy:
                for row in changed:
                    copy.write_row(row)
            conn.execute(
                "delete from public.rag_documents d using changed_conversations c"
                " where d.shop_id = %s and d.account_id = c.account_id and d.conversation_id = c.conversation_id",
                (run.shop_id,),
            )
            cur = conn.execute(
                f"insert into public.rag_documents ({_DOCUMENT_COLUMNS})"
                f" select {', '.join('s.' + col.strip() for col in _DOCUMENT_COLUMNS.split(','))}"
                " from stage_documents s join changed_conversations c"
                " on c.account_id = s.account_id and c.conversation_id = s.conversation_id"
            )
            result.documents_written = cur.rowcount
        cur = conn.execute(
            f"""
            insert into public.rag_attachments ({_ATTACHMENT_COLUMNS})
            select {_ATTACHMENT_COLUMNS} from stage_attachments
            on conflict (shop_id, attachment_key) do update set
              message_id = excluded.message_id, attachment_id = excluded.attachment_id, node_id = excluded.node_id,
              status = excluded.status, reason = excluded.reason,
              attempts = excluded.attempts, retryable = excluded.retryable, sha256 = excluded.sha256,
              content_type = excluded.content_type, width = excluded.width, height = excluded.height,
              size_bytes = excluded.size_bytes, stored_path = excluded.stored_path,
              loaded_run_id = excluded.loaded_run_id, updated_at = excluded.updated_at
            where not (excluded.status = 'skipped' and rag_attachments.status = 'ok')
              and (rag_attachments.status, rag_attachments.reason, rag_attachments.retryable,
                   rag_attachments.sha256, rag_attachments.stored_path, rag_attachments.node_id)
                  is distinct from (excluded.status, excluded.reason, excluded.retryable,
                   excluded.sha256, excluded.stored_path, excluded.node_id)
            """
        )
        result.attachments_written = cur.rowcount
    return result


def iter_rows_for_audit(conn: psycopg.Connection, run: RunHandle) -> Iterable[tuple[str, Any]]:
    """(where, {column: value}) for every row this run wrote (less the one naming it), streamed."""
    queries = (
        ("rag_documents", "select node_id, node from public.rag_documents where shop_id = %s and loaded_run_id = %s"),
        (
            "chatwoot_conversations",
            "select document_id, labels, channel, language, content_hash from public.chatwoot_conversations"
            " where shop_id = %s and loaded_run_id = %s",
        ),
        (
            "rag_attachments",
            "select attachment_key, reason, stored_path, content_type, node_id from public.rag_attachments"
            " where shop_id = %s and loaded_run_id = %s",
        ),
        ("etl_runs", "select id::text, counts, redactions, error from public.etl_runs where shop_id = %s and id = %s"),
    )
    for table, sql in queries:
        params: tuple[Any, ...] = (run.shop_id, run.etl_run_id)
        if run.since is not None and table != "etl_runs":
            sql, params = sql + " and updated_at >= %s", (*params, run.since)
        with conn.transaction(), conn.cursor(name=f"audit_{table}") as cursor:
            cursor.itersize = 2000
            cursor.execute(sql, params)
            columns = None
            for row in cursor:
                # by column name: the audit knows which columns hold generated values (content_hash, …)
                columns = columns or [column.name for column in cursor.description or ()][1:]
                yield f"{table} {row[0]}", json.loads(json.dumps(dict(zip(columns, row[1:], strict=True)), default=str))
