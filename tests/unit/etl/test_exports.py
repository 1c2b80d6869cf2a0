"""Exports on S3: the key convention, export identity, work messages and their idempotency keys."""

from __future__ import annotations

import jmespath
import pytest
from pydantic import TypeAdapter, ValidationError

from opsdata.etl.chatwoot.exports import (
    IDEMPOTENCY_KEY_JMESPATH,
    AssembleMessage,
    ExportKeyError,
    ExportObject,
    SliceMessage,
    WorkMessage,
    shop_from_key,
    slice_path,
)
from opsdata.etl.chatwoot.model import conversation_key

EXPORT = ExportObject(bucket="data", key="exports/chatwoot/demo.myshopify.com/a.json", version_id="v1", etag="e1")


def test_the_shop_is_the_folder_under_exports_chatwoot() -> None:
    assert shop_from_key("exports/chatwoot/demo.myshopify.com/2026/export.jsonl.gz") == "demo.myshopify.com"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("exports/other/demo.myshopify.com/a.json", "must be uploaded under exports/chatwoot/"),
        ("exports/chatwoot/a.json", "expected exports/chatwoot/<shop-domain>/<file name>"),
        ("exports/chatwoot/demo.myshopify.com/", "expected exports/chatwoot/<shop-domain>/<file name>"),
        ("exports/chatwoot/Demo.MyShopify.com/a.json", "is not a shop domain"),
        ("exports/chatwoot/localhost/a.json", "is not a shop domain"),
    ],
)
def test_keys_outside_the_convention_say_what_is_expected(key: str, reason: str) -> None:
    with pytest.raises(ExportKeyError, match=reason):
        shop_from_key(key)


def test_an_export_is_identified_by_object_version_not_by_name() -> None:
    same = ExportObject(bucket="data", key=EXPORT.key, version_id="v1", etag="e1")
    reuploaded = ExportObject(bucket="data", key=EXPORT.key, version_id="v2", etag="e2")
    assert same.export_id == EXPORT.export_id and len(EXPORT.export_id) == 32
    assert reuploaded.export_id != EXPORT.export_id
    assert slice_path(EXPORT.export_id, 0, 250) == f"{EXPORT.export_id}/slices/000000000-000000250.jsonl.gz"


def _key(message: SliceMessage | AssembleMessage) -> object:
    return jmespath.search(IDEMPOTENCY_KEY_JMESPATH, message.model_dump(mode="json", by_alias=True))


def test_idempotency_keys_name_the_work_not_the_delivery() -> None:
    first = SliceMessage(export=EXPORT, start=0, end=250)
    assert _key(first) == ["slice", "data", EXPORT.key, "v1", "e1", 0, 250, 0]
    assert _key(SliceMessage(export=EXPORT, start=0, end=250)) == _key(first)
    assert _key(first.next_pass(["1:2:3:4"])) != _key(first), "a later pass is new work"
    assert _key(SliceMessage(export=EXPORT, start=250, end=500)) != _key(first)
    assert _key(AssembleMessage(export=EXPORT)) == ["assemble", "data", EXPORT.key, "v1", "e1", None, None, None]


def test_work_messages_round_trip_and_reject_unknown_shapes() -> None:
    adapter = TypeAdapter(WorkMessage)
    message = SliceMessage(export=EXPORT, start=0, end=250).next_pass(["a", "b"])
    assert adapter.validate_json(message.model_dump_json(by_alias=True)) == message
    assert '"pass":1' in message.model_dump_json(by_alias=True)
    with pytest.raises(ValidationError):
        adapter.validate_json('{"kind": "slice", "export": {"bucket": "data"}, "start": 0, "end": 1}')
    with pytest.raises(ValidationError):
        adapter.validate_json('{"kind": "delete everything"}')


def test_conversation_keys_are_found_as_the_validator_finds_them() -> None:
    assert conversation_key({"id": 5, "account_id": 2}) == (2, 5)
    assert conversation_key({"id": 5, "messages": [{"account_id": 3}]}) == (3, 5)
    assert conversation_key({"id": 5}) is None
    assert conversation_key({"id": "5", "account_id": 2}) is None
    assert conversation_key(["not", "a", "conversation"]) is None
