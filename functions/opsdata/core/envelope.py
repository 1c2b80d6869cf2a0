"""The response envelope and the error model shared by every HTTP route.

Success: {"data": [...], "meta": {"total", "cached", "cache_expires_at", "next_cursor"}}.
Error:   {"error": {"code", "message", "details"}}.

Postgres errors map to HTTP statuses the way PostgREST maps them, and opsdata's own SQLSTATEs
(`OD...`) to the statuses listed in sql/ERRORS.md (OD_STATUS mirrors that table; a unit test
keeps the two equal). Errors with a 5xx status never carry database internals: the caller gets
a correlation id to quote instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# sql/ERRORS.md, column "HTTP" (tests/unit/core/test_envelope.py checks they agree).
OD_STATUS: dict[str, int] = {
    "OD001": 409,
    "OD002": 404,
    "OD003": 400,
    "OD010": 400,
}

# PostgREST's mapping (src/PostgREST/Error.hs), exact codes first, then class prefixes.
_EXACT_STATUS: dict[str, int] = {
    "23505": 409,
    "23503": 409,
    "42883": 404,
    "42P01": 404,
    "P0001": 400,
    "25006": 405,
    "57014": 500,
    "42P17": 500,
    "53400": 500,
}
_PREFIX_STATUS: tuple[tuple[str, int], ...] = (
    ("08", 503),
    ("53", 503),
    ("0L", 403),
    ("0P", 403),
    ("28", 403),
    *((prefix, 500) for prefix in ("09", "25", "2D", "38", "39", "3B", "40", "54", "55", "56", "57", "58")),
    *((prefix, 500) for prefix in ("F0", "HV", "P0", "XX")),
)


def status_for_sqlstate(sqlstate: str | None, *, anonymous: bool = False) -> int:
    """The HTTP status PostgREST would answer for this SQLSTATE (opsdata codes from ERRORS.md)."""
    if not sqlstate:
        return 500
    if sqlstate in OD_STATUS:
        return OD_STATUS[sqlstate]
    if sqlstate == "42501":
        return 401 if anonymous else 403
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    for prefix, status in _PREFIX_STATUS:
        if sqlstate.startswith(prefix):
            return status
    return 400


@dataclass
class ApiError(Exception):
    """An error answered with the error envelope."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def from_database_error(exc: Exception, correlation_id: str) -> ApiError:
    """An ApiError for a psycopg error: PostgREST's status, the SQL message only below 500."""
    diag = getattr(exc, "diag", None)
    sqlstate = getattr(exc, "sqlstate", None) or (diag.sqlstate if diag else None)
    status = status_for_sqlstate(sqlstate)
    if status >= 500:
        message = "the database is not available, try again shortly" if status == 503 else "internal error"
        if sqlstate == "57014":
            message = "the query exceeded this endpoint's time limit"
        return ApiError(status, sqlstate or "internal_error", message, {"correlation_id": correlation_id})
    details: dict[str, str] = {}
    if diag is not None and diag.message_detail:
        details["detail"] = diag.message_detail
    if diag is not None and diag.message_hint:
        details["hint"] = diag.message_hint
    message = (diag.message_primary if diag is not None else None) or str(exc)
    return ApiError(status, sqlstate or "database_error", message, details or None)


def internal_error(correlation_id: str) -> ApiError:
    return ApiError(500, "internal_error", "internal error", {"correlation_id": correlation_id})


def error_body(error: ApiError) -> bytes:
    return json.dumps(
        {"error": {"code": error.code, "message": error.message, "details": error.details}},
        separators=(",", ":"),
    ).encode()


def success_body(data_json: str, meta: dict[str, Any]) -> bytes:
    """The envelope around `data_json`, a JSON array rendered by Postgres (kept byte for byte)."""
    return ('{"data":' + data_json + ',"meta":' + json.dumps(meta, separators=(",", ":")) + "}").encode()
