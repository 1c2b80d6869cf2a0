"""`make demo` runs the Chatwoot ETL (images served on loopback), and the README's ETL command works after it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from opsdata import cli
from opsdata.core.db import connect
from opsdata.core.settings import get_settings
from opsdata.etl.chatwoot.demo import DEMO_CONVERSATIONS

SHOP = "demo.myshopify.com"
SHARED = Path(__file__).resolve().parents[4] / "shared"
if not SHARED.exists():  # worktrees live beside shared/; a clone in CI has it one level up
    SHARED = Path("/work/shared")
REDACTED_TYPES = ("address", "card", "email", "iban", "ip", "name", "phone")


def summary_rows(text: str) -> dict[str, str]:
    """The two-column rows of the printed ETL summary table: {"conversations loaded": "630", ...}."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) == 2 and cells[0] and cells[0] != "what":
            rows[cells[0]] = cells[1]
    return rows


def number(text: str) -> int:
    return int(text.replace(",", ""))


def chatwoot_section(output: str) -> str:
    return output.split("support history:", 1)[1].split("product affinity", 1)[0]


def database_state(url: str) -> dict[str, list[tuple]]:
    with connect(url) as conn:
        return {
            "conversations": conn.execute(
                "select account_id, conversation_id, content_hash, updated_at from chatwoot_conversations order by 1, 2"
            ).fetchall(),
            "documents": conn.execute("select node_id, node_hash, updated_at from rag_documents order by 1").fetchall(),
            "attachments": conn.execute(
                "select attachment_key, status, sha256, updated_at from rag_attachments order by 1"
            ).fetchall(),
        }


def files_state(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


def test_make_demo_runs_the_chatwoot_etl_with_images_served_locally_and_a_rerun_changes_nothing(
    demo_env: str,
) -> None:
    first = CliRunner().invoke(cli.main, ["demo"])
    assert first.exit_code == 0, first.output

    section = chatwoot_section(first.output)
    rows = summary_rows(section)
    loaded = number(rows["conversations loaded"])
    documents, turns, images = map(number, rows["documents / turns / images"].split(" / "))
    assert f"{DEMO_CONVERSATIONS} generated Chatwoot conversations" in section
    assert loaded >= 500 and number(rows["conversations changed in the database"]) == loaded
    assert number(rows["quarantined records"]) > 0, "the generated export carries broken records"
    assert documents == loaded and turns > loaded and images > 100
    assert number(rows["images ok"]) == images and not any(k.startswith("images failed") for k in rows)
    for kind in REDACTED_TYPES:
        assert number(rows[f"redacted {kind}"]) > 0, kind
    assert rows["output"] == "local/demo/chatwoot/rag (replaced)"
    assert f"{images} in local/demo/chatwoot/rag/images: {images} downloaded by this run, none stored before" in section

    folder = get_settings().local_dir / "demo" / "chatwoot"
    rag = folder / "rag"
    assert {p.name for p in rag.iterdir()} >= {"docstore.json", "nodes.jsonl", "manifest.json", "images"}
    stored = list((rag / "images").iterdir())
    assert len(stored) == images
    assert not any(b"uploaded from a phone" in p.read_bytes() for p in stored), "image metadata is stripped"
    with connect(demo_env) as conn:
        shop_rows = conn.execute(
            "select count(*) from chatwoot_conversations c join shops s on s.id = c.shop_id where s.domain = %s",
            (SHOP,),
        ).fetchone()[0]
        outcomes = dict(conn.execute("select status, count(*) from rag_attachments group by 1").fetchall())
        runs = conn.execute("select status from sync_runs where source = 'chatwoot'").fetchall()
    assert shop_rows == loaded and outcomes == {"ok": images} and runs == [("succeeded",)]
    reliability = first.output.split("data reliability", 1)[1]
    assert any(line.strip().startswith("Chatwoot ") for line in reliability.splitlines()), "judged as a source"

    # When make demo runs again (same day)
    before_rows, before_files = database_state(demo_env), files_state(rag)
    second = CliRunner().invoke(cli.main, ["demo"])

    # Then the ETL reuses everything: no row, file or image is rewritten, nothing is downloaded
    assert second.exit_code == 0, second.output
    again = chatwoot_section(second.output)
    again_rows = summary_rows(again)
    assert number(again_rows["conversations loaded"]) == loaded
    assert number(again_rows["conversations changed in the database"]) == 0
    assert again_rows["output"] == "local/demo/chatwoot/rag (unchanged)"
    assert f"0 downloaded by this run, {images} already stored by an earlier run" in again
    assert database_state(demo_env) == before_rows
    assert files_state(rag) == before_files


def test_the_readme_etl_command_works_after_make_demo(
    demo_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = CliRunner().invoke(cli.main, ["demo"])
    assert demo.exit_code == 0, demo.output
    demo_loaded = number(summary_rows(chatwoot_section(demo.output))["conversations loaded"])

    # Given a checkout with shared/ beside it, on a machine without a network (as CI is): names do
    # not resolve, so the fixture's images (on chat.example.com) cannot be downloaded
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    monkeypatch.chdir(checkout)
    resolve = socket.getaddrinfo

    def offline(host: str, *args: object, **kwargs: object) -> object:
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", offline)

    # When the README's command runs
    command = "etl chatwoot ../shared/fixtures/chatwoot/synthetic_export_example.json --shop demo.myshopify.com"
    result = CliRunner().invoke(cli.main, [*command.split(), "--out", "out/rag"])

    # Then it completes and says what it did
    assert result.exit_code == 0, result.output
    rows = summary_rows(result.output)
    assert rows["conversations loaded"] == "2" and rows["quarantined records"] == "0"
    assert rows["documents / turns / images"] == "2 / 4 / 0"
    assert rows["images failed"] == "1" and rows["output"] == "out/rag (replaced)"
    out = checkout / "out" / "rag"
    assert {p.name for p in out.iterdir()} == {
        "docstore.json",
        "nodes.jsonl",
        "manifest.json",
        "quarantine.jsonl",
        "images",
    }
    assert len((out / "nodes.jsonl").read_text().splitlines()) == 6
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["conversations"] == 2
    # And the rows sit beside the demo's: the demo shop now has both exports' conversations
    with connect(demo_env) as conn:
        conversations = conn.execute(
            "select account_id, count(*) from chatwoot_conversations c join shops s on s.id = c.shop_id"
            " where s.domain = %s group by 1 order by 1",
            (SHOP,),
        ).fetchall()
        failed = conn.execute(
            "select reason, retryable from rag_attachments where status = 'failed' and account_id = 2"
        ).fetchall()
        runs = conn.execute("select status from sync_runs where source = 'chatwoot' order by id").fetchall()
    assert conversations == [(1, demo_loaded), (2, 2)]
    assert failed == [("dns_error: host not found", False)]
    assert runs == [("succeeded",), ("succeeded",)]
