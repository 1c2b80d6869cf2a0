"""The migrator: supabase/migrations/*.sql, then every file under sql/functions/.

- Migrations run in name order, each in one transaction, and are recorded in
  supabase_migrations.schema_migrations exactly as the Supabase CLI records them
  (version, name, statements), so either tool sees the other's history.
- Function files are idempotent (`create or replace`); each is applied in its own transaction
  and recorded with a checksum in opsdata_migrations.function_files; unchanged files are skipped.
  Files that reference a function or table defined by a later file are retried after the others,
  so the order of files does not matter, and function bodies are still checked on creation.
- A failing file stops the run with its name and Postgres' error; its transaction is rolled
  back, so the database is left as it was before that file.
- `bundle` writes changed function files into a new timestamped migration for `supabase db push`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import errors

from opsdata.core.settings import REPO_ROOT

MIGRATIONS_DIR = REPO_ROOT / "supabase" / "migrations"
FUNCTIONS_DIR = REPO_ROOT / "sql" / "functions"
BUNDLE_LOCK = REPO_ROOT / "sql" / "bundle.lock.json"

# The Supabase CLI's rule for migration file names (pkg/migration/file.go).
MIGRATION_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")
MIGRATE_LOCK_KEY = 7_344_201_905  # pg_advisory_lock key: one migrator at a time per database

BOOKKEEPING_SQL = """
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (
  version text not null primary key,
  statements text[],
  name text
);
create schema if not exists opsdata_migrations;
revoke all on schema opsdata_migrations from public;
create table if not exists opsdata_migrations.function_files (
  path text primary key,
  checksum text not null,
  applied_at timestamptz not null default now()
);
"""

# Errors that mean "something this file needs is defined by another file": retry later.
_DEPENDENCY_ERRORS = (errors.UndefinedFunction, errors.UndefinedTable, errors.UndefinedObject)


class MigrationError(RuntimeError):
    """A migration or function file failed; names the file and carries Postgres' message."""

    def __init__(self, path: Path, error: psycopg.Error) -> None:
        diag = error.diag
        where = f" (at character {diag.statement_position})" if diag.statement_position else ""
        detail = f"\n  detail: {diag.message_detail}" if diag.message_detail else ""
        super().__init__(f"{_display(path)}: {diag.sqlstate or ''} {diag.message_primary or error}{where}{detail}")
        self.path = path
        self.sqlstate = diag.sqlstate


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()


@dataclass
class MigrateReport:
    applied_migrations: list[str] = field(default_factory=list)
    applied_functions: list[str] = field(default_factory=list)
    unchanged_functions: int = 0


@dataclass(frozen=True)
class AppliedState:
    migrations: list[tuple[str, str]]  # (version, name)
    functions: dict[str, str]  # path -> checksum


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def discover_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = MIGRATION_NAME.match(path.name)
        if not match:
            raise ValueError(f"{_display(path)}: migration file names must look like <digits>_<name>.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    versions = [m.version for m in found]
    duplicates = {v for v in versions if versions.count(v) > 1}
    if duplicates:
        raise ValueError(f"duplicate migration versions: {', '.join(sorted(duplicates))}")
    return found


def discover_function_files(directory: Path = FUNCTIONS_DIR) -> list[Path]:
    return sorted(directory.rglob("*.sql"))


def function_key(path: Path, directory: Path = FUNCTIONS_DIR) -> str:
    return path.relative_to(directory).as_posix()


def checksum(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def split_statements(sql: str) -> list[str]:
    """Split SQL into statements the way psql would: respects quotes, dollar quotes, comments.

    Used to record `statements` like the Supabase CLI does; execution sends the file whole.
    """
    statements: list[str] = []
    start = i = 0
    n = len(sql)
    depth = 0  # parentheses, so `begin atomic ... end` bodies in parens don't split
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            i = sql.find("\n", i)
            i = n if i == -1 else i + 1
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif ch in ("'", '"'):
            i += 1
            while i < n:
                if sql[i] == ch:
                    if i + 1 < n and sql[i + 1] == ch:  # doubled quote escapes itself
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif ch == "$":
            tag = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if tag:
                end = sql.find(tag.group(0), i + len(tag.group(0)))
                i = n if end == -1 else end + len(tag.group(0))
            else:
                i += 1
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            depth = max(0, depth - 1)
            i += 1
        elif ch == ";" and depth == 0:
            statement = sql[start:i].strip()
            if _has_code(statement):
                statements.append(statement)
            i += 1
            start = i
        else:
            i += 1
    tail = sql[start:].strip()
    if _has_code(tail):
        statements.append(tail)
    return statements


def _has_code(statement: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", "", statement, flags=re.S)
    return bool(stripped.strip())


def ensure_bookkeeping(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(BOOKKEEPING_SQL)


def applied_state(conn: psycopg.Connection) -> AppliedState:
    """What is recorded as applied; empty when the bookkeeping tables do not exist yet."""
    exists = conn.execute(
        "select to_regclass('supabase_migrations.schema_migrations') is not null,"
        " to_regclass('opsdata_migrations.function_files') is not null"
    ).fetchone()
    migrations: list[tuple[str, str]] = []
    functions: dict[str, str] = {}
    if exists and exists[0]:
        migrations = [
            (row[0], row[1] or "")
            for row in conn.execute("select version, name from supabase_migrations.schema_migrations order by version")
        ]
    if exists and exists[1]:
        functions = dict(conn.execute("select path, checksum from opsdata_migrations.function_files").fetchall())
    return AppliedState(migrations, functions)


def pending_migrations(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    done = {version for version, _ in applied_state(conn).migrations}
    return [m for m in discover_migrations(directory) if m.version not in done]


def changed_function_files(conn: psycopg.Connection, directory: Path = FUNCTIONS_DIR) -> list[Path]:
    recorded = applied_state(conn).functions
    return [
        path
        for path in discover_function_files(directory)
        if recorded.get(function_key(path, directory)) != checksum(path.read_text())
    ]


def apply_migration(conn: psycopg.Connection, migration: Migration) -> None:
    sql = migration.sql
    try:
        with conn.transaction():
            conn.execute(sql)
            conn.execute(
                "insert into supabase_migrations.schema_migrations (version, name, statements) values (%s, %s, %s)",
                (migration.version, migration.name, split_statements(sql)),
            )
    except psycopg.Error as exc:
        raise MigrationError(migration.path, exc) from exc


def apply_function_files(conn: psycopg.Connection, paths: Iterable[Path], directory: Path = FUNCTIONS_DIR) -> list[str]:
    """Apply files, retrying those whose dependencies come from files applied later."""
    waiting = list(paths)
    applied: list[str] = []
    while waiting:
        deferred: list[tuple[Path, psycopg.Error]] = []
        for path in waiting:
            text = path.read_text()
            try:
                with conn.transaction():
                    conn.execute(text)
                    conn.execute(
                        "insert into opsdata_migrations.function_files (path, checksum) values (%s, %s)"
                        " on conflict (path) do update set checksum = excluded.checksum, applied_at = now()",
                        (function_key(path, directory), checksum(text)),
                    )
                applied.append(function_key(path, directory))
            except _DEPENDENCY_ERRORS as exc:
                deferred.append((path, exc))
            except psycopg.Error as exc:
                raise MigrationError(path, exc) from exc
        if len(deferred) == len(waiting):  # no progress: the first failure is the real one
            path, exc = deferred[0]
            raise MigrationError(path, exc)
        waiting = [path for path, _ in deferred]
    return applied


def migrate(
    conn: psycopg.Connection,
    migrations_dir: Path = MIGRATIONS_DIR,
    functions_dir: Path = FUNCTIONS_DIR,
) -> MigrateReport:
    """Apply pending migrations, then changed function files. `conn` must be in autocommit mode."""
    report = MigrateReport()
    conn.execute("select pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
    try:
        ensure_bookkeeping(conn)
        for migration in pending_migrations(conn, migrations_dir):
            apply_migration(conn, migration)
            report.applied_migrations.append(migration.path.name)
        changed = changed_function_files(conn, functions_dir)
        report.unchanged_functions = len(discover_function_files(functions_dir)) - len(changed)
        report.applied_functions = apply_function_files(conn, changed, functions_dir)
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))
    return report


def bundle(
    now: datetime | None = None,
    functions_dir: Path = FUNCTIONS_DIR,
    migrations_dir: Path = MIGRATIONS_DIR,
    lock_file: Path = BUNDLE_LOCK,
) -> Path | None:
    """Write function files changed since the last bundle into a new migration.

    Returns the migration's path, or None when nothing changed. The lock file records the
    checksums bundled so far; commit it with the migration.
    """
    bundled: dict[str, str] = json.loads(lock_file.read_text()) if lock_file.exists() else {}
    current = {function_key(p, functions_dir): p for p in discover_function_files(functions_dir)}
    changed = [key for key, path in current.items() if bundled.get(key) != checksum(path.read_text())]
    if not changed:
        return None
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    latest = max((m.version for m in discover_migrations(migrations_dir)), default="0")
    if stamp <= latest:  # keep name order equal to creation order
        stamp = str(int(latest) + 1)
    target = migrations_dir / f"{stamp}_function_bundle.sql"
    parts = [
        "-- Generated by `opsdata db bundle`: function files changed since the previous bundle,",
        "-- so `supabase db push` deploys them. Edit the files under sql/functions/, not this.",
        "-- Bodies are checked when called, as in pg_dump output: files may reference each other.",
        "set local check_function_bodies = off;",
    ]
    for key in changed:
        parts.append(f"\n-- ===== sql/functions/{key} =====")
        parts.append(current[key].read_text().rstrip())
        bundled[key] = checksum(current[key].read_text())
    target.write_text("\n".join(parts) + "\n")
    lock_file.write_text(json.dumps(dict(sorted(bundled.items())), indent=2) + "\n")
    return target
