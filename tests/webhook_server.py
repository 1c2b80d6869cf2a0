"""A real HTTP server on loopback that plays a Slack incoming webhook with scripted answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Webhook:
    url: str
    # answers in order (status, body, headers); the last one repeats
    script: list[tuple[int, str, dict[str, str]]] = field(default_factory=lambda: [(200, "ok", {})])
    received: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, str, dict[str, str]]:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]


@contextmanager
def webhook_server() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if hook.delay:
                threading.Event().wait(hook.delay)
            status, text, headers = hook.answer()
            with hook.lock:
                hook.received.append({"status": status, "json": json.loads(body), "path": self.path})
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-type", "text/plain")
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
