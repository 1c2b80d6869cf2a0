"""Reading exports: every accepted shape, gzip, S3, and errors that name the byte offset or field."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from opsdata.etl.chatwoot.reader import ExportReader, InputError

FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "chatwoot"
if not FIXTURES.exists():  # worktrees live beside shared/; a clone in CI has it one level up
    FIXTURES = Path("/work/shared/fixtures/chatwoot")
EXPORT = FIXTURES / "synthetic_export_example.json"


def ids(reader: ExportReader) -> list[object]:
    return [record.data.get("id") for record in reader]


def test_json_array_jsonl_and_gzip_give_the_same_conversations(tmp_path: Path) -> None:
    conversations = json.loads(EXPORT.read_text())
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("\n".join(json.dumps(c) for c in conversations) + "\n")
    gz = tmp_path / "export.json.gz"
    gz.write_bytes(gzip.compress(EXPORT.read_bytes()))
    array = ExportReader(str(EXPORT))
    assert ids(array) == [1016, 134] and array.kind == "json-array"
    assert array.checksum == hashlib.sha256(EXPORT.read_bytes()).hexdigest()
    lines = ExportReader(str(jsonl))
    assert ids(lines) == [1016, 134] and lines.kind == "jsonl"
    compressed = ExportReader(str(gz))
    assert ids(compressed) == [1016, 134] and compressed.compressed
    assert compressed.checksum == hashlib.sha256(gz.read_bytes()).hexdigest(), "checksum of the file as given"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[{"id": 1, "messages": []}, {"id": 2, "messages": [}]', "invalid JSON at byte offset 51"),
        (b'[{"id": 1}, {"id": 2', "byte offset 20: unexpected end of input"),
        (b'{"id": 1}\n{"id": 2,,}\n', "invalid JSON at byte offset 19 (line 2"),
        (b"<html>", "not a Chatwoot export: byte offset 0 is '<'"),
        (b"   ", "the input is empty"),
        (b'{"data": {"meta": {}, "payload": []}}\n', "line 1 is an API page"),
    ],
)
def test_bad_input_names_the_byte_offset(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.json: .*" + message.replace("(", r"\(").replace("[", r"\[")):
        list(ExportReader(str(path)))


def test_offsets_are_exact_deep_into_a_large_file(tmp_path: Path) -> None:
    body = b",".join(json.dumps({"id": i, "messages": [{"content": "x" * 200}]}).encode() for i in range(3000))
    data = b"[" + body + b', {"id": oops}]'
    path = tmp_path / "big.json"
    path.write_bytes(data)
    with pytest.raises(InputError, match=f"byte offset {data.index(b'oops')}:"):
        list(ExportReader(str(path)))


def test_a_directory_of_api_pages_is_joined_per_conversation(tmp_path: Path) -> None:
    # Given a list page (wrapped as the API returns it) and message pages in several shapes
    pages = tmp_path / "pages"
    (pages / "messages").mkdir(parents=True)
    listing = json.loads((FIXTURES / "conversations_list_response.json").read_text())
    conversation = dict(listing["payload"][0], id=1016, account_id=2, status="open")
    (pages / "conversations-1.json").write_text(
        json.dumps({"data": {"meta": listing["meta"], "payload": [conversation]}})
    )
    shutil.copy(FIXTURES / "messages_text_with_media.json", pages / "messages" / "1016-a.json")
    (pages / "messages" / "1016-b.json.gz").write_bytes(gzip.compress(b'{"meta": {}, "payload": []}'))
    shutil.copy(FIXTURES / "messages_email_conversation.json", pages / "messages" / "134.json")
    reader = ExportReader(str(pages))
    records = list(reader)
    # Then the listed conversation carries its messages, and orphan pages are reported
    assert reader.kind == "pages" and len(records) == 2
    assert records[0].data["id"] == 1016 and len(records[0].data["messages"]) == 32
    assert records[1].data == {"_opsdata_orphan_messages": 134}
    assert reader.checksum and len(reader.checksum) == 64


def test_a_page_directory_with_foreign_files_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    with pytest.raises(InputError, match=r"x\.json: not a Chatwoot API page: missing field 'payload'"):
        list(ExportReader(str(tmp_path)))


def test_missing_inputs_are_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(ExportReader(str(tmp_path / "nope.json")))
    with pytest.raises(InputError, match="must look like s3://bucket/key"):
        list(ExportReader("s3://bucket-only"))


def test_s3_inputs_are_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    boto3 = pytest.importorskip("boto3")
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="exports")
        s3.put_object(Bucket="exports", Key="chatwoot/export.json.gz", Body=gzip.compress(EXPORT.read_bytes()))
        reader = ExportReader("s3://exports/chatwoot/export.json.gz")
        assert ids(reader) == [1016, 134] and reader.compressed
        with pytest.raises(InputError, match="cannot read from S3"):
            list(ExportReader("s3://exports/missing.json"))
