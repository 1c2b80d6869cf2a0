"""The embedded local stack: a private PostgreSQL 15 cluster shaped like a Supabase project.

Port 54322 and database `postgres` (the Supabase CLI's local defaults), cluster superuser
`supabase_admin`, `postgres` demoted, API roles, auth/realtime/net stand-ins and pg_cron, all
from infra/local/platform.sql. Listens on 127.0.0.1 only, with password authentication.

initdb refuses to run as root, so as root every server binary runs as the `postgres` OS user.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import psycopg

from opsdata.core.db import connect, local_url
from opsdata.core.settings import LOCAL_DB_PASSWORD, REPO_ROOT, Settings, get_settings

PLATFORM_SQL = REPO_ROOT / "infra" / "local" / "platform.sql"
SUPERUSER = "supabase_admin"
OS_USER = "postgres"
STAND_IN_ROOT = Path("/var/lib/opsdata")

# Written on every `up`, so a newer checkout's settings apply to an existing cluster on restart.
SERVER_CONF = """\
# Managed by opsdata (opsdata/localstack.py); rewritten on every `opsdata db up`.
port = {port}
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = logical
max_worker_processes = 16
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_connections = 100
shared_buffers = '512MB'
work_mem = '32MB'
maintenance_work_mem = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '15min'
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
"""


class ClusterError(RuntimeError):
    """The local cluster could not be brought to the requested state."""


@dataclass(frozen=True)
class ClusterStatus:
    data_dir: Path
    initialized: bool
    running: bool
    port: int


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", OS_USER, "--", *cmd] if _running_as_root() else cmd


def _existing_ancestor(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _owner_can_reach(path: Path) -> bool:
    """Whether the postgres OS user can traverse into `path` (a mktemp'd 0700 parent blocks it)."""
    return subprocess.run(_as_owner(["test", "-x", str(path)]), capture_output=True).returncode == 0


class LocalCluster:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.port = self.settings.db_port
        self.local_dir = self.settings.local_dir
        self.bin = self.settings.pg_bin

    # ----- locations -----------------------------------------------------------------
    @cached_property
    def root(self) -> Path:
        """Folder holding data/ and server.log: .local/pg, or a reachable stand-in as root."""
        preferred = self.local_dir / "pg"
        if preferred.is_symlink():
            return preferred.resolve()
        if preferred.exists() or not _running_as_root() or _owner_can_reach(_existing_ancestor(self.local_dir)):
            return preferred
        # The checkout sits under a folder the postgres user cannot enter (a mktemp'd 0700 dir):
        # keep the cluster in /var/lib/opsdata; _initdb leaves a symlink in the checkout.
        digest = hashlib.sha256(str(self.local_dir.resolve()).encode()).hexdigest()[:12]
        return STAND_IN_ROOT / digest

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres", *, user: str = "postgres") -> str:
        return local_url(self.port, user=user, dbname=dbname)

    def admin_url(self, dbname: str = "postgres") -> str:
        return self.url(dbname, user=SUPERUSER)

    # ----- state ---------------------------------------------------------------------
    def _pg(self, tool: str) -> str:
        path = self.bin / tool
        if not path.exists():
            raise ClusterError(
                f"{path} not found: PostgreSQL 15 server binaries are missing "
                "(run `make deps` or infra/local/install-system-deps.sh)"
            )
        return str(path)

    def status(self) -> ClusterStatus:
        initialized = (self.data_dir / "PG_VERSION").exists()
        running = False
        if initialized:
            result = subprocess.run(
                _as_owner([self._pg("pg_ctl"), "-D", str(self.data_dir), "status"]),
                capture_output=True,
            )
            running = result.returncode == 0
        return ClusterStatus(self.data_dir, initialized, running, self.port)

    # ----- transitions ---------------------------------------------------------------
    def up(self) -> ClusterStatus:
        """Initialize if needed, start if stopped, (re)apply the platform emulation. Idempotent."""
        if not self.status().initialized:
            self._initdb()
        self._write_config()
        if not self.status().running:
            self._start()
        self.apply_platform("postgres")
        return self.status()

    def down(self) -> ClusterStatus:
        if self.status().running:
            subprocess.run(
                _as_owner([self._pg("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]),
                check=True,
                capture_output=True,
            )
        return self.status()

    def reset(self) -> ClusterStatus:
        """Destroy the cluster and all its data, then bring up an empty one."""
        self.down()
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        return self.up()

    def apply_platform(self, dbname: str) -> None:
        """Run infra/local/platform.sql as the superuser in one database."""
        with connect(self.admin_url(dbname)) as conn:
            conn.execute(PLATFORM_SQL.read_text())

    # ----- internals -------------------------------------------------------------------
    def destroy(self) -> None:
        """Stop the cluster and delete it entirely (data, log, stand-in folder and symlink)."""
        self.down()
        link = self.local_dir / "pg"
        if self.root.exists():
            shutil.rmtree(self.root)
        if link.is_symlink():
            link.unlink()

    def _initdb(self) -> None:
        initdb = self._pg("initdb")
        self.root.mkdir(parents=True, exist_ok=True)
        link = self.local_dir / "pg"
        if self.root != link and not link.is_symlink():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(self.root)
        if _running_as_root():
            shutil.chown(self.root, OS_USER, OS_USER)
        pwfile = self.root / ".pwfile"
        pwfile.write_text(LOCAL_DB_PASSWORD + "\n")
        if _running_as_root():
            shutil.chown(pwfile, OS_USER, OS_USER)
        try:
            result = subprocess.run(
                _as_owner(
                    [
                        initdb,
                        "-D",
                        str(self.data_dir),
                        "-U",
                        SUPERUSER,
                        f"--pwfile={pwfile}",
                        "--auth-local=scram-sha-256",
                        "--auth-host=scram-sha-256",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ]
                ),
                capture_output=True,
                text=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{result.stderr.strip()}")
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\ninclude_if_exists = 'opsdata.conf'\n")

    def _write_config(self) -> None:
        target = self.data_dir / "opsdata.conf"
        target.write_text(SERVER_CONF.format(port=self.port))
        if _running_as_root():
            shutil.chown(target, OS_USER, OS_USER)

    def _port_taken(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def _start(self) -> None:
        if self._port_taken():
            raise ClusterError(
                f"port {self.port} is already used by another server; stop it or choose another "
                "port with OPSDATA_DB_PORT (or point DATABASE_URL at that server)"
            )
        result = subprocess.run(
            _as_owner(
                [
                    self._pg("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            tail = self.log_file.read_text().splitlines()[-15:] if self.log_file.exists() else []
            raise ClusterError("the local cluster did not start:\n" + "\n".join(tail or [result.stderr]))
        self._wait_until_accepting()

    def _wait_until_accepting(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url(), connect_timeout=2):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"the local cluster does not accept connections: {exc}") from exc
                time.sleep(0.2)
