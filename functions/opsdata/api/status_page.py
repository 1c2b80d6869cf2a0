"""GET /status: the data status page, one self-contained HTML document (inline CSS and JS, no
external assets) that signs in with a Supabase access token and reads the API from the browser.

The page holds no data, so it needs no token; everything it shows comes from the API with the
user's bearer token. The Content-Security-Policy allows exactly the page's own inline style and
script (by SHA-256 hash, no 'unsafe-inline'), requests to this origin only, no framing, no form
posts, and enforces Trusted Types so that no string can ever be parsed as HTML.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from opsdata.core.envelope import ApiError

STATUS_PATH = "/status"
_ASSETS = Path(__file__).with_name("status")


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: dict[str, str]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=1)
def status_page() -> Page:
    css = (_ASSETS / "status.css").read_text()
    js = (_ASSETS / "status.js").read_text()
    html = (_ASSETS / "status.html").read_text().replace("@STYLE@", css).replace("@SCRIPT@", js)
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(js)}",
            f"style-src {_sha256(css)}",
            "connect-src 'self'",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
        ]
    )
    body = html.encode()
    headers = {
        "Content-Security-Policy": csp,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
        # the page changes only with a deploy; revalidate so a deploy shows at once
        "Cache-Control": "no-cache",
        "ETag": '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
    }
    return Page(body, headers)


Handler = Callable[[Request], Response]


def status_route(guarded: Callable[[Handler], Handler]) -> Route:
    """The route; `guarded` turns ApiError into the JSON error envelope like every other route."""

    def status(request: Request) -> Response:
        # A token in the query string ends up in access logs and browser history: refuse it loudly.
        if b"access_token" in request.scope.get("query_string", b""):
            raise ApiError(
                400,
                "token_in_query",
                "never put an access token in the query string; open /status#access_token=... "
                "(the URL fragment is not sent to any server) or paste it into the form",
            )
        page = status_page()
        if request.headers.get("if-none-match") == page.headers["ETag"]:
            return Response(status_code=304, headers=page.headers)
        return Response(page.body, media_type="text/html; charset=utf-8", headers=page.headers)

    return Route(STATUS_PATH, guarded(status), methods=["GET"], name="status")
