"""Verified logical backups of every opsdata table.

A backup is one tar file `opsdata-backup-<UTC stamp>.tar` holding:
- `manifest.json`: format, creation time, schema version (applied migrations), and per table its
  columns, row count, SHA-256 of the data and of the compressed file; ids that rows reference
  outside the backup (e.g. `auth.users`, owned by Supabase Auth);
- `manifest.sha256`: the manifest's own checksum (catches a damaged manifest);
- `data/<schema>.<table>.copy.gz`: the table in COPY text format, ordered by primary key.

Tables are discovered from the catalog (schemas public and private), so tables added by later
migrations are included without code changes. A table comment containing `[backup: skip]`
excludes a table (caches); `[backup: seeded]` marks rows that migrations insert (job registry,
defaults): restore replaces them, and they do not make a database count as non-empty.

Consistency: every table is read inside one REPEATABLE READ, READ ONLY transaction, i.e. one
snapshot. Restore checks the whole file before it writes anything, then loads every table in
one transaction, parents before children, with user triggers disabled, and moves identity
sequences past the restored ids.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql
from pydantic import BaseModel, ValidationError

from opsdata.core.db import connect

FORMAT = "opsdata-backup/1"
NAME_PATTERN = re.compile(r"^opsdata-backup-(\d{8}T\d{6}Z)\.tar$")
SCHEMAS = ("public", "private")
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """A backup cannot be created, read or restored; the message says what and where."""


# ----- manifest -----------------------------------------------------------------------------
class TableEntry(BaseModel):
    schema_name: str
    name: str
    columns: list[str]
    order_by: list[str]  # primary key columns; empty: whole-row order
    seeded: bool
    rows: int
    sha256: str  # of the uncompressed COPY data
    file: str
    file_sha256: str
    file_bytes: int

    @property
    def qualified(self) -> str:
        return f"{self.schema_name}.{self.name}"


class ExternalRef(BaseModel):
    """Values rows in the backup reference in a table the backup does not hold."""

    schema_name: str
    table: str
    column: str
    values: list[str]


class Manifest(BaseModel):
    format: str
    created_at: datetime
    server_version: str
    migrations: list[str]
    tables: list[TableEntry]
    external_refs: list[ExternalRef] = []


@dataclass
class TableInfo:
    schema: str
    name: str
    columns: list[str]
    pk: list[str]
    seeded: bool
    parents: set[tuple[str, str]] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    @property
    def ident(self) -> sql.Identifier:
        return sql.Identifier(self.schema, self.name)


# ----- catalog --------------------------------------------------------------------------------
def discover_tables(conn: psycopg.Connection) -> list[TableInfo]:
    """Every table in public and private except those marked [backup: skip] or named *_cache, parents first."""
    rows = conn.execute(
        """
        select n.nspname, c.relname, coalesce(obj_description(c.oid, 'pg_class'), ''),
               array(select a.attname::text from pg_attribute a
                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
                     order by a.attnum),
               coalesce(array(select a.attname::text from pg_index i
                              cross join lateral unnest(i.indkey) with ordinality k(attnum, ord)
                              join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
                              where i.indrelid = c.oid and i.indisprimary order by k.ord), '{}')
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = any(%s) and c.relkind in ('r', 'p') and not c.relispartition
        order by n.nspname, c.relname
        """,
        (list(SCHEMAS),),
    ).fetchall()
    tables = {}
    for schema, name, comment, columns, pk in rows:
        if "[backup: skip]" in comment or name.endswith("_cache"):
            continue
        tables[(schema, name)] = TableInfo(schema, name, list(columns), list(pk), "[backup: seeded]" in comment)
    for child_schema, child, parent_schema, parent in conn.execute(
        """
        select cn.nspname, c.relname, pn.nspname, p.relname
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_namespace cn on cn.oid = c.relnamespace
        join pg_class p on p.oid = k.confrelid join pg_namespace pn on pn.oid = p.relnamespace
        where k.contype = 'f'
        """
    ):
        if (
            (child_schema, child) in tables
            and (parent_schema, parent) in tables
            and (child_schema, child)
            != (
                parent_schema,
                parent,
            )
        ):
            tables[(child_schema, child)].parents.add((parent_schema, parent))
    return _parents_first(tables)


def _parents_first(tables: dict[tuple[str, str], TableInfo]) -> list[TableInfo]:
    ordered: list[TableInfo] = []
    done: set[tuple[str, str]] = set()
    visiting: set[tuple[str, str]] = set()

    def visit(key: tuple[str, str]) -> None:
        if key in done:
            return
        if key in visiting:
            raise BackupError(f"foreign keys form a cycle through {key[0]}.{key[1]}; cannot order a restore")
        visiting.add(key)
        for parent in sorted(tables[key].parents):
            visit(parent)
        visiting.discard(key)
        done.add(key)
        ordered.append(tables[key])

    for key in sorted(tables):
        visit(key)
    return ordered


def _external_refs(conn: psycopg.Connection, tables: list[TableInfo]) -> list[ExternalRef]:
    """Single-column foreign keys from backed-up tables to tables outside the backup (auth.users)."""
    inside = {t.key for t in tables}
    refs: dict[tuple[str, str, str], set[str]] = {}
    for child_schema, child, column, parent_schema, parent, parent_column in conn.execute(
        """
        select cn.nspname, c.relname, ca.attname, pn.nspname, p.relname, pa.attname
        from pg_constraint k
        join pg_class c on c.oid = k.conrelid join pg_namespace cn on cn.oid = c.relnamespace
        join pg_class p on p.oid = k.confrelid join pg_namespace pn on pn.oid = p.relnamespace
        join pg_attribute ca on ca.attrelid = c.oid and ca.attnum = k.conkey[1]
        join pg_attribute pa on pa.attrelid = p.oid and pa.attnum = k.confkey[1]
        where k.contype = 'f' and cardinality(k.conkey) = 1
        """
    ).fetchall():
        if (child_schema, child) not in inside or (parent_schema, parent) in inside:
            continue
        values = conn.execute(
            sql.SQL("select distinct {col}::text from {tbl} where {col} is not null").format(
                col=sql.Identifier(column), tbl=sql.Identifier(child_schema, child)
            )
        ).fetchall()
        refs.setdefault((parent_schema, parent, parent_column), set()).update(v for (v,) in values)
    return [
        ExternalRef(schema_name=s, table=t, column=c, values=sorted(v)) for (s, t, c), v in sorted(refs.items()) if v
    ]


# COPY text depends on these settings: pin them wherever data is dumped, compared or loaded, so
# that a backup taken in one session restores and checksums identically in another.
PINNED_FORMATS = (
    "set local timezone = 'UTC'",
    "set local datestyle = 'ISO, YMD'",
    "set local intervalstyle = 'postgres'",
    "set local extra_float_digits = 3",
    "set local bytea_output = 'hex'",
)


def _pin_formats(conn: psycopg.Connection) -> None:
    for statement in PINNED_FORMATS:
        conn.execute(statement)


def _copy_out_query(schema: str, name: str, columns: list[str], order_by: list[str]) -> sql.Composed:
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    order = (
        sql.SQL(", ").join(sql.Identifier(c) for c in order_by)
        if order_by
        else sql.SQL("(t.*)::text")  # no primary key: a stable whole-row order
    )
    return sql.SQL("copy (select {cols} from {tbl} t order by {order}) to stdout").format(
        cols=cols, tbl=sql.Identifier(schema, name), order=order
    )


def _dump_table(conn: psycopg.Connection, query: sql.Composed, target: Path | None) -> tuple[int, str]:
    """Rows and SHA-256 of the COPY text; written gzip'd to target when given."""
    digest = hashlib.sha256()
    rows = 0
    with contextlib.ExitStack() as stack:
        sink = stack.enter_context(gzip.open(target, "wb", compresslevel=6)) if target else None
        with conn.cursor().copy(query) as copy:
            for chunk in copy:
                data = bytes(chunk)
                digest.update(data)
                rows += data.count(b"\n")  # COPY text escapes newlines inside values
                if sink:
                    sink.write(data)
    return rows, digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def applied_migrations(conn: psycopg.Connection) -> list[str]:
    if conn.execute("select to_regclass('supabase_migrations.schema_migrations')").fetchone()[0] is None:
        return []
    return [v for (v,) in conn.execute("select version from supabase_migrations.schema_migrations order by version")]


# ----- create -----------------------------------------------------------------------------------
def backup_name(at: datetime) -> str:
    return f"opsdata-backup-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.tar"


def write_backup(url: str, directory: Path, *, now: datetime | None = None) -> Path:
    """Snapshot every table into `directory/opsdata-backup-<stamp>.tar`; returns its path."""
    created = now or datetime.now(UTC)
    target = directory / backup_name(created)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="opsdata-backup-") as tmp, connect(url) as conn:
        work = Path(tmp)
        (work / "data").mkdir()
        with conn.transaction():
            conn.execute("set transaction isolation level repeatable read, read only")
            _pin_formats(conn)
            tables = discover_tables(conn)
            entries = []
            for table in tables:
                file = f"data/{table.schema}.{table.name}.copy.gz"
                rows, digest = _dump_table(
                    conn, _copy_out_query(table.schema, table.name, table.columns, table.pk), work / file
                )
                entries.append(
                    TableEntry(
                        schema_name=table.schema,
                        name=table.name,
                        columns=table.columns,
                        order_by=table.pk,
                        seeded=table.seeded,
                        rows=rows,
                        sha256=digest,
                        file=file,
                        file_sha256=_file_sha256(work / file),
                        file_bytes=(work / file).stat().st_size,
                    )
                )
            manifest = Manifest(
                format=FORMAT,
                created_at=created,
                server_version=conn.execute("show server_version").fetchone()[0],
                migrations=applied_migrations(conn),
                tables=entries,
                external_refs=_external_refs(conn, tables),
            )
        manifest_bytes = manifest.model_dump_json(indent=1).encode()
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            _add_bytes(tar, "manifest.json", manifest_bytes)
            _add_bytes(tar, "manifest.sha256", hashlib.sha256(manifest_bytes).hexdigest().encode())
            for entry in entries:
                tar.add(work / entry.file, arcname=entry.file)
        partial.replace(target)  # never leave a half-written file under the final name
    return target


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# ----- read and check -----------------------------------------------------------------------------
def read_backup(path: Path) -> Manifest:
    """The manifest, after checking every member against it. Raises BackupError naming the problem."""
    if not path.is_file():
        raise BackupError(f"{path}: no such backup file")
    try:
        with tarfile.open(path, "r:") as tar:
            members = {m.name: m for m in tar.getmembers()}
            manifest_bytes = _member_bytes(tar, members, "manifest.json", path)
            expected = _member_bytes(tar, members, "manifest.sha256", path).decode().strip()
            if hashlib.sha256(manifest_bytes).hexdigest() != expected:
                raise BackupError(f"{path}: manifest.json does not match manifest.sha256 (the manifest was altered)")
            try:
                manifest = Manifest.model_validate_json(manifest_bytes)
            except ValidationError as exc:
                raise BackupError(f"{path}: manifest.json is not a valid opsdata manifest: {exc}") from exc
            if manifest.format != FORMAT:
                raise BackupError(f"{path}: unsupported backup format {manifest.format!r} (expected {FORMAT})")
            for entry in manifest.tables:
                _check_member(tar, members, entry, path)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"{path}: not a readable backup archive (truncated or damaged): {exc}") from exc
    return manifest


def _member_bytes(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str, path: Path) -> bytes:
    member = members.get(name)
    fh = tar.extractfile(member) if member else None
    if fh is None:
        raise BackupError(f"{path}: {name} is missing (not an opsdata backup, or truncated)")
    return fh.read()


def _check_member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], entry: TableEntry, path: Path) -> None:
    where = f"{path}: {entry.file} ({entry.qualified})"
    member = members.get(entry.file)
    fh = tar.extractfile(member) if member else None
    if fh is None:
        raise BackupError(f"{where}: missing from the archive (truncated?)")
    if member.size != entry.file_bytes:
        raise BackupError(f"{where}: {member.size} bytes, manifest says {entry.file_bytes} (truncated or altered)")
    file_digest = hashlib.sha256()
    data_digest = hashlib.sha256()
    rows = 0
    raw = _HashingReader(fh, file_digest)
    try:
        with gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            while chunk := gz.read(CHUNK):
                data_digest.update(chunk)
                rows += chunk.count(b"\n")
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{where}: compressed data is damaged: {exc}") from exc
    if file_digest.hexdigest() != entry.file_sha256:
        raise BackupError(f"{where}: checksum mismatch (the file was altered)")
    if data_digest.hexdigest() != entry.sha256 or rows != entry.rows:
        raise BackupError(f"{where}: content does not match the manifest ({rows} rows, manifest says {entry.rows})")


class _HashingReader(io.RawIOBase):
    def __init__(self, fh: Any, digest: Any) -> None:
        self.fh = fh
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.fh.read(len(buffer))
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def _members(path: Path) -> Iterator[tarfile.TarFile]:
    with tarfile.open(path, "r:") as tar:
        yield tar


# ----- restore ---------------------------------------------------------------------------------------
class RestoreReport(BaseModel):
    tables: int
    rows: int
    replaced_existing: bool


def restore_backup(url: str, path: Path, *, force: bool = False, create_missing_refs: bool = False) -> RestoreReport:
    """Restore into a migrated database. Checks the whole backup first; writes in one transaction."""
    manifest = read_backup(path)
    with connect(url) as conn:
        _check_target(conn, manifest, path)
        occupied = _occupied_tables(conn, manifest)
        if occupied and not force:
            raise BackupError(
                f"the target database is not empty ({', '.join(occupied[:5])}"
                f"{' ...' if len(occupied) > 5 else ''} have rows); restore into an empty database or pass --force"
            )
        with conn.transaction(), _members(path) as tar:
            _pin_formats(conn)
            _ensure_external_refs(conn, manifest, create_missing_refs)
            idents = [sql.Identifier(t.schema_name, t.name) for t in manifest.tables]
            for ident in idents:
                conn.execute(sql.SQL("alter table {} disable trigger user").format(ident))
            conn.execute(sql.SQL("truncate {} cascade").format(sql.SQL(", ").join(idents)))
            total = 0
            for entry in manifest.tables:  # parents first: the manifest keeps discovery order
                total += _copy_in(conn, tar, entry)
            for entry in manifest.tables:
                _advance_sequences(conn, entry)
            for ident in idents:
                conn.execute(sql.SQL("alter table {} enable trigger user").format(ident))
    return RestoreReport(tables=len(manifest.tables), rows=total, replaced_existing=bool(occupied))


def _check_target(conn: psycopg.Connection, manifest: Manifest, path: Path) -> None:
    missing = sorted(set(manifest.migrations) - set(applied_migrations(conn)))
    if missing:
        raise BackupError(
            f"{path}: the target database lacks migrations the backup was taken with ({', '.join(missing[:5])}); "
            "run `opsdata db migrate` there first"
        )
    current = {(t.schema, t.name): set(t.columns) for t in discover_tables(conn)}
    for entry in manifest.tables:
        columns = current.get((entry.schema_name, entry.name))
        if columns is None:
            raise BackupError(f"{path}: table {entry.qualified} does not exist in the target database")
        lacking = [c for c in entry.columns if c not in columns]
        if lacking:
            raise BackupError(f"{path}: {entry.qualified} in the target lacks columns {', '.join(lacking)}")


def _occupied_tables(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    occupied = []
    for entry in manifest.tables:
        if entry.seeded:
            continue
        query = sql.SQL("select exists (select 1 from {})").format(sql.Identifier(entry.schema_name, entry.name))
        if conn.execute(query).fetchone()[0]:
            occupied.append(entry.qualified)
    return occupied


def _ensure_external_refs(conn: psycopg.Connection, manifest: Manifest, create: bool) -> None:
    for ref in manifest.external_refs:
        table, column = sql.Identifier(ref.schema_name, ref.table), sql.Identifier(ref.column)
        present = {
            v
            for (v,) in conn.execute(
                sql.SQL("select {c}::text from {t} where {c}::text = any(%s)").format(c=column, t=table),
                (ref.values,),
            )
        }
        absent = [v for v in ref.values if v not in present]
        if not absent:
            continue
        if not create:
            raise BackupError(
                f"{len(absent)} {ref.schema_name}.{ref.table} row(s) the backup refers to are missing in the target "
                f"(e.g. {ref.column} = {absent[0]}); restore them first (Supabase Auth users) or restore into the "
                "same project"
            )
        with conn.cursor().copy(sql.SQL("copy {t} ({c}) from stdin").format(t=table, c=column)) as copy:
            for value in absent:
                copy.write_row((value,))


def _copy_in(conn: psycopg.Connection, tar: tarfile.TarFile, entry: TableEntry) -> int:
    fh = tar.extractfile(entry.file)
    assert fh is not None  # read_backup checked every member
    query = sql.SQL("copy {tbl} ({cols}) from stdin").format(
        tbl=sql.Identifier(entry.schema_name, entry.name),
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in entry.columns),
    )
    with gzip.GzipFile(fileobj=fh, mode="rb") as gz, conn.cursor().copy(query) as copy:
        while chunk := gz.read(CHUNK):
            copy.write(chunk)
    return entry.rows


def _advance_sequences(conn: psycopg.Connection, entry: TableEntry) -> None:
    """Identity and serial columns continue after the largest restored value."""
    qualified = sql.Identifier(entry.schema_name, entry.name).as_string(conn)
    for column in entry.columns:
        seq = conn.execute("select pg_get_serial_sequence(%s, %s)", (qualified, column)).fetchone()[0]
        if seq is None:
            continue
        conn.execute(
            sql.SQL("select setval(%s, coalesce((select max({c}) from {t}), 0) + 1, false)").format(
                c=sql.Identifier(column), t=sql.Identifier(entry.schema_name, entry.name)
            ),
            (seq,),
        )


# ----- verify ----------------------------------------------------------------------------------------------
class TableCheck(BaseModel):
    table: str
    rows_expected: int
    rows_restored: int
    matches: bool


class VerifyReport(BaseModel):
    ok: bool
    tables: list[TableCheck]


def compare_with_manifest(url: str, manifest: Manifest) -> VerifyReport:
    """Re-dump every table of `url` the way the backup did and compare counts and checksums."""
    checks = []
    with connect(url) as conn, conn.transaction():
        conn.execute("set transaction isolation level repeatable read, read only")
        _pin_formats(conn)
        for entry in manifest.tables:
            rows, digest = _dump_table(
                conn, _copy_out_query(entry.schema_name, entry.name, entry.columns, entry.order_by), None
            )
            checks.append(
                TableCheck(
                    table=entry.qualified,
                    rows_expected=entry.rows,
                    rows_restored=rows,
                    matches=rows == entry.rows and digest == entry.sha256,
                )
            )
    return VerifyReport(ok=all(c.matches for c in checks), tables=checks)


def verify_backup(path: Path, scratch_url: str) -> VerifyReport:
    """Restore into an empty, migrated scratch database and compare it with the manifest."""
    manifest = read_backup(path)
    restore_backup(scratch_url, path, create_missing_refs=True)
    return compare_with_manifest(scratch_url, manifest)


# ----- stores and retention ---------------------------------------------------------------------------------
class Store(Protocol):
    def names(self) -> list[str]: ...
    def put(self, local: Path, name: str) -> str: ...
    def fetch(self, name: str, local: Path) -> None: ...
    def delete(self, name: str) -> None: ...


class LocalStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if NAME_PATTERN.match(p.name))

    def put(self, local: Path, name: str) -> str:
        target = self.directory / name
        if local.resolve() != target.resolve():
            self.directory.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        return str(target)

    def fetch(self, name: str, local: Path) -> None:
        shutil.copyfile(self.directory / name, local)

    def delete(self, name: str) -> None:
        (self.directory / name).unlink()


class S3Store:
    def __init__(self, bucket: str, prefix: str, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3  # lazily: only S3 targets need it (the Lambda runtime ships it)

            client = boto3.client("s3")
        self.client = client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def names(self) -> list[str]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key("")):
            for item in page.get("Contents", []):
                name = item["Key"].rsplit("/", 1)[-1]
                if NAME_PATTERN.match(name) and item["Key"] == self._key(name):
                    found.append(name)
        return sorted(found)

    def put(self, local: Path, name: str) -> str:
        self.client.upload_file(str(local), self.bucket, self._key(name))
        return f"s3://{self.bucket}/{self._key(name)}"

    def fetch(self, name: str, local: Path) -> None:
        self.client.download_file(self.bucket, self._key(name), str(local))

    def delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(name))


def open_store(target: str) -> Store:
    """`s3://bucket/prefix` or a folder."""
    if target.startswith("s3://"):
        bucket, _, prefix = target[5:].partition("/")
        if not bucket:
            raise BackupError(f"{target}: an S3 target looks like s3://bucket/prefix")
        return S3Store(bucket, prefix)
    return LocalStore(Path(target))


@contextmanager
def local_copy(backup: str) -> Iterator[Path]:
    """A local path for a backup given as a file path or s3://bucket/key.tar."""
    if not backup.startswith("s3://"):
        yield Path(backup)
        return
    location, _, name = backup.rpartition("/")
    if not NAME_PATTERN.match(name):
        raise BackupError(f"{backup}: not an opsdata backup name (opsdata-backup-<stamp>.tar)")
    store = open_store(location)
    with tempfile.TemporaryDirectory(prefix="opsdata-restore-") as tmp:
        local = Path(tmp) / name
        store.fetch(name, local)
        yield local


def create_backup(url: str, target: str, *, now: datetime | None = None) -> str:
    """Write a backup to a folder or an S3 prefix; returns where it is."""
    if not target.startswith("s3://"):
        return str(write_backup(url, Path(target), now=now))
    store = open_store(target)
    with tempfile.TemporaryDirectory(prefix="opsdata-backup-") as tmp:
        path = write_backup(url, Path(tmp), now=now)
        read_backup(path)  # what we upload is what we checked
        return store.put(path, path.name)


def backup_time(name: str) -> datetime:
    match = NAME_PATTERN.match(name)
    if not match:
        raise BackupError(f"{name}: not an opsdata backup name")
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def to_keep(names: list[str], keep_daily: int, keep_weekly: int) -> set[str]:
    """The newest backup of each of the last `keep_daily` days and of the last `keep_weekly` ISO weeks."""
    newest_per_day: dict[object, str] = {}
    newest_per_week: dict[object, str] = {}
    for name in sorted(names, key=backup_time):
        at = backup_time(name)
        newest_per_day[at.date()] = name
        newest_per_week[at.isocalendar()[:2]] = name
    days = sorted(newest_per_day, reverse=True)[:keep_daily]
    weeks = sorted(newest_per_week, reverse=True)[:keep_weekly]
    return {newest_per_day[d] for d in days} | {newest_per_week[w] for w in weeks}


def prune(store: Store, keep_daily: int = 7, keep_weekly: int = 4) -> list[str]:
    """Delete backups outside the retention; files that are not opsdata backups are never touched."""
    names = store.names()
    keep = to_keep(names, keep_daily, keep_weekly)
    deleted = [n for n in names if n not in keep]
    for name in deleted:
        store.delete(name)
    return deleted


def verify_in_scratch(path: Path) -> VerifyReport:
    """Verify on the embedded local cluster: a scratch database is migrated, restored into and dropped."""
    import uuid

    from opsdata.core import migrations
    from opsdata.localstack import LocalCluster

    cluster = LocalCluster()
    cluster.up()
    name = f"opsdata_verify_{uuid.uuid4().hex[:12]}"
    with connect(cluster.admin_url()) as admin:
        admin.execute(sql.SQL("create database {} owner postgres").format(sql.Identifier(name)))
    try:
        cluster.apply_platform(name)
        with connect(cluster.url(name)) as conn:
            migrations.migrate(conn)
        return verify_backup(path, cluster.url(name))
    finally:
        with connect(cluster.admin_url()) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
