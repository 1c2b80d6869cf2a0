"""The Chatwoot ETL end to end: files, database rows, re-runs, interruptions, privacy."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import phonenumbers
import psycopg
import pytest
from click.testing import CliRunner, Result

from opsdata import cli
from opsdata.core.db import connect
from opsdata.etl.chatwoot import corpus
from opsdata.etl.chatwoot.generator import write_export
from opsdata.etl.chatwoot.pipeline import EtlOptions, run_chatwoot_etl
from tests_etl_support import LocalImages

FIXTURES = Path("/work/shared/fixtures/chatwoot")
EXAMPLE = FIXTURES / "synthetic_export_example.json"
SHOP = "etl.myshopify.com"


def options(input_path: Path, out: Path, **extra: object) -> EtlOptions:
    return EtlOptions(input=str(input_path), shop=SHOP, out=out, batch_size=50, **extra)  # type: ignore[arg-type]


def etl_cli(runner: CliRunner, export: Path, out: Path, *extra: str, shop: str = SHOP) -> Result:
    """`opsdata etl chatwoot EXPORT --shop SHOP --out OUT [extra...]`, as a user types it."""
    return runner.invoke(cli.main, ["etl", "chatwoot", str(export), "--shop", shop, "--out", str(out), *extra])


def table_state(url: str) -> dict[str, list[tuple]]:
    with connect(url) as conn:
        return {
            "conversations": conn.execute(
                "select conversation_id, content_hash, updated_at from chatwoot_conversations order by 1"
            ).fetchall(),
            "documents": conn.execute("select node_id, node_hash, updated_at from rag_documents order by 1").fetchall(),
            "attachments": conn.execute(
                "select attachment_key, status, sha256, updated_at from rag_attachments order by 1"
            ).fetchall(),
        }


@pytest.fixture
def export(tmp_path: Path) -> tuple[Path, object]:
    generated = write_export(tmp_path / "export.json", 120, seed=5, image_base_url="http://127.0.0.1:9/img")
    return tmp_path / "export.json", generated


def test_a_run_writes_the_corpus_the_rows_and_the_run_records(
    tmp_path: Path, export: tuple[Path, object], fresh_database_url: str
) -> None:
    path, generated = export
    out = tmp_path / "rag"
    images = LocalImages()
    summary = run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=images)

    assert summary.status == "succeeded" and summary.changed_output
    assert {p.name for p in out.iterdir()} == {
        "docstore.json",
        "nodes.jsonl",
        "images",
        "manifest.json",
        "quarantine.jsonl",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"]["checksum_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["counts"]["quarantined"] >= generated.broken  # type: ignore[attr-defined]
    assert manifest["redactions"]["email"] > 0 and manifest["redactions"]["phone"] > 0
    # the phone library's version (shipped as phonenumberslite: phonenumbers without its data files)
    assert manifest["versions"]["phonenumbers"] == phonenumbers.__version__
    assert summary.nodes["ImageNode"] == len(list((out / "images").iterdir())) > 0
    with connect(fresh_database_url) as conn:
        docs = conn.execute("select count(*) from rag_documents").fetchone()[0]
        assert docs == sum(summary.nodes.values())
        sync = conn.execute(
            "select status, rows_loaded, rows_rejected, max_data_at is not null"
            " from sync_runs where source = 'chatwoot'"
        ).fetchall()
        assert sync == [("succeeded", docs, manifest["counts"]["quarantined"], True)]
        run = conn.execute("select status, input_checksum, redactions ? 'email' from etl_runs").fetchall()
        assert run == [("succeeded", manifest["input"]["checksum_sha256"], True)]
        ok = conn.execute("select count(*) from rag_attachments where status = 'ok'").fetchone()[0]
        assert ok == summary.nodes["ImageNode"]


def test_no_planted_pii_reaches_files_or_rows(
    tmp_path: Path, export: tuple[Path, object], fresh_database_url: str
) -> None:
    path, generated = export
    out = tmp_path / "rag"
    run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=LocalImages())
    written = "\n".join((out / name).read_text() for name in ("docstore.json", "nodes.jsonl", "quarantine.jsonl"))
    with connect(fresh_database_url) as conn:
        written += "\n".join(str(r) for r in conn.execute("select node::text from rag_documents"))
    written_lower = written.lower()
    leaks = [
        p
        for p in generated.planted  # type: ignore[attr-defined]
        if re.search(r"(?<!\w)" + re.escape(p.value.lower()) + r"(?!\w)", written_lower)
    ]
    assert leaks == []
    for contact in generated.contacts:  # type: ignore[attr-defined]
        for key in ("email", "phone_number", "name"):
            assert contact[key].lower() not in written_lower
    assert "active_storage" not in written and "mention://" not in written and "127.0.0.1:9" not in written


def test_rerunning_the_same_export_changes_nothing(
    tmp_path: Path, export: tuple[Path, object], fresh_database_url: str
) -> None:
    path, _ = export
    out = tmp_path / "rag"
    run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=LocalImages())
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    before = table_state(fresh_database_url)
    second_fetch = LocalImages()
    summary = run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=second_fetch)
    assert not summary.changed_output
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files
    assert table_state(fresh_database_url) == before
    assert second_fetch.fetched == [], "stored images are not downloaded again"


def test_a_newer_export_updates_only_changed_conversations(tmp_path: Path, fresh_database_url: str) -> None:
    conversations = json.loads(EXAMPLE.read_text())
    first = tmp_path / "v1.json"
    first.write_text(json.dumps(conversations))
    out = tmp_path / "rag"
    run_chatwoot_etl(options(first, out, images="skip"), database_url=fresh_database_url)
    before = {row[0]: row for row in table_state(fresh_database_url)["conversations"]}
    # Given a newer export where conversation 134 got a new customer message
    newer = json.loads(json.dumps(conversations))
    extra = dict(newer[1]["messages"][1], id=60999, created_at=1733400100, content_type="text", content="Any update?")
    newer[1]["messages"].append(extra)
    second = tmp_path / "v2.json"
    second.write_text(json.dumps(newer))
    summary = run_chatwoot_etl(options(second, out, images="skip"), database_url=fresh_database_url)
    after = {row[0]: row for row in table_state(fresh_database_url)["conversations"]}
    assert summary.counts["conversations_changed"] == 1
    assert after[1016] == before[1016], "unchanged conversation untouched"
    assert after[134][1] != before[134][1]
    assert "Any update?" in (out / "docstore.json").read_text()


def test_a_killed_run_is_finished_by_the_next_one(
    tmp_path: Path, export: tuple[Path, object], fresh_database_url: str
) -> None:
    path, _ = export
    # Given an uninterrupted reference run in another database
    reference_out = tmp_path / "reference"
    run_chatwoot_etl(options(path, reference_out, images="skip", database=False))

    class Boom(RuntimeError):
        pass

    calls = {"n": 0}
    real_build = corpus.build_nodes

    def dying_build(plan, images):  # the process "dies" in the middle of the second batch
        calls["n"] += 1
        if calls["n"] == 70:
            raise Boom
        return real_build(plan, images)

    out = tmp_path / "rag"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("opsdata.etl.chatwoot.pipeline.build_nodes", dying_build)
        with pytest.raises(Boom):
            run_chatwoot_etl(options(path, out, images="skip"), database_url=fresh_database_url)
    assert not out.exists(), "nothing half-written"
    with connect(fresh_database_url) as conn:
        assert conn.execute("select count(*) from chatwoot_conversations").fetchone()[0] == 50
        # a hard kill leaves the run rows 'running'; the next run closes them
        conn.execute("update etl_runs set status = 'running', finished_at = null, error = null")
        conn.execute("update sync_runs set status = 'running', finished_at = null, error = null")
    run_chatwoot_etl(options(path, out, images="skip"), database_url=fresh_database_url)
    for name in ("docstore.json", "nodes.jsonl", "quarantine.jsonl"):
        assert (out / name).read_bytes() == (reference_out / name).read_bytes()
    with connect(fresh_database_url) as conn:
        runs = conn.execute("select status, error from etl_runs order by id").fetchall()
        assert runs[0] == ("failed", "interrupted: the process stopped before the run finished")
        assert runs[1][0] == "succeeded"
        assert conn.execute("select count(*) from sync_runs where status = 'running'").fetchone()[0] == 0


def test_failed_images_are_retried_by_the_next_run(
    tmp_path: Path, export: tuple[Path, object], fresh_database_url: str
) -> None:
    path, _ = export
    out = tmp_path / "rag"
    first = LocalImages()
    run_chatwoot_etl(options(path, out, images="skip"), database_url=fresh_database_url)
    with connect(fresh_database_url) as conn:
        keys = [r[0] for r in conn.execute("select attachment_key from rag_attachments where status = 'skipped'")]
    assert keys
    failing = LocalImages(fail_keys=frozenset(keys[:2]))
    run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=failing)
    with connect(fresh_database_url) as conn:
        failed = conn.execute(
            "select attachment_key, attempts, reason from rag_attachments where status = 'failed'"
        ).fetchall()
    assert sorted(k for k, _, _ in failed) == sorted(keys[:2]) and failed[0][1] == 3
    retry = LocalImages()
    run_chatwoot_etl(options(path, out), database_url=fresh_database_url, fetcher=retry)
    assert sorted(retry.fetched) == sorted(keys[:2]), "only the failed ones are fetched again"
    assert first.fetched == []


def test_cli_exit_codes_and_summary(tmp_path: Path, use_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    out = tmp_path / "rag"
    ok = etl_cli(runner, EXAMPLE, out, "--images", "skip")
    assert ok.exit_code == 0, ok.output
    assert "conversations loaded" in ok.output and "redacted name" in ok.output
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 1,}]')
    result = etl_cli(runner, bad, out, "--images", "skip")
    assert result.exit_code == 1 and "byte offset" in result.output
    assert (out / "docstore.json").exists(), "a failed run leaves the previous output in place"
    usage = etl_cli(runner, bad, out, shop="Not A Domain")
    assert usage.exit_code == 2
    # When redaction is broken, the audit stops the run and names where, not what
    monkeypatch.setattr("opsdata.etl.chatwoot.redaction.Redactor.redact", lambda self, text: text or "")
    leaked = etl_cli(runner, EXAMPLE, tmp_path / "x", "--images", "skip")
    assert leaked.exit_code == 3 and "privacy audit failed" in leaked.output
    assert "Alex" not in leaked.output and "maria" not in leaked.output.lower()
    assert not (tmp_path / "x").exists()
    with psycopg.connect(use_database) as conn:
        statuses = [r[0] for r in conn.execute("select status from etl_runs order by id")]
    assert statuses == ["succeeded", "failed", "failed"]


def test_images_download_without_a_downloader_says_how_to_proceed(tmp_path: Path, use_database: str) -> None:
    import importlib.util

    if importlib.util.find_spec("opsdata.etl.chatwoot.attachments") is not None:
        pytest.skip("the attachment downloader is present in this build")
    result = etl_cli(CliRunner(), EXAMPLE, tmp_path / "o")
    assert result.exit_code == 4 and "--images skip" in result.output


def test_contact_values_equal_to_ids_the_pipeline_writes_do_not_fail_the_run(tmp_path: Path, use_database: str) -> None:
    # Given contacts whose identifier is their conversation's id or one of its message ids, and a
    # phone whose national digits are a message id: the node ids and metadata hold those numbers
    conversations = json.loads(EXAMPLE.read_text())
    maria, other = conversations
    phone_digits = "912345678"  # Maria's phone is +351 912 345 678
    next(m for m in maria["messages"] if m["id"] == 5309)["id"] = int(phone_digits)  # its last kept message
    identifiers = {id(maria): str(maria["id"]), id(other): str(other["messages"][0]["id"])}
    for conversation in conversations:
        senders = [conversation["meta"]["sender"]]
        senders += [m["sender"] for m in conversation["messages"] if (m.get("sender") or {}).get("type") == "contact"]
        for sender in senders:
            sender["identifier"] = identifiers[id(conversation)]
    export = tmp_path / "collisions.json"
    export.write_text(json.dumps(conversations))
    out = tmp_path / "rag"
    # When the export is run
    result = etl_cli(CliRunner(), export, out, "--images", "skip")
    # Then the run completes and no contact value is in any text written
    assert result.exit_code == 0, result.output
    nodes = [json.loads(line) for line in (out / "nodes.jsonl").read_text().splitlines()]
    ids = " ".join(node["id_"] + " " + node["metadata"].get("message_ids", "") for node in nodes)
    assert f":turn:{phone_digits}" in ids or f",{phone_digits}" in ids, "the message id is written"
    assert all(f"chatwoot:2:conv:{value}" in ids or value in ids for value in identifiers.values())
    texts = "\n".join(node["text"] for node in nodes).lower()
    assert phone_digits not in texts.replace(" ", "") and "maria" not in texts
    assert not any(re.search(rf"(?<!\d){value}(?!\d)", texts) for value in identifiers.values())
