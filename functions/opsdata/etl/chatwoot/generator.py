"""Realistic synthetic Chatwoot exports with planted PII and known ground truth.

Used by the tests, `make bench` and the demo. Everything is deterministic for a seed:
- conversations on web widget, email (quoted replies, signatures), Instagram (story mentions),
  WhatsApp and API inboxes; bots with menus, CSAT, activity and template messages, private
  notes, deleted messages, attachment-only images, voice notes with transcripts, emoji, five
  languages; a share of broken records (missing ids, duplicates, bad enums, impossible times);
- PII of every type the redactor handles, in many formats, each occurrence recorded in
  `PlantedPii` so recall and precision can be measured; decoys (order numbers, prices, dates,
  SKUs) that must survive.
Image URLs point at `image_base_url` (the demo serves them locally).
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

FIRST = [
    "Maria", "João", "Ana", "Carlos", "Sofia", "Lucas", "Emma", "Liam", "Olivia", "Noah", "Hannah", "Jonas",
    "Lena", "Felix", "Chloé", "Hugo", "Léa", "Lucía", "Mateo", "Valentina", "Priya", "Arjun", "Yuki", "Chen",
    "Fatima", "Omar", "Ingrid", "Sven", "Aisha", "Diego",
]  # fmt: skip
LAST = [
    "Silva", "Santos", "Oliveira", "Pereira", "Müller", "Schneider", "Fischer", "Dubois", "Moreau", "Lefèvre",
    "García", "Martínez", "Rodríguez", "Smith", "Johnson", "Williams", "Brown", "Kowalski", "Nakamura",
    "Haddad", "Andersson", "Rossi", "Bianchi", "Okafor", "Patel",
]  # fmt: skip
AGENTS = ["Sam Carter", "Jordan Lee", "Alex Morgan", "Rita Costa", "Tom Becker"]
DOMAINS = ["example.org", "mail.test", "inbox.example", "correo.test", "post.example"]
PHONE_REGIONS = ["US", "GB", "DE", "FR", "ES", "PT", "BR", "IT", "NL"]
CITIES = {"US": "Portland", "GB": "Leeds", "DE": "Hamburg", "FR": "Lyon", "ES": "Valencia", "PT": "Porto",
          "BR": "Curitiba", "IT": "Torino", "NL": "Utrecht"}  # fmt: skip
COUNTRIES = {"US": "United States", "GB": "United Kingdom", "DE": "Germany", "FR": "France", "ES": "Spain",
             "PT": "Portugal", "BR": "Brazil", "IT": "Italy", "NL": "Netherlands"}  # fmt: skip
LANG = {"US": "en", "GB": "en", "DE": "de", "FR": "fr", "ES": "es", "PT": "pt", "BR": "pt", "IT": "en", "NL": "en"}
CHANNELS = ["Channel::WebWidget", "Channel::Email", "Channel::Instagram", "Channel::Whatsapp", "Channel::Api"]

# Fragments: {slot} is planted PII; the text around it is ordinary support talk with decoys.
QUESTIONS = {
    "en": [
        "Hi, my order #{order} hasn't arrived yet 😕 Can you check?",
        "The mug I bought for ${price} arrived broken. What can I do?",
        "Do you ship to {city}? I ordered on {date}.",
        "I was charged twice for order {order}, please help!",
        "Can I change the size of my t-shirt (SKU {sku})?",
    ],
    "pt": [
        "Olá! A minha encomenda nº {order} ainda não chegou 😢",
        "O produto chegou partido, custou {price} €. O que faço?",
        "Fui cobrada duas vezes na encomenda {order}.",
    ],
    "es": ["Hola, mi pedido {order} no ha llegado todavía.", "¿Puedo cambiar la talla? Pagué {price} €."],
    "de": ["Hallo, meine Bestellung {order} ist noch nicht da.", "Der Artikel kam kaputt an 😞, Preis {price} €."],
    "fr": ["Bonjour, ma commande {order} n'est pas arrivée.", "Le produit est arrivé cassé, payé {price} €."],
}
PII_FRAGMENTS = {
    "email": ["You can reach me at {email}", "my email is {email}", "Mein E-Mail: {email}", "email: {email}."],
    "phone": ["Call me on {phone} please", "my number is {phone}", "Telefone: {phone}", "WhatsApp {phone} 📱"],
    "card": ["I paid with card {card}", "the card ending... full number {card}", "Karte {card} wurde belastet"],
    "iban": ["Refund to IBAN {iban} please", "IBAN: {iban}", "Konto {iban}"],
    "ip": ["the site says my IP {ip} is blocked", "error from {ip}"],
    "address": ["Please ship to {address}", "my address is {address}.", "Lieferadresse: {address}"],
    "name": ["This is {name} writing", "Thanks, {name}", "Regards from {first}"],
}
ANSWERS = {
    "en": ["Thanks for reaching out! I've checked your order and it ships tomorrow.",
           "Sorry about that! We'll send a replacement today.", "I've issued a refund, it takes 3-5 days."],
    "pt": ["Obrigado! Já verifiquei e a encomenda sai amanhã.", "Lamentamos! Enviamos uma substituição hoje."],
    "es": ["¡Gracias! Tu pedido sale mañana.", "Lo sentimos, enviamos un reemplazo hoy."],
    "de": ["Danke! Ihre Bestellung wird morgen verschickt.", "Das tut uns leid, wir senden Ersatz."],
    "fr": ["Merci ! Votre commande part demain.", "Désolé, nous envoyons un remplacement aujourd'hui."],
}  # fmt: skip


@dataclass(frozen=True)
class PlantedPii:
    conversation_id: int
    message_id: int
    kind: str
    value: str


@dataclass
class LabelledMessage:
    """One support message with its PII spans, for recall/precision by type."""

    text: str
    spans: list[tuple[str, int, int]]  # (kind, start, end)
    identity: dict[str, Any]


def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in range(10):
        candidate = digits + str(check)
        total = 0
        for i, ch in enumerate(reversed(candidate)):
            d = int(ch) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


def make_iban(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


class Faker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def phone(self, region: str) -> tuple[str, str]:
        """(E.164, a human format of it)."""
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None
        national = str(example.national_number)
        for _ in range(50):
            tail = "".join(str(self.rng.randrange(10)) for _ in range(4))
            candidate = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}", None)
            if phonenumbers.is_valid_number(candidate):
                break
        else:
            candidate = example
        e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        style = self.rng.randrange(5)
        if style == 0:
            shown = e164
        elif style == 1:
            shown = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        elif style == 2:
            shown = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.NATIONAL)
        elif style == 3:
            shown = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.INTERNATIONAL).replace(
                " ", "-"
            )
        else:
            shown = "00" + e164[1:]
        return e164, shown

    def card(self) -> str:
        number = luhn_complete(self.rng.choice(["4", "51", "55", "37"]), 16, self.rng)
        style = self.rng.randrange(3)
        if style == 0:
            return " ".join(number[i : i + 4] for i in range(0, 16, 4))
        if style == 1:
            return "-".join(number[i : i + 4] for i in range(0, 16, 4))
        return number

    def iban(self) -> str:
        country = self.rng.choice(["DE", "PT", "ES", "FR", "NL", "GB"])
        digits = lambda n: "".join(str(self.rng.randrange(10)) for _ in range(n))  # noqa: E731
        bban = {
            "DE": digits(18),
            "PT": digits(21),
            "ES": digits(20),
            "FR": digits(23),
            "NL": "ABNA" + digits(10),
            "GB": "NWBK" + digits(14),
        }[country]
        iban = make_iban(country, bban)
        if self.rng.random() < 0.6:
            return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
        return iban

    def ip(self) -> str:
        if self.rng.random() < 0.2:
            return f"2001:db8:{self.rng.randrange(65536):x}::{self.rng.randrange(1, 65536):x}"
        return f"{self.rng.choice([23, 51, 81, 93, 185, 203])}.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"  # noqa: E501

    def address(self) -> str:
        n = self.rng.randrange(1, 400)
        return self.rng.choice(
            [
                f"{n} Maple Street",
                f"{n} Oak Avenue, Apt {self.rng.randrange(1, 30)}",
                f"{n} Station Road",
                f"Lindenstraße {n}",
                f"Bahnhofstr. {n}",
                f"Rua das Flores, {n}",
                f"Avenida da Liberdade {n}",
                f"Calle Mayor {n}",
                f"{n} rue de la Paix",
            ]
        )

    def email(self, first: str, last: str) -> str:
        fold = str.maketrans("ãáàâçéèêíóôõúüñöäëïß", "aaaaceeeiooouunoaeis")
        local = f"{first}.{last}".lower().translate(fold)
        value = f"{local}{self.rng.randrange(100)}@{self.rng.choice(DOMAINS)}"
        return value.upper() if self.rng.random() < 0.1 else value


def labelled_messages(n: int, seed: int = 7) -> Iterator[LabelledMessage]:
    """Support messages with PII of every type at known spans, plus decoys, in five languages."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    fake = Faker(rng)
    kinds = list(PII_FRAGMENTS)
    for i in range(n):
        region = rng.choice(PHONE_REGIONS)
        lang = LANG[region]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        e164, _ = fake.phone(region)
        email = fake.email(first, last)
        identity = {"name": f"{first} {last}", "email": email, "phone": e164, "region": region}
        text = rng.choice(QUESTIONS[lang]).format(**_decoys(rng))
        spans: list[tuple[str, int, int]] = []
        for kind in rng.sample(kinds, k=2 + i % 3):
            fragment = rng.choice(PII_FRAGMENTS[kind])
            values = {
                "email": email if rng.random() < 0.5 else fake.email(rng.choice(FIRST), rng.choice(LAST)),
                "phone": fake.phone(region)[1] if rng.random() < 0.5 else _partial(e164, rng),
                "card": fake.card(),
                "iban": fake.iban(),
                "ip": fake.ip(),
                "address": fake.address(),
                "name": f"{first} {last}",
                "first": first,
            }
            slot = fragment[fragment.index("{") + 1 : fragment.index("}")]
            prefix = text + " " + fragment[: fragment.index("{")]
            value = values[slot]
            spans.append(("name" if slot == "first" else kind, len(prefix), len(prefix) + len(value)))
            text = prefix + value + fragment[fragment.index("}") + 1 :]
        yield LabelledMessage(text=text, spans=spans, identity=identity)


def _partial(e164: str, rng: random.Random) -> str:
    """The contact's own phone written without the country code, with spaces."""
    national = str(phonenumbers.parse(e164, None).national_number)
    if rng.random() < 0.5:
        return national
    return " ".join(national[i : i + 3] for i in range(0, len(national), 3))


def _decoys(rng: random.Random) -> dict[str, str]:
    return {
        "order": str(rng.randrange(1000, 99999)),
        "price": f"{rng.randrange(5, 300)}.{rng.randrange(100):02d}",
        "date": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
        "sku": f"TS-{rng.randrange(100, 999)}-{rng.choice('SMLX')}",
        "city": rng.choice(["Paris", "Berlin", "Madrid", "Chicago"]),
    }


# ----- whole exports ------------------------------------------------------------------
# By default four minutes apart from 2017 on: a million conversations still end before 2026, so
# no timestamp lies in the future (which the ETL quarantines as impossible).
FIRST_CREATED_AT = 1_500_240_000


@dataclass
class GeneratedExport:
    path: Path
    conversations: int
    broken: int
    planted: list[PlantedPii] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # image file names referenced under image_base_url


def write_export(
    path: Path,
    n_conversations: int,
    *,
    seed: int = 1,
    image_base_url: str = "http://127.0.0.1:8765/images",
    fmt: str = "json",
    broken_every: int = 50,
    keep_truth: bool = True,
    first_created_at: int = FIRST_CREATED_AT,
    spacing: int = 240,
) -> GeneratedExport:
    """Write an export (JSON array, or JSON Lines with fmt="jsonl"; gzip when path ends in .gz).

    Conversation i starts at `first_created_at + i * spacing` (epoch seconds); its messages follow
    within a few hours.
    """
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    fake = Faker(rng)
    result = GeneratedExport(path=path, conversations=n_conversations, broken=0)
    opener = gzip.open if path.suffix == ".gz" else open
    path.parent.mkdir(parents=True, exist_ok=True)
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        if fmt == "json":
            out.write("[\n")
        message_id = 10_000
        for index in range(n_conversations):
            display_id = 1000 + index
            created = first_created_at + index * spacing
            conversation, message_id, planted = _conversation(
                rng, fake, display_id, message_id, image_base_url, created
            )
            if keep_truth:
                result.planted.extend(planted)
                result.contacts.append(conversation["meta"]["sender"])
                for message in conversation["messages"]:
                    for attachment in message.get("attachments", []):
                        if attachment["file_type"] == "image":
                            result.images.append(attachment["data_url"].rsplit("/", 1)[-1])
            if broken_every and index % broken_every == broken_every - 1:
                conversation = _break(rng, conversation, index)
                result.broken += 1
            text = json.dumps(conversation, ensure_ascii=False)
            if fmt == "json":
                out.write(("" if index == 0 else ",\n") + text)
            else:
                out.write(text + "\n")
        if fmt == "json":
            out.write("\n]\n")
    return result


def _break(rng: random.Random, conversation: dict[str, Any], index: int) -> dict[str, Any]:
    kind = (index // 50) % 6
    broken = dict(conversation)
    if kind == 0:
        del broken["id"]
    elif kind == 1:
        broken["messages"] = "not a list"
    elif kind == 2:
        broken["status"] = "archived"
    elif kind == 3:
        broken["created_at"] = 99_999_999_999
    elif kind == 4:
        broken["messages"] = [*broken["messages"], {**broken["messages"][0], "conversation_id": 1, "id": 1}]
    else:
        broken["id"] = 1000  # duplicates the first conversation
    return broken


def _conversation(
    rng: random.Random, fake: Faker, display_id: int, message_id: int, image_base_url: str, created: int
) -> tuple[dict[str, Any], int, list[PlantedPii]]:
    region = rng.choice(PHONE_REGIONS)
    lang = LANG[region]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    name = f"{first} {last}"
    email = fake.email(first, last)
    e164, _ = fake.phone(region)
    ip = fake.ip()
    channel = rng.choice(CHANNELS)
    agent = rng.choice(AGENTS)
    handle = f"{first.lower()}_{rng.randrange(1000)}"
    sender = {
        "id": 50_000 + display_id,
        "name": name,
        "email": email,
        "phone_number": e164,
        "identifier": f"cus_{rng.randrange(10**8, 10**9)}" if rng.random() < 0.3 else None,
        "thumbnail": "",
        "blocked": False,
        "custom_attributes": {},
        "additional_attributes": {
            "city": CITIES[region],
            "country": COUNTRIES[region],
            "created_at_ip": ip,
            **({"social_profiles": {"instagram": handle}} if channel == "Channel::Instagram" else {}),
        },
        "type": "contact",
    }
    agent_sender = {"id": 7, "name": agent, "available_name": agent.split()[0], "type": "user", "avatar_url": ""}
    planted: list[PlantedPii] = []
    messages: list[dict[str, Any]] = []
    ts = created

    def add(mtype: int, content: str | None, **extra: Any) -> dict[str, Any]:
        nonlocal message_id, ts
        message_id += 1
        ts += rng.randrange(20, 600)
        message = {
            "id": message_id,
            "content": content,
            "inbox_id": 10 + CHANNELS.index(channel),
            "conversation_id": display_id,
            "message_type": mtype,
            "content_type": extra.pop("content_type", "text"),
            "status": "sent",
            "content_attributes": extra.pop("content_attributes", {}),
            "created_at": ts,
            "private": extra.pop("private", False),
            "source_id": None,
            **extra,
        }
        messages.append(message)
        return message

    if rng.random() < 0.3:
        add(1, "Hi! I'm the shop bot. What can I help with?", content_type="input_select",
            sender={"id": 3, "name": "Shop Bot", "type": "agent_bot"},
            content_attributes={"items": [{"title": "Orders", "value": "orders"}],
                                "submitted_values": [{"title": "Orders", "value": "orders"}]})  # fmt: skip
    for turn in range(rng.randrange(1, 4)):
        question = rng.choice(QUESTIONS[lang]).format(**_decoys(rng))
        kind = rng.choice(list(PII_FRAGMENTS))
        fragment = rng.choice(PII_FRAGMENTS[kind])
        value = {
            "email": email,
            "phone": _partial(e164, rng) if rng.random() < 0.5 else fake.phone(region)[1],
            "card": fake.card(),
            "iban": fake.iban(),
            "ip": ip,
            "address": fake.address(),
            "name": name,
            "first": first,
        }[fragment[fragment.index("{") + 1 : fragment.index("}")]]
        slots = dict.fromkeys(("email", "phone", "card", "iban", "ip", "address", "name", "first"), value)
        text = f"{question} {fragment.format(**slots)}"
        if channel == "Channel::Email":
            body = f"{text}\n\nBest regards,\n{name}\n{fake.phone(region)[1]}"
            quoted_history = f"\n\nOn Mon, 4 Mar 2024, {agent} <support@shop.example> wrote:\n> Earlier reply"
            msg = add(0, body + quoted_history, content_type="incoming_email", sender=sender,
                      content_attributes={"email": {"from": [email], "to": ["support@shop.example"],
                                                    "subject": "Re: my order",
                                                    "text_content": {"full": body + quoted_history,
                                                                     "reply": body + quoted_history,
                                                                     "quoted": body}}})  # fmt: skip
        else:
            msg = add(0, text, sender=sender)
        planted.append(PlantedPii(display_id, msg["id"], "name" if kind == "name" else kind, value))
        if rng.random() < 0.25:
            image = f"img-{display_id}-{turn}.png"
            add(0, None, sender=sender, attachments=[{
                "id": message_id + 500_000, "message_id": message_id + 1, "file_type": "image", "account_id": 1,
                "extension": "png", "data_url": f"{image_base_url}/{image}", "thumb_url": f"{image_base_url}/{image}",
                "file_size": 2048, "width": 64, "height": 48}])  # fmt: skip
        if rng.random() < 0.1:
            add(0, None, sender=sender, attachments=[{
                "id": message_id + 600_000, "message_id": message_id + 1, "file_type": "audio", "account_id": 1,
                "extension": "ogg", "data_url": f"{image_base_url}/voice.ogg", "thumb_url": "", "file_size": 999,
                "transcribed_text": f"{rng.choice(QUESTIONS[lang]).format(**_decoys(rng))} 🎤"}])  # fmt: skip
        if rng.random() < 0.1:
            add(0, "This message was deleted", sender=sender, content_attributes={"deleted": True})
        if rng.random() < 0.15:
            add(1, f"[@{agent.split()[0]}](mention://user/7/{agent.split()[0]}) can you check this?",
                private=True, sender=agent_sender)  # fmt: skip
        answer = rng.choice(ANSWERS[lang])
        if rng.random() < 0.3:
            answer += f"\n\n--\n{agent}, Customer Care"
        add(1, answer if rng.random() < 0.7 else f"Hi {first}! {answer}", sender=agent_sender)
    if rng.random() < 0.5:
        add(2, f"Conversation was marked resolved by {agent}")
    rating = rng.randrange(1, 6) if rng.random() < 0.4 else None
    if rating:
        add(3, "Please rate the conversation", content_type="input_csat",
            content_attributes={"submitted_values": {"csat_survey_response": {
                "rating": rating, "feedback_message": rng.choice(["Great, thanks!", "Slow", "👍", ""])}}})  # fmt: skip
    if rng.random() < 0.3:
        messages.reverse()  # exports are not chronological
    conversation = {
        "id": display_id,
        "account_id": 1,
        "inbox_id": 10 + CHANNELS.index(channel),
        "uuid": f"00000000-0000-4000-8000-{display_id:012d}",
        "status": rng.choice(["open", "resolved", "resolved", "pending", "snoozed"]),
        "priority": rng.choice([None, "low", "medium", "high", "urgent"]),
        "labels": rng.sample(["shipping", "refund", "damaged", "billing", "vip"], k=rng.randrange(0, 3)),
        "additional_attributes": {"conversation_language": lang}
        | ({"mail_subject": "Re: my order"} if channel == "Channel::Email" else {}),
        "meta": {
            "sender": sender,
            "channel": channel,
            "assignee": {"id": 7, "name": agent, "available_name": agent.split()[0]},
            "assignee_type": "User",
        },
        "messages": messages,
        "created_at": created,
        "timestamp": ts,
        "last_activity_at": ts,
    }
    return conversation, message_id, planted
