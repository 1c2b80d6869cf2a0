"""The privacy audit: nothing written may contain PII. A finding names where, never the value.

Two layers:
- per conversation, before anything is written: every string of its nodes is searched for the
  conversation's own known values (contact name and its parts, email, phone in partial forms,
  identifier, IP, location, handles, agent names) with the redactor's matchers;
- at the end, over everything written: every string in docstore.json, quarantine.jsonl and
  manifest.json, and every database row this run wrote, is searched with the generic detectors
  (emails, phones, cards, IBANs, IPs, addresses, Chatwoot links, mention links) and for the
  known values of every contact in the run (emails, phones, multi-word names, identifiers,
  handles), kept as 64-bit digests in a bounded index (`KnownIndex`). nodes.jsonl must hold
  exactly the nodes of docstore.json (byte for byte, in order), so it is covered by the docstore scan.

Speed without skipping anything: the strings of a record (a conversation's nodes; sixteen
docstore lines; a row) that were not already found clean are scanned as one text, joined by line
breaks. Joined, the detectors can only find more than string by string (a match across a line
break, a phone cue from the string before; the order-number veto is off), never less: a clean
joined text proves every string clean. Only when it has a hit are the strings scanned one by
one, which decides the findings and names their fields exactly as before. Strings the pipeline
itself makes (ids, timestamps, digests) skip the generic detectors (none can match inside one),
and a turn's text is clean when it is whole lines of its Document's clean transcript.

Generated values are no leak: in the fields the pipeline fills from ids, timestamps and digests
(`_GENERATED_SHAPES`), a value of that field's shape is left out of the known-value check (a contact
whose identifier equals a conversation id must not fail the run). The per-conversation check walks
the nodes without them; in the final audit a record whose joined scan has a hit is scanned once more
without them before the string-by-string scan, so a record without such a clash takes the same path
as before.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import sqlite3
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain, compress, pairwise
from pathlib import Path
from typing import Any

from opsdata.etl.chatwoot.output import iter_json_strings
from opsdata.etl.chatwoot.redaction import PLACEHOLDER_RE, Identity, Redactor, digits_of

_WORD_RE = re.compile(r"[\w.+@'-]+")
# _WORD_RE's words with ".'-" stripped, found by the regex itself; words of only ".'-" are left
# out (no known value has an empty word), which pairs their neighbours: a superset, for _known_in_any.
_STRIPPED_WORD_RE = re.compile(r"[\w+@](?:[\w.+@'-]*[\w+@])?")
# Digit runs that may be a phone, not glued to letters or digits: inside a sha256 digest a run of
# digits is no phone, and at 100k contacts some digest would end in some contact's digits.
# (A leading "+" changes no digit; a character class first is searched fast.)
_DIGIT_RUN_RE = re.compile(r"\d(?<![0-9A-Za-z]\d)[\d ().\-/]{5,20}\d(?![0-9A-Za-z])")
MAX_FINDINGS = 20
_BATCH_LINES = 16  # docstore lines scanned together (a dirty batch is rescanned line by line)
# What JSON text has between its strings: punctuation, numbers, true/false/null (else: parse it)
_NOT_JSON_OUTSIDE_STRINGS_RE = re.compile(r"[^\s{}\[\],:0-9.+\-Eabeflnrstu]")
# Strings the pipeline itself makes: node ids, timestamps, message id lists, sha256 digests and
# image paths. No generic detector can match inside one (numbers of at most 12 digits: too short
# for a card; a bare digit run needs a phone cue these never contain); tests/unit/etl/test_audit.py
# checks that. They still go through the known-value check, but in their own fields (below).
_NODE_ID = r"chatwoot:\d{1,12}:conv:\d{1,12}(?::turn:\d{1,12}|:att:\d{1,12}:\d{1,12}(?:\.\d{1,4})?)?"
_TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
_ID_LIST = r"\d{1,12}(?:,\d{1,12})*"
_DIGEST = r"[0-9a-f]{64}"
_IMAGE_PATH = r"images/[0-9a-f]{64}\.[a-z]{3,4}"
_STRUCTURAL_RE = re.compile("|".join((_NODE_ID, _TIMESTAMP, _ID_LIST, _DIGEST, _IMAGE_PATH)))
# The fields the pipeline fills itself from ids, timestamps and digests (never from message text
# or contact data), by key name, with the one shape it writes there. A value of that shape in such
# a field is exempt from the known-value check: a contact whose identifier is "1007" must not fail
# the run because a conversation or message has id 1007. Anything else in such a field (a contact
# value put there) is scanned like free text. Every other field is scanned by every check.
_GENERATED_SHAPES: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(("id_", "node_id", "ref_doc_id", "node_ids"), re.compile(_NODE_ID)),
    "message_ids": re.compile(_ID_LIST),
    **dict.fromkeys(("created_at", "resolved_at", "turn_started_at", "sent_at"), re.compile(_TIMESTAMP)),
    **dict.fromkeys(("sha256", "doc_hash", "content_hash"), re.compile(_DIGEST)),
    **dict.fromkeys(("image_path", "stored_path"), re.compile(_IMAGE_PATH)),
}
_DOCSTORE_KEY_PATH = "[0]"  # a docstore.json entry is scanned as [key, value]; its key is a node id
_SEPARATOR = "\n"  # no detector match spans a line break but an address's or a link's (a superset)


class PrivacyAuditError(RuntimeError):
    """PII was found in something the run wrote. The message lists where (never the values)."""

    def __init__(self, findings: list[str]) -> None:
        shown = findings[:MAX_FINDINGS]
        more = f"\n  … and {len(findings) - len(shown)} more" if len(findings) > len(shown) else ""
        super().__init__("privacy audit failed: PII found in\n  " + "\n  ".join(shown) + more)
        self.findings = findings


def generated(path: str, text: str, *, docstore: bool = False) -> bool:
    """Whether `text`, found at `path` (as iter_json_strings names it), is a value the pipeline
    generated: its field is one of _GENERATED_SHAPES and it has that field's shape. `docstore`:
    the value is a docstore.json entry as [key, value], whose key is a node id."""
    if docstore and path == _DOCSTORE_KEY_PATH:
        shape: re.Pattern[str] | None = _GENERATED_SHAPES["id_"]
    else:
        shape = _GENERATED_SHAPES.get(path.rpartition(".")[2].partition("[")[0])
    return shape is not None and shape.fullmatch(text) is not None


def _digest(value: str) -> int:
    return hash(value)  # in-process only: the index never leaves this run


def strings_of(value: Any, out: list[str]) -> list[str]:
    """Every string in a JSON value, keys included, appended to `out` (no paths: the fast path)."""
    kind = type(value)
    if kind is str:
        out.append(value)
    elif kind is dict:
        out.extend(key if type(key) is str else str(key) for key in value)
        for child in value.values():
            if type(child) is str:
                out.append(child)
            elif child is not None and type(child) in (dict, list):
                strings_of(child, out)
    elif kind is list:
        for child in value:
            if type(child) is str:
                out.append(child)
            elif child is not None and type(child) in (dict, list):
                strings_of(child, out)
    return out


def free_strings_of(value: Any, out: list[str], *, docstore: bool = False) -> list[str]:
    """strings_of less the values the pipeline generated, exactly those `generated` names.
    `docstore`: value is a docstore.json entry as [key, value] (its key a node id)."""
    if docstore and type(value) is list and len(value) == 2 and type(value[0]) is str:
        if not _GENERATED_SHAPES["id_"].fullmatch(value[0]):
            out.append(value[0])
        value = value[1]
    kind = type(value)
    if kind is str:
        out.append(value)
    elif kind is dict:
        out.extend(key if type(key) is str else str(key) for key in value)
        for key, child in value.items():
            shape = _GENERATED_SHAPES.get(key)
            if type(child) is str:
                if shape is None or not shape.fullmatch(child):
                    out.append(child)
            elif shape is not None and type(child) is list:  # e.g. node_ids
                for item in child:
                    if type(item) is not str or not shape.fullmatch(item):
                        free_strings_of(item, out)
            elif child is not None and type(child) in (dict, list):
                free_strings_of(child, out)
    elif kind is list:
        for child in value:
            if type(child) is str:
                out.append(child)
            elif child is not None and type(child) in (dict, list):
                free_strings_of(child, out)
    return out


def json_strings(text: str) -> list[str] | None:
    """Every string (keys included) of JSON text we serialised, decoded; None when this quick
    split cannot be trusted (an escaped quote, or quotes that do not pair up).

    Outside strings JSON has no quote characters and inside them a quote is always escaped, so
    without any escaped quote, splitting on quotes leaves the strings at the odd positions.
    """
    if '\\"' in text:
        return None
    parts = text.split('"')
    if len(parts) % 2 == 0 or _NOT_JSON_OUTSIDE_STRINGS_RE.search("".join(parts[0::2])):
        return None
    strings = parts[1::2]
    if "\\" in text:
        strings = [_unescape(part) if "\\" in part else part for part in strings]
    return strings


_SIMPLE_ESCAPES = (("\\n", "\n"), ("\\t", "\t"), ("\\r", "\r"), ("\\/", "/"), ("\\b", "\b"), ("\\f", "\f"))


def _unescape(part: str) -> str:
    """A JSON string's content decoded. json.dumps writes no raw control character, so NUL can
    stand in for an escaped backslash while the other escapes are replaced."""
    if part.count("\\") == part.count("\\n"):  # only line breaks, the usual case
        return part.replace("\\n", "\n")
    if "\\u" in part or "\x00" in part:
        return json.loads('"' + part + '"')
    part = part.replace("\\\\", "\x00")
    for escaped, plain in _SIMPLE_ESCAPES:
        part = part.replace(escaped, plain)
    if "\\" in part:  # an escape JSON does not have: let the parser say what it is
        return json.loads('"' + part.replace("\x00", "\\\\") + '"')
    return part.replace("\x00", "\\")


class KnownIndex:
    """64-bit digests of the run's contact values, exact, in bounded memory.

    Up to `exact_limit` digests live in a set. Past it they move to a SQLite table in a temporary
    file (exact answers) fronted by a fixed-size Bloom filter in memory (two probes per digest),
    so memory stays the same however many contacts the export has and only the rare filter hit
    asks the table.
    """

    def __init__(self, *, exact_limit: int = 100_000, bloom_bytes: int = 1 << 23, directory: str | None = None):
        self.exact_limit = exact_limit
        self._bloom_mask = bloom_bytes - 1
        if bloom_bytes & self._bloom_mask:
            raise ValueError("bloom_bytes must be a power of two")
        self._bloom_bytes = bloom_bytes
        self._directory = directory
        self._set: set[int] = set()
        self._bloom: bytearray | None = None
        self._db: sqlite3.Connection | None = None
        self._path: str | None = None
        self._pending: list[tuple[int]] = []
        self.size = 0  # digests added (with repeats once spilled)

    @property
    def spilled(self) -> bool:
        return self._db is not None

    def add(self, digest: int) -> None:
        if self._bloom is None:
            if digest not in self._set:
                self._set.add(digest)
                self.size += 1
                if len(self._set) > self.exact_limit:
                    self._spill()
            return
        self._mark(digest)
        self._pending.append((digest,))
        self.size += 1
        if len(self._pending) >= 4096:
            self._flush()

    def _mark(self, digest: int) -> None:
        assert self._bloom is not None
        self._bloom[digest & self._bloom_mask] = 1
        self._bloom[(digest >> 32) & self._bloom_mask] = 1

    def _spill(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="opsdata-audit-", suffix=".sqlite", dir=self._directory)
        os.close(fd)
        self._db = sqlite3.connect(self._path)
        for pragma in ("journal_mode = off", "synchronous = off", "cache_size = -4096", "temp_store = file"):
            self._db.execute(f"pragma {pragma}")
        self._db.execute("create table known (d integer primary key) without rowid")
        self._bloom = bytearray(self._bloom_bytes)
        for digest in self._set:
            self._mark(digest)
        self._pending = [(digest,) for digest in self._set]
        self._set = set()
        self._flush()

    def _flush(self) -> None:
        if self._pending and self._db is not None:
            self._db.executemany("insert or ignore into known (d) values (?)", self._pending)
            self._pending = []

    def __contains__(self, digest: int) -> bool:
        return self.any_in((digest,))

    def any_in(self, digests: Iterable[int]) -> bool:
        """True when any digest is in the index (exact)."""
        if self._bloom is None:
            return not self._set.isdisjoint(digests)
        unique = list(set(digests))
        if not unique:
            return False
        mask = self._bloom_mask
        first = map(self._bloom.__getitem__, map(mask.__and__, unique))
        second = map(self._bloom.__getitem__, map(mask.__and__, map((32).__rrshift__, unique)))
        candidates = list(compress(unique, map(operator.and_, first, second)))
        if not candidates:
            return False
        assert self._db is not None
        self._flush()
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            marks = ",".join("?" * len(chunk))
            if self._db.execute(f"select 1 from known where d in ({marks}) limit 1", chunk).fetchone():
                return True
        return False

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._path is not None:
            Path(self._path).unlink(missing_ok=True)
            self._path = None


class _CleanCache:
    """Short strings the final audit already found clean: structural keys and values repeat in
    every node and are then skipped with one set difference. Bounded: cleared when full."""

    def __init__(self, limit: int = 32_768, longest: int = 120) -> None:
        self.limit = limit
        self.longest = longest  # longer strings are mostly unique texts: not worth keeping
        self._strings: set[str] = set()

    def __contains__(self, text: str) -> bool:
        return text in self._strings

    def unknown(self, texts: Iterable[str]) -> set[str]:
        return set(texts).difference(self._strings)

    def add_all(self, texts: Iterable[str]) -> None:
        short = [text for text in texts if len(text) <= self.longest]
        if len(self._strings) + len(short) > self.limit:
            self._strings.clear()
        self._strings.update(short)


class Auditor:
    def __init__(self, *, known: KnownIndex | None = None) -> None:
        self.known = known or KnownIndex()
        self.findings: list[str] = []
        self.scanned_strings = 0
        self.exact_scans = 0  # records whose joined text had a hit and were scanned string by string
        self._generic = Redactor(Identity())
        self._clean = _CleanCache()
        # Clean multi-line texts (transcripts): a text made of whole lines of one is clean too
        self._recent: deque[str] = deque(maxlen=8)
        self._recent_text = ""
        self._recent_lines: set[str] = set()

    # ----- per conversation -----------------------------------------------------------
    def remember(self, identity: Identity) -> None:
        for value in (*identity.emails, *identity.identifiers, *identity.handles):
            if len(value) >= 4:
                self.known.add(_digest(value.strip().lower()))
        for value in identity.phones:
            digits = digits_of(value)
            if len(digits) >= 7:
                self.known.add(_digest("phone:" + digits[-9:]))
        for value in (*identity.names, *identity.agent_names):
            words = value.lower().split()
            if len(words) >= 2:
                self.known.add(hash(tuple(words)))  # as _known_in hashes two or three words in a row

    def check_conversation(self, redactor: Redactor, where: str, nodes: Iterable[dict[str, Any]]) -> None:
        """Known values of this conversation (the redactor's identity) in any string of its nodes
        (the dicts that are serialised as they are: walking them is faster than splitting the JSON),
        but the values the pipeline generated."""
        nodes = list(nodes)
        strings = free_strings_of(nodes, [])
        self.scanned_strings += len(strings)
        if not redactor.multiline_values and _none_known(redactor, strings):
            return
        self.exact_scans += 1
        seen: set[str] = set()
        for node in nodes:
            for path, text in iter_json_strings(node):
                if text in seen or generated(path, text):
                    continue  # (a generated value is not added to seen: elsewhere it is scanned)
                seen.add(text)
                for hit in redactor.detect(PLACEHOLDER_RE.sub(" ", text), generic=False):
                    self.findings.append(f"{where}: node {node['id_']} field {path} ({hit.kind})")

    # ----- everything written ---------------------------------------------------------
    def check_value(self, where: str, value: Any) -> None:
        """Every string of one JSON value (a row, a quarantine record) with every detector."""
        strings = strings_of(value, [])
        self.scanned_strings += len(strings)
        if not self._all_clean(strings):
            self._check_dirty([(where, value)])

    def _check_dirty(self, records: list[tuple[str, Any]], *, docstore: bool = False) -> None:
        """Records whose joined scan had a hit: scanned again without the values the pipeline
        generated (a known value equal to an id is no finding there), then string by string."""
        free: list[str] = []
        for _, value in records:
            free_strings_of(value, free, docstore=docstore)
        if self._all_clean(free):
            return
        for where, value in records:
            self.exact_scans += 1
            for path, text in iter_json_strings(value):
                known = not generated(path, text, docstore=docstore)
                self._check_string(f"{where} {path}".rstrip(), text, known=known)

    def _check_lines(self, batch: list[tuple[int, str]]) -> None:
        """Lines of docstore.json scanned as one text; string by string only when that has a hit."""
        if not batch:
            return
        strings = json_strings("\n".join(entry for _, entry in batch))
        if strings is None:  # an escaped quote somewhere: line by line, parsing those that need it
            for line_no, entry in batch:
                found = json_strings(entry)
                if found is None:
                    value = _docstore_entry(entry)
                    self._check_lines_exactly_if_dirty([(line_no, entry)], strings_of(value, []))
                else:
                    self._check_lines_exactly_if_dirty([(line_no, entry)], found)
            return
        self._check_lines_exactly_if_dirty(batch, strings)

    def _check_lines_exactly_if_dirty(self, batch: list[tuple[int, str]], strings: list[str]) -> None:
        self.scanned_strings += len(strings)
        if not self._all_clean(strings):
            records = [(f"docstore.json line {line_no}", _docstore_entry(entry)) for line_no, entry in batch]
            self._check_dirty(records, docstore=True)

    def check_string(self, where: str, text: str) -> None:
        self.scanned_strings += 1
        if text not in self._clean:
            self._check_string(where, text)

    def _all_clean(self, strings: Iterable[str]) -> bool:
        """True when no string can have a finding: one scan of the strings not seen clean yet,
        joined (a superset of the string-by-string scan). False: scan them one by one."""
        new = self._clean.unknown(strings)
        if not new:
            return True
        transcripts = ["\n" + text + "\n" for text in new if "\n" in text and "\x00" not in text]
        if self._recent or transcripts:
            # NUL never occurs in what json.dumps wrote: it keeps the transcripts apart
            batch = "\x00".join(transcripts)
            own = set(transcripts)
            lines = self._recent_lines.union(batch.split("\n"))
            new = {
                text
                for text in new
                if text.partition("\n")[0] not in lines or not self._in_transcript(text, batch, own)
            }
            if not new:
                return True
        structural = [text for text in new if _STRUCTURAL_RE.fullmatch(text)]
        free_text = PLACEHOLDER_RE.sub(" ", _SEPARATOR.join(new.difference(structural) if structural else new))
        if self._generic.detect(free_text, superset=True):
            return False
        # the structural strings hold no placeholder ("["): the known values are looked for in all
        if self._known_in_any(_SEPARATOR.join([free_text, *structural]) if structural else free_text):
            return False
        self._clean.add_all(new)
        if transcripts:
            self._recent.extend(transcripts)
            self._recent_text = "\x00".join(self._recent)
            self._recent_lines = set(self._recent_text.split("\n"))
        return True

    def _in_transcript(self, text: str, batch: str, own: set[str]) -> bool:
        """Whether text is whole lines of a transcript found clean (recently, or in this same scan):
        then it is clean as well (no match crosses a line break in a clean text, and a phone's cue
        window only shrinks). A turn's text is whole lines of its conversation's Document.
        `batch`: this scan's multi-line texts; one that is text itself does not count."""
        if "\x00" in text:
            return False
        lines = "\n" + text + "\n"
        return lines in self._recent_text or batch.count(lines) > (lines in own)

    def _check_string(self, where: str, text: str, *, known: bool = True) -> None:
        """Every detector; the known values too unless `known` is False (a generated value, which
        is then not remembered as clean: the same text elsewhere is checked in full)."""
        if text in self._clean:
            return
        before = len(self.findings)
        cleaned = PLACEHOLDER_RE.sub(" ", text)
        for hit in self._generic.detect(cleaned):
            self.findings.append(f"{where} ({hit.kind})")
        if not known:
            return
        for kind in self._known_in(cleaned):
            self.findings.append(f"{where} (known {kind})")
        if len(self.findings) == before:
            self._clean.add_all((text,))

    def _known_in_any(self, text: str) -> bool:
        """Whether `_known_in` could find anything in text (a superset: words of neighbouring
        strings are paired too). One pass of C-level iteration over the words."""
        if not self.known.size:
            return False
        words = _STRIPPED_WORD_RE.findall(text.lower())  # the words _known_in uses, less the empty ones
        pairs = pairwise(words)
        triples = zip(words, words[1:], words[2:], strict=False)
        if self.known.any_in(map(hash, chain(words, pairs, triples))):
            return True
        phones = []
        for m in _DIGIT_RUN_RE.finditer(text):
            digits = digits_of(m.group())
            if len(digits) >= 7:
                phones.append(_digest("phone:" + digits[-9:]))
        return bool(phones) and self.known.any_in(phones)

    def _known_in(self, text: str) -> Iterator[str]:
        if not self.known.size:
            return
        words = [w.strip(".'-").lower() for w in _WORD_RE.findall(text)]
        for i, word in enumerate(words):
            if len(word) >= 4 and _digest(word) in self.known:
                yield "contact value"
            if i + 1 < len(words) and hash((word, words[i + 1])) in self.known:
                yield "name"
            if i + 2 < len(words) and hash((word, words[i + 1], words[i + 2])) in self.known:
                yield "name"
        for m in _DIGIT_RUN_RE.finditer(text):
            digits = digits_of(m.group())
            if len(digits) >= 7 and _digest("phone:" + digits[-9:]) in self.known:
                yield "phone"

    def check_output(self, directory: Path) -> None:
        self._check_docstore(directory / "docstore.json", directory / "nodes.jsonl")
        with (directory / "quarantine.jsonl").open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                self.check_value(f"quarantine.jsonl line {line_no}", json.loads(line))
        self.check_value("manifest.json", json.loads((directory / "manifest.json").read_text()))
        for path in (directory / "images").rglob("*"):
            self.check_string(f"images/ file name {path.name}", path.name)

    def _check_docstore(self, docstore: Path, nodes_path: Path) -> None:
        """Scan every docstore.json entry; nodes.jsonl must be the `__data__` of its data entries,
        byte for byte and in order (both are written from the same serialisation)."""
        nodes_digest = hashlib.sha256()
        batch: list[tuple[int, str]] = []  # (line number, entry): lines scanned together
        with docstore.open(encoding="utf-8") as handle:
            for line_no, text in enumerate(handle, start=1):
                entry = text.strip()
                entry = entry[:-1] if entry.endswith(",") else entry
                node_json = _data_node_json(entry)
                if node_json is not None:
                    nodes_digest.update(node_json.encode())
                    nodes_digest.update(b"\n")
                batch.append((line_no, entry))
                if len(batch) >= _BATCH_LINES:
                    self._check_lines(batch)
                    batch = []
            self._check_lines(batch)
        if _file_digest(nodes_path) != nodes_digest.digest():
            self.findings.append("nodes.jsonl (does not hold exactly the audited docstore nodes)")

    def raise_if_found(self) -> None:
        if self.findings:
            raise PrivacyAuditError(self.findings)

    def close(self) -> None:
        self.known.close()


def _none_known(redactor: Redactor, strings: list[str]) -> bool:
    """True when none of the strings holds a known value of the redactor's conversation: one scan
    of the distinct strings, joined (callers check that no known value spans a line break)."""
    joined = PLACEHOLDER_RE.sub(" ", _SEPARATOR.join(_without_inner_lines(dict.fromkeys(strings))))
    return not redactor.detect(joined, generic=False)


def _without_inner_lines(strings: Iterable[str]) -> list[str]:
    """Distinct strings less those made of whole lines of another one (a turn's text is lines of its
    Document's transcript). Known values never span a line break (else the caller scans string by
    string), and a line break is no word character, so a value found in such a string is found in
    the longer one too: scanning the longer one is enough."""
    strings = list(strings)
    multiline = [text for text in strings if "\n" in text and "\x00" not in text]
    if len(multiline) < 2:
        return strings
    # NUL keeps the texts apart (none of them holds one); each text occurs there once itself
    wrapped = "\x00".join("\n" + text + "\n" for text in multiline)
    inner = {text for text in multiline if wrapped.count("\n" + text + "\n") > 1}
    return [text for text in strings if text not in inner]


_DATA_PREFIX = '": {"__data__": '
_DATA_SUFFIX = ', "__type__": "0"}'


def _data_node_json(entry: str) -> str | None:
    """The node JSON inside a `"<id>": {"__data__": <node>, "__type__": "<n>"}` entry line."""
    suffix = entry[-len(_DATA_SUFFIX) :]
    if not (
        entry.startswith('"') and suffix[:-3] == _DATA_SUFFIX[:-3] and suffix[-3].isdigit() and suffix[-2:] == '"}'
    ):
        return None
    start = entry.find(_DATA_PREFIX)
    if start == -1:
        return None
    return entry[start + len(_DATA_PREFIX) : -len(_DATA_SUFFIX)]


def _file_digest(path: Path) -> bytes:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.digest()


def _docstore_entry(text: str) -> Any:
    """One docstore.json line as [key, value]; a line that is not `"key": value` is its text."""
    if text.startswith(("{", "}")) and len(text) < 40:
        return text
    decoder = json.JSONDecoder()
    try:
        key, end = decoder.raw_decode(text)
        rest = text[end:].lstrip()
        value, _ = decoder.raw_decode(rest[1:].lstrip()) if rest.startswith(":") else (None, 0)
    except json.JSONDecodeError:
        return text
    return [key, value]
