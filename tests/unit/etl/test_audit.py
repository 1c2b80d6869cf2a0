"""The privacy audit: every string written is scanned; the fast joined scan finds what a scan
string by string finds; the known-value index stays exact when it moves to disk."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from opsdata.etl.chatwoot.audit import (
    _STRUCTURAL_RE,
    Auditor,
    KnownIndex,
    PrivacyAuditError,
    json_strings,
    strings_of,
)
from opsdata.etl.chatwoot.corpus import dumps_node
from opsdata.etl.chatwoot.output import OutputWriter
from opsdata.etl.chatwoot.redaction import Identity, Redactor

MARIA = Identity(
    names=("Maria Silva",),
    emails=("maria.silva@example.org",),
    phones=("+351912345678",),
    identifiers=("cus_88121",),
    locations=("Lisboa",),
    agent_names=("Sam Carter",),
    region="PT",
)


def string_by_string(auditor: Auditor, value: object) -> list[str]:
    """What the audit finds when it scans each string alone (its exact path)."""
    from opsdata.etl.chatwoot.output import iter_json_strings

    before = len(auditor.findings)
    for path, text in iter_json_strings(value):
        auditor._check_string(f"row {path}".rstrip(), text)
    return auditor.findings[before:]


ROWS = [
    {"text": "Customer: my order 4412 is late\nAgent: sorry, it ships today", "labels": "shipping"},
    {"text": "Customer: call me on 912 345 678", "note": "fine"},  # a known phone, partial form
    {"text": "Agent: thanks Maria Silva!", "id": "chatwoot:1:conv:7"},  # a known name
    {"a": "Customer: the order is", "b": "4111 1111 1111 1111"},  # a card alone in its string
    {"a": "phone", "b": "4155552671"},  # a cue in one string, digits in the next: no phone
    {"a": "write to bob", "b": "@example.org"},  # split across strings: no email
    {"text": "Agent: Hi [CUSTOMER]! [PHONE_1] noted, order #100234567", "turn": "2024-01-02T10:30:00Z"},
]


@pytest.mark.parametrize("row", ROWS)
def test_the_joined_scan_finds_exactly_what_a_string_by_string_scan_finds(row: dict) -> None:
    fast, exact = Auditor(), Auditor()
    for auditor in (fast, exact):
        auditor.remember(MARIA)
    fast.check_value("row", row)
    assert fast.findings == string_by_string(exact, row)


def test_findings_name_the_place_and_kind_never_the_value() -> None:
    auditor = Auditor()
    auditor.remember(MARIA)
    auditor.check_value("rag_documents chatwoot:1:conv:7", {"text": "mail maria.silva@example.org or +351 912 345 678"})
    with pytest.raises(PrivacyAuditError) as raised:
        auditor.raise_if_found()
    message = str(raised.value)
    assert "rag_documents chatwoot:1:conv:7 text (email)" in message and "(known phone)" in message
    assert "maria" not in message.lower() and "912" not in message


def test_a_turn_is_clean_only_because_its_conversation_was_clean() -> None:
    # Given a Document whose transcript holds a leaked email, and the turn with the same line
    leak = "Customer: it is maria.silva@example.org"
    document = {"id_": "d", "text": f"Customer: hi\n{leak}\nAgent: ok"}
    turn = {"id_": "t", "text": leak}
    auditor = Auditor()
    auditor.check_value("doc", document)
    auditor.check_value("turn", turn)
    # Then both are reported: a dirty transcript does not vouch for its lines
    assert [f for f in auditor.findings if "(email)" in f] == ["doc text (email)", "turn text (email)"]


def test_the_conversation_check_names_each_field_with_a_known_value() -> None:
    redactor = Redactor(MARIA)
    nodes = [
        {"id_": "chatwoot:1:conv:7", "text": "Customer: I live in Lisboa", "metadata": {"labels": "vip"}},
        {"id_": "chatwoot:1:conv:7:turn:9", "text": "Agent: hello", "metadata": {"labels": "cus_88121"}},
    ]
    auditor = Auditor()
    auditor.check_conversation(redactor, "conversation 7", nodes)
    assert auditor.findings == [
        "conversation 7: node chatwoot:1:conv:7 field text (location)",
        "conversation 7: node chatwoot:1:conv:7:turn:9 field metadata.labels (identifier)",
    ]
    clean = Auditor()
    clean.check_conversation(redactor, "conversation 8", [{"id_": "x", "text": "Customer: hi [CUSTOMER]"}])
    assert clean.findings == []


def test_the_conversation_check_finds_known_values_in_turns_that_are_lines_of_the_transcript() -> None:
    # A turn whose text is whole lines of the Document's transcript is scanned within the transcript
    redactor = Redactor(MARIA)
    doc = {"id_": "chatwoot:1:conv:7", "text": "Customer: hi\nAgent: see you in Lisboa\nCustomer: thanks"}
    turn = {"id_": "chatwoot:1:conv:7:turn:9", "text": "Customer: hi\nAgent: see you in Lisboa"}
    auditor = Auditor()
    auditor.check_conversation(redactor, "conversation 7", [doc, turn])
    assert auditor.findings == [
        "conversation 7: node chatwoot:1:conv:7 field text (location)",
        "conversation 7: node chatwoot:1:conv:7:turn:9 field text (location)",
    ]
    # A turn that is not lines of a clean transcript is scanned as itself
    other = Auditor()
    other.check_conversation(redactor, "conversation 7", [{**doc, "text": "Customer: hi\nAgent: ok"}, turn])
    assert other.findings == ["conversation 7: node chatwoot:1:conv:7:turn:9 field text (location)"]
    clean = Auditor()
    clean.check_conversation(
        redactor, "conversation 7", [{**doc, "text": "Customer: hi\nAgent: ok"}, {**turn, "text": "Agent: ok"}]
    )
    assert clean.findings == []


def test_json_lines_are_split_into_exactly_their_strings() -> None:
    rng = random.Random(7)
    alphabet = ["a", "é", "\\", "\n", "\t", '"', "\x00", "/", "u", " ", "😀", ":", ","]
    for _ in range(5_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 10)))
        value = {"k": text, "n": [1, 2.5, None, True, {"x": text}]}
        found = json_strings(dumps_node(value))
        if found is not None:  # None: an escaped quote, the line is parsed instead
            assert sorted(found) == sorted(strings_of(json.loads(dumps_node(value)), []))
    assert json_strings('"k": {"x": "a\\"b"}') is None
    assert json_strings("maria.silva@example.org") is None, "not JSON: scanned as text, not skipped"


@pytest.mark.parametrize(
    "text",
    [
        "chatwoot:1:conv:123456789012:turn:999999999999",
        "chatwoot:12:conv:4000123456:att:4111111111:111111111111.2",
        "2024-01-02T10:30:00Z",
        "415555267,912345678,4111111111",
        "9" * 12,
        "0" * 64,
        "912345678" + "a" * 55,
        "images/" + "4111111111111111" + "0" * 48 + ".png",
    ],
)
def test_strings_the_pipeline_makes_cannot_hold_generic_pii(text: str) -> None:
    # The audit skips the generic detectors for these shapes; they must never match one
    assert _STRUCTURAL_RE.fullmatch(text)
    assert Redactor(Identity(region="PT")).detect(text) == []


def test_digits_inside_a_digest_are_no_known_phone() -> None:
    # At 100k contacts some sha256 digest holds some contact's last nine digits: no finding
    auditor = Auditor()
    auditor.remember(MARIA)
    auditor.check_value("docstore.json line 9", ["id", {"doc_hash": "ab912345678cd" + "0" * 51}])
    auditor.check_value("docstore.json line 10", ["id", {"text": "Customer: 912345678 is mine"}])
    assert auditor.findings == ["docstore.json line 10 [1].text (known phone)"]


def test_the_known_index_answers_the_same_on_disk(tmp_path: Path) -> None:
    values = [hash(f"value {i}") for i in range(300)]
    in_memory = KnownIndex()
    on_disk = KnownIndex(exact_limit=50, bloom_bytes=1 << 12, directory=str(tmp_path))
    for value in values:
        in_memory.add(value)
        on_disk.add(value)
    assert on_disk.spilled and not in_memory.spilled
    assert len(list(tmp_path.iterdir())) == 1
    probes = [*values[::7], *(hash(f"other {i}") for i in range(2_000))]
    for probe in probes:
        assert (probe in on_disk) == (probe in in_memory) == (probe in values)
    assert on_disk.any_in([hash("other 1"), values[123]]) and not on_disk.any_in([hash("other 1"), hash("x")])
    on_disk.close()
    assert list(tmp_path.iterdir()) == [], "the temporary index is removed"
    with pytest.raises(ValueError, match="power of two"):
        KnownIndex(bloom_bytes=1000)


def test_an_other_contacts_name_is_found_with_the_index_on_disk(tmp_path: Path) -> None:
    # Given a run whose contacts' values moved to disk
    auditor = Auditor(known=KnownIndex(exact_limit=10, bloom_bytes=1 << 10, directory=str(tmp_path)))
    for i in range(40):
        auditor.remember(Identity(names=(f"Person{i} Surname{i}",), emails=(f"p{i}@example.org",)))
    assert auditor.known.spilled
    # When another conversation's output names one of them
    out = tmp_path / "out"
    writer = OutputWriter(out)
    writer.finish({"counts": {}})
    (writer.staging / "docstore.json").write_text(
        '{"docstore/data": {\n"chatwoot:1:conv:2": {"__data__": {"text": "Agent: ask person17 surname17"}, '
        '"__type__": "4"}\n},\n"docstore/metadata": {\n},\n"docstore/ref_doc_info": {\n}}\n'
    )
    (writer.staging / "nodes.jsonl").write_text('{"text": "Agent: ask person17 surname17"}\n')
    auditor.check_output(writer.staging)
    # Then the audit finds it, naming the line
    assert auditor.findings == ["docstore.json line 2 [1].__data__.text (known name)"]
    auditor.close()
    writer.discard()


def test_nodes_jsonl_must_be_the_docstore_nodes(tmp_path: Path) -> None:
    writer = OutputWriter(tmp_path / "out")
    writer.finish({})
    (writer.staging / "docstore.json").write_text(
        '{"docstore/data": {\n"n": {"__data__": {"text": "a"}, "__type__": "1"}\n},\n"docstore/metadata": {\n},\n'
        '"docstore/ref_doc_info": {\n}}\n'
    )
    (writer.staging / "nodes.jsonl").write_text('{"text": "b"}\n')
    auditor = Auditor()
    auditor.check_output(writer.staging)
    assert auditor.findings == ["nodes.jsonl (does not hold exactly the audited docstore nodes)"]
    writer.discard()


def test_docstore_lines_that_cannot_be_split_quickly_are_still_scanned(tmp_path: Path) -> None:
    # Given a node whose text has a quote (escaped in JSON) and a line that is not JSON at all
    node = {"text": 'Agent: he said "write to bob@shop.test"'}
    writer = OutputWriter(tmp_path / "out")
    writer.finish({})
    line = dumps_node(node)
    (writer.staging / "docstore.json").write_text(
        '{"docstore/data": {\n"n": {"__data__": ' + line + ', "__type__": "1"}\n},\n'
        "maria.silva@example.org\n"
        '"docstore/metadata": {\n},\n"docstore/ref_doc_info": {\n}}\n'
    )
    (writer.staging / "nodes.jsonl").write_text(line + "\n")
    auditor = Auditor()
    auditor.check_output(writer.staging)
    # Then both are found, the first with its field
    assert auditor.findings == ["docstore.json line 2 [1].__data__.text (email)", "docstore.json line 4 (email)"]
    writer.discard()


# A contact whose identifier is its conversation's id and whose phone's digits are a message id
CLASHING = Identity(names=("Maria Silva",), phones=("+351912345678",), identifiers=("1016",), region="PT")
DIGEST = "0123456789abcdef" * 4


def clashing_nodes(**changes: str) -> list[dict]:
    """A Document, a turn and an image of conversation 1016, built as the pipeline builds them;
    `changes`: "<node>.<field>" -> value ("turn.metadata.labels", "image.image_path", …)."""
    from opsdata.etl.chatwoot.corpus import document_dict, image_node_dict, text_node_dict

    doc_id, turn_id, image_id = (
        "chatwoot:2:conv:1016",
        "chatwoot:2:conv:1016:turn:912345678",
        "chatwoot:2:conv:1016:att:912345678:1016",
    )
    base = {
        "source": "chatwoot",
        "account_id": 2,
        "conversation_id": 1016,
        "channel": "web_widget",
        "labels": "repair",
        "created_at": "2024-10-16T09:12:34Z",
        "created_at_ts": 1729069954,
    }
    related = {
        "1": {"node_id": doc_id, "node_type": None, "metadata": {}, "hash": None, "class_name": "RelatedNodeInfo"}
    }
    nodes = {
        "doc": document_dict(doc_id, "Customer: hi, I am [CUSTOMER]\nAgent: hello", {**base, "n_turns": 1}),
        "turn": text_node_dict(
            turn_id, "Customer: hi, I am [CUSTOMER]", {**base, "message_ids": "912345678,1016"}, dict(related)
        ),
        "image": image_node_dict(
            image_id,
            "Image sent by the customer in turn 1 of 1 of a web widget support conversation.",
            {**base, "message_id": 912345678, "sha256": DIGEST, "sent_at": "2024-10-16T09:12:35Z"},
            {**related, "4": {**related["1"], "node_id": turn_id}},
            f"images/{DIGEST}.png",
            "image/png",
        ),
    }
    for where, value in changes.items():
        node, *path = where.split(".")
        target = nodes[node]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return list(nodes.values())


def written(tmp_path: Path, nodes: list[dict]) -> tuple[Auditor, OutputWriter]:
    """The nodes written as the pipeline writes them, audited with the contact remembered."""
    writer = OutputWriter(tmp_path / "out")
    writer.add_nodes(nodes[0]["id_"], nodes)
    writer.finish({"counts": {}})
    auditor = Auditor()
    auditor.remember(CLASHING)
    auditor.check_output(writer.staging)
    auditor.check_value(
        "rag_attachments 2:1016:912345678:1016", {"stored_path": f"images/{DIGEST}.png", "node_id": nodes[2]["id_"]}
    )
    auditor.check_value("chatwoot_conversations chatwoot:2:conv:1016", {"labels": ["repair"], "content_hash": DIGEST})
    return auditor, writer


def test_ids_the_pipeline_writes_are_no_finding_when_a_contact_value_equals_them(tmp_path: Path) -> None:
    # Given nodes whose ids, message ids and node links hold the contact's identifier and phone digits
    nodes = clashing_nodes()
    # When both layers of the audit scan them (the conversation's own check, then everything written)
    auditor = Auditor()
    auditor.check_conversation(Redactor(CLASHING), "conversation 1016", nodes)
    final, writer = written(tmp_path, nodes)
    # Then nothing is found
    assert auditor.findings == [] and final.findings == []
    writer.discard()


@pytest.mark.parametrize(
    ("change", "field", "kind"),
    [
        ({"turn.text": "Customer: my id is 1016"}, "text", "identifier"),  # free text
        ({"doc.text": "Customer: call 912 345 678\nAgent: ok"}, "text", "phone"),
        ({"turn.metadata.labels": "vip,1016"}, "metadata.labels", "identifier"),  # metadata of contact data
        ({"turn.metadata.channel": "1016"}, "metadata.channel", "identifier"),  # an id's shape, not an id's field
        # a contact value in a generated field, not of that field's shape
        ({"turn.metadata.message_ids": "912345678,1016 Maria Silva"}, "metadata.message_ids", "name"),
        ({"image.metadata.sha256": "1016"}, "metadata.sha256", "identifier"),
        ({"turn.id_": "chatwoot:2:conv:1016:turn:+351 912 345 678"}, "id_", "phone"),
        ({"image.image_path": "images/Maria Silva/photo.png"}, "image_path", "name"),
    ],
)
def test_a_contact_value_outside_a_generated_value_is_found_naming_the_field(
    tmp_path: Path, change: dict[str, str], field: str, kind: str
) -> None:
    nodes = clashing_nodes(**change)
    node_id = nodes[["doc", "turn", "image"].index(next(iter(change)).split(".")[0])]["id_"]
    # The conversation's own check names the node and field
    auditor = Auditor()
    auditor.check_conversation(Redactor(CLASHING), "conversation 1016", nodes)
    assert f"conversation 1016: node {node_id} field {field} ({kind})" in auditor.findings
    # and the audit of everything written names the docstore line and field
    final, writer = written(tmp_path, nodes)
    known = "phone" if kind == "phone" else "name" if kind == "name" else "contact value"
    assert any(f.endswith(f"].__data__.{field} (known {known})") for f in final.findings), final.findings
    writer.discard()


def test_a_contact_value_in_a_row_outside_its_generated_shape_is_found() -> None:
    auditor = Auditor()
    auditor.remember(CLASHING)
    auditor.check_value("chatwoot_conversations chatwoot:2:conv:1016", {"labels": ["1016"], "content_hash": DIGEST})
    auditor.check_value(
        "rag_attachments k", {"stored_path": "images/1016/photo.png", "node_id": "chatwoot:2:conv:1016"}
    )
    assert auditor.findings == [
        "chatwoot_conversations chatwoot:2:conv:1016 labels[0] (known contact value)",
        "rag_attachments k stored_path (known contact value)",
    ]
