"""Image attachment throughput: download, sanitize and store, against a loopback server.

A mix like a support inbox: small and medium phone photos, a few large ones, and
screenshots (PNG). Every run fetches all of them into an empty store, at concurrency
1, 4, 8 and 16; MB/s counts bytes downloaded. Photos are noise, the worst case for JPEG.
The server runs in a child process so that it does not share the client's GIL.
"""

from __future__ import annotations

import multiprocessing
import random
import tempfile
import time
from io import BytesIO
from multiprocessing.connection import Connection

from PIL import Image, ImageDraw

from opsdata.etl.chatwoot.attachments import AttachmentRequest, fetch_attachments
from opsdata.etl.chatwoot.images import sanitize
from opsdata.etl.chatwoot.storage import LocalStore
from tests.bench.framework import BenchContext, Result
from tests.support_http import LoopbackServer, Reply
from tests.support_images import exif_bytes

CONCURRENCY = (1, 4, 8, 16)
# (kind, side in pixels, count)
MIX = [("photo", 320, 24), ("photo", 900, 12), ("photo", 1800, 4), ("screenshot", 1280, 8)]


def _photo(side: int, rng: random.Random) -> bytes:
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    out = BytesIO()
    image.save(out, "JPEG", quality=85, exif=exif_bytes(orientation=6))
    return out.getvalue()


def _screenshot(width: int, rng: random.Random) -> bytes:
    image = Image.new("RGB", (width, width * 5 // 8), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y = rng.randrange(width), rng.randrange(width * 5 // 8)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x, y, x + rng.randrange(4, 200), y + rng.randrange(4, 24)), fill=colour)
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _corpus() -> list[bytes]:
    rng = random.Random(4)
    images = []
    for kind, side, count in MIX:
        for _ in range(count):
            images.append(_photo(side, rng) if kind == "photo" else _screenshot(side, rng))
    return images


def _serve(images: list[bytes], control: Connection) -> None:
    with LoopbackServer() as server:
        for i, data in enumerate(images):
            server.route(f"/img{i}", Reply(body=data))
        control.send(server.base_url)
        control.recv()  # until the parent says stop


def run(ctx: BenchContext) -> list[Result]:
    images = _corpus()
    total_mb = sum(len(i) for i in images) / 1e6
    rows: list[list[object]] = []

    started = time.perf_counter()
    for data in images:
        sanitize(data)
    elapsed = time.perf_counter() - started
    rows.append(["sanitize only (no HTTP)", 1, len(images), len(images) / elapsed, total_mb / elapsed, 0])

    parent, child = multiprocessing.get_context("fork").Pipe()
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(images, child), daemon=True)
    server.start()
    try:
        base_url = parent.recv()
        requests = [AttachmentRequest(f"img{i}", f"{base_url}/img{i}") for i in range(len(images))]
        for concurrency in CONCURRENCY:
            with tempfile.TemporaryDirectory(prefix="bench-images-") as folder:
                started = time.perf_counter()
                outcomes = list(
                    fetch_attachments(
                        requests, store=LocalStore(folder), allow_hosts=["127.0.0.1"], concurrency=concurrency
                    )
                )
                elapsed = time.perf_counter() - started
            not_ok = sum(o.status != "ok" for o in outcomes)
            rows.append(["loopback HTTP + sanitize + store", concurrency, len(images), len(images) / elapsed,
                         total_mb / elapsed, not_ok])  # fmt: skip
    finally:
        parent.send("stop")
        server.join(timeout=10)
    sizes = ", ".join(f"{count} x {kind} {side}px" for kind, side, count in MIX)
    return [
        Result(
            "Chatwoot image attachments: throughput",
            ["path", "concurrency", "images", "images/s", "MB/s", "not ok"],
            rows,
            notes=[f"{len(images)} images, {total_mb:.1f} MB in all ({sizes}); each run into an empty local store"],
        )
    ]
