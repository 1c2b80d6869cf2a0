"""Parsing and validation of landing files, without a database."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from opsdata.etl import landing
from opsdata.etl.landing import SPECS, LoadError, detect_format, read_records, validate_row


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("orders.csv", "id\n1\n", "csv"),
        ("orders.CSV.gz", None, "csv"),
        ("orders.jsonl", '{"id": 1}\n', "jsonl"),
        ("orders.ndjson", '{"id": 1}\n', "jsonl"),
        ("export.txt", '\n  {"id": 1}\n', "jsonl"),
        ("export", "id,title\n1,x\n", "csv"),
    ],
)
def test_format_is_detected_by_extension_then_content(
    tmp_path: Path, name: str, content: str | None, expected: str
) -> None:
    path = tmp_path / name
    if content is None:
        path.write_bytes(gzip.compress(b"id\n1\n"))
    else:
        path.write_text(content)
    assert detect_format(path) == expected


def test_gzipped_files_are_read_whatever_their_name(tmp_path: Path) -> None:
    path = tmp_path / "products.data"
    path.write_bytes(gzip.compress(b'{"id": 1, "title": "Mug"}\n'))
    assert detect_format(path) == "jsonl"
    records = list(read_records(path, "jsonl", SPECS["products"]))
    assert records[0].fields == {"id": 1, "title": "Mug"}


def test_csv_records_carry_their_first_physical_line_and_raw_text(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text('\ufeffid,title,handle,price\n1,"Two\nlines",a,5\n\n2,Mug,b,6\n3,short\n')
    records = list(read_records(path, "csv", SPECS["products"]))
    assert [r.line for r in records] == [2, 5, 6]
    assert records[0].fields == {"id": "1", "title": "Two\nlines", "handle": "a", "price": "5"}
    assert records[0].raw == '1,"Two\nlines",a,5'
    assert records[2].fields is None and records[2].problem == "expected 4 fields, got 2"


def test_a_csv_header_with_unknown_or_repeated_columns_rejects_the_file(tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("id,titel,id,_note,handle,price\n1,x,1,ok,h,1\n")
    with pytest.raises(LoadError) as failure:
        list(read_records(path, "csv", SPECS["products"]))
    reasons = {(p.line, p.field, p.reason) for p in failure.value.problems}
    assert reasons == {
        (1, "titel", "unknown column"),
        (1, "id", "column appears twice"),
        (1, "title", "required column is missing"),
    }
    assert str(failure.value) == "products.csv: the CSV header does not match the table"


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "empty file"), (b"\xff\xfeid\n", "not UTF-8")],
)
def test_unreadable_files_are_named(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(LoadError) as failure:
        list(read_records(path, "csv", SPECS["products"]))
    assert problem in failure.value.problems[0].reason


def test_jsonl_lines_that_are_not_objects_are_problems_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"event_id": "a"}\n\n[1]\n{broken\n')
    records = list(read_records(path, "jsonl", SPECS["events"]))
    assert [(r.line, r.problem) for r in records][1:] == [
        (3, "expected a JSON object"),
        (4, "invalid JSON: Expecting property name enclosed in double quotes at column 2"),
    ]


def test_a_valid_order_row_is_typed_and_defaults_fill_missing_fields() -> None:
    row, problems = validate_row(
        SPECS["shopify_orders"],
        {
            "id": "gid://shopify/Order/42",
            "created_at": "2026-03-01T10:00:00Z",
            "currency": "usd",
            "subtotal": "10.005",
            "total": 12,
        },
    )
    assert problems == []
    assert row["id"] == 42
    assert row["created_at"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert row["currency"] == "USD"
    assert row["subtotal"] == Decimal("10.01"), "rounded half away from zero, as Postgres does"
    assert row["total_refunded"] == Decimal("0.00") and row["is_test"] is False


@pytest.mark.parametrize(
    ("table", "fields", "expected"),
    [
        ("products", {"id": "x1", "title": "a", "handle": "a", "price": "1"}, ("id", "expected an integer")),
        ("products", {"id": "1", "title": "a", "handle": "a"}, ("price", "is required")),
        ("products", {"id": "1", "title": "a", "handle": "a", "price": "1e20"}, ("price", "does not fit")),
        ("products", {"id": "1", "title": "a", "handle": "a", "price": "1", "status": "gone"}, ("status", "one of")),
        ("products", {"id": "1", "title": "a", "handle": "a", "price": "NaN"}, ("price", "finite")),
        (
            "products",
            {"id": "1", "title": "a", "handle": "a", "price": "1", "is_published": "maybe"},
            ("is_published", "true or false"),
        ),
        (
            "products",
            {"id": "1", "title": "a", "handle": "a", "price": "1", "inventory": "3000000000"},
            ("inventory", "out of range"),
        ),
        ("products", {"id": "1", "title": "a\x00", "handle": "a", "price": "1"}, ("title", "NUL")),
        (
            "products",
            {"id": "1", "title": "a", "handle": "a", "price": "1", "colour": "red"},
            ("colour", "unknown field"),
        ),
        (
            "shopify_orders",
            {"id": 1, "created_at": "2026-03-01 10:00", "currency": "USD", "subtotal": 1, "total": 1},
            ("created_at", "no UTC offset"),
        ),
        (
            "shopify_orders",
            {"id": 1, "created_at": "yesterday", "currency": "USD", "subtotal": 1, "total": 1},
            ("created_at", "ISO 8601"),
        ),
        (
            "shopify_orders",
            {"id": 1, "created_at": "2026-03-01T10:00Z", "currency": "dollars", "subtotal": 1, "total": 1},
            ("currency", "3-letter"),
        ),
        (
            "gsc_page_daily",
            {"date": "2026-13-01", "page": "/", "clicks": 1, "impressions": 2, "ctr": 0.5, "position": 3},
            ("date", "YYYY-MM-DD"),
        ),
        (
            "events",
            {
                "event_id": "e",
                "occurred_at": "2026-03-01T10:00Z",
                "person_id": "p",
                "session_id": "s",
                "event_name": "x",
                "properties": "[1]",
            },
            ("properties", "JSON object"),
        ),
        (
            "events",
            {
                "event_id": "e",
                "occurred_at": "2026-03-01T10:00Z",
                "person_id": "p",
                "session_id": "s",
                "event_name": "x",
                "properties": "{nope",
            },
            ("properties", "invalid JSON"),
        ),
        (
            "actions",
            {
                "id": "not-a-uuid",
                "recommender": "r",
                "action_type": "t",
                "target_kind": "page",
                "target_ref": "/",
                "proposed_at": "2026-03-01T10:00Z",
            },
            ("id", "UUID"),
        ),
        (
            "actions",
            {
                "id": "4b8e2c52-6c4e-4f0e-9f53-2f1f0c1c2a11",
                "recommender": "r" * 101,
                "action_type": "t",
                "target_kind": "page",
                "target_ref": "/",
                "proposed_at": "2026-03-01T10:00Z",
            },
            ("recommender", "longer than 100"),
        ),
    ],
)
def test_each_bad_field_is_named_with_its_reason(table: str, fields: dict, expected: tuple[str, str]) -> None:
    _, problems = validate_row(SPECS[table], fields)
    assert any(field == expected[0] and expected[1] in reason for field, reason in problems), problems


def test_shopify_csv_timestamps_and_ga_dates_are_understood() -> None:
    assert landing.Timestamp().parse("2024-01-05 10:00:00 -0500") == datetime.fromisoformat("2024-01-05T10:00:00-05:00")
    assert landing.Day().parse("20240105") == date(2024, 1, 5)
    assert landing.Boolean().parse("Yes") is True and landing.Boolean().parse("0") is False


def _action(**fields: object) -> dict[str, object]:
    base = {
        "id": "4b8e2c52-6c4e-4f0e-9f53-2f1f0c1c2a11",
        "recommender": "seo_titles",
        "action_type": "rewrite_title",
        "target_kind": "page",
        "target_ref": "/products/mug",
        "proposed_at": "2026-03-01T10:00:00Z",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"status": "approved"}, "decided_at"),
        ({"status": "proposed", "decided_at": "2026-03-02T10:00:00Z"}, "decided_at"),
        ({"status": "executed", "decided_at": "2026-03-02T10:00:00Z"}, "executed_at"),
        ({"status": "approved", "decided_at": "2026-02-01T10:00:00Z"}, "decided_at"),
        (
            {"status": "reverted", "decided_at": "2026-03-02T10:00Z", "executed_at": "2026-03-03T10:00Z"},
            "reverted_at",
        ),
    ],
)
def test_action_rows_must_respect_the_lifecycle(fields: dict, field: str) -> None:
    _, problems = validate_row(SPECS["actions"], _action(**fields))
    assert field in [f for f, _ in problems]


def test_a_consistent_executed_action_passes() -> None:
    row, problems = validate_row(
        SPECS["actions"],
        _action(
            status="executed",
            decided_at="2026-03-02T10:00:00Z",
            executed_at="2026-03-02T11:00:00Z",
            payload=json.dumps({"a": 1}),
        ),
    )
    assert problems == [] and row["payload"] == {"a": 1}


def test_problems_describe_file_line_and_field() -> None:
    assert (
        landing.Problem(line=7, field="price", reason="is required").describe("p.csv") == "p.csv:7: price: is required"
    )
    assert landing.Problem(line=0, field=None, reason="not UTF-8").describe("p.csv") == "p.csv: not UTF-8"
