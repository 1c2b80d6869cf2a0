"""Redaction: known contact values in partial forms, generic detectors, consistent placeholders."""

from __future__ import annotations

import random
import re

import pytest

from opsdata.etl.chatwoot.generator import labelled_messages
from opsdata.etl.chatwoot.redaction import (
    _ADDRESS_GATES,
    _EMAIL_RE,
    _IPV6_RE,
    _PHONE_CANDIDATE_RE,
    _STREET_TYPES_EN,
    Identity,
    Redactor,
    _national_digits,
    email_matches,
    iban_ok,
    ipv6_candidates,
    luhn_ok,
    phone_candidates,
)
from support_pii import HANDWRITTEN, unmark


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
    # Then every type is found at least 99% of the time
    for kind in ("email", "phone", "card", "name", "iban", "ip", "address"):
        assert missed.get(kind, 0) <= total[kind] * 0.01, (kind, missed.get(kind), total[kind])


# ----- the generator's misses before the fix, one class each ---------------------------------
def test_an_international_number_with_00_is_a_phone_even_when_luhn_valid() -> None:
    # "0044 7400 129501" passes the Luhn check, but no payment card starts with 0 (ISO/IEC 7812)
    assert luhn_ok("00447400129501")
    assert Redactor(Identity()).redact("Telefone: 00447400129501 please") == "Telefone: [PHONE_1] please"


@pytest.mark.parametrize(
    "iban",
    ["GB55 NWBK 4145 5321 2254 80", "GB80NWBK07841754411823", "FR31 5356 6700 5755 9982 3568 904"],
)
def test_an_iban_followed_by_a_one_letter_word_is_found_whole(iban: str) -> None:
    # Before: "… 2254 80 I" was taken in, failed mod-97, and the digits were left as a "phone"
    if not iban_ok(iban):
        pytest.skip("test data")
    assert Redactor(Identity()).redact(f"IBAN: {iban} I paid with card") == "IBAN: [IBAN_1] I paid with card"


def test_an_address_stops_where_the_next_pii_starts() -> None:
    # Before: the address swallowed the IBAN after it and, losing to the IBAN, was dropped whole
    text = "Lieferadresse: 51 rue de la Paix Konto FR7630006000011234567890189 danke"
    assert Redactor(Identity()).redact(text) == "Lieferadresse: [ADDRESS_1] [IBAN_1] danke"


def test_an_address_does_not_swallow_the_words_and_name_after_it() -> None:
    redactor = Redactor(Identity(names=("Mateo Rossi",)))
    out = redactor.redact("ship to 297 rue de la Paix Regards from Mateo")
    assert out.endswith("from [CUSTOMER]") and "[ADDRESS_1]" in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lieferadresse: 228 rue de la Paix WhatsApp 612344255 📱", "[PHONE_1]"),  # not postcode "61234"
        ("Lieferadresse: Lindenstraße 12 WhatsApp 01512 3450246", "[PHONE_1]"),  # not postcode "01512"
    ],
)
def test_a_phone_after_an_address_is_not_taken_for_its_postcode(text: str, expected: str) -> None:
    out = Redactor(Identity(region="DE")).redact(text)
    assert expected in out and "[ADDRESS_1]" in out
    assert not any(ch.isdigit() for ch in out.replace("[PHONE_1]", "").replace("[ADDRESS_1]", "")), out


def test_a_street_number_does_not_take_the_space_after_it() -> None:
    assert Redactor(Identity()).redact("ship to Lindenstraße 12 This is me") == "ship to [ADDRESS_1] This is me"


@pytest.mark.parametrize(
    "iban",
    [
        "de89 3704 0044 0532 0130 00",  # lower case
        "DE89 3704 0044\n0532 0130 00",  # broken over two lines
        "DE89-3704-0044-0532-0130-00",
        "it60 x054 2811 1010 0000 0123 456",
    ],
)
def test_ibans_are_found_in_the_forms_people_type(iban: str) -> None:
    assert Redactor(Identity()).redact(f"iban: {iban}.") == "iban: [IBAN_1]."


def test_an_iban_must_have_its_country_length_and_checksum() -> None:
    redactor = Redactor(Identity())
    assert redactor.redact("DE89 3704 0044 0532 0130 001") == "DE89 3704 0044 0532 0130 001"  # 23 characters
    assert redactor.redact("de88 3704 0044 0532 0130 00") == "de88 3704 0044 0532 0130 00"  # checksum
    assert redactor.redact("sha de89370400440532013000aa") == "sha de89370400440532013000aa"


def test_a_formatted_number_right_after_an_order_cue_is_no_phone() -> None:
    redactor = Redactor(Identity())
    assert redactor.redact("ref 2024-0001234") == "ref 2024-0001234"
    assert redactor.redact("I paid, call me on 415-555-2671") == "I paid, call me on [PHONE_1]"


# ----- hand-written messages: several countries, the formats people type ---------------------
@pytest.mark.parametrize(("identity", "marked"), HANDWRITTEN, ids=[m[:20] for _, m in HANDWRITTEN])
def test_handwritten_messages_lose_exactly_their_pii(identity: dict, marked: str) -> None:
    text, spans = unmark(marked)
    hits = Redactor(Identity(**identity)).detect(text)
    for kind, start, end in spans:
        assert any(h.start <= start and h.end >= end and h.kind == kind for h in hits), (kind, text[start:end])
    extra = [text[h.start : h.end] for h in hits if not any(h.start < e and s < h.end for _, s, e in spans)]
    assert extra == [], "order numbers, dates, prices, versions and barcodes survive"


# ----- the same results, faster --------------------------------------------------------------
def test_looking_at_a_conversation_first_changes_no_result() -> None:
    messages = list(labelled_messages(200, seed=3))
    identity = Identity(names=("Maria Silva", "Sam Carter"), agent_names=("Sam Carter", "Sam"), region="PT")
    plain, prepared = Redactor(identity), Redactor(identity)
    prepared.prepare([m.text for m in messages])
    assert [prepared.redact(m.text) for m in messages] == [plain.redact(m.text) for m in messages]
    assert prepared.counts == plain.counts


def test_texts_prepared_together_get_exactly_their_own_hits() -> None:
    # Fragments that would match across texts if a match could cross the separator
    rng = random.Random(9)
    pieces = [m.text for m in labelled_messages(100, seed=4)] + [
        "12 rue de la", "Paix 75002", "\n", "221B Baker", "Street", "4111 1111", "1111 1111", "DE89 3704",
        "0044 0532 0130 00", "call me", "912 345 678", "order #", "[x](", "https://c.test/rails/active_storage/x.png)",
        "bob", "@x.org", "2001:db8::", "192.168.", "0.1", "\x00", "Maria", "Silva", "Sam Carter", " ", "Lisboa",
    ]  # fmt: skip
    identity = Identity(
        names=("Maria Silva",),
        phones=("+351912345678",),
        locations=("Lisboa",),
        ips=("::1",),
        agent_names=("Sam Carter", "Sam"),
        region="PT",
    )
    for _ in range(600):
        texts = ["".join(rng.choice(pieces) for _ in range(rng.randrange(1, 4))) for _ in range(rng.randrange(1, 7))]
        plain, prepared = Redactor(identity), Redactor(identity)
        prepared.prepare(texts)
        assert [prepared.redact(t) for t in texts] == [plain.redact(t) for t in texts], texts
        assert prepared.counts == plain.counts


def test_fast_candidate_finders_find_what_the_patterns_find() -> None:
    rng = random.Random(5)
    alphabet = "0123456789abcdefABC: ().-/+#_x\n"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 40)))
        assert [m.span() for m in phone_candidates(text)] == [m.span() for m in _PHONE_CANDIDATE_RE.finditer(text)]
        assert [m.span() for m in ipv6_candidates(text)] == [m.span() for m in _IPV6_RE.finditer(text)]
    pieces = [*"ab.+%-_@ ()[]x1\n", "AT", "at", " at ", "(at)", "[At]", "( at )", "(dot)", ".com", "é"]
    pieces += ["\u0131", "\u212a"]  # dotless i, Kelvin sign: IGNORECASE folds them to ASCII letters
    pieces += ["a" * 70, "%", "@b.com", " (at) x (dot) com"]  # local parts longer than 64, "%" inside them
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 25)))
        assert [m.span() for m in email_matches(text)] == [m.span() for m in _EMAIL_RE.finditer(text)], text


def test_the_street_type_gate_finds_what_its_plain_pattern_finds() -> None:
    plain = re.compile(r"\s(?:" + _STREET_TYPES_EN.replace("\\.?", "") + r")(?!\w)")
    types = _STREET_TYPES_EN.replace("\\.?", "").split("|")
    pieces = [*types, *(t + "s" for t in types), " ", "\n", "\u00a0", "x", "1", ".", "é", "S", "Streets"]
    rng = random.Random(11)
    for _ in range(50_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 8)))
        assert bool(_ADDRESS_GATES[0].search(text)) == bool(plain.search(text)), text


@pytest.mark.parametrize(
    "phone", ["+351912345678", "+14155552671", "+390612345678", "+4407700900123", "+78123456789", "912345678"]
)
def test_a_contacts_phone_is_read_as_phonenumbers_reads_it(phone: str) -> None:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone, None if phone.startswith("+") else "US")
        national = phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        national = phone
    assert _national_digits(phone) == (national if len(national) >= 6 else None)
