"""PII redaction: known contact values plus generic detectors, typed placeholders per conversation.

Every detector proposes spans of the *original* text; spans are resolved by priority (earlier
detectors win overlaps), then the text is rebuilt once. Placeholders are numbered per
conversation by normalised value, so the same email is `[EMAIL_1]` everywhere in one
conversation and the text still reads naturally ("write to [EMAIL_1] or call [PHONE_1]").

Detectors (the PII types counted in the manifest):
  link       Chatwoot attachment/avatar links (ActiveStorage, signed and never expiring)
  mention    `[@Name](mention://user/1/Name)` links in notes (become `@[AGENT]`)
  email      any email address, also "name (at) domain (dot) com"
  iban       IBANs, mod-97 checked
  card       payment card numbers, Luhn checked, 13-19 digits
  ip         IPv4 and IPv6 addresses
  phone      the contact's phone in any partial form; any number phonenumbers finds valid
  address    street addresses (house number + street type, several languages)
  identifier the contact's identifier; handle: social profile handles
  name       the contact's name (full, first, last); agent: agent names (become `[AGENT]`)
  location   the contact's city and country from the conversation metadata
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

PII_TYPES = (
    "link",
    "mention",
    "email",
    "iban",
    "card",
    "ip",
    "phone",
    "address",
    "identifier",
    "handle",
    "name",
    "agent",
    "location",
)

# Placeholders that are not numbered: one customer per conversation, agents become a role.
_FIXED_PLACEHOLDER = {
    "link": "[LINK]",
    "mention": "@[AGENT]",
    "identifier": "[CUSTOMER_ID]",
    "handle": "[HANDLE]",
    "name": "[CUSTOMER]",
    "agent": "[AGENT]",
    "location": "[LOCATION]",
}
PLACEHOLDER_RE = re.compile(
    r"\[(?:LINK|AGENT|CUSTOMER_ID|HANDLE|CUSTOMER|LOCATION|(?:EMAIL|IBAN|CARD|IP|PHONE|ADDRESS)_\d+)\]"
)

# Names that are also everyday words are matched only when capitalised as in the name.
_WORD_LIKE_NAMES = frozenset(
    [
        "will",
        "may",
        "june",
        "april",
        "august",
        "mark",
        "bill",
        "rose",
        "grace",
        "hope",
        "joy",
        "faith",
        "sunny",
        "summer",
        "autumn",
        "dawn",
        "art",
        "ray",
        "amber",
        "jack",
        "pat",
        "sue",
        "rich",
        "bob",
        "frank",
        "max",
        "guy",
        "page",
        "hunter",
        "chase",
        "drew",
        "gene",
        "rob",
        "lane",
        "dean",
        "earl",
        "kit",
        "sky",
        "river",
        "rain",
        "angel",
        "honey",
        "love",
        "star",
        "penny",
        "ruby",
        "pearl",
        "ivy",
        "iris",
        "lily",
        "daisy",
        "jade",
        "crystal",
        "sterling",
        "sage",
        "storm",
        "miles",
        "ben",
        "van",
    ]
)
_MIN_NAME_PART = 2

# ----- generic patterns ---------------------------------------------------------------
_CHATWOOT_LINK_RE = re.compile(
    r"!?\[[^\]\n]{0,200}\]\(\s*(?:https?://[^\s)]*?/rails/active_storage/[^\s)]*)\s*\)"
    r"|https?://[^\s<>\"')\]]*?/rails/active_storage/[^\s<>\"')\]]*",
    re.IGNORECASE,
)
_MENTION_RE = re.compile(r"\[@?[^\]\n]{0,120}\]\(mention://[^)\s]*\)|mention://[^\s)]+", re.IGNORECASE)
_EMAIL_RE = re.compile(
    r"(?<![\w.+-])[\w.+%-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?![\w-])"
    r"|(?<![\w.+-])[\w.+-]{1,64}\s?[\[(]\s?at\s?[\])]\s?[A-Za-z0-9-]+(?:\s?[\[(]\s?dot\s?[\])]\s?[A-Za-z]{2,24})+",
    re.IGNORECASE,
)
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])")
_CARD_RE = re.compile(r"(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IPV4_RE = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]\d)"
)
_IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
# A phone candidate: optional + or 00, digits with common separators, 7+ digits in all.
_PHONE_CANDIDATE_RE = re.compile(r"(?<![\w+/.#-])(?:\+|00)?\(?\d[\d ().\-/]{5,20}\d(?![\w-])")
_DIGITS_RE = re.compile(r"\d")
_DATE_LIKE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?")
_PHONE_CUE_RE = re.compile(
    r"phone|call|tel|mobile|cell|whats ?app|sms|text me|number|n[uú]mero|telefone|telem[oó]vel|telefon|"
    r"t[eé]l[eé]phone|portable|m[oó]vil|celular|handy|nummer|numero|cellulare|contact|reach me|ring"
)
_ORDER_CUE_RE = re.compile(
    r"order|pedido|encomenda|bestellung|commande|ordine|invoice|factura|fatura|tracking|ref|#|sku|id"
)

_STREET_TYPES_EN = (
    r"Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Boulevard|Blvd\.?|Lane|Ln\.?|Drive|Dr\.?|Court|Ct\.?|Way|"
    r"Place|Pl\.?|Terrace|Square|Sq\.?|Highway|Hwy\.?|Parkway|Pkwy\.?|Close|Crescent|Row|Gardens|Mews"
)
_ADDRESS_RES = (
    # 221B Baker Street, Apt 4 / 1600 Pennsylvania Avenue NW
    re.compile(
        r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][\w'\u2019.-]*\s+){1,4}(?:" + _STREET_TYPES_EN + r")(?![\w])"
        r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?(?:,?\s*(?:Apt|Apartment|Suite|Unit|Flat|#)\.?\s*[\w-]+)?"
    ),
    # Hauptstraße 12, Bahnhofstr. 5a, Keizersgracht 123, Via Roma 10 handled below
    re.compile(
        r"\b[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|straat|laan|gracht|plein|"
        r"kade|steeg|vej|gade|gatan|vägen)\s+\d{1,4}\s?[a-zA-Z]?\b"
    ),
    # Rua Augusta 123 / Rua Augusta, 123 / Calle Mayor 5 / Avenida da Liberdade, 10 / Via Roma 10
    re.compile(
        r"\b(?:Rua|Avenida|Av\.|Travessa|Largo|Praça|Calle|Carrer|Paseo|Plaza|Camino|Via|Viale|Piazza|Corso|"
        r"Rue|Boulevard|Chemin|Allée|Impasse|Quai)\s+(?:(?:d[aeo]s?|de|del|la|le|les|du|des|di)\s+|"
        r"[A-ZÀ-Ý][\w'\u2019.-]*,?\s+){1,5}?(?:n[.ºo°]\s*)?\d{1,5}[A-Za-z]?\b"
    ),
    # 12 rue de la Paix / 8 avenue des Champs-Élysées
    re.compile(
        r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s+"
        r"(?:(?:de|du|des|la|le|les|l\u2019|l')\s*)*[A-ZÀ-Ý][\w'\u2019-]*(?:[ -][A-ZÀ-Ý][\w'\u2019-]*){0,3}",
        re.IGNORECASE,
    ),
)
# Postcode + town that often follows an address: "1200-195 Lisboa", "10115 Berlin", "SW1A 1AA"
_ADDRESS_TAIL_RE = re.compile(
    r",?\s*(?:\d{4}-\d{3}|\d{5}|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]{2}\s\d{5}(?:-\d{4})?)"
    r"(?:\s+[A-ZÀ-Ý][\w'\u2019-]+(?:\s[A-ZÀ-Ý][\w'\u2019-]+)?)?"
)

DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "PT", "BR", "IT", "NL")


@dataclass(frozen=True)
class Identity:
    """What the conversation's own metadata says about the contact and the agents."""

    names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    agent_names: tuple[str, ...] = ()
    region: str | None = None  # phone region of the contact, for numbers without a country code

    def known_values(self) -> dict[str, tuple[str, ...]]:
        """Values the privacy audit looks for, by PII type."""
        return {
            "name": self.names,
            "email": self.emails,
            "phone": self.phones,
            "identifier": self.identifiers,
            "ip": self.ips,
            "location": self.locations,
            "handle": self.handles,
            "agent": self.agent_names,
        }


@dataclass(frozen=True)
class Hit:
    kind: str
    start: int
    end: int


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def digits_of(text: str) -> str:
    return "".join(_DIGITS_RE.findall(text))


def _national_digits(phone: str) -> str | None:
    """The national significant number of a known phone, to match partial forms."""
    try:
        parsed = phonenumbers.parse(phone, None if phone.strip().startswith("+") else "US")
    except phonenumbers.NumberParseException:
        digits = digits_of(phone)
        return digits if len(digits) >= 7 else None
    national = phonenumbers.national_significant_number(parsed)
    return national if len(national) >= 6 else None


def phone_region(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None


def _name_pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for names: full forms first, then parts; word-like parts only when capitalised."""
    insensitive: set[str] = set()
    sensitive: set[str] = set()
    for value in values:
        value = " ".join(value.split())
        if len(value) < _MIN_NAME_PART:
            continue
        insensitive.add(value.lower())
        parts = [p for p in re.split(r"[\s,]+", value) if len(p) >= _MIN_NAME_PART]
        if len(parts) > 1 or "-" not in value:
            for part in parts:
                if part.lower() in _WORD_LIKE_NAMES:
                    sensitive.add(part[:1].upper() + part[1:].lower())
                    sensitive.add(part.upper())
                elif len(part) >= 3 or not part.isalpha():
                    insensitive.add(part.lower())
    if not insensitive and not sensitive:
        return None
    alternatives = [re.escape(v) for v in sorted(insensitive, key=len, reverse=True)]
    sensitive_alts = [re.escape(v) for v in sorted(sensitive, key=len, reverse=True)]
    parts = []
    if alternatives:
        parts.append("(?i:" + "|".join(alternatives) + ")")
    if sensitive_alts:
        parts.append("|".join(sensitive_alts))
    return re.compile(r"(?<![\w@.])(?:" + "|".join(parts) + r")(?![\w@])")


def _literal_pattern(values: Iterable[str], *, boundaries: bool = True) -> re.Pattern[str] | None:
    cleaned = sorted({v.strip() for v in values if v and len(v.strip()) >= 3}, key=len, reverse=True)
    if not cleaned:
        return None
    body = "|".join(re.escape(v) for v in cleaned)
    if boundaries:
        return re.compile(r"(?<![\w])@?(?i:" + body + r")(?![\w])")
    return re.compile("(?i:" + body + ")")


@dataclass
class Redactor:
    """Redacts the texts of one conversation; placeholders stay consistent across its calls."""

    identity: Identity
    phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS
    counts: Counter[str] = field(default_factory=Counter)
    _numbers: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ident = self.identity
        self._name_re = _name_pattern(ident.names)
        agent_names = [a for a in ident.agent_names if a.lower() not in {n.lower() for n in ident.names}]
        self._agent_re = _name_pattern(agent_names)
        self._identifier_re = _literal_pattern(ident.identifiers)
        self._handle_re = _literal_pattern(ident.handles)
        self._location_re = _literal_pattern(ident.locations)
        self._known_ips = {ip.lower() for ip in ident.ips}
        self._known_phone_tails = {d for d in (_national_digits(p) for p in ident.phones) if d}
        regions = [ident.region] if ident.region else []
        self._regions = tuple(dict.fromkeys([*regions, *self.phone_regions]))

    # ----- detection ------------------------------------------------------------------
    def detect(self, text: str, *, generic: bool = True) -> list[Hit]:
        """Non-overlapping hits in text order; earlier detectors win overlaps.

        With generic=False only the conversation's known values are looked for (the audit's check).
        """
        taken: list[Hit] = []

        def offer(kind: str, start: int, end: int) -> None:
            if start >= end:
                return
            for hit in taken:
                if start < hit.end and hit.start < end:
                    return
            taken.append(Hit(kind, start, end))

        if not generic:
            return self._detect_known(text, taken, offer)
        for m in _CHATWOOT_LINK_RE.finditer(text):
            offer("link", m.start(), m.end())
        if "mention://" in text:
            for m in _MENTION_RE.finditer(text):
                offer("mention", m.start(), m.end())
        if "@" in text or "at" in text.lower():
            for m in _EMAIL_RE.finditer(text):
                offer("email", m.start(), m.end())
        has_digits = _DIGITS_RE.search(text) is not None
        if has_digits:
            for m in _IBAN_RE.finditer(text):
                if iban_ok(m.group()):
                    offer("iban", m.start(), m.end())
            for m in _CARD_RE.finditer(text):
                if luhn_ok(digits_of(m.group())):
                    offer("card", m.start(), m.end())
            for m in _IPV4_RE.finditer(text):
                offer("ip", m.start(), m.end())
        if text.count(":") >= 2:
            for m in _IPV6_RE.finditer(text):
                candidate = m.group()
                if candidate.count(":") >= 2 and any(c.isalnum() for c in candidate):
                    try:
                        ipaddress.IPv6Address(candidate)
                    except ValueError:
                        continue
                    offer("ip", m.start(), m.end())
        if has_digits:
            for pattern in _ADDRESS_RES:
                for m in pattern.finditer(text):
                    end = m.end()
                    tail = _ADDRESS_TAIL_RE.match(text, end)
                    if tail:
                        end = tail.end()
                    offer("address", m.start(), end)
            for m in _PHONE_CANDIDATE_RE.finditer(text):
                start, end = self._phone_span(text, m.start(), m.end())
                if end:
                    offer("phone", start, end)
        return self._detect_known(text, taken, offer)

    def _detect_known(self, text: str, taken: list[Hit], offer: Any) -> list[Hit]:
        if self._known_phone_tails and _DIGITS_RE.search(text):
            for m in _PHONE_CANDIDATE_RE.finditer(text):
                digits = digits_of(m.group())
                if any(digits.endswith(tail) for tail in self._known_phone_tails):
                    offer("phone", m.start(), m.end())
        for kind, pattern in (
            ("identifier", self._identifier_re),
            ("handle", self._handle_re),
            ("name", self._name_re),
            ("agent", self._agent_re),
            ("location", self._location_re),
        ):
            if pattern is not None:
                for m in pattern.finditer(text):
                    offer(kind, m.start(), m.end())
        for ip in self._known_ips:  # e.g. "::1", which the generic IPv6 pattern skips
            start = text.lower().find(ip)
            while start != -1:
                offer("ip", start, start + len(ip))
                start = text.lower().find(ip, start + len(ip))
        taken.sort(key=lambda h: h.start)
        return taken

    def _phone_span(self, text: str, start: int, end: int) -> tuple[int, int]:
        candidate = text[start:end].rstrip(" ().-/")
        end = start + len(candidate)
        digits = digits_of(candidate)
        if len(digits) < 7 or len(digits) > 15:
            return 0, 0
        if any(digits.endswith(tail) for tail in self._known_phone_tails):
            return start, end
        if _DATE_LIKE_RE.fullmatch(candidate):
            return 0, 0
        international = candidate.startswith(("+", "00"))
        if not international and candidate.isdigit():
            # A bare digit run is a phone only after a phone cue and not after an order cue.
            before = text[max(0, start - 40) : start].lower()
            if not _PHONE_CUE_RE.search(before) or _ORDER_CUE_RE.search(before[-20:]):
                return 0, 0
        for region in (None,) if international else self._regions:
            try:
                parsed = phonenumbers.parse("+" + candidate[2:] if candidate.startswith("00") else candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(parsed):
                return start, end
        return 0, 0

    # ----- replacement ----------------------------------------------------------------
    def placeholder(self, kind: str, value: str) -> str:
        fixed = _FIXED_PLACEHOLDER.get(kind)
        if fixed:
            return fixed
        key = _normalise(kind, value)
        numbers = self._numbers.setdefault(kind, {})
        if key not in numbers:
            numbers[key] = len(numbers) + 1
        return f"[{kind.upper()}_{numbers[key]}]"

    def redact(self, text: str | None) -> str:
        if not text:
            return text or ""
        hits = self.detect(text)
        if not hits:
            return text
        out: list[str] = []
        position = 0
        for hit in hits:
            out.append(text[position : hit.start])
            out.append(self.placeholder(hit.kind, text[hit.start : hit.end]))
            self.counts[hit.kind] += 1
            position = hit.end
        out.append(text[position:])
        return "".join(out)

    def seed(self, kind: str, values: Iterable[str]) -> None:
        """Number the contact's own values first, so their placeholders are _1 in every conversation."""
        for value in values:
            self.placeholder(kind, value)


def _normalise(kind: str, value: str) -> str:
    if kind == "phone":
        digits = digits_of(value)
        return digits[-9:] if len(digits) >= 9 else digits
    if kind in ("card", "iban"):
        return re.sub(r"[\s-]", "", value).upper()
    if kind == "email":
        return re.sub(r"\s|[\[\]()]", "", value.lower()).replace("at", "@", 1) if "@" not in value else value.lower()
    return " ".join(value.lower().split())
