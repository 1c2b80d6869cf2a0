"""Redaction: known contact values in partial forms, generic detectors, consistent placeholders."""

from __future__ import annotations

import pytest

from opsdata.etl.chatwoot.generator import labelled_messages
from opsdata.etl.chatwoot.redaction import Identity, Redactor, iban_ok, luhn_ok


@pytest.fixture
def maria() -> Redactor:
    identity = Identity(
        names=("Maria Silva",),
        emails=("maria.silva@example.org",),
        phones=("+351912345678",),
        identifiers=("cus_8812",),
        ips=("203.0.113.7",),
        locations=("Lisboa",),
        handles=("maria_pt",),
        agent_names=("John Doe", "John"),
        region="PT",
    )
    redactor = Redactor(identity)
    redactor.seed("email", identity.emails)
    redactor.seed("phone", identity.phones)
    return redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sou a Maria, obrigado", "Sou a [CUSTOMER], obrigado"),
        ("MARIA SILVA here", "[CUSTOMER] here"),
        ("ligue 912 345 678", "ligue [PHONE_1]"),
        ("or +351 91 234 5678", "or [PHONE_1]"),
        ("mail MARIA.SILVA@example.org", "mail [EMAIL_1]"),
        ("my id is cus_8812", "my id is [CUSTOMER_ID]"),
        ("from 203.0.113.7", "from [IP_1]"),
        ("I live in Lisboa", "I live in [LOCATION]"),
        ("insta @maria_pt", "insta [HANDLE]"),
        ("Thanks John!", "Thanks [AGENT]!"),
    ],
)
def test_known_contact_values_are_replaced_in_every_form(maria: Redactor, text: str, expected: str) -> None:
    assert maria.redact(text) == expected


def test_generic_detectors_replace_other_peoples_data(maria: Redactor) -> None:
    text = (
        "write to bob@shop.test or bob (at) mail (dot) com, card 4111 1111 1111 1111, "
        "IBAN DE89 3704 0044 0532 0130 00, server 2001:db8::1, call (415) 555-2671, "
        "ship to 221B Baker Street, Apt 4 ![](https://chat.example.com/rails/active_storage/blobs/redirect/x/a.png) "
        "[@Bruce](mention://user/30/Bruce)"
    )
    out = maria.redact(text)
    for leaked in ("bob@", "4111", "DE89", "2001:db8", "555-2671", "Baker", "active_storage", "mention://", "Bruce"):
        assert leaked not in out
    assert "[EMAIL_2]" in out and "[EMAIL_3]" in out, "other emails are numbered after the contact's"
    assert "[CARD_1]" in out and "[IBAN_1]" in out and "[ADDRESS_1]" in out and "@[AGENT]" in out


def test_placeholders_are_consistent_within_a_conversation(maria: Redactor) -> None:
    first = maria.redact("email bob@shop.test please")
    second = maria.redact("again: BOB@shop.test")
    assert first == "email [EMAIL_2] please" and second == "again: [EMAIL_2]"
    assert maria.counts["email"] == 2


def test_ordinary_numbers_words_and_prices_survive(maria: Redactor) -> None:
    text = "Order #100234567 of 2024-11-27 at 10:30 cost $1,299.00 (SKU TS-234-S); I will call later."
    assert maria.redact(text) == text


def test_word_like_names_match_only_when_capitalised() -> None:
    redactor = Redactor(Identity(names=("Will Smith",)))
    assert redactor.redact("I will ask Will") == "I will ask [CUSTOMER]"


def test_checksums_decide_cards_and_ibans() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    redactor = Redactor(Identity())
    assert redactor.redact("ref 4111 1111 1111 1112") == "ref 4111 1111 1111 1112"


def test_labelled_set_recall_is_high_for_every_type() -> None:
    # Given hundreds of labelled messages in five languages
    missed: dict[str, int] = {}
    total: dict[str, int] = {}
    for message in labelled_messages(300, seed=11):
        identity = Identity(
            names=(message.identity["name"],),
            emails=(message.identity["email"],),
            phones=(message.identity["phone"],),
            region=message.identity["region"],
        )
        hits = Redactor(identity).detect(message.text)
        for kind, start, end in message.spans:
            total[kind] = total.get(kind, 0) + 1
            if not any(h.start <= start and h.end >= end for h in hits):
                missed[kind] = missed.get(kind, 0) + 1
    # Then emails, phones, cards and known values are found at least 99% of the time
    for kind in ("email", "phone", "card", "name"):
        assert missed.get(kind, 0) <= total[kind] * 0.01, (kind, missed.get(kind), total[kind])
    for kind in ("iban", "ip", "address"):
        assert missed.get(kind, 0) <= total[kind] * 0.05, (kind, missed.get(kind), total[kind])
