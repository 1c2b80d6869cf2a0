"""Validation: malformed records are quarantined with a reason that carries no PII."""

from __future__ import annotations

import json
from pathlib import Path

from opsdata.etl.chatwoot.model import IdSet, Validator

FIXTURES = Path("/work/shared/fixtures/chatwoot")
if not FIXTURES.exists():
    FIXTURES = Path(__file__).resolve().parents[4] / "shared" / "fixtures" / "chatwoot"


def conversation(**overrides: object) -> dict:
    base = json.loads((FIXTURES / "synthetic_export_example.json").read_text())[0]
    base.update(overrides)
    return base


def test_a_real_conversation_keeps_only_corpus_messages_in_order() -> None:
    messages = json.loads((FIXTURES / "messages_text_with_media.json").read_text())
    conv, problems = Validator().validate("r1", conversation(messages=messages))
    assert conv is not None
    kept = [m.message_id for m in conv.messages]
    assert kept == sorted(kept, key=lambda i: next(m.created_at for m in conv.messages if m.message_id == i))
    assert 5309 not in kept and 5310 not in kept, "private notes are dropped"
    assert 5297 not in kept and 5299 not in kept, "templates and activities are dropped"
    reasons = sorted(p.reason for p in problems)
    assert reasons.count("duplicate message id") == 4
    assert "message belongs to conversation '43'" in reasons
    assert all("anthony" not in json.dumps(p.to_json()) for p in problems), "no PII in quarantine records"


def test_conversation_level_problems_quarantine_the_record() -> None:
    validator = Validator()
    cases = {
        "missing field 'id'": conversation(id=None),
        "field 'messages' is not a list": conversation(id=2, messages="x"),
        "unknown status 'archived'": conversation(id=3, status="archived"),
        "impossible timestamp in created_at": conversation(id=4, created_at=99_999_999_999),
        "unknown priority (a string value)": conversation(id=5, priority="maria@example.org"),
    }
    for reason, record in cases.items():
        conv, problems = validator.validate("ref", record)
        assert conv is None and problems[0].reason == reason
    assert validator.validate("a", conversation(id=9))[0] is not None
    conv, problems = validator.validate("b", conversation(id=9))
    assert conv is None and "duplicate conversation id" in problems[0].reason
    assert (
        validator.validate("c", ["not", "an", "object"])[1][0].reason == "record is a list, not a conversation object"
    )


def test_message_level_problems_quarantine_only_the_message() -> None:
    good = conversation()["messages"][0]
    messages = [
        good,
        {**good, "id": 2, "message_type": 7},
        {**good, "id": 3, "content_type": "hologram"},
        {**good, "id": 4, "created_at": -5},
        {**good, "id": 5, "sender": {"type": "alien"}},
        {**good, "id": None},
        "text",
    ]
    conv, problems = Validator().validate("r", conversation(messages=messages))
    assert conv is not None and [m.message_id for m in conv.messages] == [good["id"]]
    assert [p.reason for p in problems] == [
        "unknown message_type '7'",
        "unknown content_type 'hologram'",
        "impossible or missing timestamp in created_at",
        "unknown sender type 'alien'",
        "missing field 'id'",
        "message is a string, not an object",
    ]


def test_csat_resolution_and_contact_are_extracted() -> None:
    conv, _ = Validator().validate("r", conversation())
    assert conv is not None
    assert conv.csat_rating == 5 and conv.resolved_at == 1732710900
    assert conv.contact.email == "maria.silva@example.org" and "203.0.113.7" in conv.contact.ips
    assert "John Doe" in conv.agent_names and conv.language == "pt"


def test_private_notes_can_be_included() -> None:
    conv, _ = Validator(include_private_notes=True).validate("r", conversation())
    assert conv is not None and any(m.private for m in conv.messages)


def test_seen_conversation_ids_stay_exact_in_a_compact_set() -> None:
    # Display ids count up per account: a bitmap per account; ids past it go to a set
    ids = IdSet()
    for account, display_id in ((5, 1), (5, 2), (5, 7), (5, 1_000_000), (6, 7), (5, 2**40)):
        assert (account, display_id) not in ids
        ids.add((account, display_id))
        assert (account, display_id) in ids
    assert (5, 8) not in ids and (7, 7) not in ids and (5, 2**40 + 1) not in ids and (6, 1) not in ids
    validator = Validator(seen=ids)
    _, problems = validator.validate("r9", conversation(id=1_000_000, account_id=5))
    assert [p.reason for p in problems] == ["duplicate conversation id (an earlier record has the same id)"]
