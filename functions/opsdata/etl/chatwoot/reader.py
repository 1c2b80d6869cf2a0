"""Reading a Chatwoot export as a stream of conversation records.

Accepted inputs (detected, never configured), local or `s3://bucket/key`, optionally gzip:
- a JSON array of conversations, each with its full `messages` list (streamed with ijson);
- JSON Lines of the same (one conversation per line);
- a local directory of raw API pages: conversation list pages (`{"data": {"meta", "payload"}}`
  or the `data` object itself) and per-conversation message pages (`{"meta", "payload"}` or a
  bare list of messages), in any file names and sub-folders.

Memory stays flat: one conversation at a time (pages: an index of page files per conversation).
Invalid JSON or a file that is not a Chatwoot export raises InputError naming the byte offset
(of the decompressed stream) or the missing field.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson

GZIP_MAGIC = b"\x1f\x8b"
_READ_SIZE = 64 * 1024


class InputError(Exception):
    """The input cannot be read as a Chatwoot export. The message names where and why."""


@dataclass(frozen=True)
class RawRecord:
    """One conversation as found in the input, with a reference that carries no PII."""

    ref: str  # e.g. "record 12 (byte 48211)", "line 7", "pages/list-1.json item 3"
    data: Any
    messages_from: str | None = None  # pages: which files the messages came from


class _HashingReader(io.RawIOBase):
    """Wraps the raw (compressed) input: sha256 of every byte read, and the count."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.size += n
        return n


class _CountingReader:
    """Counts decompressed bytes handed to the parser and keeps the last block, for error offsets."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.consumed = 0
        self.last_block = b""
        self.last_block_start = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.last_block_start = self.consumed
        self.last_block = data
        self.consumed += len(data)
        return data


def is_s3(spec: str) -> bool:
    return spec.startswith("s3://")


def split_s3(spec: str) -> tuple[str, str]:
    bucket, _, key = spec[len("s3://") :].partition("/")
    if not bucket or not key:
        raise InputError(f"{spec}: an S3 input must look like s3://bucket/key")
    return bucket, key


@contextmanager
def _open_raw(spec: str) -> Iterator[IO[bytes]]:
    if is_s3(spec):
        import boto3  # lazy: only S3 inputs need it (and the Lambda runtime ships it)
        from botocore.exceptions import BotoCoreError, ClientError

        bucket, key = split_s3(spec)
        try:
            body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        except (ClientError, BotoCoreError) as exc:
            raise InputError(f"{spec}: cannot read from S3 ({exc})") from exc
        try:
            yield body
        finally:
            body.close()
        return
    path = Path(spec)
    if not path.exists():
        raise InputError(f"{spec}: no such file or directory")
    with path.open("rb") as handle:
        yield handle


class ExportReader:
    """Iterate the conversations of one input; `checksum` is the input's sha256 once read."""

    def __init__(self, spec: str, *, opener: Callable[[], AbstractContextManager[IO[bytes]]] | None = None) -> None:
        """`opener` replaces opening `spec` (e.g. an S3 object pinned to a version); `spec` still names it."""
        self.spec = spec
        self._opener = opener
        self.kind: str | None = None  # "json-array", "jsonl", "pages"
        self.compressed = False
        self.checksum: str | None = None
        self.size = 0

    def __iter__(self) -> Iterator[RawRecord]:
        if self._opener is None and not is_s3(self.spec) and Path(self.spec).is_dir():
            yield from self._pages(Path(self.spec))
            return
        with self._opener() if self._opener is not None else _open_raw(self.spec) as raw:
            hashing = _HashingReader(raw)
            buffered = io.BufferedReader(hashing, buffer_size=_READ_SIZE)
            head = buffered.peek(2)[:2]
            stream = buffered
            if head == GZIP_MAGIC:
                self.compressed = True
                # GzipFile does not close the file object it is given, so `buffered` stays usable
                stream = io.BufferedReader(gzip.GzipFile(fileobj=buffered, mode="rb"), buffer_size=_READ_SIZE)
            try:
                yield from self._records(stream)
                while buffered.read(_READ_SIZE):  # hash trailing bytes the parser did not need
                    pass
            except (OSError, EOFError) as exc:
                raise InputError(f"{self.spec}: cannot decompress ({exc})") from exc
            self.checksum = hashing.sha256.hexdigest()
            self.size = hashing.size

    # ----- single files ---------------------------------------------------------------
    def _records(self, reader: io.BufferedReader) -> Iterator[RawRecord]:
        first, offset = _first_significant_byte(reader)
        if first is None:
            raise InputError(f"{self.spec}: the input is empty")
        if first == b"[":
            self.kind = "json-array"
            yield from self._array(reader)
        elif first == b"{":
            self.kind = "jsonl"
            yield from self._jsonl(reader)
        else:
            shown = first.decode("latin-1")
            shown = shown if shown.isprintable() else f"0x{first.hex()}"
            raise InputError(
                f"{self.spec}: not a Chatwoot export: byte offset {offset} is {shown!r}; expected a JSON array"
                " of conversations, JSON Lines, or a directory of API pages"
            )

    def _array(self, reader: IO[bytes]) -> Iterator[RawRecord]:
        counting = _CountingReader(reader)
        index = 0
        try:
            for item in ijson.items(counting, "item", use_float=True, buf_size=_READ_SIZE):
                index += 1
                yield RawRecord(ref=f"record {index}", data=item)
        except ijson.JSONError as exc:
            raise InputError(f"{self.spec}: invalid JSON {_describe_ijson_error(exc, counting)}") from exc
        if index == 0:
            return

    def _jsonl(self, reader: IO[bytes]) -> Iterator[RawRecord]:
        offset = 0
        for number, line in enumerate(reader, start=1):
            stripped = line.strip()
            if stripped:
                try:
                    data = json.loads(stripped)
                except json.JSONDecodeError as exc:
                    lead = len(line) - len(line.lstrip())
                    raise InputError(
                        f"{self.spec}: invalid JSON at byte offset {offset + lead + exc.pos} (line {number}, "
                        f"column {exc.colno}): {exc.msg}"
                    ) from exc
                except UnicodeDecodeError as exc:
                    raise InputError(f"{self.spec}: invalid UTF-8 at byte offset {offset + exc.start}") from exc
                if number == 1 and isinstance(data, dict) and _looks_like_page(data):
                    raise InputError(
                        f"{self.spec}: line 1 is an API page, not a conversation; put pages in a directory"
                    )
                yield RawRecord(ref=f"line {number}", data=data)
            offset += len(line)

    # ----- directory of API pages -----------------------------------------------------
    def _pages(self, root: Path) -> Iterator[RawRecord]:
        self.kind = "pages"
        files = sorted(p for p in root.rglob("*") if p.is_file() and re.search(r"\.json(l)?(\.gz)?$", p.name))
        if not files:
            raise InputError(f"{self.spec}: the directory holds no .json or .json.gz page")
        digest = hashlib.sha256()
        list_pages: list[Path] = []
        message_pages: dict[int, list[Path]] = {}
        for path in files:
            data = _load_page(path, root)
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
            self.size += path.stat().st_size
            kind, items = _classify_page(data, path, root)
            if kind == "conversations":
                list_pages.append(path)
            elif items:
                conversation_id = next(
                    (m.get("conversation_id") for m in items if isinstance(m, dict) and m.get("conversation_id")),
                    None,
                )
                if isinstance(conversation_id, int):
                    message_pages.setdefault(conversation_id, []).append(path)
        self.checksum = digest.hexdigest()
        listed: set[int] = set()
        for path in list_pages:
            _, conversations = _classify_page(_load_page(path, root), path, root)
            rel = path.relative_to(root).as_posix()
            for position, conversation in enumerate(conversations, start=1):
                ref = f"{rel} item {position}"
                if not isinstance(conversation, dict):
                    yield RawRecord(ref=ref, data=conversation)
                    continue
                display_id = conversation.get("id")
                pages = message_pages.get(display_id, []) if isinstance(display_id, int) else []
                if isinstance(display_id, int):
                    listed.add(display_id)
                if pages:
                    merged: list[Any] = []
                    for page in pages:
                        merged.extend(_classify_page(_load_page(page, root), page, root)[1])
                    conversation = {**conversation, "messages": merged}
                    sources = ", ".join(p.relative_to(root).as_posix() for p in pages)
                    yield RawRecord(ref=ref, data=conversation, messages_from=sources)
                else:
                    yield RawRecord(ref=ref, data={**conversation, "_opsdata_no_message_pages": True})
        for conversation_id in sorted(set(message_pages) - listed):
            pages = ", ".join(p.relative_to(root).as_posix() for p in message_pages[conversation_id])
            yield RawRecord(ref=f"message pages {pages}", data={"_opsdata_orphan_messages": conversation_id})


def _first_significant_byte(reader: io.BufferedReader) -> tuple[bytes | None, int]:
    """Peek past a UTF-8 BOM and whitespace without consuming what the parser needs."""
    offset = 0
    while True:
        chunk = reader.peek(1)
        if not chunk:
            return None, offset
        byte = chunk[:1]
        if byte in b" \t\r\n":
            reader.read(1)
            offset += 1
            continue
        if chunk.startswith(b"\xef\xbb\xbf"):
            reader.read(3)
            offset += 3
            continue
        return byte, offset


def _describe_ijson_error(exc: Exception, counting: _CountingReader) -> str:
    """Turn yajl's message into a byte offset: its context line shows up to 30 bytes before the error."""
    message = str(exc)
    lines = message.split("\n")
    reason = lines[0].removeprefix("parse error: ").strip() or "parse error"
    if "premature EOF" in message:
        return f"at byte offset {counting.consumed}: unexpected end of input ({reason}; truncated file?)"
    if len(lines) >= 3 and "^" in lines[2]:
        caret = lines[2].index("^")
        context = lines[1]
        before = context[:caret].lstrip(" ")
        after = context[caret:]
        block = counting.last_block.decode("utf-8", "replace").replace("\n", " ").replace("\r", " ").replace("\t", " ")
        probe = before + after
        position = block.find(probe) if probe.strip() else -1
        if position != -1 and block.find(probe, position + 1) == -1:
            prefix = block[: position + len(before)]
            # yajl points just past the offending byte
            offset = max(counting.last_block_start + len(prefix.encode("utf-8")) - 1, 0)
            return f"at byte offset {offset}: {reason}"
    end = counting.last_block_start + len(counting.last_block)
    return f"between byte offsets {counting.last_block_start} and {end}: {reason}"


def _load_page(path: Path, root: Path) -> Any:
    rel = path.relative_to(root).as_posix()
    try:
        raw = path.read_bytes()
        if raw[:2] == GZIP_MAGIC:
            raw = gzip.decompress(raw)
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f"{rel}: invalid JSON at byte offset {exc.pos} (line {exc.lineno}): {exc.msg}") from exc
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{rel}: cannot read ({exc})") from exc


def _looks_like_page(data: dict[str, Any]) -> bool:
    return "payload" in data or (isinstance(data.get("data"), dict) and "payload" in data["data"])


def _classify_page(data: Any, path: Path, root: Path) -> tuple[str, list[Any]]:
    """("conversations" | "messages", items) for a page; InputError when it is neither."""
    rel = path.relative_to(root).as_posix()
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        data = data["data"]
    if isinstance(data, dict):
        if "payload" not in data:
            raise InputError(f"{rel}: not a Chatwoot API page: missing field 'payload'")
        items = data["payload"]
        if not isinstance(items, list):
            raise InputError(f"{rel}: not a Chatwoot API page: 'payload' is not a list")
    elif isinstance(data, list):
        items = data
    else:
        raise InputError(f"{rel}: not a Chatwoot API page: expected an object with 'payload' or a list")
    first = next((item for item in items if isinstance(item, dict)), None)
    if first is None:
        return "messages", []
    if "message_type" in first:
        return "messages", items
    if "messages" in first or "meta" in first or "inbox_id" in first:
        return "conversations", items
    raise InputError(f"{rel}: not a Chatwoot API page: items have neither 'message_type' nor 'messages'")
