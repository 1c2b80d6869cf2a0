"""Message text clean-up: email quotes and signatures, markdown noise.

Chatwoot's `content_attributes.email.text_content.quoted` is the reply with the quoted history
already trimmed (EmailReplyTrimmer); `content` and `reply` still carry the "On ... wrote:"
quote and the signature. Signatures are cut here: after a `-- ` delimiter line, and a closing
phrase ("Best regards,") followed by at most a few short lines (name, company, phone).
"""

from __future__ import annotations

import re

_QUOTE_HEADER_RE = re.compile(
    r"^\s*(?:On .{0,200}wrote:|Em .{0,200}escreveu:|El .{0,200}escribió:|Le .{0,200}a écrit\s?:|"
    r"Am .{0,200}schrieb .{0,200}:|Op .{0,200}geschreven:|Il .{0,200}ha scritto:|"
    r"-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|From:\s.+)\s*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER_RE = re.compile(r"^\s*(?:--|—|__)\s*$")
_CLOSING_RE = re.compile(
    r"^\s*(?:best(?: regards| wishes)?|kind regards|warm regards|regards|many thanks|thanks(?: again)?|thank you|"
    r"cheers|sincerely|yours(?: truly| sincerely)?|cordialement|bien à vous|atenciosamente|cumprimentos|"
    r"obrigad[oa]|saludos(?: cordiales)?|un saludo|mit freundlichen grüßen|viele grüße|liebe grüße|"
    r"met vriendelijke groet(?:en)?|groeten|cordiali saluti|distinti saluti)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_INLINE_IMAGE_RE = re.compile(r"\[image:\s*[^\]]*\]", re.IGNORECASE)
_MAX_SIGNATURE_LINES = 5
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def strip_quoted_history(text: str) -> str:
    """Cut at the first quote header or the first run of '>' lines."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _QUOTE_HEADER_RE.match(line) or (line.lstrip().startswith(">") and i > 0):
            return "\n".join(lines[:i]).rstrip()
    return text


def strip_signature(text: str, *, closings: bool) -> str:
    """Drop a `-- ` signature block; with `closings`, also a sign-off and the short lines after it."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if _SIGNATURE_DELIMITER_RE.match(line):
            lines = lines[:i]
            break
    if closings:
        for i in range(len(lines) - 1, -1, -1):
            if _CLOSING_RE.match(lines[i]):
                tail = [t for t in lines[i + 1 :] if t.strip()]
                if len(tail) <= _MAX_SIGNATURE_LINES and all(len(t) <= 60 for t in tail):
                    lines = lines[:i]
                break
    return "\n".join(lines).rstrip()


def clean_text(text: str | None, *, email: bool) -> str:
    """Normalised message text: LF line ends, no quoted history or signature, trimmed."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not email and "\n" not in text:  # one line (most chat messages): what the steps below leave
        return "" if _SIGNATURE_DELIMITER_RE.match(text) else text.strip()
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    if email:
        text = strip_quoted_history(text)
        text = _INLINE_IMAGE_RE.sub("[image]", text)
    text = strip_signature(text, closings=email)
    text = _BLANK_LINES_RE.sub("\n\n", text)
    return text.strip()


def email_body(content: str | None, email: dict | None) -> str | None:
    """The reply without history: `text_content.quoted`, else `html_content.quoted`, else content."""
    if isinstance(email, dict):
        for part in ("text_content", "html_content"):
            section = email.get(part)
            if isinstance(section, dict):
                quoted = section.get("quoted")
                if isinstance(quoted, str) and quoted.strip():
                    return quoted
    return content
