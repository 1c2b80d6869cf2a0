"""Which attachments the next ETL run fetches again: only failures a retry can fix.

Real downloads over loopback HTTP (the `http_server` fixture) through the pipeline's own
downloader, real Postgres rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from opsdata.core.db import connect
from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl
from support_http import LoopbackServer, Reply
from support_images import SVG, png_with_metadata

SHOP = "retries.myshopify.com"


def export_with_images(path: Path, urls: dict[str, str]) -> Path:
    """One web-widget conversation: a customer message with one image per URL, an agent reply."""
    contact = {"id": 9, "name": "Ana Lima", "email": "ana.lima@example.org", "type": "contact"}
    messages = [
        {
            "id": 100 + i,
            "conversation_id": 1,
            "message_type": 0,
            "content_type": "text",
            "content": f"photo of the parcel ({name})",
            "created_at": 1_700_000_100 + i,
            "sender": contact,
            "attachments": [
                {"id": 500 + i, "message_id": 100 + i, "file_type": "image", "account_id": 1, "data_url": url}
            ],
        }
        for i, (name, url) in enumerate(urls.items())
    ]
    messages.append(
        {
            "id": 300,
            "conversation_id": 1,
            "message_type": 1,
            "content_type": "text",
            "content": "Thanks, we are sending a new one.",
            "created_at": 1_700_000_900,
            "sender": {"id": 7, "name": "Sam Carter", "type": "user"},
        }
    )
    conversation = {
        "id": 1,
        "account_id": 1,
        "inbox_id": 3,
        "status": "open",
        "created_at": 1_700_000_000,
        "meta": {"sender": contact, "channel": "Channel::WebWidget"},
        "messages": messages,
    }
    path.write_text(json.dumps([conversation]))
    return path


def attachment_rows(url: str) -> dict[int, tuple[str, str | None, bool]]:
    with connect(url) as conn:
        rows = conn.execute("select message_id, status, reason, retryable from rag_attachments").fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_only_retryable_failures_are_fetched_by_the_next_run(
    tmp_path: Path, http_server: LoopbackServer, fresh_database_url: str
) -> None:
    # Given a stored image, a 404, a server busy for the whole first run, and an SVG
    busy = Reply(status=503)
    urls = {
        "ok": http_server.route("/ok.png", Reply(body=png_with_metadata())),
        "gone": http_server.route("/gone.png", Reply(status=404)),
        "busy": http_server.route("/busy.png", busy, busy, busy, Reply(body=png_with_metadata(30, 20))),
        "svg": http_server.route("/drawing.svg", Reply(body=SVG)),
    }
    export = export_with_images(tmp_path / "export.json", urls)
    out = tmp_path / "rag"

    def run(**extra: object):
        options = EtlOptions(input=str(export), shop=SHOP, out=out, allow_hosts=["127.0.0.1"], **extra)  # type: ignore[arg-type]
        return run_chatwoot_etl(options, database_url=fresh_database_url)

    first = run()

    # Then each outcome is recorded, and only the 503 is marked worth retrying
    rows = attachment_rows(fresh_database_url)
    assert first.images == {"ok": 1, "failed": 2, "rejected": 1}
    assert rows[100][0] == "ok"
    assert rows[101] == ("failed", "http_status: 404", False)
    assert rows[102][0] == "failed" and rows[102][1].startswith("http_status: 503") and rows[102][2] is True
    assert rows[103][0] == "rejected" and rows[103][1].startswith("not_an_image") and rows[103][2] is False
    assert http_server.hits["/busy.png"] == 3, "retried within the run"

    # When the same export runs again
    second = run()

    # Then only the retryable failure is downloaded (and now succeeds); the others keep their outcome
    assert (http_server.hits["/ok.png"], http_server.hits["/gone.png"], http_server.hits["/drawing.svg"]) == (1, 1, 1)
    assert http_server.hits["/busy.png"] == 4
    rows = attachment_rows(fresh_database_url)
    assert rows[102][0] == "ok" and rows[101] == ("failed", "http_status: 404", False)
    assert second.nodes["ImageNode"] == 2 and len(list((out / "images").iterdir())) == 2

    # And --retry-permanent asks again for what was refused or gone
    run(retry_permanent=True)
    assert (http_server.hits["/gone.png"], http_server.hits["/drawing.svg"], http_server.hits["/ok.png"]) == (2, 2, 1)
    assert attachment_rows(fresh_database_url)[101] == ("failed", "http_status: 404", False)
