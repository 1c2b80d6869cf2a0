"""Opaque keyset cursors: URL-safe, HMAC-signed, bound to an endpoint and its parameters.

Format: `v1.<payload>.<signature>`, both parts base64url without padding. The payload names the
endpoint, a digest of the normalized non-cursor parameters (shop, filters; not `limit`, so the
page size may change between pages) and the keyset values of the last row served. A cursor
that is modified, issued by another deployment (another secret), issued for another endpoint
or other parameters, or in an older format is refused with a message saying which.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

VERSION = "v1"
MAX_LENGTH = 512


class CursorError(ValueError):
    """The cursor cannot be used; the message tells the caller why."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def params_digest(params: dict[str, Any]) -> str:
    """A short stable digest of normalized parameters (sorted keys, JSON values)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _sign(secret: bytes, message: str) -> str:
    return _b64encode(hmac.new(secret, message.encode(), hashlib.sha256).digest())


def encode_cursor(secret: bytes, endpoint: str, params: dict[str, Any], keyset: list[Any]) -> str:
    payload = _b64encode(
        json.dumps({"e": endpoint, "p": params_digest(params), "k": keyset}, separators=(",", ":")).encode()
    )
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_sign(secret, signed)}"


def decode_cursor(secret: bytes, endpoint: str, params: dict[str, Any], cursor: str) -> list[Any]:
    """The keyset values in `cursor`, after checking its format, signature and binding."""
    if len(cursor) > MAX_LENGTH:
        raise CursorError(f"cursor is longer than {MAX_LENGTH} characters; use the next_cursor value as given")
    parts = cursor.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise CursorError("cursor is not in a format this API issues (stale or foreign); start again without a cursor")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_sign(secret, signed), parts[2]):
        raise CursorError("cursor was modified or was not issued by this API; use next_cursor as given")
    try:
        payload = json.loads(_b64decode(parts[1]))
        keyset = payload["k"]
        cursor_endpoint, digest = payload["e"], payload["p"]
    except (ValueError, KeyError, TypeError) as exc:  # signed by us but unreadable: a format we no longer read
        raise CursorError("cursor is in a format this API no longer reads; start again without a cursor") from exc
    if cursor_endpoint != endpoint:
        raise CursorError(f"cursor belongs to another endpoint ({cursor_endpoint})")
    if not hmac.compare_digest(digest, params_digest(params)):
        raise CursorError(
            "cursor was issued for other parameters; repeat the parameters of the first page or drop the cursor"
        )
    if not isinstance(keyset, list):
        raise CursorError("cursor is in a format this API no longer reads; start again without a cursor")
    return keyset
