"""Load driver for the API bench, run as its own process: reads a JSON plan on stdin, drives
each scenario with concurrent clients (asyncio + httpx), prints one JSON result per scenario."""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx


async def _scenario(base_url: str, spec: dict) -> dict:
    latencies: list[float] = []
    errors = 0
    statuses: dict[str, int] = {}
    requests = spec["requests"]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"])
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        for url in spec["urls"][: spec.get("warmup", 0)]:
            await client.get(url, headers=spec["headers"])

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                url = spec["urls"][i % len(spec["urls"])]
                started = time.perf_counter()
                try:
                    response = await client.get(url, headers=spec["headers"])
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        elapsed = time.perf_counter() - started
    return {"name": spec["name"], "latencies_ms": latencies, "errors": errors, "seconds": elapsed, "statuses": statuses}


async def _main(plan: dict) -> None:
    for spec in plan["scenarios"]:
        print(json.dumps(await _scenario(plan["base_url"], spec)), flush=True)


if __name__ == "__main__":
    asyncio.run(_main(json.load(sys.stdin)))
