"""Load driver for the API bench, run as its own process: reads a JSON plan on stdin, drives
each scenario with concurrent keep-alive HTTP/1.1 clients, prints one JSON result per scenario.

The clients speak HTTP/1.1 over asyncio streams themselves (requests prepared once, responses
read by Content-Length) instead of using an HTTP client library: on a 2-core machine the driver
shares the cores with the server and Postgres, and httpx cost 1.1-1.6 ms of CPU per request, more
than the server's own work for a cached read. A request is timed from writing it to reading the
last byte of its response.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

import httpx


class ProtocolError(RuntimeError):
    pass


def _request_bytes(base_url: str, url: str, headers: dict[str, str]) -> bytes:
    """The exact request line and headers, with the target encoded as httpx would send it."""
    target = httpx.URL(base_url).join(url).raw_path.decode("ascii")
    host = urlsplit(base_url).netloc
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise ProtocolError("a chunked response: the driver reads bodies by Content-Length only")
    if length:
        await reader.readexactly(length)
    return status


async def _scenario(base_url: str, spec: dict) -> dict:
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    requests = [_request_bytes(base_url, url, spec["headers"]) for url in spec["urls"]]
    host, port = urlsplit(base_url).hostname, urlsplit(base_url).port
    next_request = iter(range(spec["requests"]))

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        for i in next_request:
            started = time.perf_counter()
            try:
                status = await _exchange(reader, writer, requests[i % len(requests)])
            except (OSError, asyncio.IncompleteReadError, ProtocolError):
                status = 0
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status != 200:
                errors += 1
        writer.close()

    # warm-up requests (e.g. to fill the cache), before the timing, over as many connections as the
    # clients use: the server's worker processes each get some (each compiles and plans on its first)
    warmup = requests[: spec.get("warmup", 0)]
    lanes = max(1, min(spec["concurrency"], len(warmup)))

    async def warm(lane: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        for request in warmup[lane::lanes]:
            await _exchange(reader, writer, request)
        writer.close()

    await asyncio.gather(*(warm(lane) for lane in range(lanes)))
    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    elapsed = time.perf_counter() - started
    return {"name": spec["name"], "latencies_ms": latencies, "errors": errors, "seconds": elapsed, "statuses": statuses}


async def _main(plan: dict) -> None:
    for spec in plan["scenarios"]:
        print(json.dumps(await _scenario(plan["base_url"], spec)), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(json.load(sys.stdin)))
