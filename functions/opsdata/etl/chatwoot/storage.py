"""Content-addressed object stores for attachments: a local directory (default) or S3.

One interface: `put` stores bytes under `<folder>/<sha256>.<ext>` unless they are already
there (identical content is stored once), `exists`, `get`, `list`, and `write` for the few
objects that are named rather than content-addressed (outcome records). Paths are relative to
the store root, with forward slashes, and never leave it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlparse


class StoreError(Exception):
    """A store spec or path that cannot be used; the message names it."""


@dataclass(frozen=True)
class Stored:
    path: str  # relative to the store root, e.g. "images/<sha256>.jpg"
    sha256: str
    created: bool  # False when identical content was already stored


class Store(Protocol):
    spec: str

    def put(self, data: bytes, *, extension: str, content_type: str, folder: str = "images") -> Stored: ...
    def write(self, path: str, data: bytes, *, content_type: str) -> None: ...
    def exists(self, path: str) -> bool: ...
    def get(self, path: str) -> bytes: ...
    def list(self, prefix: str = "") -> Iterator[str]: ...


def content_path(data: bytes, extension: str, folder: str = "images") -> tuple[str, str]:
    digest = hashlib.sha256(data).hexdigest()
    return f"{folder}/{digest}.{extension.lstrip('.').lower()}", digest


def _safe_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or any(part in ("..", "") for part in path.split("/")) or "\\" in path:
        raise StoreError(f"store path {path!r} is not a plain relative path")
    return str(pure)


class LocalStore:
    """A directory. Writes go to a temporary file in the same folder, then are linked into
    place, so a reader (or a killed run) never sees a half-written image."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.spec = str(self.root)

    def put(self, data: bytes, *, extension: str, content_type: str, folder: str = "images") -> Stored:
        path, digest = content_path(data, extension, folder)
        target = self.root / _safe_relative(path)
        if target.exists():
            return Stored(path, digest, created=False)
        return Stored(path, digest, created=self._write(target, data, replace=False))

    def write(self, path: str, data: bytes, *, content_type: str) -> None:
        self._write(self.root / _safe_relative(path), data, replace=True)

    @staticmethod
    def _write(target: Path, data: bytes, *, replace: bool) -> bool:
        """Write via a temporary file; without `replace`, only if absent. True if written."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if replace:
                os.replace(temporary, target)
                return True
            try:
                os.link(temporary, target)  # create-if-absent in one step: concurrent writers agree
            except FileExistsError:
                return False
            except OSError:  # no hard links on this file system
                os.replace(temporary, target)
            return True
        finally:
            Path(temporary).unlink(missing_ok=True)

    def exists(self, path: str) -> bool:
        return (self.root / _safe_relative(path)).is_file()

    def get(self, path: str) -> bytes:
        try:
            return (self.root / _safe_relative(path)).read_bytes()
        except FileNotFoundError:
            raise StoreError(f"{path} is not in {self.spec}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for file in sorted(self.root.rglob("*")):
            relative = file.relative_to(self.root).as_posix()
            if file.is_file() and not file.name.startswith(".tmp-") and relative.startswith(prefix):
                yield relative


class S3Store:
    """`s3://bucket/prefix`. boto3 is imported on first use (it ships with the Lambda runtime)."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spec = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _key(self, path: str) -> str:
        relative = _safe_relative(path)
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def put(self, data: bytes, *, extension: str, content_type: str, folder: str = "images") -> Stored:
        from botocore.exceptions import ClientError

        path, digest = content_path(data, extension, folder)
        try:
            # A conditional write: create-if-absent in one request, and it needs s3:PutObject
            # only (a HEAD on a missing key answers 403 without s3:ListBucket).
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(path),
                Body=data,
                ContentType=content_type,
                CacheControl="public, max-age=31536000, immutable",
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return Stored(path, digest, created=False)
            raise
        return Stored(path, digest, created=True)

    def write(self, path: str, data: bytes, *, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(path), Body=data, ContentType=content_type)

    def exists(self, path: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def get(self, path: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(path))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise StoreError(f"{path} is not in {self.spec}") from None
            raise

    def list(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
            for item in page.get("Contents", []):
                yield item["Key"][len(base) :]


def open_store(spec: str | os.PathLike[str]) -> Store:
    """A local directory path, or `s3://bucket[/prefix]`."""
    text = os.fspath(spec)
    if "://" not in text:
        if not text.strip():
            raise StoreError("store is empty: give a directory or s3://bucket/prefix")
        return LocalStore(text)
    parsed = urlparse(text)
    if parsed.scheme != "s3":
        raise StoreError(f"store {text!r}: only a local directory or s3://bucket/prefix is supported")
    if not parsed.netloc:
        raise StoreError(f"store {text!r} names no bucket")
    return S3Store(parsed.netloc, parsed.path)
