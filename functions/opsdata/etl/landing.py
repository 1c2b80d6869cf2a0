"""Loading CSV or JSONL files into the landing tables (`opsdata load`).

One typed column spec per table drives everything: parsing, the temp table, the foreign-key
and uniqueness checks, and the upsert. A load is one transaction as service_role:

1. every record is parsed and type-checked in Python; good rows stream into a temp table by COPY;
2. SQL finds duplicate keys, unknown references and key conflicts, by line number;
3. with problems the whole file is rejected (nothing written), unless skip_bad_rows, which
   drops the bad lines and writes them to a rejects file;
4. an upsert on the natural key writes only rows whose content changed, so reloading the same
   file rewrites nothing and `loaded_at` keeps meaning "last changed by a load".

Each load is one `sync_runs` row, committed first as `running` so that a failed load still
leaves its run, marked `failed` with the reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import IO, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pydantic import BaseModel

# ----- value types ----------------------------------------------------------------------


class Kind:
    """A column type: its SQL type and how a raw value (CSV text or JSON value) becomes a Python one."""

    sql: str = "text"

    def parse(self, value: object) -> object:  # raises ValueError with the reason
        raise NotImplementedError


_GID = re.compile(r"^gid://shopify/[A-Za-z]+/(\d+)$")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Integer(Kind):
    bits: int = 32

    @property
    def sql(self) -> str:  # type: ignore[override]
        return "bigint" if self.bits == 64 else "integer"

    def parse(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("expected an integer")
        if isinstance(value, str):
            text = value.strip()
            match = _GID.match(text) if self.bits == 64 else None  # Shopify GraphQL ids
            text = match.group(1) if match else text
            if not _INTEGER.fullmatch(text):
                raise ValueError(f"expected an integer, got {value!r}")
            value = int(text)
        limit = 2 ** (self.bits - 1)
        if not -limit <= value < limit:
            raise ValueError(f"{value} is out of range for a {self.bits}-bit integer")
        return value


@dataclass(frozen=True)
class Numeric(Kind):
    precision: int = 14
    scale: int = 2

    @property
    def sql(self) -> str:  # type: ignore[override]
        return f"numeric({self.precision},{self.scale})"

    def parse(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError("expected a number")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"expected a finite number, got {value!r}")
        # Postgres rounds extra decimals half away from zero; do the same so comparisons agree
        number = number.quantize(Decimal(1).scaleb(-self.scale), rounding=ROUND_HALF_UP)
        if abs(number) >= Decimal(10) ** (self.precision - self.scale):
            raise ValueError(f"{value} does not fit numeric({self.precision},{self.scale})")
        return number


_CURRENCY = re.compile(r"[A-Z]{3}")
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass(frozen=True)
class Boolean(Kind):
    sql: str = "boolean"

    def parse(self, value: object) -> object:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class Text(Kind):
    max_length: int | None = None
    sql: str = "text"

    def parse(self, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("expected text")
        text = str(value)
        if "\x00" in text:
            raise ValueError("contains a NUL character")
        if self.max_length is not None and len(text) > self.max_length:
            raise ValueError(f"longer than {self.max_length} characters")
        return text


@dataclass(frozen=True)
class Choice(Kind):
    choices: tuple[str, ...] = ()
    sql: str = "text"

    def parse(self, value: object) -> object:
        text = str(value).strip().lower() if isinstance(value, str) else None
        if text not in self.choices:
            raise ValueError(f"expected one of {', '.join(self.choices)}, got {value!r}")
        return text


@dataclass(frozen=True)
class Currency(Kind):
    sql: str = "char(3)"

    def parse(self, value: object) -> object:
        text = str(value).strip().upper() if isinstance(value, str) else ""
        if not _CURRENCY.fullmatch(text):
            raise ValueError(f"expected a 3-letter currency code, got {value!r}")
        return text


@dataclass(frozen=True)
class Timestamp(Kind):
    sql: str = "timestamptz"

    def parse(self, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("expected an ISO 8601 timestamp")
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            try:  # Shopify's CSV exports: "2024-01-05 10:00:00 -0500"
                parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
            except ValueError:
                raise ValueError(f"expected an ISO 8601 timestamp, got {value!r}") from None
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no UTC offset (add Z or +hh:mm)")
        return parsed


@dataclass(frozen=True)
class Day(Kind):
    sql: str = "date"

    def parse(self, value: object) -> object:
        text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
        for pattern in ("%Y-%m-%d", "%Y%m%d"):  # GA4 reports dates as YYYYMMDD
            try:
                return datetime.strptime(text, pattern).date()
            except ValueError:
                continue
        raise ValueError(f"expected a date (YYYY-MM-DD), got {value!r}")


@dataclass(frozen=True)
class JsonObject(Kind):
    sql: str = "jsonb"

    def parse(self, value: object) -> object:
        if isinstance(value, str):  # CSV cells carry JSON as text
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"invalid JSON: {exc.msg}") from None
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value


@dataclass(frozen=True)
class Uuid(Kind):
    sql: str = "uuid"

    def parse(self, value: object) -> object:
        try:
            return uuid.UUID(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a UUID, got {value!r}") from None


BIGINT = Integer(64)
INT = Integer(32)
MONEY = Numeric(14, 2)

# ----- table specs ----------------------------------------------------------------------

MISSING = object()


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    default: object = None  # used when the field is absent or empty


@dataclass(frozen=True)
class Reference:
    """column must name an existing row: `exists (select 1 from <table> r where <match>)`."""

    column: str
    table: str
    match: str  # SQL over `r` (the referenced row) and `t` (the loaded row); %(shop)s is the shop id
    what: str


@dataclass(frozen=True)
class Conflict:
    """A loaded row clashes with a stored row: the query yields line_no and a detail per clash."""

    column: str
    query: str  # SQL over the temp table `_load t`, %(shop)s; returns (line_no, detail)
    reason: str  # formatted with {detail}


RowRule = Callable[[dict[str, object]], list[tuple[str, str]]]


@dataclass(frozen=True)
class TableSpec:
    table: str
    source: str  # sync_runs.source
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key within the shop
    unique: tuple[tuple[str, ...], ...] = ()  # other unique keys within the shop
    references: tuple[Reference, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    rules: tuple[RowRule, ...] = ()
    data_at: str | None = None  # SQL over `_load t`: the newest data point the load delivers
    shop_in_key: bool = True  # actions are keyed by id alone (uuid), other tables by (shop_id, key)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @cached_property
    def name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _action_lifecycle(row: dict[str, object]) -> list[tuple[str, str]]:
    """The actions table's checks, per line, so a bad row is named rather than failing the whole insert."""
    status, problems = row["status"], []
    decided, executed, reverted = row["decided_at"], row["executed_at"], row["reverted_at"]
    if (status == "proposed") != (decided is None):
        problems.append(("decided_at", "is set exactly when status is not proposed"))
    if (status in ("executed", "reverted")) != (executed is not None):
        problems.append(("executed_at", "is set exactly when status is executed or reverted"))
    if (status == "reverted") != (reverted is not None):
        problems.append(("reverted_at", "is set exactly when status is reverted"))
    for name, earlier, later in (
        ("decided_at", row["proposed_at"], decided),
        ("executed_at", decided, executed),
        ("reverted_at", executed, reverted),
    ):
        if earlier is not None and later is not None and later < earlier:  # type: ignore[operator]
            problems.append((name, "is earlier than the step before it"))
    return problems


SPECS: dict[str, TableSpec] = {
    spec.table: spec
    for spec in (
        TableSpec(
            "products",
            "shopify",
            (
                Column("id", BIGINT, required=True),
                Column("title", Text(), required=True),
                Column("handle", Text(), required=True),
                Column("status", Choice(choices=("active", "draft", "archived")), default="active"),
                Column("price", MONEY, required=True),
                Column("inventory", INT),
                Column("is_gift_card", Boolean(), default=False),
                Column("is_published", Boolean(), default=True),
            ),
            key=("id",),
            unique=(("handle",),),
            conflicts=(
                Conflict(
                    "handle",
                    "select t.line_no, p.id::text from _load t join public.products p"
                    " on p.shop_id = %(shop)s and p.handle = t.handle and p.id <> t.id",
                    "handle already belongs to product {detail}",
                ),
            ),
        ),
        TableSpec(
            "shopify_orders",
            "shopify",
            (
                Column("id", BIGINT, required=True),
                Column("created_at", Timestamp(), required=True),
                Column("processed_at", Timestamp()),
                Column("cancelled_at", Timestamp()),
                Column("is_test", Boolean(), default=False),
                Column("customer_id", BIGINT),
                Column("currency", Currency(), required=True),
                Column("subtotal", MONEY, required=True),
                Column("total", MONEY, required=True),
                Column("total_refunded", MONEY, default=Decimal("0.00")),
                Column("landing_page", Text()),
                Column("source_name", Text()),
            ),
            key=("id",),
            data_at="select max(created_at) from _load",
        ),
        TableSpec(
            "shopify_order_lines",
            "shopify",
            (
                Column("line_id", BIGINT, required=True),
                Column("order_id", BIGINT, required=True),
                Column("product_id", BIGINT),
                Column("variant_id", BIGINT),
                Column("quantity", INT, required=True),
                Column("current_quantity", INT, required=True),
                Column("unit_price", MONEY, required=True),
                Column("discounted_total", MONEY, required=True),
            ),
            key=("line_id",),
            references=(
                Reference(
                    "order_id",
                    "public.shopify_orders",
                    "r.shop_id = %(shop)s and r.id = t.order_id",
                    "no order {value} in this shop (load its order first)",
                ),
                Reference(
                    "product_id",
                    "public.products",
                    "r.shop_id = %(shop)s and r.id = t.product_id",
                    "no product {value} in this shop (load products first, or leave it empty)",
                ),
            ),
            data_at="select max(o.created_at) from _load t join public.shopify_orders o"
            " on o.shop_id = %(shop)s and o.id = t.order_id",
        ),
        TableSpec(
            "gsc_page_daily",
            "gsc",
            (
                Column("date", Day(), required=True),
                Column("page", Text(), required=True),
                Column("clicks", INT, required=True),
                Column("impressions", INT, required=True),
                Column("ctr", Numeric(9, 6), required=True),
                Column("position", Numeric(9, 3), required=True),
                Column("is_final", Boolean(), default=False),
            ),
            key=("date", "page"),
            data_at="select max(date)::timestamp at time zone 'UTC' from _load",
        ),
        TableSpec(
            "ga_page_daily",
            "ga",
            (
                Column("date", Day(), required=True),
                Column("page", Text(), required=True),
                Column("sessions", INT, required=True),
                Column("engaged_sessions", INT, required=True),
                Column("key_events", INT, required=True),
                Column("transactions", INT, required=True),
                Column("purchase_revenue", MONEY, required=True),
            ),
            key=("date", "page"),
            data_at="select max(date)::timestamp at time zone 'UTC' from _load",
        ),
        TableSpec(
            "events",
            "events",
            (
                Column("event_id", Text(), required=True),
                Column("occurred_at", Timestamp(), required=True),
                Column("person_id", Text(), required=True),
                Column("session_id", Text(), required=True),
                Column("event_name", Text(), required=True),
                Column("page", Text()),
                Column("properties", JsonObject(), default={}),
            ),
            key=("event_id",),
            data_at="select max(occurred_at) from _load",
        ),
        TableSpec(
            "actions",
            "actions",
            (
                Column("id", Uuid(), required=True),
                Column("recommender", Text(max_length=100), required=True),
                Column("action_type", Text(max_length=100), required=True),
                Column("target_kind", Choice(choices=("page", "product")), required=True),
                Column("target_ref", Text(), required=True),
                Column("modality", Choice(choices=("text", "image")), default="text"),
                Column(
                    "status",
                    Choice(choices=("proposed", "approved", "rejected", "executed", "reverted")),
                    default="proposed",
                ),
                Column("proposed_at", Timestamp(), required=True),
                Column("decided_at", Timestamp()),
                Column("decided_by", Uuid()),
                Column("decision_note", Text()),
                Column("executed_at", Timestamp()),
                Column("reverted_at", Timestamp()),
                Column("payload", JsonObject(), default={}),
            ),
            key=("id",),
            shop_in_key=False,
            references=(Reference("decided_by", "auth.users", "r.id = t.decided_by", "no user {value}"),),
            conflicts=(
                Conflict(
                    "id",
                    "select t.line_no, '' from _load t join public.actions a on a.id = t.id and a.shop_id <> %(shop)s",
                    "this action id belongs to another shop",
                ),
            ),
            rules=(_action_lifecycle,),
            data_at="select max(greatest(proposed_at, decided_at, executed_at, reverted_at)) from _load",
        ),
    )
}
TABLES = tuple(SPECS)

# ----- results and errors ---------------------------------------------------------------


class Problem(BaseModel):
    """One reason a line was rejected. line 0 means the file as a whole."""

    line: int
    field: str | None
    reason: str

    def describe(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class LoadReport(BaseModel):
    table: str
    file: str
    shop_domain: str
    sync_run_id: int
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    rejects_file: str | None
    max_data_at: datetime | None


class LoadError(Exception):
    """A load that wrote nothing. problems name every bad line; sync_run_id is the failed run, if any."""

    def __init__(self, message: str, problems: list[Problem] | None = None, sync_run_id: int | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.sync_run_id = sync_run_id


# ----- reading files --------------------------------------------------------------------

Format = Literal["csv", "jsonl"]


@dataclass
class Record:
    line: int
    raw: str
    fields: dict[str, object] | None  # None when the line itself is unreadable
    problem: str | None = None


def _open_text(path: Path) -> IO[str]:
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    binary = gzip.open(path, "rb") if gzipped else path.open("rb")  # noqa: SIM115 - the caller closes it
    # utf-8-sig: spreadsheet exports often start with a byte-order mark
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")  # type: ignore[arg-type]


def detect_format(path: Path) -> Format:
    """By extension (.csv, .jsonl, .ndjson, optionally .gz), else by the first non-blank character."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] == ".csv":
        return "csv"
    if suffixes and suffixes[-1] in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with _open_text(path) as handle:
        for line in handle:
            if line.strip():
                return "jsonl" if line.lstrip().startswith("{") else "csv"
    return "csv"


class _Lines:
    """Feeds csv.reader line by line and remembers the physical lines of the current record."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.count = 0
        self.pending: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.count += 1
        self.pending.append(line)
        return line

    def take(self) -> tuple[int, str]:
        """(first line number, raw text) of the record just read."""
        raw, first = "".join(self.pending), self.count - len(self.pending) + 1
        self.pending = []
        return first, raw.rstrip("\r\n")


def read_records(path: Path, fmt: Format, spec: TableSpec) -> Iterator[Record]:
    """Records of the file with 1-based line numbers; a header problem raises LoadError."""
    try:
        with _open_text(path) as handle:
            if fmt == "csv":
                yield from _read_csv(handle, spec)
            else:
                yield from _read_jsonl(handle)
    except LoadError as exc:
        raise LoadError(f"{path.name}: {exc}", exc.problems) from None
    except UnicodeDecodeError as exc:
        problem = Problem(line=0, field=None, reason=f"not UTF-8 text ({exc.reason})")
        raise LoadError(f"{path.name} is not UTF-8 text", [problem]) from None
    except (OSError, EOFError) as exc:  # truncated or corrupt gzip
        raise LoadError(f"{path.name} cannot be read: {exc}", [Problem(line=0, field=None, reason=str(exc))]) from exc


def _read_csv(handle: IO[str], spec: TableSpec) -> Iterator[Record]:
    lines = _Lines(handle)
    reader = csv.reader(lines)
    header = next(reader, None)
    lines.take()
    if header is None:
        raise LoadError(
            "the file is empty", [Problem(line=1, field=None, reason="empty file: a CSV file needs a header line")]
        )
    header = [h.strip() for h in header]
    problems = [
        Problem(line=1, field=name, reason="unknown column" if name else "empty column name")
        for name in header
        if name not in spec.name_set and not name.startswith("_")  # _-columns are notes (e.g. a rejects file's)
    ]
    missing = [c.name for c in spec.columns if c.required and c.name not in header]
    problems += [Problem(line=1, field=name, reason="required column is missing") for name in missing]
    twice = sorted({name for name in header if header.count(name) > 1})
    problems += [Problem(line=1, field=name, reason="column appears twice") for name in twice]
    if problems:
        raise LoadError("the CSV header does not match the table", problems)
    try:
        for row in reader:
            line, raw = lines.take()
            if not row:
                continue  # blank line
            if len(row) != len(header):
                yield Record(line, raw, None, f"expected {len(header)} fields, got {len(row)}")
                continue
            # an empty cell is a missing value: CSV cannot tell '' from NULL
            yield Record(
                line, raw, {h: v for h, v in zip(header, row, strict=True) if v != "" and not h.startswith("_")}
            )
    except csv.Error as exc:
        line, raw = lines.take()
        yield Record(line, raw, None, f"unreadable CSV: {exc}")


def _read_jsonl(handle: IO[str]) -> Iterator[Record]:
    for number, text in enumerate(handle, start=1):
        raw = text.rstrip("\r\n")
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield Record(number, raw, None, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield Record(number, raw, None, "expected a JSON object")
            continue
        yield Record(number, raw, {k: v for k, v in value.items() if v is not None and not k.startswith("_")})


def validate_row(spec: TableSpec, fields: dict[str, object]) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Typed values for every column, and (field, reason) for each problem."""
    row: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    problems += [(name, "unknown field") for name in fields if name not in spec.name_set]
    for column in spec.columns:
        value = fields.get(column.name, MISSING)
        if value is MISSING:
            if column.required:
                problems.append((column.name, "is required"))
            row[column.name] = column.default
            continue
        try:
            row[column.name] = column.kind.parse(value)
        except ValueError as exc:
            problems.append((column.name, str(exc)))
            row[column.name] = None
    if not problems:
        for rule in spec.rules:
            problems += rule(row)
    return row, problems


# ----- loading --------------------------------------------------------------------------


def resolve_shop(conn: psycopg.Connection, domain: str | None) -> tuple[uuid.UUID, str]:
    """The shop by domain; with no domain, the only shop there is."""
    if domain:
        row = conn.execute("select id, domain from public.shops where domain = lower(%s)", (domain.strip(),)).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("select domain from public.shops order by domain limit 20")]
            hint = f"known: {', '.join(known)}" if known else "there are no shops yet"
            raise LoadError(f"no shop with domain {domain!r} ({hint})")
        return row[0], row[1]
    rows = conn.execute("select id, domain from public.shops order by domain limit 21").fetchall()
    if len(rows) == 1:
        return rows[0][0], rows[0][1]
    if not rows:
        raise LoadError("there are no shops yet: create one first (e.g. `opsdata demo-data --shop DOMAIN`)")
    raise LoadError(f"several shops exist: pass --shop (one of {', '.join(r[1] for r in rows[:20])})")


@contextmanager
def as_service_role(conn: psycopg.Connection) -> Iterator[None]:
    """One transaction as service_role (loaders write as jobs do, never as the connecting role)."""
    with conn.transaction():
        conn.execute("set local role service_role")
        yield
        # a caller's outer transaction makes ours a savepoint, which `set local` outlives
        conn.execute("reset role")


def _start_run(conn: psycopg.Connection, shop_id: uuid.UUID, source: str, details: dict) -> int:
    with as_service_role(conn):
        row = conn.execute(
            "insert into public.sync_runs (shop_id, source, details) values (%s, %s, %s) returning id",
            (shop_id, source, Jsonb(details)),
        ).fetchone()
    assert row is not None
    return row[0]


def _fail_run(conn: psycopg.Connection, run_id: int, error: str, rejected: int, details: dict) -> None:
    with as_service_role(conn):
        conn.execute(
            "update public.sync_runs set status = 'failed', finished_at = clock_timestamp(), rows_loaded = 0,"
            " rows_rejected = %s, error = %s, details = details || %s where id = %s",
            (rejected, error, Jsonb(details), run_id),
        )


def _sql_problems(conn: psycopg.Connection, spec: TableSpec, shop_id: uuid.UUID) -> list[Problem]:
    """Duplicate keys in the file, unknown references and clashes with stored rows, by line."""
    params = {"shop": shop_id}
    problems: list[Problem] = []
    for key in (spec.key, *spec.unique):
        cols = sql.SQL(", ").join(map(sql.Identifier, key))
        query = sql.SQL(
            "select line_no, first from (select line_no, first_value(line_no) over w as first"
            " from _load window w as (partition by {cols} order by line_no)) d where line_no <> first"
        ).format(cols=cols)
        label = ", ".join(key)
        for line, first in conn.execute(query):
            problems.append(Problem(line=line, field=label, reason=f"duplicate {label}: also on line {first}"))
    for ref in spec.references:
        query = sql.SQL(
            "select t.line_no, t.{col}::text from _load t where t.{col} is not null"
            " and not exists (select 1 from {table} r where {match})"
        ).format(
            col=sql.Identifier(ref.column),
            table=sql.SQL(ref.table),
            match=sql.SQL(ref.match),
        )
        for line, value in conn.execute(query, params):
            problems.append(Problem(line=line, field=ref.column, reason=ref.what.format(value=value)))
    for clash in spec.conflicts:
        for line, detail in conn.execute(clash.query, params):  # type: ignore[arg-type]
            problems.append(Problem(line=line, field=clash.column, reason=clash.reason.format(detail=detail)))
    return problems


def _upsert(conn: psycopg.Connection, spec: TableSpec, shop_id: uuid.UUID) -> tuple[int, int]:
    """Insert new rows, update changed ones, leave identical ones alone. Returns (inserted, updated)."""
    cols = [sql.Identifier(n) for n in spec.names]
    key = [sql.Identifier(n) for n in spec.key]
    conflict_key = [sql.Identifier("shop_id"), *key] if spec.shop_in_key else key
    changing = [sql.Identifier(n) for n in spec.names if n not in spec.key]
    query = sql.SQL(
        "with written as ("
        " insert into {table} as s (shop_id, {cols}) select %(shop)s, {cols} from _load order by line_no"
        " on conflict ({conflict_key}) do update set {assignments}, loaded_at = now()"
        " where ({stored}) is distinct from ({incoming})"
        " returning (xmax = 0) as inserted)"
        " select count(*) filter (where inserted), count(*) filter (where not inserted) from written"
    ).format(
        table=sql.SQL("public.") + sql.Identifier(spec.table),
        cols=sql.SQL(", ").join(cols),
        conflict_key=sql.SQL(", ").join(conflict_key),
        assignments=sql.SQL(", ").join(sql.SQL("{c} = excluded.{c}").format(c=c) for c in changing),
        stored=sql.SQL(", ").join(sql.SQL("s.{c}").format(c=c) for c in changing),
        incoming=sql.SQL(", ").join(sql.SQL("excluded.{c}").format(c=c) for c in changing),
    )
    row = conn.execute(query, {"shop": shop_id}).fetchone()
    assert row is not None
    return row[0], row[1]


def _write_rejects(target: Path, path: Path, fmt: Format, spec: TableSpec, problems: list[Problem]) -> None:
    """JSONL: one line per rejected input line with every reason and the raw text, to fix and reload."""
    by_line: dict[int, list[Problem]] = {}
    for problem in problems:
        by_line.setdefault(problem.line, []).append(problem)
    with target.open("w", encoding="utf-8") as out:
        for record in read_records(path, fmt, spec):
            if record.line in by_line:
                reasons = [{"field": p.field, "reason": p.reason} for p in by_line[record.line]]
                out.write(json.dumps({"line": record.line, "problems": reasons, "raw": record.raw}) + "\n")


def load_file(
    conn: psycopg.Connection,
    table: str,
    path: Path,
    *,
    shop_domain: str | None = None,
    skip_bad_rows: bool = False,
    rejects_path: Path | None = None,
) -> LoadReport:
    """Load one file into one landing table. Raises LoadError (nothing written) for a bad file."""
    spec = SPECS.get(table)
    if spec is None:
        raise LoadError(f"unknown table {table!r} (one of {', '.join(TABLES)})")
    if not path.is_file():
        raise LoadError(f"no such file: {path}")
    shop_id, domain = resolve_shop(conn, shop_domain)
    fmt = detect_format(path)
    run_id = _start_run(conn, shop_id, spec.source, {"table": table, "file": path.name, "format": fmt})
    problems: list[Problem] = []
    rows_read = 0
    try:
        with as_service_role(conn):
            conn.execute("drop table if exists pg_temp._load")  # left by an earlier load in the same transaction
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.kind.sql)) for c in spec.columns
            )
            conn.execute(
                sql.SQL("create temp table _load (line_no integer not null, {}) on commit drop").format(columns)
            )
            names = sql.SQL(", ").join(map(sql.Identifier, spec.names))
            with conn.cursor().copy(sql.SQL("copy _load (line_no, {}) from stdin").format(names)) as copy:
                for record in read_records(path, fmt, spec):
                    rows_read += 1
                    if record.fields is None:
                        problems.append(Problem(line=record.line, field=None, reason=record.problem or "unreadable"))
                        continue
                    row, bad = validate_row(spec, record.fields)
                    if bad:
                        problems += [Problem(line=record.line, field=f, reason=r) for f, r in bad]
                        continue
                    copy.write_row((record.line, *(Jsonb(v) if isinstance(v, dict) else v for v in row.values())))
            conn.execute("create index on _load (line_no)")
            conn.execute("analyze _load")
            problems += _sql_problems(conn, spec, shop_id)
            problems.sort(key=lambda p: p.line)
            bad_lines = sorted({p.line for p in problems})
            if problems and not skip_bad_rows:
                raise LoadError(f"{path.name}: {len(bad_lines)} bad line(s), nothing loaded", problems)
            if bad_lines:
                conn.execute("delete from _load where line_no = any(%s)", (bad_lines,))
            inserted, updated = _upsert(conn, spec, shop_id)
            max_data_at = conn.execute(spec.data_at, {"shop": shop_id}).fetchone()[0] if spec.data_at else None  # type: ignore[index]
            loaded = rows_read - len(bad_lines)
            details = {"inserted": inserted, "updated": updated, "unchanged": loaded - inserted - updated}
            conn.execute(
                "update public.sync_runs set status = 'succeeded', finished_at = clock_timestamp(),"
                " rows_loaded = %s, rows_rejected = %s, max_data_at = %s, details = details || %s where id = %s",
                (loaded, len(bad_lines), max_data_at, Jsonb(details), run_id),
            )
            conn.execute("drop table _load")
    except LoadError as exc:
        rejected = len({p.line for p in exc.problems})
        _fail_run(conn, run_id, str(exc), rejected, {"problems": [p.model_dump() for p in exc.problems[:100]]})
        exc.sync_run_id = run_id
        raise
    except psycopg.Error as exc:
        message = f"{path.name}: the database refused the load: {str(exc).strip()}"
        _fail_run(conn, run_id, message, 0, {})
        raise LoadError(message, sync_run_id=run_id) from exc
    rejects_file = None
    if problems:
        target = rejects_path or path.with_name(path.name + ".rejects.jsonl")
        _write_rejects(target, path, fmt, spec, problems)
        rejects_file = str(target)
    return LoadReport(
        table=table,
        file=str(path),
        shop_domain=domain,
        sync_run_id=run_id,
        rows_read=rows_read,
        inserted=inserted,
        updated=updated,
        unchanged=details["unchanged"],
        rejected=len(bad_lines),
        rejects_file=rejects_file,
        max_data_at=max_data_at,
    )
