"""Downloading image attachments: untrusted URL in, sanitized image in the store, outcome out.

`fetch_attachments` is what the ETL calls; `fetch_attachment` is one attachment, for the
queue worker. Every request gets exactly one outcome:
- ok: the cleaned image is stored at `stored_path` (`images/<sha256>.<ext>`, where sha256 is
  of the stored, re-encoded bytes);
- rejected: the policy refused it (unsafe URL or address, too large, not an allowed image,
  too many pixels, corrupt); retrying would not help;
- failed: it could not be fetched (HTTP error, timeouts, network) after `attempts` tries;
  `retryable` says whether a later run should try again (false for 404 and other 4xx).
Reasons are `code: detail` and never contain the URL (signed links) or an address.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import Field

from opsdata.core.safe_http import FetchFailed, FetchRejected, HttpPolicy, SafeHttpClient, normalize_allow_hosts
from opsdata.etl.chatwoot.images import DEFAULT_MAX_PIXELS, ImageRejected, sanitize, sniff
from opsdata.etl.chatwoot.storage import Store

log = logging.getLogger(__name__)

Status = Literal["ok", "rejected", "failed"]


class FetchPolicy(HttpPolicy):
    """HTTP limits plus the image limit. Defaults: 20 MB, 5 redirects, 3 attempts, 50 MP."""

    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, gt=0)


@dataclass(frozen=True)
class AttachmentRequest:
    key: str  # the caller's stable id for the attachment; outcomes carry it back
    url: str
    declared_type: str | None = None  # what the source says; informational, never trusted
    declared_size: int | None = None  # bytes the source claims; above the limit we skip the download


@dataclass(frozen=True)
class AttachmentOutcome:
    key: str
    status: Status
    reason: str | None
    sha256: str | None
    content_type: str | None
    width: int | None
    height: int | None
    size: int | None
    stored_path: str | None
    attempts: int
    retryable: bool = False
    new: bool = False  # this call stored the bytes (False: ok but already stored, or not ok)


def outcome_path(key: str) -> str:
    """Where the queue worker records an attachment's outcome in the store (named by key, never by URL)."""
    return f"outcomes/{hashlib.sha256(key.encode()).hexdigest()}.json"


def _outcome(request: AttachmentRequest, status: Status, reason: str, attempts: int, retryable: bool = False):
    return AttachmentOutcome(request.key, status, reason, None, None, None, None, None, None, attempts, retryable)


def _check_start(head: bytes) -> None:
    try:
        sniff(head)
    except ImageRejected as exc:
        raise FetchRejected(exc.code, exc.detail) from None


def fetch_attachment(
    request: AttachmentRequest, *, client: SafeHttpClient, store: Store, policy: FetchPolicy
) -> AttachmentOutcome:
    """One attachment, end to end. Never raises for a bad attachment: the outcome says why."""
    if request.declared_size is not None and request.declared_size > policy.max_bytes:
        return _outcome(request, "rejected", f"too_large: declared {request.declared_size} bytes", 0)
    try:
        fetched = client.fetch(request.url, check_start=_check_start, max_bytes=policy.max_bytes)
    except FetchRejected as exc:
        return _outcome(request, "rejected", exc.reason, exc.attempts)
    except FetchFailed as exc:
        return _outcome(request, "failed", exc.reason, exc.attempts, exc.retryable)
    try:
        image = sanitize(fetched.content, max_pixels=policy.max_pixels)
    except ImageRejected as exc:
        return _outcome(request, "rejected", str(exc), fetched.attempts)
    try:
        stored = store.put(image.data, extension=image.format.extension, content_type=image.format.content_type)
    except Exception as exc:  # the store is down or full: the image itself was fine, try again later
        log.warning("attachment %s not stored: %s", request.key, type(exc).__name__)
        return _outcome(request, "failed", f"store_error: {type(exc).__name__}", fetched.attempts, True)
    return AttachmentOutcome(
        key=request.key,
        status="ok",
        reason=None,
        sha256=image.sha256,
        content_type=image.format.content_type,
        width=image.width,
        height=image.height,
        size=len(image.data),
        stored_path=stored.path,
        attempts=fetched.attempts,
        new=stored.created,
    )


def _guarded(request: AttachmentRequest, client: SafeHttpClient, store: Store, policy: FetchPolicy):
    try:
        return fetch_attachment(request, client=client, store=store, policy=policy)
    except Exception as exc:  # one broken attachment never stops a run
        # No traceback: exception messages can quote the URL, a signed link.
        log.error("attachment %s: unexpected %s", request.key, type(exc).__name__)
        return _outcome(request, "failed", f"internal_error: {type(exc).__name__}", 1, True)


def _alias(original: Future, key: str) -> Future:
    """A future for a repeated URL: the first download's outcome under this request's key."""
    aliased: Future = Future()
    original.add_done_callback(lambda done: aliased.set_result(replace(done.result(), key=key, new=False)))
    return aliased


def fetch_attachments(
    requests: Iterable[AttachmentRequest],
    *,
    store: Store,
    allow_hosts: Sequence[str] = (),
    concurrency: int = 8,
    policy: FetchPolicy | None = None,
    client: SafeHttpClient | None = None,
) -> Iterator[AttachmentOutcome]:
    """Fetch, clean and store each attachment; yield one outcome per request as each finishes.

    At most `concurrency` downloads run at once over one shared connection pool; `requests`
    is consumed lazily (at most 2 x concurrency ahead). A URL seen twice is downloaded once.
    `client` replaces the one built from `allow_hosts`/`policy` (to share a pool).
    Bad arguments (concurrency < 1, an allow-list entry with a port or scheme) raise
    ValueError here, before anything is fetched.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    normalize_allow_hosts(allow_hosts)
    return _fetch_all(requests, store, allow_hosts, concurrency, policy or FetchPolicy(), client)


def _fetch_all(
    requests: Iterable[AttachmentRequest],
    store: Store,
    allow_hosts: Sequence[str],
    concurrency: int,
    policy: FetchPolicy,
    client: SafeHttpClient | None,
) -> Iterator[AttachmentOutcome]:
    own_client = client is None
    http = client or SafeHttpClient(allow_hosts=allow_hosts, policy=policy, max_connections=concurrency)
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="attachments") as pool:
            pending: set[Future] = set()
            by_url: dict[str, Future] = {}
            for request in requests:
                first = by_url.get(request.url)
                if first is not None:
                    pending.add(_alias(first, request.key))
                else:
                    future = pool.submit(_guarded, request, http, store, policy)
                    by_url[request.url] = future
                    pending.add(future)
                while len(pending) >= 2 * concurrency:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (f.result() for f in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
    finally:
        if own_client:
            http.close()
