"""Chatwoot exports uploaded to S3: the key convention, an export's identity, slicing, messages.

Key convention: `exports/chatwoot/<shop-domain>/<any name>` in the data bucket, e.g.
`exports/chatwoot/demo.myshopify.com/2026-11-29.jsonl.gz`. The object is one export (a JSON array of
conversations or JSON Lines, optionally gzip; detected from the bytes, not the name).

An export is identified by what its producer (S3) says about it: bucket, key, version id and
ETag. `export_id` is a digest of those four, so a re-upload (a new version) is a new export and
a repeated S3 event is the same one.

Slicing: the upload trigger streams the object once (ijson over the GetObject body, through
the ETL's ExportReader) and writes every `max_records` conversations (or `max_bytes` of JSON, or
MAX_SLICE_IMAGES images) to a slice object `<work>/<export_id>/slices/<start>-<end>.jsonl.gz`,
one `{"ref", "data"}` line per record (ref: where the record sits in the export, for quarantine
messages). A worker re-reads exactly its slice, never the whole export, whatever the export's
format or compression.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsdata.etl.chatwoot.model import Validator, conversation_key
from opsdata.etl.chatwoot.reader import ExportReader, InputError, RawRecord

EXPORTS_PREFIX = "exports/chatwoot/"
# A slice is also cut at this many image attachments, so the keys a re-check message carries
# stay far below SQS's 256 KB message limit.
MAX_SLICE_IMAGES = 1000
_SHOP_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


class ExportKeyError(ValueError):
    """An object key outside the convention (no shop domain after exports/chatwoot/)."""


def shop_from_key(key: str) -> str:
    """The shop domain an export's key names: exports/chatwoot/<shop-domain>/<name>."""
    if not key.startswith(EXPORTS_PREFIX):
        raise ExportKeyError(f"{key}: exports must be uploaded under {EXPORTS_PREFIX}<shop-domain>/")
    shop, _, name = key[len(EXPORTS_PREFIX) :].partition("/")
    if not name or name.endswith("/"):
        raise ExportKeyError(f"{key}: expected {EXPORTS_PREFIX}<shop-domain>/<file name>")
    if not _SHOP_DOMAIN_RE.match(shop):
        raise ExportKeyError(f"{key}: {shop!r} is not a shop domain (lowercase, e.g. demo.myshopify.com)")
    return shop


class ExportObject(BaseModel):
    """The producer's identity of one uploaded export."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str = Field(min_length=3, max_length=63)
    key: str = Field(min_length=1, max_length=1024)
    version_id: str = Field(default="", max_length=1024)
    etag: str = Field(min_length=1, max_length=200)

    @property
    def export_id(self) -> str:
        identity = "\n".join((self.bucket, self.key, self.version_id, self.etag))
        return hashlib.sha256(identity.encode()).hexdigest()[:32]

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class SliceMessage(BaseModel):
    """One slice of an export to process (pass 0), or to look at again while its images download."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    kind: Literal["slice"] = "slice"
    export: ExportObject
    start: int = Field(ge=0)
    end: int = Field(gt=0)
    pass_: int = Field(default=0, ge=0, alias="pass")
    pending: list[str] = Field(default_factory=list, max_length=MAX_SLICE_IMAGES)  # images still downloading

    def next_pass(self, pending: list[str]) -> SliceMessage:
        return self.model_copy(update={"pass_": self.pass_ + 1, "pending": pending})


class AssembleMessage(BaseModel):
    """Every slice of the export has finished: build its corpus and finish its run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["assemble"] = "assemble"
    export: ExportObject


WorkMessage = Annotated[SliceMessage | AssembleMessage, Field(discriminator="kind")]

# What Powertools idempotency keys a work message on: the producer's identity of the work
# (export version, slice range, pass), never the SQS message id.
IDEMPOTENCY_KEY_JMESPATH = "[kind, export.bucket, export.key, export.version_id, export.etag, start, end, pass]"


def slice_path(export_id: str, start: int, end: int) -> str:
    return f"{export_id}/slices/{start:09d}-{end:09d}.jsonl.gz"


def slice_output_path(export_id: str, start: int, end: int) -> str:
    return f"{export_id}/out/{start:09d}-{end:09d}"


def context_path(export_id: str) -> str:
    return f"{export_id}/context.json"


@dataclass(frozen=True)
class S3Prefix:
    """A folder in a bucket (`s3://bucket/prefix`), with the few object operations the pipeline needs."""

    bucket: str
    prefix: str
    client: Any

    @classmethod
    def parse(cls, spec: str, client: Any) -> S3Prefix:
        if not spec.startswith("s3://"):
            raise ValueError(f"{spec!r}: expected s3://bucket/prefix")
        bucket, _, prefix = spec[len("s3://") :].partition("/")
        if not bucket:
            raise ValueError(f"{spec!r} names no bucket")
        return cls(bucket, prefix.strip("/"), client)

    def key(self, path: str) -> str:
        return f"{self.prefix}/{path}" if self.prefix else path

    def uri(self, path: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(path)}"

    def put_bytes(self, path: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(path), Body=data, ContentType=content_type)

    def put_file(self, path: str, local: Path, content_type: str) -> None:
        self.client.upload_file(str(local), self.bucket, self.key(path), ExtraArgs={"ContentType": content_type})

    def get_bytes(self, path: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"].read()

    def iter_lines(self, path: str) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(path))["Body"]
        try:
            yield from body.iter_lines(chunk_size=64 * 1024)
        finally:
            body.close()

    def exists(self, path: str) -> bool:
        """By listing the exact key: needs s3:ListBucket on the prefix only (a GET or HEAD of a
        missing key answers 403, not 404, without s3:ListBucket on the whole bucket)."""
        key = self.key(path)
        found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1).get("Contents", [])
        return bool(found) and found[0]["Key"] == key

    def copy_from(self, source: S3Prefix, source_path: str, path: str) -> None:
        self.client.copy_object(
            Bucket=self.bucket,
            Key=self.key(path),
            CopySource={"Bucket": source.bucket, "Key": source.key(source_path)},
        )


# ----- splitting ------------------------------------------------------------------------
@dataclass
class SliceSpec:
    start: int
    end: int
    duplicate_keys: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class SplitResult:
    slices: list[SliceSpec]
    n_records: int
    checksum: str | None
    kind: str | None
    agent_names: list[str]


class _SliceBuffer:
    def __init__(self, start: int) -> None:
        self.start = start
        self.n = 0
        self.raw_bytes = 0
        self.images = 0
        self.duplicate_keys: dict[tuple[int, int], None] = {}
        self._buffer = io.BytesIO()
        self._gzip = gzip.GzipFile(fileobj=self._buffer, mode="wb", compresslevel=6, mtime=0)

    def add(self, record: RawRecord) -> None:
        line = json.dumps({"ref": record.ref, "data": record.data}, ensure_ascii=False, separators=(",", ":"))
        data = line.encode() + b"\n"
        self._gzip.write(data)
        self.n += 1
        self.raw_bytes += len(data)

    def close(self) -> bytes:
        self._gzip.close()
        return self._buffer.getvalue()


def split_export(
    reader: ExportReader, work: S3Prefix, export_id: str, *, max_records: int, max_bytes: int
) -> SplitResult:
    """Stream the export once and write its slices; raises InputError like the ETL does.

    While streaming it also learns what the slices cannot know alone: the agent names of the
    whole export (written to the export's context object, so every slice redacts all of them)
    and, per slice, the conversation keys an earlier slice already holds (those records are
    duplicates, quarantined by the worker as a single run would).
    """
    validator = Validator()
    first_slice: dict[tuple[int, int], int] = {}
    agent_names: dict[str, None] = {}
    slices: list[SliceSpec] = []
    current = _SliceBuffer(0)
    index = 0

    def flush() -> None:
        nonlocal current
        if current.n == 0:
            return
        end = current.start + current.n
        work.put_bytes(slice_path(export_id, current.start, end), current.close(), "application/gzip")
        slices.append(SliceSpec(current.start, end, list(current.duplicate_keys)))
        current = _SliceBuffer(end)

    for record in reader:
        key = conversation_key(record.data)
        if key is not None and first_slice.setdefault(key, len(slices)) < len(slices):
            current.duplicate_keys[key] = None
        conversation, _ = validator.validate(record.ref, record.data)
        if conversation is not None:
            agent_names.update(dict.fromkeys(conversation.agent_names))
            current.images += sum(a.file_type == "image" for m in conversation.messages for a in m.attachments)
        current.add(record)
        index += 1
        if current.n >= max_records or current.raw_bytes >= max_bytes or current.images >= MAX_SLICE_IMAGES:
            flush()
    flush()
    if index == 0:
        raise InputError(f"{reader.spec}: the export holds no conversation")
    context = {"export_id": export_id, "agent_names": list(agent_names)}
    work.put_bytes(context_path(export_id), json.dumps(context, ensure_ascii=False).encode(), "application/json")
    return SplitResult(slices, index, reader.checksum, reader.kind, list(agent_names))


class SliceReader(ExportReader):
    """Reads a slice object: the records keep the reference they had in the whole export."""

    def __iter__(self) -> Iterator[RawRecord]:
        for record in super().__iter__():
            wrapped = record.data
            if not (isinstance(wrapped, dict) and isinstance(wrapped.get("ref"), str) and "data" in wrapped):
                raise InputError(f"{self.spec}: {record.ref} is not a slice record")
            yield RawRecord(ref=wrapped["ref"], data=wrapped["data"])
