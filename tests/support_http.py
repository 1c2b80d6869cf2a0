"""A real HTTP server on loopback for tests that download things, plus a network tripwire.

    server.route("/a.png", Reply(body=png))                  # the same reply every time
    server.route("/flaky", Reply(status=503), Reply(body=b)) # 503 first, then 200 ever after
    server.redirect("/r", "/a.png")                          # 302 to another path or URL
    server.url("/a.png"), server.hits["/a.png"], server.requests

Replies can be slow (`delay` before the headers, `drip` between chunks), huge (`filler`
bytes streamed after the body), with or without Content-Length (chunked when without).
Fixtures `http_server` (tests/conftest.py) start one per test and arm the tripwire:
any connection to an address outside 127.0.0.0/8 or ::1 fails the test, so a bug in the
address checks can never send traffic off this machine.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_length: bool = True  # False: chunked transfer encoding, no length announced
    delay: float = 0.0  # seconds before the status line
    drip: float = 0.0  # seconds between chunks
    filler: int = 0  # extra zero bytes streamed after `body`
    chunk_size: int = 64 * 1024
    cut_after: int | None = None  # hang up after this many body bytes (a dropped connection)


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    client_port: int  # one per TCP connection: tells how many connections were used


class LoopbackServer:
    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self.sent: Counter[str] = Counter()  # body bytes written per path
        self.in_flight = 0
        self.max_in_flight = 0  # most requests being answered at the same moment
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.handle_error = lambda request, address: None  # clients that hang up are expected
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        self.host, self.port = self._httpd.server_address[:2]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="loopback-http", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies) or [Reply()]
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        return self.route(path, Reply(status=status, headers={"Location": location}))

    def next_reply(self, path: str) -> Reply | None:
        with self._lock:
            self.hits[path] += 1
            replies = self.routes.get(path)
            if replies is None:
                return None
            return replies[min(self.hits[path], len(replies)) - 1]

    def track(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.requests.append(RecordedRequest(self.path, headers, self.client_address[1]))
            reply = server.next_reply(self.path) or Reply(status=404, body=b"not found")
            server.track(+1)
            try:
                if reply.delay and server.stopping.wait(reply.delay):
                    return
                self._send(reply)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                self.close_connection = True
            finally:
                server.track(-1)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            total = len(reply.body) + reply.filler
            if reply.content_length:
                self.send_header("Content-Length", str(total))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            written = 0
            for chunk in _chunks(reply):
                if reply.cut_after is not None and written + len(chunk) > reply.cut_after:
                    self.close_connection = True
                    return
                if reply.drip and server.stopping.wait(reply.drip):
                    self.close_connection = True
                    return
                if reply.content_length:
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
                written += len(chunk)
                server.sent[self.path] += len(chunk)
            if not reply.content_length:
                self.wfile.write(b"0\r\n\r\n")

    return Handler


def _chunks(reply: Reply) -> Iterator[bytes]:
    for start in range(0, len(reply.body), reply.chunk_size):
        yield reply.body[start : start + reply.chunk_size]
    remaining = reply.filler
    zeros = bytes(reply.chunk_size)
    while remaining > 0:
        step = min(remaining, reply.chunk_size)
        yield zeros[:step]
        remaining -= step


# ----- tripwire -------------------------------------------------------------------------
def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse (and record) any outgoing TCP connection that is not to loopback."""
    original = socket.create_connection
    violations: list[str] = []

    def guarded(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_loopback(str(address[0])):
            violations.append(str(address[0]))
            raise ConnectionRefusedError("tests may only connect to loopback")
        return original(address, *args, **kwargs)

    socket.create_connection = guarded  # type: ignore[assignment]
    try:
        yield violations
    finally:
        socket.create_connection = original  # type: ignore[assignment]


# ----- TLS ------------------------------------------------------------------------------
def tls_contexts(server_name: str, *, certificate_for: str | None = None) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context): a throwaway CA the client trusts, and a certificate
    for `certificate_for` (default `server_name`) that the server presents."""
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def certificate(subject: str, key, issuer_name, issuer_key, *, ca: bool):  # type: ignore[no-untyped-def]
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        else:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
        return builder.sign(issuer_key or key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = certificate("opsdata test CA", ca_key, None, None, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate(certificate_for or server_name, leaf_key, ca_cert.subject, ca_key, ca=False)

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_file, "wb") as handle:
            handle.write(leaf.public_bytes(serialization.Encoding.PEM))
        with open(key_file, "wb") as handle:
            handle.write(
                leaf_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    return server, client
