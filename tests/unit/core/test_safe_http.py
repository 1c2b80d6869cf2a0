"""Rules for untrusted URLs that need no network: which addresses and URLs are refused."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from opsdata.core.safe_http import (
    FetchRejected,
    HttpPolicy,
    PinnedBackend,
    SafeHttpClient,
    address_problem,
    check_url,
    normalize_allow_hosts,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address under test, nothing binds
        ("10.20.30.40", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("169.254.1.1", "link-local"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "documentation"),
        ("198.18.0.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fd00:ec2::254", "cloud metadata"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        # IPv4 hidden inside IPv6 is judged by the IPv4 address it reaches
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("64:ff9b::a9fe:a9fe", "cloud metadata"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::1", "loopback"),
        ("2002:c0a8:101::1", "private"),
        ("::7f00:1", "reserved"),
        # public
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("172.32.0.1", None),
        ("100.128.0.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
    ],
)
def test_address_classification(address: str, problem: str | None):
    assert address_problem(ipaddress.ip_address(address)) == problem


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a.png", "scheme_not_allowed: url uses ftp"),
        ("file:///etc/passwd", "scheme_not_allowed: url uses file"),
        ("javascript:alert(1)", "scheme_not_allowed: url uses javascript"),
        ("data:image/png;base64,AAAA", "scheme_not_allowed: url uses data"),
        ("//example.com/a.png", "scheme_not_allowed: url uses none"),
        ("http:///a.png", "invalid_url: url has no host"),
        ("http://user:pw@example.com/a.png", "credentials_in_url: url"),
        ("http://2130706433/", "non_canonical_ip: url spells an IP address in a non-standard form"),
        ("http://0x7f000001/", "non_canonical_ip: url spells an IP address in a non-standard form"),
        ("http://017700000001/", "non_canonical_ip: url spells an IP address in a non-standard form"),
        ("http://0x7f.0.0.1/", "non_canonical_ip: url spells an IP address in a non-standard form"),
        ("http://127.1/", "non_canonical_ip: url spells an IP address in a non-standard form"),
        ("http://0177.0.0.1/", "invalid_url: url cannot be parsed"),
        ("http://[zz::1]/", "invalid_url: url cannot be parsed"),
    ],
)
def test_urls_refused_before_any_connection(url: str, reason: str):
    with pytest.raises(FetchRejected) as caught:
        check_url(url)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "url",
    ["https://app.chatwoot.com/rails/active_storage/blobs/redirect/x/a.png", "http://1.2.3.4:8080/a", "http://abc.de/"],
)
def test_ordinary_urls_pass(url: str):
    assert str(check_url(url)) == url


def test_allow_list_entries_are_normalized_and_validated():
    assert normalize_allow_hosts(["Chat.Example.COM.", "[::1]", " 127.0.0.1 "]) == {
        "chat.example.com",
        "::1",
        "127.0.0.1",
    }
    for bad in ["http://example.com", "example.com:3000", "example.com/path", ""]:
        with pytest.raises(ValueError, match="--allow-host takes a host name or IP address"):
            normalize_allow_hosts([bad])


def test_an_allow_listed_host_may_resolve_to_private_addresses_and_others_may_not():
    backend = PinnedBackend(normalize_allow_hosts(["chatwoot.internal"]), lambda host, port: ["10.0.0.5"])

    assert backend.checked_addresses("chatwoot.internal", 443) == ["10.0.0.5"]
    assert backend.checked_addresses("CHATWOOT.internal.", 443) == ["10.0.0.5"]
    with pytest.raises(FetchRejected, match="address_not_public: private"):
        backend.checked_addresses("other.internal", 443)


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now.timestamp()) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(days=1), usegmt=True), now=now.timestamp()) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_backoff_doubles_with_jitter_and_is_capped():
    client = SafeHttpClient(policy=HttpPolicy(backoff_initial=1.0, backoff_max=4.0, retry_after_max=10.0))
    try:
        assert 0.5 <= client.backoff(1, None) <= 1.0
        assert 1.0 <= client.backoff(2, None) <= 2.0
        assert 2.0 <= client.backoff(5, None) <= 4.0
        assert client.backoff(1, 3.0) == 3.0
        assert client.backoff(1, 999.0) == 10.0
    finally:
        client.close()
