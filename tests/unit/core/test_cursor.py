"""Cursors: round trip, and every way a cursor can be unusable gets its own clear message."""

from __future__ import annotations

import base64
import json

import pytest

from opsdata.core.cursor import CursorError, decode_cursor, encode_cursor

SECRET = b"test-secret"
ENDPOINT = "/api/data/sync-runs"
PARAMS = {"p_shop_id": "6f0f5c9e-0000-4000-8000-000000000001", "p_source": "shopify_orders"}
KEYSET = ["2026-11-29T14:48:23.179175+00:00", 119]


def test_round_trip_is_url_safe() -> None:
    cursor = encode_cursor(SECRET, ENDPOINT, PARAMS, KEYSET)
    assert set(cursor) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
    assert cursor.startswith("v1.")
    assert decode_cursor(SECRET, ENDPOINT, dict(reversed(PARAMS.items())), cursor) == KEYSET


def test_tampered_payload_is_refused() -> None:
    version, payload, signature = encode_cursor(SECRET, ENDPOINT, PARAMS, KEYSET).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["k"][1] = 1  # jump to another position
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    with pytest.raises(CursorError, match="modified or was not issued by this API"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, f"{version}.{forged}.{signature}")


def test_cursor_of_another_deployment_is_refused() -> None:
    foreign = encode_cursor(b"other-secret", ENDPOINT, PARAMS, KEYSET)
    with pytest.raises(CursorError, match="not issued by this API"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, foreign)


def test_cursor_of_another_endpoint_or_parameters_is_refused() -> None:
    cursor = encode_cursor(SECRET, "/api/data/other", PARAMS, KEYSET)
    with pytest.raises(CursorError, match="another endpoint"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, cursor)
    cursor = encode_cursor(SECRET, ENDPOINT, PARAMS, KEYSET)
    with pytest.raises(CursorError, match="other parameters"):
        decode_cursor(SECRET, ENDPOINT, {**PARAMS, "p_source": "ga4"}, cursor)


@pytest.mark.parametrize("cursor", ["", "abc", "v0.e30.sig", "v2.e30.sig", "v1.onlytwo", "v1.a.b.c"])
def test_stale_or_foreign_formats_are_refused(cursor: str) -> None:
    with pytest.raises(CursorError, match=r"format|modified"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, cursor)


def test_signed_but_unreadable_payload_is_refused() -> None:
    from opsdata.core.cursor import _sign

    signed = "v1." + base64.urlsafe_b64encode(b"[1,2]").rstrip(b"=").decode()
    with pytest.raises(CursorError, match="no longer reads"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, f"{signed}.{_sign(SECRET, signed)}")


def test_oversized_cursor_is_refused() -> None:
    with pytest.raises(CursorError, match="longer than"):
        decode_cursor(SECRET, ENDPOINT, PARAMS, "v1." + "a" * 600)
