"""Helpers for the Chatwoot ETL tests: real PNG files and a local stand-in for the downloader."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

from opsdata.etl.chatwoot.corpus import ImagePlan, StoredImage


def png(seed: str) -> bytes:
    """A real 2x2 PNG whose colour depends on seed (distinct files, distinct sha256)."""
    colour = hashlib.sha256(seed.encode()).digest()[:3]
    raw = b"".join(b"\x00" + colour * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


class LocalImages:
    """Stands in for the attachment downloader (built on another branch): stores by sha256."""

    def __init__(self, fail_keys: frozenset[str] = frozenset()) -> None:
        self.fetched: list[str] = []
        self.fail_keys = fail_keys

    def __call__(self, plans: Sequence[ImagePlan], staging: Path) -> Mapping[str, StoredImage]:
        outcomes = {}
        for plan in plans:
            self.fetched.append(plan.key)
            if plan.key in self.fail_keys:
                outcomes[plan.key] = StoredImage(
                    "failed", reason="HTTP 503 after 3 attempts", attempts=3, retryable=True
                )
                continue
            data = png(plan.url or plan.key)
            digest = hashlib.sha256(data).hexdigest()
            target = staging / "images" / f"{digest}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            outcomes[plan.key] = StoredImage(
                "ok", digest, "image/png", 2, 2, len(data), f"images/{digest}.png", None, 1
            )
        return outcomes
