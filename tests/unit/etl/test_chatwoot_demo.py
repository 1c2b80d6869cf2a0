"""The demo's image server and export timing (the step itself: tests/integration/demo/test_demo_chatwoot.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import httpx
import pytest
from PIL import Image

from opsdata.etl.chatwoot.demo import DEMO_CONVERSATIONS, DemoImageServer, conversation_times


def test_the_image_server_serves_only_the_exports_images_and_only_while_open(loopback_network: list[str]) -> None:
    with DemoImageServer() as server:
        server.serve(["img-1000-0.png"])
        image = httpx.get(f"{server.base_url}/images/img-1000-0.png")
        other = httpx.get(f"{server.base_url}/images/img-1001-0.png")
        outside = httpx.get(f"{server.base_url}/../etc/passwd")
        again = httpx.get(f"{server.base_url}/images/img-1000-0.png")
        base_url = server.base_url
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert Image.open(BytesIO(image.content)).size == (160, 100)
    assert again.content == image.content, "the same name gives the same bytes (stored once by sha256)"
    assert other.status_code == 404 and outside.status_code == 404
    assert server.served == 2
    with pytest.raises(httpx.ConnectError):  # nothing listens after the step
        httpx.get(f"{base_url}/images/img-1000-0.png", timeout=1)


def test_conversations_span_the_shops_period_and_end_before_its_last_midnight() -> None:
    as_of = datetime(2026, 11, 29, tzinfo=UTC)
    first, spacing = conversation_times(as_of, days=180)
    last = first + (DEMO_CONVERSATIONS - 1) * spacing
    assert last == int(as_of.timestamp()) - 7_200
    assert 179 * 86_400 < last - first < 180 * 86_400
