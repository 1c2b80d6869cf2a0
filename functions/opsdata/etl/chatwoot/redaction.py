"""PII redaction: known contact values plus generic detectors, typed placeholders per conversation.

Every detector proposes spans of the *original* text; spans are resolved by priority (earlier
detectors win overlaps), then the text is rebuilt once. Placeholders are numbered per
conversation by normalised value, so the same email is `[EMAIL_1]` everywhere in one
conversation and the text still reads naturally ("write to [EMAIL_1] or call [PHONE_1]").

Detectors (the PII types counted in the manifest):
  link       Chatwoot attachment/avatar links (ActiveStorage, signed and never expiring)
  mention    `[@Name](mention://user/1/Name)` links in notes (become `@[AGENT]`)
  email      any email address, also "name (at) domain (dot) com"
  iban       IBANs of their country's registry length, mod-97 checked, any case and grouping
  card       payment card numbers, Luhn checked, 13-19 digits, never starting with 0
  ip         IPv4 and IPv6 addresses
  phone      the contact's phone in any partial form; any number phonenumbers finds valid
  address    street addresses (house number + street type, several languages)
  identifier the contact's identifier; handle: social profile handles
  name       the contact's name (full, first, last); agent: agent names (become `[AGENT]`)
  location   the contact's city and country from the conversation metadata

Speed: `Redactor.prepare` runs every detector once over all of a conversation's texts, joined by
a separator no match can cross; each detector is gated by a cheap search for something all its
matches contain; known values are matched with str.find, not with regexes compiled per
conversation. None of it changes a result (tests compare both ways).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata

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
# Each detector is gated by a cheap test of something every match must contain, so most texts
# cost a few substring checks; the patterns themselves decide, exactly as without the gates.
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
# In every email match: its "@" or "(at)", found fast (a pattern starting with a character class)
_EMAIL_ANCHOR_RE = re.compile(r"[@\[(](?:(?<=@)|(?<=[\[(])\s?at\s?[\])])", re.IGNORECASE)
# Where an IBAN may start: two letters and two check digits at the start of a word, any case.
_IBAN_START_RE = re.compile(r"[A-Za-z](?<![A-Za-z0-9][A-Za-z])[A-Za-z]\d{2}")
_IBAN_HINT_RE = re.compile(r"\d\d(?<=[A-Za-z]{2}\d\d)")  # digits first: searched fast
_IBAN_SEPARATORS = frozenset(" \u00a0\t\n-")
# ISO 13616 registry: the length of a country's IBANs. Unlisted countries: any length 15-34.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24,
    "RS": 22, "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_CARD_RE = re.compile(r"\d(?<![\w.+-]\d)(?:[ -]?\d){12,18}(?![\w-])")  # the lookbehind checks the char before
_IPV4_HINT_RE = re.compile(r"\d\.\d{1,3}\.\d")
_IPV4_RE = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\w.]\d)"
)
_IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_IPV6_HINT_RE = re.compile(r":[0-9A-Fa-f]*:")  # two colons with only hex digits between
_HEX_OR_COLON = frozenset("0123456789abcdefABCDEF:")
# A phone candidate: optional + or 00, digits with common separators, 7+ digits in all.
_PHONE_CANDIDATE_RE = re.compile(r"(?<![\w+/.#-])(?:\+|00)?\(?\d[\d ().\-/]{5,20}\d(?![\w-])")
_PHONE_HINT_RE = re.compile(r"\d[\d ().\-/]{5,20}\d")  # inside every phone candidate
# Where a phone candidate can start (its first character, then the look-behind): a pattern that
# begins with a character class is searched fast, one that begins with a look-behind is not.
_PHONE_START_RE = re.compile(r"[+(\d](?<![\w+/.#-][+(\d])")


def phone_candidates(text: str) -> Iterator[re.Match[str]]:
    """The matches of _PHONE_CANDIDATE_RE.finditer(text), found faster (every match starts at a
    _PHONE_START_RE position; matches do not overlap, as with finditer)."""
    position = 0
    for start in _PHONE_START_RE.finditer(text):
        if start.start() < position:
            continue
        m = _PHONE_CANDIDATE_RE.match(text, start.start())
        if m is not None:
            position = m.end()
            yield m


_DIGITS_RE = re.compile(r"\d")
_DATE_LIKE_RE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?")
_PHONE_CUE_RE = re.compile(
    r"phone|call|tel|mobile|cell|whats ?app|sms|text me|number|n[uú]mero|telefone|telem[oó]vel|telefon|"
    r"t[eé]l[eé]phone|portable|m[oó]vil|celular|handy|nummer|numero|cellulare|contact|reach me|ring"
)
# Words that start an order/invoice/reference number (at a word start: "paid" is no "id" cue).
_ORDER_CUE_RE = re.compile(
    r"\b(?:order|pedido|encomenda|bestell|commande|ordine|invoice|factura|fatura|rechnung|tracking|ref|sku|id)|#"
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
        r"kade|steeg|vej|gade|gatan|vägen)\s+\d{1,4}(?:\s?[a-zA-Z])?\b"
    ),
    # Rua Augusta 123 / Rua Augusta, 123 / Calle Mayor 5 / Avenida da Liberdade, 10 / Via Roma 10
    re.compile(
        r"\b(?:Rua|Avenida|Av\.|Travessa|Largo|Praça|Calle|Carrer|Paseo|Plaza|Camino|Via|Viale|Piazza|Corso|"
        r"Rue|Boulevard|Chemin|Allée|Impasse|Quai)\s+(?:(?:d[aeo]s?|de|del|la|le|les|du|des|di)\s+|"
        r"[A-ZÀ-Ý][\w'\u2019.-]*,?\s+){1,5}?(?:n[.ºo°]\s*)?\d{1,5}[A-Za-z]?\b"
    ),
    # 12 rue de la Paix / 8 avenue des Champs-Élysées / 5 rue de la paix: the street's first word in
    # any case, further words only capitalised (so "… Paix Regards from Ana" stops before "from")
    re.compile(
        r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s+"
        r"(?:(?:de|du|des|la|le|les|l\u2019|l')\s*)*[A-ZÀ-Ý][\w'\u2019-]*(?:[ -](?-i:[A-ZÀ-Ý])[\w'\u2019-]*){0,3}",
        re.IGNORECASE,
    ),
)


def _street_type_gate() -> re.Pattern[str]:
    """`\\s(?:Street|St|Avenue|…)(?!\\w)`, starting with a character class (searched fast): the
    type's first letter, preceded by a space, then the rest of a type with that first letter."""
    by_first: dict[str, list[str]] = {}
    for word in _STREET_TYPES_EN.replace("\\.?", "").split("|"):
        by_first.setdefault(word[0], []).append(word[1:])
    firsts = "".join(by_first)
    rests = "|".join(f"(?<={first})(?:{'|'.join(rest)})" for first, rest in by_first.items())
    return re.compile(f"[{firsts}](?<=\\s[{firsts}])(?:{rests})(?!\\w)")


# Something each address pattern needs (same order), searched first: most texts have none.
_ADDRESS_GATES = (
    _street_type_gate(),
    re.compile(
        r"(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|straat|laan|gracht|plein|kade|steeg|vej|gade|"
        r"gatan|vägen)\s+\d"
    ),
    re.compile(
        r"(?:Rua|Avenida|Av\.|Travessa|Largo|Praça|Calle|Carrer|Paseo|Plaza|Camino|Via|Viale|Piazza|Corso|Rue|"
        r"Boulevard|Chemin|Allée|Impasse|Quai)\s"
    ),
    re.compile(
        r"\d(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai)\s", re.IGNORECASE
    ),
)
# Postcode + town that often follows an address: "1200-195 Lisboa", "10115 Berlin", "SW1A 1AA".
# The postcode must end the number: "612344255" or "01512 3450246" after an address is a phone.
_ADDRESS_TAIL_RE = re.compile(
    r",?\s*(?:\d{4}-\d{3}|\d{5}|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}|[A-Z]{2}\s\d{5}(?:-\d{4})?)(?!\w|[ ./-]?\d)"
    r"(?:\s+[A-ZÀ-Ý][\w'\u2019-]+(?:\s[A-ZÀ-Ý][\w'\u2019-]+)?)?"
)


def email_matches(text: str) -> Iterator[re.Match[str]]:
    """The matches of _EMAIL_RE.finditer(text), found faster than by trying the pattern at every
    position. Every match holds an anchor ("@", or "(at)" after at most one space) right after its
    local part, a run of at most 64 [\\w.+%-] characters that no other anchor interrupts; so each
    match starts in the run just before its anchor, and the first anchor with a match in its run
    gives the leftmost match. The pattern itself is then tried at those positions only."""
    position = 0
    for anchor in _EMAIL_ANCHOR_RE.finditer(text):
        at = anchor.start()
        if at < position:
            continue
        end = at - 1 if text[at] != "@" and at > 0 and text[at - 1].isspace() else at
        first = max(end - 64, position)
        start = end
        while start > first and (_is_word_char(text[start - 1]) or text[start - 1] in ".+%-"):
            start -= 1
        for candidate in range(start, end):
            before = text[candidate - 1] if candidate else ""
            if before and (_is_word_char(before) or before in ".+-"):
                continue  # the pattern's look-behind refuses this start
            m = _EMAIL_RE.match(text, candidate)
            if m is not None:
                yield m
                position = m.end()
                break


def ipv6_candidates(text: str) -> Iterator[re.Match[str]]:
    """The matches of _IPV6_RE.finditer(text), found faster. A match is made of hex digits and
    colons and no such character (nor any word character) precedes it, so it can only start
    where a run of them starts; runs are found from their colons."""
    done = -1
    for hint in _IPV6_HINT_RE.finditer(text):
        start = hint.start()
        if start < done:
            continue
        while start > 0 and text[start - 1] in _HEX_OR_COLON:
            start -= 1
        end = hint.end()
        while end < len(text) and text[end] in _HEX_OR_COLON:
            end += 1
        done = end
        if start > 0 and _is_word_char(text[start - 1]):
            continue
        m = _IPV6_RE.match(text, start)
        if m is not None:
            yield m


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
    compact = "".join(ch for ch in candidate if ch not in _IBAN_SEPARATORS).upper()
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum():
        return False
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _iban_at(text: str, start: int) -> int:
    """End of the IBAN starting at `start` (0 if none).

    Its country's registry length decides where it ends, so a word after it is never taken in
    ("… 2254 80 I paid"); then lower case is accepted too. For a country not in the registry, the
    longest mod-97-valid upper-case run of 15-34 characters. Single spaces, tabs, line breaks or
    hyphens may separate characters; the IBAN must end where a word ends.
    """
    expected = _IBAN_LENGTHS.get(text[start : start + 2].upper())
    if expected is None and not text[start : start + 2].isupper():
        return 0
    chars: list[str] = []
    ends: list[int] = []  # ends[i]: text index just after the (i+1)-th character
    i, n = start, len(text)
    while i < n and len(chars) < (expected or 34):
        ch = text[i]
        if ch.isascii() and ch.isalnum():
            chars.append(ch)
            ends.append(i + 1)
        elif not (ch in _IBAN_SEPARATORS and i + 1 < n and text[i + 1].isascii() and text[i + 1].isalnum()):
            break
        i += 1
    for length in [expected] if expected else range(len(chars), 14, -1):
        if length > len(chars):
            continue
        end = ends[length - 1]
        if end < n and text[end].isascii() and text[end].isalnum():
            continue  # the run goes on: not where an IBAN ends
        candidate = "".join(chars[:length])
        if (expected or not any(c.islower() for c in candidate)) and iban_ok(candidate):
            return end
    return 0


def digits_of(text: str) -> str:
    return "".join(_DIGITS_RE.findall(text))


_E164_RE = re.compile(r"\+([1-9]\d{6,14})")


@functools.lru_cache(maxsize=1024)
def _known_phone_parts(phone: str, region: str | None) -> tuple[int, str] | None:
    """(country code, national significant number) of a contact's phone, as phonenumbers.parse
    gives them. Chatwoot stores E.164 ("+351912345678"): that is split with phonenumbers' own
    country-code table unless a national prefix might need stripping; anything else is parsed
    (~50 µs a number, which adds up over a large export)."""
    m = _E164_RE.fullmatch(phone.strip())
    if m is not None:
        digits = m.group(1)
        for size in (1, 2, 3):
            code = int(digits[:size])
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
            if regions is None:
                continue
            national = digits[size:]
            metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
            prefix = metadata.national_prefix_for_parsing if metadata is not None else None
            if len(national) >= 2 and national.strip("0") and not (prefix and re.match(prefix, national)):
                return code, national
            break
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    return parsed.country_code, phonenumbers.national_significant_number(parsed)


def _national_digits(phone: str) -> str | None:
    """The national significant number of a known phone, to match partial forms."""
    parts = _known_phone_parts(phone, None if phone.strip().startswith("+") else "US")
    if parts is None:
        digits = digits_of(phone)
        return digits if len(digits) >= 7 else None
    return parts[1] if len(parts[1]) >= 6 else None


def phone_region(phone: str | None) -> str | None:
    """The main region of the phone's country code ("+1 416…" -> "US"): the default region for
    numbers the contact writes without a country code (regions sharing a code parse alike)."""
    parts = _known_phone_parts(phone, None) if phone else None
    if parts is None:
        return None
    region = phonenumbers.region_code_for_country_code(parts[0])
    return None if region == phonenumbers.UNKNOWN_REGION else region


@functools.lru_cache(maxsize=16384)
def _valid_phone(candidate: str, regions: tuple[str | None, ...]) -> bool:
    """phonenumbers' verdict, cached: the same numbers and decoys recur across texts and the audit."""
    for region in regions:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if _is_valid_number(parsed):
            return True
    return False


def _is_valid_number(number: phonenumbers.PhoneNumber) -> bool:
    """phonenumbers.is_valid_number, asking the country code's main region first: valid there, the
    number is valid (that region comes first when phonenumbers looks for the number's region),
    which spares trying every region sharing the code (+44: GB, GG, IM, JE; +1: 25 of them)."""
    main = phonenumbers.region_code_for_country_code(number.country_code)
    if main != phonenumbers.UNKNOWN_REGION and phonenumbers.is_valid_number_for_region(number, main):
        return True
    return phonenumbers.is_valid_number(number)


# ----- known values: literal matching without per-conversation regex compilation ----------
def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"  # what `\w` means in a str pattern


class _LiteralMatcher:
    """Finds literal values the way one alternation regex would, with str.find instead of a regex
    compiled per conversation (compiling cost more than matching, and evicted re's cache).

    Alternatives are tried in order at each position (longest first), the first whose boundaries
    hold wins, matches never overlap: `(?<![<before>])(@?)(?:alt1|alt2|…)(?![<after>])`.
    Case-insensitive alternatives are lower-cased needles matched in the lower-cased text.
    """

    def __init__(self, alternatives: list[tuple[str, bool]], *, before: str, after: str, at_prefix: bool) -> None:
        self.alternatives = alternatives  # (needle, case_sensitive), in regex order
        self.before = before  # extra characters that may not precede a match (besides \w)
        self.after = after
        self.at_prefix = at_prefix  # an "@" right before the value belongs to the match
        self._regex: re.Pattern[str] | None = None
        self._lengths_kept = all(
            len(needle.lower()) == len(needle) and len(needle.upper()) == len(needle) for needle, _ in alternatives
        )

    def _bad(self, ch: str, extra: str) -> bool:
        return _is_word_char(ch) or ch in extra

    def spans(self, text: str, low: str) -> list[tuple[int, int]]:
        if not self._lengths_kept or len(low) != len(text):
            return [m.span() for m in self._compiled().finditer(text)]
        candidates: list[tuple[int, int, int, int]] = []  # (start, form, rank, end)
        n = len(text)
        for rank, (needle, sensitive) in enumerate(self.alternatives):
            haystack = text if sensitive else low
            size = len(needle)
            i = haystack.find(needle)
            while i != -1:
                end = i + size
                if end >= n or not self._bad(text[end], self.after):
                    if self.at_prefix and i > 0 and text[i - 1] == "@" and (i < 2 or not _is_word_char(text[i - 2])):
                        candidates.append((i - 1, 0, rank, end))
                    if i == 0 or not self._bad(text[i - 1], self.before):
                        candidates.append((i, 1, rank, end))
                i = haystack.find(needle, i + 1)
        if not candidates:
            return []
        candidates.sort()
        found: list[tuple[int, int]] = []
        position = 0
        for start, _, _, end in candidates:
            if start >= position:
                found.append((start, end))
                position = end
        return found

    def _compiled(self) -> re.Pattern[str]:
        """The equivalent regex, for texts whose lower-casing changes their length (rare)."""
        if self._regex is None:
            insensitive = [re.escape(n) for n, s in self.alternatives if not s]
            sensitive = [re.escape(n) for n, s in self.alternatives if s]
            parts = (["(?i:" + "|".join(insensitive) + ")"] if insensitive else []) + sensitive
            before = "[\\w" + re.escape(self.before) + "]"
            after = "[\\w" + re.escape(self.after) + "]"
            self._regex = re.compile(
                f"(?<!{before})" + ("@?" if self.at_prefix else "") + "(?:" + "|".join(parts) + f")(?!{after})"
            )
        return self._regex


@functools.lru_cache(maxsize=4096)
def _name_matcher(values: tuple[str, ...]) -> _LiteralMatcher | None:
    """Names: full forms first, then parts; word-like parts only when capitalised as in a name."""
    insensitive: set[str] = set()
    sensitive: set[str] = set()
    for value in values:
        value = " ".join(value.split())
        if len(value) < _MIN_NAME_PART:
            continue
        insensitive.add(value.lower())
        parts = [p for p in _NAME_SPLIT_RE.split(value) if len(p) >= _MIN_NAME_PART]
        if len(parts) > 1 or "-" not in value:
            for part in parts:
                if part.lower() in _WORD_LIKE_NAMES:
                    sensitive.add(part[:1].upper() + part[1:].lower())
                    sensitive.add(part.upper())
                elif len(part) >= 3 or not part.isalpha():
                    insensitive.add(part.lower())
    if not insensitive and not sensitive:
        return None
    alternatives = [(v, False) for v in sorted(insensitive, key=len, reverse=True)]
    alternatives += [(v, True) for v in sorted(sensitive, key=len, reverse=True)]
    return _LiteralMatcher(alternatives, before="@.", after="@", at_prefix=False)


_NAME_SPLIT_RE = re.compile(r"[\s,]+")


def _agent_matcher(names: tuple[str, ...]) -> _LiteralMatcher | None:
    """Agent names recur in every conversation of a run: one matcher per distinct set."""
    return _name_matcher(names)


@functools.lru_cache(maxsize=4096)
def _literal_matcher(values: tuple[str, ...]) -> _LiteralMatcher | None:
    cleaned = sorted({v.strip() for v in values if v and len(v.strip()) >= 3}, key=len, reverse=True)
    if not cleaned:
        return None
    return _LiteralMatcher([(v.lower(), False) for v in cleaned], before="", after="", at_prefix=True)


# Joins a conversation's texts for prepare(): no pattern matches NUL (nor across the line breaks
# after it, which no pattern crosses without meeting NUL first), no look-around treats NUL or a line
# break differently from a text's start or end, and the forty line breaks keep the phone detector's
# 40-character look-back for cues inside its own text. Texts holding NUL are redacted alone.
_PREPARE_SEPARATOR = "\x00" + "\n" * 40


def _offerer(taken: list[Hit]) -> Any:
    """offer(kind, start, end): keep a hit unless it overlaps one already kept (earlier wins)."""

    def offer(kind: str, start: int, end: int) -> None:
        if start >= end:
            return
        for hit in taken:
            if start < hit.end and hit.start < end:
                return
        taken.append(Hit(kind, start, end))

    return offer


@dataclass
class Redactor:
    """Redacts the texts of one conversation; placeholders stay consistent across its calls."""

    identity: Identity
    phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS
    counts: Counter[str] = field(default_factory=Counter)
    _numbers: dict[str, dict[str, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ident = self.identity
        names_lower = {n.lower() for n in ident.names}
        self._known: list[tuple[str, _LiteralMatcher]] = []
        for kind, matcher in (
            ("identifier", _literal_matcher(ident.identifiers)),
            ("handle", _literal_matcher(ident.handles)),
            ("name", _name_matcher(ident.names)),
            ("agent", _agent_matcher(tuple(sorted({a for a in ident.agent_names if a.lower() not in names_lower})))),
            ("location", _literal_matcher(ident.locations)),
        ):
            if matcher is not None:
                self._known.append((kind, matcher))
        self._known_ips = tuple(dict.fromkeys(ip.lower() for ip in ident.ips))
        self._known_phone_tails = tuple(dict.fromkeys(d for d in (_national_digits(p) for p in ident.phones) if d))
        regions = [ident.region] if ident.region else []
        self._regions = tuple(dict.fromkeys([*regions, *self.phone_regions]))
        values = (*ident.names, *ident.identifiers, *ident.handles, *ident.locations, *ident.ips, *ident.agent_names)
        # The audit joins strings with line breaks; a known value spanning lines could cross them.
        self.multiline_values = any("\n" in v or "\r" in v for v in values)
        # prepare(): text -> (its generic hits, its known-value spans in the order detect offers them)
        self._prepared: dict[str, tuple[list[Hit], list[tuple[str, int, int]]]] = {}

    def prepare(self, texts: Iterable[str]) -> None:
        """Run the detectors once over all the texts about to be redacted (a conversation's
        messages are short and many: the fixed cost of each search, paid once). The texts are
        joined by _PREPARE_SEPARATOR, across which no match, context window or look-around
        reaches, so each text gets exactly the hits detect() would find in it alone."""
        unique = [text for text in dict.fromkeys(texts) if text and "\x00" not in text]
        if not unique or self.multiline_values:
            return
        joined = _PREPARE_SEPARATOR.join(unique)
        low = joined.lower()
        if len(low) != len(joined):
            return  # lower-casing moved offsets: each text alone
        taken: list[Hit] = []
        self._detect_generic(joined, low, taken, _offerer(taken))
        known = self._known_offers(joined, low)
        starts = list(accumulate((len(text) + len(_PREPARE_SEPARATOR) for text in unique[:-1]), initial=0))
        prepared: dict[str, tuple[list[Hit], list[tuple[str, int, int]]]] = {text: ([], []) for text in unique}
        for hit in taken:
            i = bisect_right(starts, hit.start) - 1
            prepared[unique[i]][0].append(Hit(hit.kind, hit.start - starts[i], hit.end - starts[i]))
        for kind, start, end in known:
            i = bisect_right(starts, start) - 1
            prepared[unique[i]][1].append((kind, start - starts[i], end - starts[i]))
        self._prepared = prepared

    # ----- detection ------------------------------------------------------------------
    def detect(self, text: str, *, generic: bool = True, superset: bool = False) -> list[Hit]:
        """Non-overlapping hits in text order; earlier detectors win overlaps.

        With generic=False only the conversation's known values are looked for (the audit's check).
        With superset=True the order-number cue no longer vetoes a phone: the audit scans many
        strings joined by line breaks, where a cue may come from the string before; it may then
        find more than string by string, never less.
        """
        prepared = None if superset else self._prepared.get(text)
        if prepared is not None:
            taken = list(prepared[0]) if generic else []
            offer = _offerer(taken)
            for kind, start, end in prepared[1]:
                offer(kind, start, end)
            taken.sort(key=lambda h: h.start)
            return taken
        taken = []
        offer = _offerer(taken)
        low = text.lower()
        if generic:
            self._detect_generic(text, low, taken, offer, superset)
        for kind, start, end in self._known_offers(text, low):
            offer(kind, start, end)
        taken.sort(key=lambda h: h.start)
        return taken

    def _detect_generic(self, text: str, low: str, taken: list[Hit], offer: Any, superset: bool = False) -> None:
        if "/rails/active_storage/" in low:
            for m in _CHATWOOT_LINK_RE.finditer(text):
                offer("link", m.start(), m.end())
        if "mention://" in low:
            for m in _MENTION_RE.finditer(text):
                offer("mention", m.start(), m.end())
        for m in email_matches(text):
            offer("email", m.start(), m.end())
        has_digits = _DIGITS_RE.search(text) is not None
        if has_digits:
            if _IBAN_HINT_RE.search(text):
                position = 0
                for m in _IBAN_START_RE.finditer(text):
                    if m.start() < position:
                        continue
                    end = _iban_at(text, m.start())
                    if end:
                        offer("iban", m.start(), end)
                        position = end
            for m in _CARD_RE.finditer(text):
                # Payment card numbers never start with 0 (ISO/IEC 7812): "0044 7400 …" is a phone
                if m.group()[0] != "0" and luhn_ok(digits_of(m.group())):
                    offer("card", m.start(), m.end())
            if _IPV4_HINT_RE.search(text):
                for m in _IPV4_RE.finditer(text):
                    offer("ip", m.start(), m.end())
        if text.count(":") >= 2:
            for m in ipv6_candidates(text):
                candidate = m.group()
                if candidate.count(":") >= 2 and any(c.isalnum() for c in candidate):
                    try:
                        ipaddress.IPv6Address(candidate)
                    except ValueError:
                        continue
                    offer("ip", m.start(), m.end())
        if has_digits:
            for gate, pattern in zip(_ADDRESS_GATES, _ADDRESS_RES, strict=True):
                if gate.search(text):
                    for m in pattern.finditer(text):
                        self._offer_address(text, pattern, m, taken, offer)
            if _PHONE_HINT_RE.search(text):
                for m in phone_candidates(text):
                    start, end = self._phone_span(text, m.start(), m.end(), taken, superset)
                    if end:
                        offer("phone", start, end)

    @staticmethod
    def _offer_address(text: str, pattern: re.Pattern[str], m: re.Match[str], taken: list[Hit], offer: Any) -> None:
        """An address ends before a hit found inside it (an IBAN or email after the street name)."""
        start, end = m.start(), m.end()
        cut = min((hit.start for hit in taken if start < hit.start < end), default=None)
        if cut is not None:
            m = pattern.match(text, start, cut)
            if m is None:
                return
            end = m.end()
        tail = _ADDRESS_TAIL_RE.match(text, end)
        if tail:
            end = tail.end()
        offer("address", start, end)

    def _known_offers(self, text: str, low: str) -> list[tuple[str, int, int]]:
        """The conversation's known values in text, in the order detect() offers them."""
        found: list[tuple[str, int, int]] = []
        if self._known_phone_tails and self._may_hold_phone_tail(text):
            for m in phone_candidates(text):
                digits = digits_of(m.group())
                if any(digits.endswith(tail) for tail in self._known_phone_tails):
                    found.append(("phone", m.start(), m.end()))
        for kind, matcher in self._known:
            found += ((kind, start, end) for start, end in matcher.spans(text, low))
        for ip in self._known_ips:  # e.g. "::1", which the generic IPv6 pattern skips
            start = low.find(ip)
            while start != -1:
                found.append(("ip", start, start + len(ip)))
                start = low.find(ip, start + len(ip))
        return found

    def _may_hold_phone_tail(self, text: str) -> bool:
        """A candidate ending in a known phone's digits leaves them contiguous once the
        separators a candidate may contain are deleted: one C-level pass rules most texts out."""
        digits = text.replace(" ", "").replace("-", "").replace(".", "").replace("(", "").replace(")", "")
        digits = digits.replace("/", "")
        return any(tail in digits for tail in self._known_phone_tails)

    def _phone_span(
        self, text: str, start: int, end: int, taken: Sequence[Hit] = (), superset: bool = False
    ) -> tuple[int, int]:
        candidate = text[start:end].rstrip(" ().-/")
        end = start + len(candidate)
        if any(start < hit.end and hit.start < end for hit in taken):
            return 0, 0  # inside an IP, IBAN, card or address already found: offer() would refuse it
        digits = digits_of(candidate)
        if len(digits) < 7 or len(digits) > 15:
            return 0, 0
        if any(digits.endswith(tail) for tail in self._known_phone_tails):
            return start, end
        if _DATE_LIKE_RE.fullmatch(candidate):
            return 0, 0
        international = candidate.startswith(("+", "00"))
        if not international:
            # A bare digit run is a phone only after a phone cue and not after an order cue; a
            # formatted one ("2024-0001234") is no phone right after an order cue without a phone cue.
            before = text[max(0, start - 40) : start].lower()
            order_cue = not superset and _ORDER_CUE_RE.search(before[-20:]) is not None
            if candidate.isdigit():
                if order_cue or not _PHONE_CUE_RE.search(before):
                    return 0, 0
            elif order_cue and not _PHONE_CUE_RE.search(before):
                return 0, 0
        if international:
            valid = _valid_phone("+" + candidate[2:] if candidate.startswith("00") else candidate, (None,))
        else:
            valid = _valid_phone(candidate, self._regions)
        return (start, end) if valid else (0, 0)

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


_CARD_SEPARATORS_RE = re.compile(r"\s|-")
_OBFUSCATION_RE = re.compile(r"\s|[\[\]()]")


def _normalise(kind: str, value: str) -> str:
    if kind == "phone":
        digits = digits_of(value)
        return digits[-9:] if len(digits) >= 9 else digits
    if kind in ("card", "iban"):
        return _CARD_SEPARATORS_RE.sub("", value).upper()
    if kind == "email":
        return _OBFUSCATION_RE.sub("", value.lower()).replace("at", "@", 1) if "@" not in value else value.lower()
    return " ".join(value.lower().split())
