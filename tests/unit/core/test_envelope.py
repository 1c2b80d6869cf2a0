"""Error mapping: PostgREST's SQLSTATE table, and sql/ERRORS.md as the single list of OD codes."""

from __future__ import annotations

import re

import pytest

from opsdata.core.envelope import OD_STATUS, ApiError, error_body, status_for_sqlstate, success_body
from opsdata.core.settings import REPO_ROOT


def _errors_md_table() -> dict[str, int]:
    text = (REPO_ROOT / "sql" / "ERRORS.md").read_text()
    return {code: int(status) for code, status in re.findall(r"^\|\s*(OD\d{3})\s*\|[^|]*\|\s*(\d{3})\s*\|", text, re.M)}


def test_od_statuses_are_exactly_the_table_in_errors_md() -> None:
    table = _errors_md_table()
    assert table, "sql/ERRORS.md has no OD table"
    assert table == OD_STATUS


def test_every_od_code_raised_in_sql_is_listed_in_errors_md() -> None:
    listed = _errors_md_table()
    sql_files = [
        *(REPO_ROOT / "sql" / "functions").rglob("*.sql"),
        *(REPO_ROOT / "supabase" / "migrations").glob("*.sql"),
    ]
    raised = {code for path in sql_files for code in re.findall(r"errcode\s*=\s*'(OD\d{3})'", path.read_text())}
    assert raised - listed.keys() == set()


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [
        ("42501", 403),
        ("23505", 409),
        ("23503", 409),
        ("42883", 404),
        ("42P01", 404),
        ("P0001", 400),
        ("25006", 405),
        ("57014", 500),
        ("08006", 503),
        ("53300", 503),
        ("53400", 500),
        ("28000", 403),
        ("PT402", 402),
        ("XX000", 500),
        ("40001", 500),
        ("22023", 400),
        ("22P02", 400),
        ("OD001", 409),
        ("OD002", 404),
        ("OD003", 400),
        (None, 500),
    ],
)
def test_statuses_follow_postgrest(sqlstate: str | None, status: int) -> None:
    assert status_for_sqlstate(sqlstate) == status


def test_insufficient_privilege_is_401_for_anonymous_callers() -> None:
    assert status_for_sqlstate("42501", anonymous=True) == 401


def test_bodies() -> None:
    assert (
        error_body(ApiError(400, "x", "bad", {"a": 1})) == b'{"error":{"code":"x","message":"bad","details":{"a":1}}}'
    )
    assert success_body("[1,2]", {"total": 2}) == b'{"data":[1,2],"meta":{"total":2}}'
