"""From a validated conversation to LlamaIndex node dicts: one Document, Q/A turn TextNodes, ImageNodes.

The dicts are exactly what llama-index-core 0.14's `to_dict()` produces (same keys, same order),
and `node_hash` reproduces each class's `hash` property, so stock code loads them unchanged and
`IngestionPipeline` dedupes on them. llama-index-core itself is not a runtime dependency.

Ids are stable across runs: `chatwoot:<account>:conv:<id>` for the Document,
`…:turn:<first message id>` for a turn, `…:att:<message id>:<attachment id>` for an image.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsdata.etl.chatwoot.cleaning import clean_text
from opsdata.etl.chatwoot.model import Conversation, Message
from opsdata.etl.chatwoot.redaction import Identity, Redactor, digits_of, phone_region

SPEAKER_LABEL = {"customer": "Customer", "agent": "Agent", "bot": "Bot"}
_ATTACHMENT_LABEL = {
    "image": "[image]",
    "audio": "[voice message]",
    "video": "[video]",
    "file": "[file]",
    "location": "[location]",
    "contact": "[contact card]",
    "share": "[shared post]",
    "story_mention": "[Instagram story]",
    "ig_story": "[Instagram story]",
    "ig_post": "[Instagram post]",
    "ig_reel": "[Instagram reel]",
    "fallback": "[attachment]",
    "embed": "[attachment]",
}
# Only these reach the embedding text; ids, timestamps and file facts would only add noise.
EMBEDDED_METADATA_KEYS = frozenset({"channel", "labels", "language"})
_LLM_EXCLUDED_SUFFIXES = ("_id", "_ids", "_ts", "sha256")
_TEMPLATE_DEFAULTS = {"metadata_template": "{key}: {value}", "metadata_separator": "\n"}
TEXT_TEMPLATE = "{metadata_str}\n\n{content}"


@dataclass
class ImagePlan:
    key: str  # attachment key: "<account>:<conversation>:<message>:<attachment>"
    node_id: str
    turn_id: str
    message_id: int
    attachment_id: int | None
    speaker: str
    url: str | None
    declared_size: int | None
    extension: str | None
    caption: str
    created_at: int


@dataclass
class Turn:
    node_id: str
    index: int
    lines: list[str]
    message_ids: list[int]
    started_at: int
    images: list[ImagePlan] = field(default_factory=list)


@dataclass
class ConversationPlan:
    """A conversation redacted and cut into turns; images are still to be resolved."""

    conversation: Conversation
    doc_id: str
    header: list[str]
    turns: list[Turn]
    footer: list[str]
    metadata: dict[str, Any]
    identity: Identity
    redaction_counts: dict[str, int]
    redactor: Redactor

    @property
    def images(self) -> list[ImagePlan]:
        return [image for turn in self.turns for image in turn.images]


@dataclass(frozen=True)
class StoredImage:
    """What the attachment pipeline says about one image (a subset of AttachmentOutcome)."""

    status: str  # ok | rejected | failed | skipped
    sha256: str | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None
    stored_path: str | None = None
    reason: str | None = None
    attempts: int = 0
    retryable: bool = False  # failed: the next run tries again (timeouts, 5xx, 429), not after a 404


_PHONE_SHAPED_RE = re.compile(r"\+?[\d\s().\-/]+")


def identity_for(conversation: Conversation, run_agent_names: Sequence[str] = ()) -> Identity:
    contact = conversation.contact
    emails = [v for v in (contact.email, *contact.extra_values) if v and "@" in v]
    # Message senders repeat the contact's email, phone and identifier: only a phone-shaped one is a
    # phone ("cus_772794822" is an identifier, matched as itself, not as a phone's digits).
    extra_phones = [v for v in contact.extra_values if _PHONE_SHAPED_RE.fullmatch(v.strip())]
    phones = [v for v in (contact.phone, *extra_phones) if v and len(digits_of(v)) >= 7 and "@" not in v]
    identifiers = [v for v in (contact.identifier,) if v]
    identifiers += [v for v in contact.extra_values if v not in emails and v not in phones]
    return Identity(
        names=tuple(v for v in (contact.name,) if v),
        emails=tuple(dict.fromkeys(emails)),
        phones=tuple(dict.fromkeys(phones)),
        identifiers=tuple(dict.fromkeys(identifiers)),
        ips=contact.ips,
        locations=contact.locations,
        handles=tuple(dict.fromkeys(contact.handles)),
        agent_names=tuple(dict.fromkeys((*conversation.agent_names, *run_agent_names))),
        region=phone_region(contact.phone),
    )


@functools.lru_cache(maxsize=64)
def channel_name(raw: str | None) -> str:
    """`Channel::WebWidget` -> `web_widget`."""
    if not raw:
        return "unknown"
    name = raw.split("::")[-1]
    out = [f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name)]
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def iso(ts: int | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def plan_conversation(conversation: Conversation, run_agent_names: Sequence[str] = ()) -> ConversationPlan:
    identity = identity_for(conversation, run_agent_names)
    redactor = Redactor(identity)
    redactor.seed("email", identity.emails)
    redactor.seed("phone", identity.phones)
    email_channel = conversation.channel == "Channel::Email"
    doc_id = conversation.key
    channel = channel_name(conversation.channel)
    texts = [clean_text(m.text, email=email_channel or m.is_email) for m in conversation.messages]
    transcripts = {
        id(attachment): clean_text(attachment.transcript, email=False)
        for m in conversation.messages
        for attachment in m.attachments
        if attachment.file_type == "audio" and attachment.transcript
    }
    redactor.prepare(
        [
            *texts,
            *transcripts.values(),
            conversation.subject or "",
            conversation.csat_feedback or "",
            *conversation.labels,
        ]
    )

    turns: list[Turn] = []
    current: Turn | None = None
    answered = False
    for message, text in zip(conversation.messages, texts, strict=True):
        if current is None or (message.speaker == "customer" and answered):
            current = Turn(
                node_id=f"{doc_id}:turn:{message.message_id}",
                index=len(turns) + 1,
                lines=[],
                message_ids=[],
                started_at=message.created_at,
            )
            turns.append(current)
            answered = False
        if message.speaker != "customer":
            answered = True
        line, caption = _render(message, text, transcripts, redactor)
        current.lines.append(line)
        current.message_ids.append(message.message_id)
        used: dict[str, int] = {}
        for attachment in message.attachments:
            if attachment.file_type != "image":
                continue
            base = f"{message.message_id}:{attachment.attachment_id or 0}"
            used[base] = used.get(base, 0) + 1
            suffix = base if used[base] == 1 else f"{base}.{used[base]}"
            current.images.append(
                ImagePlan(
                    key=f"{conversation.account_id}:{conversation.display_id}:{suffix}",
                    node_id=f"{doc_id}:att:{suffix}",
                    turn_id=current.node_id,
                    message_id=message.message_id,
                    attachment_id=attachment.attachment_id,
                    speaker=message.speaker,
                    url=attachment.data_url,
                    declared_size=attachment.declared_size,
                    extension=attachment.extension,
                    caption=caption,
                    created_at=message.created_at,
                )
            )

    header = []
    if conversation.subject:
        header.append(f"Subject: {redactor.redact(conversation.subject)}")
    footer = []
    if conversation.csat_rating is not None:
        feedback = redactor.redact(conversation.csat_feedback) if conversation.csat_feedback else ""
        footer.append(f"Customer satisfaction: {conversation.csat_rating}/5" + (f" - {feedback}" if feedback else ""))
    labels = ",".join(redactor.redact(label) for label in conversation.labels)
    metadata: dict[str, Any] = {
        "source": "chatwoot",
        "account_id": conversation.account_id,
        "conversation_id": conversation.display_id,
        "inbox_id": conversation.inbox_id,
        "channel": channel,
        "status": conversation.status,
        "priority": conversation.priority,
        "labels": labels,
        "language": conversation.language,
        "csat_rating": conversation.csat_rating,
        "created_at": iso(conversation.created_at),
        "created_at_ts": conversation.created_at,
        "resolved_at": iso(conversation.resolved_at),
        "resolved_at_ts": conversation.resolved_at,
        "has_images": any(turn.images for turn in turns),
    }
    metadata = {k: v for k, v in metadata.items() if v is not None and v != ""}
    return ConversationPlan(
        conversation=conversation,
        doc_id=doc_id,
        header=header,
        turns=turns,
        footer=footer,
        metadata=metadata,
        identity=identity,
        redaction_counts=dict(redactor.counts),
        redactor=redactor,
    )


def _render(message: Message, cleaned: str, transcripts: Mapping[int, str], redactor: Redactor) -> tuple[str, str]:
    """("Speaker: text [image]", redacted caption text) for one message (`cleaned`: its text
    cleaned; `transcripts`: cleaned voice transcripts by attachment)."""
    text = redactor.redact(cleaned)
    parts = [text] if text else []
    for attachment in message.attachments:
        label = _ATTACHMENT_LABEL.get(attachment.file_type, "[attachment]")
        if id(attachment) in transcripts:
            label = f"{label} {redactor.redact(transcripts[id(attachment)])}"
        parts.append(label)
    speaker = SPEAKER_LABEL[message.speaker]
    if message.private:
        speaker = f"{speaker} (private note)"
    return f"{speaker}: {' '.join(parts)}" if parts else f"{speaker}:", text


# ----- LlamaIndex dicts ---------------------------------------------------------------
def _excluded(metadata: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    embed, llm = _excluded_keys(tuple(metadata))
    return list(embed), list(llm)


@functools.lru_cache(maxsize=256)
def _excluded_keys(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The few metadata key sets nodes have, worked out once each."""
    return (
        tuple(k for k in keys if k not in EMBEDDED_METADATA_KEYS),
        tuple(k for k in keys if k.endswith(_LLM_EXCLUDED_SUFFIXES)),
    )


def _related(node_id: str) -> dict[str, Any]:
    return {"node_id": node_id, "node_type": None, "metadata": {}, "hash": None, "class_name": "RelatedNodeInfo"}


def document_dict(node_id: str, text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    embed, llm = _excluded(metadata)
    return {
        "id_": node_id,
        "embedding": None,
        "metadata": metadata,
        "excluded_embed_metadata_keys": embed,
        "excluded_llm_metadata_keys": llm,
        "relationships": {},
        **_TEMPLATE_DEFAULTS,
        "text_resource": {"embeddings": None, "text": text, "path": None, "url": None, "mimetype": None},
        "image_resource": None,
        "audio_resource": None,
        "video_resource": None,
        "text_template": TEXT_TEMPLATE,
        "class_name": "Document",
        "text": text,
    }


def text_node_dict(node_id: str, text: str, metadata: dict[str, Any], relationships: dict[str, Any]) -> dict[str, Any]:
    embed, llm = _excluded(metadata)
    return {
        "id_": node_id,
        "embedding": None,
        "metadata": metadata,
        "excluded_embed_metadata_keys": embed,
        "excluded_llm_metadata_keys": llm,
        "relationships": relationships,
        **_TEMPLATE_DEFAULTS,
        "text": text,
        "mimetype": "text/plain",
        "start_char_idx": None,
        "end_char_idx": None,
        "text_template": TEXT_TEMPLATE,
        "class_name": "TextNode",
    }


def image_node_dict(
    node_id: str,
    text: str,
    metadata: dict[str, Any],
    relationships: dict[str, Any],
    image_path: str,
    mimetype: str | None,
) -> dict[str, Any]:
    node = text_node_dict(node_id, text, metadata, relationships)
    del node["class_name"]
    node.update(
        {
            "image": None,
            "image_path": image_path,
            "image_url": None,
            "image_mimetype": mimetype,
            "text_embedding": None,
            "class_name": "ImageNode",
        }
    )
    return node


def node_hash(node: Mapping[str, Any]) -> str:
    """The `hash` property of the node's class in llama-index-core 0.14, computed from its dict."""
    cls = node["class_name"]
    if cls == "Document":
        template, items = node["metadata_template"], node["metadata"].items()
        if template == "{key}: {value}":  # the default, formatted without str.format's call per key
            metadata_str = node["metadata_separator"].join(f"{k}: {v!s}" for k, v in items)
        else:
            metadata_str = node["metadata_separator"].join(template.format(key=k, value=str(v)) for k, v in items)
        text = node["text_resource"]["text"]
        text_hash = hashlib.sha256(("<empty_string>" if text == "" else text).encode()).hexdigest()
        identity = "-".join(part for part in (metadata_str, text_hash) if part)
    elif cls == "ImageNode":
        identity = (
            f"{node['image'] or 'None'}-{node['image_path'] or 'None'}-{node['image_url'] or 'None'}-"
            f"{node['text'] or 'None'}"
        )
    else:
        identity = str(node["text"]) + str(node["metadata"])
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
_COMPACT_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def dumps_node(value: Any) -> str:
    """The one serialisation of output JSON (nodes.jsonl lines, docstore entries, quarantine)."""
    return _ENCODER.encode(value)  # json.dumps with these options, without a new encoder per call


@dataclass
class BuiltConversation:
    plan: ConversationPlan
    nodes: list[dict[str, Any]]  # Document first, then turns and images in reading order
    n_images: int
    _lines: list[str] | None = field(default=None, repr=False)
    _node_hashes: list[str] | None = field(default=None, repr=False)
    _content_hash: str | None = field(default=None, repr=False)

    @property
    def doc_id(self) -> str:
        return self.plan.doc_id

    @property
    def content_hash(self) -> str:
        """sha256 of the nodes, for the database's "did this conversation change" (files-only runs skip it)."""
        if self._content_hash is None:
            self._content_hash = _content_hash(self.nodes)
        return self._content_hash

    @property
    def node_hashes(self) -> list[str]:
        """Each node's LlamaIndex `hash`, worked out once for docstore.json and the database."""
        if self._node_hashes is None:
            self._node_hashes = [node_hash(node) for node in self.nodes]
        return self._node_hashes

    @property
    def lines(self) -> list[str]:
        """Each node serialised once, for nodes.jsonl and docstore.json alike."""
        if self._lines is None:
            self._lines = [dumps_node(node) for node in self.nodes]
        return self._lines


def build_nodes(plan: ConversationPlan, images: Mapping[str, StoredImage]) -> BuiltConversation:
    """Node dicts for one conversation; images are ImageNodes only when their file is stored."""
    base = plan.metadata
    transcript = "\n".join([*plan.header, *(line for turn in plan.turns for line in turn.lines), *plan.footer])
    nodes: list[dict[str, Any]] = []
    if not plan.turns:
        return BuiltConversation(plan, nodes, 0)
    stored = {image.key: images[image.key] for image in plan.images if _usable(images.get(image.key))}
    doc_metadata = {**base, "has_images": bool(stored), "n_turns": len(plan.turns)}
    nodes.append(document_dict(plan.doc_id, transcript, doc_metadata))
    shared = {k: v for k, v in base.items() if k not in ("has_images",)}
    n = len(plan.turns)
    for position, turn in enumerate(plan.turns):
        turn_images = [image for image in turn.images if image.key in stored]
        relationships: dict[str, Any] = {"1": _related(plan.doc_id)}
        if position > 0:
            relationships["2"] = _related(plan.turns[position - 1].node_id)
        if position < n - 1:
            relationships["3"] = _related(plan.turns[position + 1].node_id)
        if turn_images:
            relationships["5"] = [_related(image.node_id) for image in turn_images]
        metadata = {
            **shared,
            "turn": turn.index,
            "n_turns": n,
            "message_ids": ",".join(str(m) for m in turn.message_ids),
            "turn_started_at": iso(turn.started_at),
            "turn_started_at_ts": turn.started_at,
            "has_images": bool(turn_images),
        }
        nodes.append(text_node_dict(turn.node_id, "\n".join(turn.lines), metadata, relationships))
        for image in turn_images:
            outcome = stored[image.key]
            speaker = {"customer": "the customer", "agent": "an agent", "bot": "a bot"}[image.speaker]
            channel = base.get("channel", "unknown").replace("_", " ")
            text = f"Image sent by {speaker} in turn {turn.index} of {n} of a {channel} support conversation."
            if image.caption:
                text += f"\nMessage: {image.caption}"
            metadata = {
                **shared,
                "turn": turn.index,
                "speaker": image.speaker,
                "message_id": image.message_id,
                "attachment_id": image.attachment_id,
                "sha256": outcome.sha256,
                "content_type": outcome.content_type,
                "width": outcome.width,
                "height": outcome.height,
                "size_bytes": outcome.size,
                "sent_at": iso(image.created_at),
                "sent_at_ts": image.created_at,
            }
            metadata = {k: v for k, v in metadata.items() if v is not None}
            relationships = {"1": _related(plan.doc_id), "4": _related(turn.node_id)}
            assert outcome.stored_path is not None
            nodes.append(
                image_node_dict(image.node_id, text, metadata, relationships, outcome.stored_path, outcome.content_type)
            )
    return BuiltConversation(plan, nodes, len(stored))


def _usable(outcome: StoredImage | None) -> bool:
    return outcome is not None and outcome.status == "ok" and bool(outcome.stored_path)


def _content_hash(nodes: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for node in nodes:
        digest.update(_COMPACT_ENCODER.encode(node).encode())
    return digest.hexdigest()
