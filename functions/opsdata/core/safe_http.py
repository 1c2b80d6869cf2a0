"""Fetching URLs found in data, which are untrusted (DESIGN.md, security model).

Rules, in the order they apply:
- the URL: http or https only, a host, no credentials, no odd IPv4 spellings (`2130706433`,
  `0x7f.1`, `127.1`) that resolvers read as addresses;
- every address the host resolves to must be public (no loopback, private, link-local,
  carrier-grade NAT, cloud metadata, multicast, reserved or documentation ranges, IPv4 or
  IPv6, including IPv4 embedded in IPv6) unless the host is allow-listed;
- the connection goes to the address that was checked: resolution, check and connect happen
  in one step inside the transport, so a DNS answer that changes between check and connect
  (rebinding) cannot redirect it; TLS still verifies the certificate for the host name;
- redirects are followed by hand, at most `max_redirects`, each hop checked like the first;
- the body is streamed and abandoned past `max_bytes` (declared Content-Length and the
  bytes actually received); a caller's check of the first bytes can stop it early;
- connect, read and total timeouts; retries with backoff on timeouts, connection errors,
  5xx and 429 (Retry-After honoured up to a cap), never on other 4xx.

Reasons name a category, never the URL or an address: URLs from data can be signed links,
and reasons end up in manifests and database rows that the privacy audit scans.
"""

from __future__ import annotations

import ipaddress
import random
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SNIFF_BYTES = 64  # enough for every magic number the callers look at


class HttpPolicy(BaseModel):
    """Limits for one fetch. Recorded in manifests, so keep it plain data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = Field(default=20 * 1024 * 1024, gt=0, description="body limit, declared and actual")
    max_redirects: int = Field(default=5, ge=0, le=20)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=15.0, gt=0, description="longest wait for the next bytes")
    total_timeout: float = Field(default=60.0, gt=0, description="one attempt, redirects and body included")
    max_attempts: int = Field(default=3, ge=1, le=10)
    backoff_initial: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=8.0, ge=0)
    retry_after_max: float = Field(default=30.0, ge=0, description="longest Retry-After we wait for")


class FetchError(Exception):
    """A fetch that did not produce a body. `code` is stable; `detail` is safe to store."""

    retryable = False

    def __init__(self, code: str, detail: str = "", *, attempts: int = 1, retryable: bool | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.attempts = attempts
        if retryable is not None:
            self.retryable = retryable

    @property
    def reason(self) -> str:
        return str(self)


class FetchRejected(FetchError):
    """The policy refuses this URL or its content: retrying cannot help."""


class FetchFailed(FetchError):
    """The URL could not be fetched (HTTP error, network, timeouts after retries)."""


class _Transient(FetchFailed):
    """Worth another attempt: timeouts, connection errors, 5xx, 429."""

    retryable = True

    def __init__(self, code: str, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(code, detail)
        self.retry_after = retry_after


# ----- addresses ------------------------------------------------------------------------
def _nets(*pairs: tuple[str, str]) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
    return [(ipaddress.ip_network(net), label) for net, label in pairs]


# Written out (IANA special-purpose registries) rather than left to `is_global`, whose
# answers differ between Python releases. Order matters: the first match names the reason.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_BLOCKED_V4 = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_BLOCKED_V6 = _nets(
    ("::1/128", "loopback"),
    ("::/128", "unspecified"),
    ("::/96", "reserved"),  # IPv4-compatible (deprecated)
    ("64:ff9b:1::/48", "private"),  # local-use NAT64
    ("100::/64", "reserved"),
    ("2001::/23", "reserved"),  # includes Teredo
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4), which is what gets reached."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_problem(ip: IPAddress) -> str | None:
    """Why connecting to `ip` is not allowed ("loopback", "private", …), or None when it is public."""
    if ip in _METADATA:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return address_problem(embedded)
        table = _BLOCKED_V6
    else:
        table = _BLOCKED_V4
    for network, label in table:
        if ip in network:
            return label
    return None if ip.is_global else "reserved"


# ----- URLs -----------------------------------------------------------------------------
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


def _normalize_host(host: str) -> str:
    return host.strip().lower().rstrip(".").removeprefix("[").removesuffix("]")


def normalize_allow_hosts(hosts: Iterable[str]) -> frozenset[str]:
    """Host names or IP literals, exactly (no ports, schemes or wildcards)."""
    normalized = set()
    for host in hosts:
        clean = _normalize_host(host)
        if not clean or any(c in clean for c in "/@ ") or ("://" in host) or (clean.count(":") == 1):
            raise ValueError(f"--allow-host takes a host name or IP address, got {host!r}")
        normalized.add(httpx.URL(f"http://[{clean}]/" if ":" in clean else f"http://{clean}/").raw_host.decode())
    return frozenset(normalized)


def check_url(url: str | httpx.URL, *, hop: str = "url") -> httpx.URL:
    """Parse and vet a URL before any connection. `hop` prefixes codes for redirect targets."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchRejected("invalid_url", f"{hop} cannot be parsed") from None
    if parsed.scheme not in ("http", "https"):
        scheme = re.sub(r"[^a-z0-9+.-]", "", parsed.scheme.lower())[:16] or "none"
        raise FetchRejected("scheme_not_allowed", f"{hop} uses {scheme}")
    host = parsed.host
    if not host:
        raise FetchRejected("invalid_url", f"{hop} has no host")
    if parsed.userinfo:
        raise FetchRejected("credentials_in_url", hop)
    labels = host.split(".")
    if ":" not in host and all(_NUMERIC_LABEL.match(label) for label in labels):
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            raise FetchRejected("non_canonical_ip", f"{hop} spells an IP address in a non-standard form")
    return parsed


# ----- the pinned transport -------------------------------------------------------------
def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedBackend(httpcore.SyncBackend):
    """Resolves, checks and connects in one step, so the checked address is the one used."""

    def __init__(self, allow_hosts: frozenset[str], resolver: Resolver) -> None:
        self.allow_hosts = allow_hosts
        self.resolver = resolver

    def checked_addresses(self, host: str, port: int) -> list[str]:
        allowed = _normalize_host(host) in self.allow_hosts
        try:
            addresses = self.resolver(host, port)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                raise FetchFailed("dns_error", "host not found") from None
            raise httpcore.ConnectError("name resolution failed") from None
        if not addresses:
            raise FetchFailed("dns_error", "host has no address")
        for address in addresses:
            # One non-public answer refuses the host: mixing public and private records is
            # how rebinding attacks pick the address after a check.
            problem = None if allowed else address_problem(ipaddress.ip_address(address.split("%")[0]))
            if problem:
                raise FetchRejected("address_not_public", problem)
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[tuple] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.checked_addresses(host, port):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool rebuilt on `PinnedBackend`.

    httpx 0.28 does not take a network backend, so the pool it built is replaced; requests,
    responses and exception mapping stay httpx's own.
    """

    def __init__(self, backend: PinnedBackend, *, verify: ssl.SSLContext | bool, limits: httpx.Limits) -> None:
        super().__init__(verify=verify, limits=limits, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("unsupported httpx version: PinnedTransport cannot install its backend")
        self._pool = httpcore.ConnectionPool(
            ssl_context=verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


# ----- fetching -------------------------------------------------------------------------
@dataclass(frozen=True)
class Fetched:
    content: bytes
    content_type: str | None
    attempts: int
    redirects: int


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class SafeHttpClient:
    """One shared, thread-safe connection pool for fetching untrusted URLs."""

    def __init__(
        self,
        *,
        allow_hosts: Iterable[str] = (),
        policy: HttpPolicy | None = None,
        max_connections: int = 8,
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.policy = policy or HttpPolicy()
        self.backend = PinnedBackend(normalize_allow_hosts(allow_hosts), resolver)
        self._sleep = sleep
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        p = self.policy
        self._client = httpx.Client(
            transport=PinnedTransport(self.backend, verify=verify, limits=limits),
            trust_env=False,  # an env proxy would be a second, unchecked path out
            follow_redirects=False,
            timeout=httpx.Timeout(connect=p.connect_timeout, read=p.read_timeout, write=p.read_timeout, pool=None),
            headers={"User-Agent": "opsdata-fetch/1", **(headers or {})},
        )

    def __enter__(self) -> SafeHttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        p = self.policy
        if retry_after is not None:
            return min(retry_after, p.retry_after_max)
        delay = min(p.backoff_max, p.backoff_initial * 2 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret

    def fetch(
        self,
        url: str,
        *,
        check_start: Callable[[bytes], None] | None = None,
        max_bytes: int | None = None,
    ) -> Fetched:
        """GET `url` under the policy. Raises FetchRejected or FetchFailed (with `attempts`).

        `check_start` sees the first SNIFF_BYTES bytes (or the whole body if shorter) and may
        raise to abandon the download; its exceptions propagate unchanged.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                content, content_type, redirects = self._attempt(url, check_start, max_bytes or self.policy.max_bytes)
            except _Transient as exc:
                if attempt >= self.policy.max_attempts:
                    raise FetchFailed(exc.code, exc.detail, attempts=attempt, retryable=True) from None
                self._sleep(self.backoff(attempt, exc.retry_after))
                continue
            except FetchError as exc:
                exc.attempts = attempt
                raise
            return Fetched(content, content_type, attempt, redirects)

    def _attempt(
        self, url: str, check_start: Callable[[bytes], None] | None, max_bytes: int
    ) -> tuple[bytes, str | None, int]:
        deadline = time.monotonic() + self.policy.total_timeout
        current = check_url(url)
        for redirects in range(self.policy.max_redirects + 1):
            if time.monotonic() > deadline:
                raise _Transient("timeout", "total")
            try:
                response = self._client.send(self._client.build_request("GET", current), stream=True)
            except httpx.TimeoutException as exc:
                raise _Transient("timeout", _timeout_kind(exc)) from None
            except httpx.TransportError as exc:
                if _caused_by(exc, ssl.SSLCertVerificationError):  # a wrong certificate stays wrong
                    raise FetchFailed("tls_error", "certificate not valid for the host") from None
                raise _Transient("connection_error", type(exc).__name__) from None
            try:
                if response.status_code in REDIRECT_STATUSES:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed("bad_redirect", "redirect without Location")
                    try:
                        target = current.join(location)
                    except (httpx.InvalidURL, ValueError):
                        raise FetchRejected("invalid_url", "redirect target cannot be parsed") from None
                    current = check_url(target, hop="redirect target")
                    continue
                content, content_type = self._read_body(response, check_start, max_bytes, deadline)
                return content, content_type, redirects
            finally:
                response.close()
        raise FetchRejected("too_many_redirects", f"more than {self.policy.max_redirects}")

    def _read_body(
        self, response: httpx.Response, check_start: Callable[[bytes], None] | None, max_bytes: int, deadline: float
    ) -> tuple[bytes, str | None]:
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise _Transient("http_status", str(status), retry_after=retry_after)
        if status != 200:
            raise FetchFailed("http_status", str(status))
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FetchRejected("too_large", f"declared {int(declared)} bytes, limit {max_bytes}")
        body = bytearray()
        checked = check_start is None
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise FetchRejected("too_large", f"more than {max_bytes} bytes")
                if not checked and len(body) >= SNIFF_BYTES:
                    check_start(bytes(body[:SNIFF_BYTES]))  # type: ignore[misc]
                    checked = True
                if time.monotonic() > deadline:
                    raise _Transient("timeout", "total")
        except httpx.TimeoutException as exc:
            raise _Transient("timeout", _timeout_kind(exc)) from None
        except httpx.TransportError as exc:
            raise _Transient("connection_error", type(exc).__name__) from None
        if not checked:
            check_start(bytes(body))  # type: ignore[misc]
        content_type = response.headers.get("content-type")
        return bytes(body), content_type.split(";")[0].strip().lower() if content_type else None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    return {httpx.ConnectTimeout: "connect", httpx.ReadTimeout: "read", httpx.WriteTimeout: "write"}.get(
        type(exc), "pool"
    )
