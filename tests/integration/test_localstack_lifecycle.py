"""A second, throwaway cluster: initdb, start, stop, restart, reset, port conflicts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from opsdata.core.db import connect
from opsdata.core.settings import Settings
from opsdata.localstack import ClusterError, LocalCluster


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_a_new_cluster_goes_through_its_whole_lifecycle(tmp_path: Path) -> None:
    # Given a checkout folder the postgres OS user may not be able to enter (pytest's tmp is 0700)
    settings = Settings(OPSDATA_DB_PORT=_free_port(), OPSDATA_LOCAL_DIR=tmp_path / ".local")
    cluster = LocalCluster(settings)
    assert not cluster.status().initialized

    try:
        # When it is brought up, it is initialized, running and Supabase-shaped
        status = cluster.up()
        assert status.initialized and status.running
        assert (tmp_path / ".local" / "pg").exists(), "the cluster is found from the checkout"
        with connect(cluster.url()) as conn:
            assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone() == (False,)
            conn.execute("create table public.keep_me (id int)")

        # Stopping keeps the data; starting again finds it
        assert not cluster.down().running
        assert cluster.down().initialized, "stopping a stopped cluster is fine"
        cluster.up()
        with connect(cluster.url()) as conn:
            assert conn.execute("select to_regclass('public.keep_me') is not null").fetchone() == (True,)

        # Reset gives an empty cluster
        cluster.reset()
        with connect(cluster.url()) as conn:
            assert conn.execute("select to_regclass('public.keep_me') is null").fetchone() == (True,)
    finally:
        cluster.destroy()
    assert not cluster.root.exists() and not (tmp_path / ".local" / "pg").exists()


def test_starting_on_a_port_someone_else_uses_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        cluster = LocalCluster(Settings(OPSDATA_DB_PORT=port, OPSDATA_LOCAL_DIR=tmp_path / ".local"))
        cluster.data_dir.mkdir(parents=True)
        (cluster.data_dir / "PG_VERSION").write_text("15\n")  # looks initialized, is not running
        try:
            with pytest.raises(ClusterError, match=f"port {port} is already used by another server"):
                cluster._start()
        finally:
            cluster.destroy()


def test_missing_server_binaries_are_named(tmp_path: Path) -> None:
    cluster = LocalCluster(Settings(OPSDATA_LOCAL_DIR=tmp_path, OPSDATA_PG_BIN=tmp_path / "nowhere"))
    with pytest.raises(ClusterError, match="PostgreSQL 15 server binaries are missing"):
        cluster.up()
