"""The privacy audit: nothing written may contain PII. A finding names where, never the value.

Two layers:
- per conversation, before anything is written: every string of its nodes is searched for the
  conversation's own known values (contact name and its parts, email, phone in partial forms,
  identifier, IP, location, handles, agent names) with the redactor's matchers;
- at the end, over everything written: every string in docstore.json, quarantine.jsonl and
  manifest.json, and every database row this run wrote, is searched with the generic detectors
  (emails, phones, cards, IBANs, IPs, addresses, Chatwoot links, mention links) and for the
  known values of every contact in the run (emails, phones, multi-word names, identifiers,
  handles), kept as 64-bit digests so the set stays small. nodes.jsonl must hold exactly the
  nodes of docstore.json (compared by digest), so it is covered by the docstore scan.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsdata.etl.chatwoot.output import iter_json_strings
from opsdata.etl.chatwoot.redaction import PLACEHOLDER_RE, Identity, Redactor, digits_of

_WORD_RE = re.compile(r"[\w.+@'-]+")
_DIGIT_RUN_RE = re.compile(r"\+?\d[\d ().\-/]{5,20}\d")
MAX_FINDINGS = 20


class PrivacyAuditError(RuntimeError):
    """PII was found in something the run wrote. The message lists where (never the values)."""

    def __init__(self, findings: list[str]) -> None:
        shown = findings[:MAX_FINDINGS]
        more = f"\n  … and {len(findings) - len(shown)} more" if len(findings) > len(shown) else ""
        super().__init__("privacy audit failed: PII found in\n  " + "\n  ".join(shown) + more)
        self.findings = findings


def _digest(value: str) -> int:
    return hash(value)  # in-process only: the set never leaves this run


_CLEAN_CACHE_LIMIT = 200_000  # strings already found clean (structural keys and values repeat a lot)


@dataclass
class Auditor:
    known: set[int] = field(default_factory=set)
    findings: list[str] = field(default_factory=list)
    scanned_strings: int = 0
    _generic: Redactor = field(default_factory=lambda: Redactor(Identity()))
    _clean: set[int] = field(default_factory=set)

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
                self.known.add(_digest(" ".join(words)))

    def check_conversation(self, redactor: Redactor, where: str, nodes: Iterable[dict[str, Any]]) -> None:
        """Known values of this conversation (the redactor's identity) in any string of its nodes."""
        seen: set[str] = set()
        for node in nodes:
            for path, text in iter_json_strings(node):
                if text in seen:
                    continue
                seen.add(text)
                for hit in redactor.detect(PLACEHOLDER_RE.sub(" ", text), generic=False):
                    self.findings.append(f"{where}: node {node['id_']} field {path} ({hit.kind})")

    # ----- everything written ---------------------------------------------------------
    def check_string(self, where: str, text: str) -> None:
        self.scanned_strings += 1
        key = hash(text)
        if key in self._clean:
            return
        before = len(self.findings)
        cleaned = PLACEHOLDER_RE.sub(" ", text)
        for hit in self._generic.detect(cleaned):
            self.findings.append(f"{where} ({hit.kind})")
        if self.known:
            for kind in self._known_in(cleaned):
                self.findings.append(f"{where} (known {kind})")
        if len(self.findings) == before:
            if len(self._clean) >= _CLEAN_CACHE_LIMIT:
                self._clean.clear()
            self._clean.add(key)

    def _known_in(self, text: str) -> Iterator[str]:
        words = [w.strip(".'-").lower() for w in _WORD_RE.findall(text)]
        for i, word in enumerate(words):
            if len(word) >= 4 and _digest(word) in self.known:
                yield "contact value"
            if i + 1 < len(words) and _digest(f"{word} {words[i + 1]}") in self.known:
                yield "name"
            if i + 2 < len(words) and _digest(f"{word} {words[i + 1]} {words[i + 2]}") in self.known:
                yield "name"
        for m in _DIGIT_RUN_RE.finditer(text):
            digits = digits_of(m.group())
            if len(digits) >= 7 and _digest("phone:" + digits[-9:]) in self.known:
                yield "phone"

    def check_value(self, where: str, value: Any) -> None:
        for path, text in iter_json_strings(value):
            self.check_string(f"{where} {path}".rstrip(), text)

    def check_output(self, directory: Path) -> None:
        docstore_digest = hashlib.sha256()
        for line_no, value in _docstore_entries(directory / "docstore.json"):
            entry = value[1] if isinstance(value, list) else None
            if isinstance(entry, dict) and "__data__" in entry:
                docstore_digest.update(json.dumps(entry["__data__"], sort_keys=True).encode())
            self.check_value(f"docstore.json line {line_no}", value)
        nodes_digest = hashlib.sha256()
        with (directory / "nodes.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                nodes_digest.update(json.dumps(json.loads(line), sort_keys=True).encode())
        if nodes_digest.digest() != docstore_digest.digest():
            self.findings.append("nodes.jsonl (does not hold exactly the audited docstore nodes)")
        with (directory / "quarantine.jsonl").open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                self.check_value(f"quarantine.jsonl line {line_no}", json.loads(line))
        self.check_value("manifest.json", json.loads((directory / "manifest.json").read_text()))
        for path in (directory / "images").rglob("*"):
            self.check_string(f"images/ file name {path.name}", path.name)

    def raise_if_found(self) -> None:
        if self.findings:
            raise PrivacyAuditError(self.findings)


def _docstore_entries(path: Path) -> Iterator[tuple[int, Any]]:
    """Our docstore.json has one `"key": value` entry per line; anything else is scanned as text."""
    decoder = json.JSONDecoder()
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            text = line.strip().rstrip(",")
            if text.startswith(("{", "}")) and len(text) < 40:
                yield line_no, text
                continue
            try:
                key, end = decoder.raw_decode(text)
                rest = text[end:].lstrip()
                value, _ = decoder.raw_decode(rest[1:].lstrip()) if rest.startswith(":") else (None, 0)
            except json.JSONDecodeError:
                yield line_no, text
                continue
            yield line_no, [key, value]
