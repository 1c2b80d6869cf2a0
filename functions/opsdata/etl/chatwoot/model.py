"""Validating raw Chatwoot records into conversations, and quarantining what is malformed.

A malformed record never stops the run. A whole conversation is quarantined when it cannot be
identified or trusted (no id, duplicate id, messages not a list, unknown status, impossible
timestamps); a single message is quarantined when only it is wrong (no id, duplicate id,
belongs to another conversation, unknown enum value, impossible timestamp). Quarantine reasons
name fields and ids, never values that could be PII.

Accepts both message forms Chatwoot emits: the API form (`sender.type`) and `push_event_data`
(`sender_type`, ISO `updated_at`), plus webhook-style string `message_type`s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from opsdata.etl.chatwoot.cleaning import email_body

CONVERSATION_STATUSES = frozenset({"open", "resolved", "pending", "snoozed"})
PRIORITIES = frozenset({"low", "medium", "high", "urgent"})
MESSAGE_STATUSES = frozenset({"sent", "delivered", "read", "failed"})
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
_MESSAGE_TYPE_NAMES = {name: code for code, name in MESSAGE_TYPES.items()}
CONTENT_TYPES = frozenset(
    {
        "text",
        "input_text",
        "input_textarea",
        "input_email",
        "input_select",
        "cards",
        "form",
        "article",
        "incoming_email",
        "input_csat",
        "integrations",
        "sticker",
        "voice_call",
    }
)
# Bot menus, forms and other interactive or integration content: not support knowledge.
DROPPED_CONTENT_TYPES = frozenset(
    {"input_text", "input_textarea", "input_email", "input_select", "cards", "form", "article", "integrations"}
)
FILE_TYPES = frozenset(
    {
        "image",
        "audio",
        "video",
        "file",
        "location",
        "fallback",
        "share",
        "story_mention",
        "contact",
        "ig_reel",
        "ig_post",
        "ig_story",
        "embed",
    }
)
_SENDER_TYPES = {
    "contact": "customer",
    "user": "agent",
    "agent_bot": "bot",
    "captain_assistant": "bot",
    "Contact": "customer",
    "User": "agent",
    "AgentBot": "bot",
    "Captain::Assistant": "bot",
}
# Chatwoot was first released in 2019; anything before 2010 or after "now + 1 day" is impossible.
_MIN_TS = 1262304000
_SAFE_VALUE_RE = re.compile(r"^[A-Za-z0-9_:.\-]{1,40}$")

Speaker = Literal["customer", "agent", "bot"]


@dataclass(frozen=True)
class Quarantined:
    ref: str
    reason: str
    conversation_id: int | None = None
    message_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        record: dict[str, Any] = {"ref": self.ref, "reason": self.reason}
        if self.conversation_id is not None:
            record["conversation_id"] = self.conversation_id
        if self.message_id is not None:
            record["message_id"] = self.message_id
        return record


@dataclass
class Attachment:
    attachment_id: int | None
    file_type: str
    data_url: str | None
    declared_size: int | None
    extension: str | None
    transcript: str | None = None


@dataclass
class Message:
    message_id: int
    speaker: Speaker
    created_at: int
    content_type: str
    text: str  # raw: cleaned and redacted later
    private: bool
    sender_id: int | None
    sender_name: str | None
    is_email: bool
    attachments: list[Attachment] = field(default_factory=list)


@dataclass
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    identifier: str | None = None
    ips: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    extra_values: tuple[str, ...] = ()  # email/phone values seen in message-level sender objects


@dataclass
class Conversation:
    account_id: int
    display_id: int
    inbox_id: int | None
    status: str
    priority: str | None
    channel: str | None
    labels: tuple[str, ...]
    language: str | None
    subject: str | None
    created_at: int
    resolved_at: int | None
    csat_rating: int | None
    csat_feedback: str | None
    contact: Contact
    agent_names: tuple[str, ...]
    messages: list[Message]  # kept for the corpus, sorted by (created_at, id)
    n_source_messages: int
    last_message_at: int | None

    @property
    def key(self) -> str:
        return f"chatwoot:{self.account_id}:conv:{self.display_id}"


class IdSet:
    """The (account, conversation) ids seen in a run, in little memory: Chatwoot's display ids
    count up from 1 in each account, so each account gets a bitmap (one bit per id, grown as
    ids arrive, at most 8 MiB); an id past that goes to a plain set."""

    BITMAP_IDS = 1 << 26

    def __init__(self) -> None:
        self._bitmaps: dict[int, bytearray] = {}
        self._other: set[tuple[int, int]] = set()

    def __contains__(self, key: tuple[int, int]) -> bool:
        account, conversation = key
        if conversation >= self.BITMAP_IDS:
            return key in self._other
        bitmap = self._bitmaps.get(account)
        byte = conversation >> 3
        return bitmap is not None and byte < len(bitmap) and bool(bitmap[byte] & (1 << (conversation & 7)))

    def update(self, keys: Iterable[tuple[int, int]]) -> None:
        for key in keys:
            self.add(key)

    def add(self, key: tuple[int, int]) -> None:
        account, conversation = key
        if conversation >= self.BITMAP_IDS:
            self._other.add(key)
            return
        bitmap = self._bitmaps.setdefault(account, bytearray())
        byte = conversation >> 3
        if byte >= len(bitmap):
            bitmap.extend(bytes(max(byte + 1 - len(bitmap), len(bitmap))))  # grow by doubling
        bitmap[byte] |= 1 << (conversation & 7)


@dataclass
class Validator:
    """Turns raw records into conversations; remembers ids to catch duplicates across the export."""

    include_private_notes: bool = False
    now: int = field(default_factory=lambda: int(time.time()))
    seen: IdSet = field(default_factory=IdSet)

    def validate(self, ref: str, data: Any) -> tuple[Conversation | None, list[Quarantined]]:
        problems: list[Quarantined] = []
        if not isinstance(data, dict):
            return None, [Quarantined(ref, f"record is a {_json_type(data)}, not a conversation object")]
        if "_opsdata_orphan_messages" in data:
            return None, [
                Quarantined(
                    ref,
                    "message pages for a conversation that no list page contains",
                    conversation_id=data["_opsdata_orphan_messages"],
                )
            ]
        display_id = data.get("id")
        if not _is_id(display_id):
            return None, [Quarantined(ref, _missing_or_invalid("id", data))]
        account_id = data.get("account_id")
        if not _is_id(account_id):
            account_id = _account_from_messages(data.get("messages"))
        if account_id is None:
            return None, [Quarantined(ref, _missing_or_invalid("account_id", data), display_id)]
        if (account_id, display_id) in self.seen:
            return None, [Quarantined(ref, "duplicate conversation id (an earlier record has the same id)", display_id)]
        self.seen.add((account_id, display_id))
        if data.get("_opsdata_no_message_pages"):
            return None, [Quarantined(ref, "no message pages for this conversation in the directory", display_id)]
        raw_messages = data.get("messages")
        if not isinstance(raw_messages, list):
            return None, [Quarantined(ref, _missing_or_invalid("messages", data, "not a list"), display_id)]
        status = data.get("status")
        if status not in CONVERSATION_STATUSES:
            return None, [Quarantined(ref, _unknown("status", status), display_id)]
        priority = data.get("priority")
        if priority is not None and priority not in PRIORITIES:
            return None, [Quarantined(ref, _unknown("priority", priority), display_id)]
        created_at = _timestamp(data.get("created_at"))
        if data.get("created_at") is not None and not self._plausible(created_at):
            return None, [Quarantined(ref, "impossible timestamp in created_at", display_id)]
        labels = data.get("labels") or []
        if not isinstance(labels, list):
            return None, [Quarantined(ref, _missing_or_invalid("labels", data, "not a list"), display_id)]

        meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
        attrs = data.get("additional_attributes") if isinstance(data.get("additional_attributes"), dict) else {}
        contact = _contact(meta.get("sender"))
        agents: dict[str, None] = {}
        assignee = meta.get("assignee")
        if isinstance(assignee, dict) and meta.get("assignee_type", "User") == "User":
            for key in ("name", "available_name"):
                if isinstance(assignee.get(key), str):
                    agents[assignee[key]] = None

        messages: list[Message] = []
        seen_ids: set[int] = set()
        csat: tuple[int | None, str | None] = (None, None)
        resolved_at: int | None = None
        last_message_at: int | None = None
        extra_contact_values: list[str] = []
        for position, raw in enumerate(raw_messages, start=1):
            mref = f"{ref} message {position}"
            if not isinstance(raw, dict):
                problems.append(Quarantined(mref, f"message is a {_json_type(raw)}, not an object", display_id))
                continue
            message_id = raw.get("id")
            if not _is_id(message_id):
                problems.append(Quarantined(mref, _missing_or_invalid("id", raw), display_id))
                continue
            if message_id in seen_ids:
                problems.append(Quarantined(mref, "duplicate message id", display_id, message_id))
                continue
            seen_ids.add(message_id)
            owner = raw.get("conversation_id")
            if owner is not None and owner != display_id:
                problems.append(
                    Quarantined(mref, f"message belongs to conversation {_safe(owner)}", display_id, message_id)
                )
                continue
            reason, parsed = self._message(raw, message_id)
            if reason:
                problems.append(Quarantined(mref, reason, display_id, message_id))
                continue
            assert parsed is not None
            mtype, ts, content_type = parsed
            last_message_at = ts if last_message_at is None else max(last_message_at, ts)
            sender = raw.get("sender") if isinstance(raw.get("sender"), dict) else {}
            attrs_c = raw.get("content_attributes") if isinstance(raw.get("content_attributes"), dict) else {}
            speaker = _speaker(mtype, raw, sender)
            if speaker == "agent" and isinstance(sender.get("name"), str):
                agents[sender["name"]] = None
                if isinstance(sender.get("available_name"), str):
                    agents[sender["available_name"]] = None
            if speaker == "customer":
                for key in ("email", "phone_number", "identifier"):
                    if isinstance(sender.get(key), str) and sender[key]:
                        extra_contact_values.append(sender[key])
            if content_type == "input_csat":
                csat = _csat(attrs_c) or csat
            if mtype == 2 and isinstance(raw.get("content"), str) and "resolved" in raw["content"]:
                resolved_at = ts
            if mtype in (2, 3) or content_type in DROPPED_CONTENT_TYPES or content_type == "input_csat":
                continue
            if attrs_c.get("deleted"):
                continue
            private = bool(raw.get("private"))
            if private and not self.include_private_notes:
                continue
            is_email = content_type == "incoming_email"
            text = raw.get("content") if isinstance(raw.get("content"), str) else ""
            if is_email:
                text = email_body(text, attrs_c.get("email")) or ""
            if isinstance(attrs_c.get("story_sender"), str):
                contact.handles = (*contact.handles, attrs_c["story_sender"])
            attachments = _attachments(raw.get("attachments"))
            if attachments is None:
                problems.append(Quarantined(mref, "attachments is not a list", display_id, message_id))
                attachments = []
            if not text.strip() and not attachments:
                continue
            messages.append(
                Message(
                    message_id=message_id,
                    speaker=speaker,
                    created_at=ts,
                    content_type=content_type,
                    text=text,
                    private=private,
                    sender_id=sender.get("id") if _is_id(sender.get("id")) else raw.get("sender_id"),
                    sender_name=sender.get("name") if isinstance(sender.get("name"), str) else None,
                    is_email=is_email,
                    attachments=attachments,
                )
            )
        messages.sort(key=lambda m: (m.created_at, m.message_id))
        if status != "resolved":
            resolved_at = None
        contact.extra_values = tuple(dict.fromkeys(extra_contact_values))
        channel = meta.get("channel") if isinstance(meta.get("channel"), str) else None
        language = attrs.get("conversation_language") or attrs.get("browser_language")
        conversation = Conversation(
            account_id=account_id,
            display_id=display_id,
            inbox_id=data.get("inbox_id") if _is_id(data.get("inbox_id")) else None,
            status=status,
            priority=priority,
            channel=channel,
            labels=tuple(str(label) for label in labels if isinstance(label, str | int)),
            language=language if isinstance(language, str) and _SAFE_VALUE_RE.match(language) else None,
            subject=attrs.get("mail_subject") if isinstance(attrs.get("mail_subject"), str) else None,
            created_at=created_at if created_at is not None else (messages[0].created_at if messages else 0),
            resolved_at=resolved_at,
            csat_rating=csat[0],
            csat_feedback=csat[1],
            contact=contact,
            agent_names=tuple(agents),
            messages=messages,
            n_source_messages=len(raw_messages),
            last_message_at=last_message_at,
        )
        return conversation, problems

    def _plausible(self, ts: int | None) -> bool:
        return ts is not None and _MIN_TS <= ts <= self.now + 86400

    def _message(self, raw: dict[str, Any], message_id: int) -> tuple[str | None, tuple[int, int, str] | None]:
        mtype = raw.get("message_type")
        if isinstance(mtype, str) and mtype in _MESSAGE_TYPE_NAMES:
            mtype = _MESSAGE_TYPE_NAMES[mtype]
        if mtype not in MESSAGE_TYPES or isinstance(mtype, bool):
            return _unknown("message_type", raw.get("message_type")), None
        content_type = raw.get("content_type") or "text"
        if content_type not in CONTENT_TYPES:
            return _unknown("content_type", content_type), None
        status = raw.get("status")
        if status is not None and status not in MESSAGE_STATUSES:
            return _unknown("message status", status), None
        ts = _timestamp(raw.get("created_at"))
        if not self._plausible(ts):
            return "impossible or missing timestamp in created_at", None
        sender_type = (raw.get("sender") or {}).get("type") if isinstance(raw.get("sender"), dict) else None
        sender_type = sender_type or raw.get("sender_type")
        if sender_type is not None and sender_type not in _SENDER_TYPES:
            return _unknown("sender type", sender_type), None
        assert ts is not None
        return None, (mtype, ts, content_type)


def conversation_key(data: Any) -> tuple[int, int] | None:
    """(account_id, id) of a raw conversation record, found as the Validator finds them; None if unidentifiable."""
    if not isinstance(data, dict) or not _is_id(data.get("id")):
        return None
    account_id = data.get("account_id")
    if not _is_id(account_id):
        account_id = _account_from_messages(data.get("messages"))
    return None if account_id is None else (account_id, data["id"])


def _speaker(mtype: int, raw: dict[str, Any], sender: dict[str, Any]) -> Speaker:
    if mtype == 0:
        return "customer"
    kind = sender.get("type") or raw.get("sender_type")
    mapped = _SENDER_TYPES.get(kind) if isinstance(kind, str) else None
    if mapped == "bot":
        return "bot"
    return "agent"  # outgoing without a sender: sent from the channel's own app by a person


def _contact(sender: Any) -> Contact:
    if not isinstance(sender, dict):
        return Contact()
    attrs = sender.get("additional_attributes") if isinstance(sender.get("additional_attributes"), dict) else {}
    ips = tuple(str(attrs[k]) for k in ("created_at_ip", "updated_at_ip") if isinstance(attrs.get(k), str))
    locations = tuple(
        str(attrs[k]) for k in ("city", "country", "region", "state") if isinstance(attrs.get(k), str) and attrs[k]
    )
    profiles = attrs.get("social_profiles") if isinstance(attrs.get("social_profiles"), dict) else {}
    handles = tuple(str(v).lstrip("@") for v in profiles.values() if isinstance(v, str) and v.strip())
    for key in ("social_instagram_user_name", "social_telegram_user_name", "screen_name", "username"):
        if isinstance(attrs.get(key), str) and attrs[key]:
            handles = (*handles, attrs[key].lstrip("@"))

    def text(key: str) -> str | None:
        value = sender.get(key)
        return value if isinstance(value, str) and value.strip() else None

    return Contact(
        name=text("name"),
        email=text("email"),
        phone=text("phone_number"),
        identifier=text("identifier"),
        ips=ips,
        locations=locations,
        handles=handles,
    )


def _attachments(raw: Any) -> list[Attachment] | None:
    if raw is None:
        return []
    if not isinstance(raw, list):
        return None
    found: list[Attachment] = []
    seen: set[tuple[Any, Any]] = set()
    for item in raw:
        if not isinstance(item, dict) or item.get("file_type") not in FILE_TYPES:
            continue
        identity = (item.get("id"), item.get("data_url"))
        if identity in seen:  # Chatwoot repeats attachments; the same id and URL is one file
            continue
        seen.add(identity)
        size = item.get("file_size")
        found.append(
            Attachment(
                attachment_id=item.get("id") if _is_id(item.get("id")) else None,
                file_type=item["file_type"],
                data_url=item.get("data_url") if isinstance(item.get("data_url"), str) else None,
                declared_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
                extension=item.get("extension") if isinstance(item.get("extension"), str) else None,
                transcript=item.get("transcribed_text") if isinstance(item.get("transcribed_text"), str) else None,
            )
        )
    return found


def _csat(attrs: dict[str, Any]) -> tuple[int | None, str | None] | None:
    values = attrs.get("submitted_values")
    if not isinstance(values, dict):
        return None
    response = values.get("csat_survey_response")
    if not isinstance(response, dict):
        return None
    rating = response.get("rating")
    rating = rating if isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5 else None
    feedback = response.get("feedback_message")
    return rating, feedback if isinstance(feedback, str) and feedback.strip() else None


def _account_from_messages(messages: Any) -> int | None:
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and _is_id(message.get("account_id")):
                return message["account_id"]
    return None


def _timestamp(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return int(parsed.timestamp())
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _safe(value: Any) -> str:
    """A value quoted in a reason only when it cannot carry PII (short, plain token)."""
    text = str(value)
    return repr(text) if _SAFE_VALUE_RE.match(text) else f"(a {_json_type(value)} value)"


def _unknown(fieldname: str, value: Any) -> str:
    return f"unknown {fieldname} {_safe(value)}"


def _missing_or_invalid(fieldname: str, data: dict[str, Any], what: str = "not a positive integer") -> str:
    if fieldname not in data or data[fieldname] is None:
        return f"missing field '{fieldname}'"
    return f"field '{fieldname}' is {what}"
