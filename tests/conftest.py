"""Test harness: a real Postgres (the embedded cluster), one migrated template per session.

- `db`: a connection to the session's test database inside a transaction that is rolled
  back after the test (code under test nests its own transactions as savepoints).
- `fresh_database_url`: a database of its own, cloned from the template, for tests whose
  code must really commit (subprocesses, servers, other connections); dropped afterwards.
Tests always use the embedded cluster, whatever DATABASE_URL says.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

os.environ.pop("DATABASE_URL", None)

from opsdata.core import migrations
from opsdata.core.db import connect
from opsdata.core.settings import get_settings
from opsdata.localstack import LocalCluster

SESSION_TAG = f"{os.getpid()}"


def _drop_database(cluster: LocalCluster, name: str) -> None:
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


def _drop_stale_databases(cluster: LocalCluster) -> None:
    """Databases left by test sessions that were killed (their process is gone)."""
    with connect(cluster.admin_url()) as admin:
        names = [
            r[0]
            for r in admin.execute("select datname from pg_database where datname ~ '^opsdata_(tpl|test|fresh)_[0-9]+'")
        ]
    for name in names:
        pid = int(name.split("_")[2])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _drop_database(cluster, name)
        except PermissionError:
            pass


def create_database_from(cluster: LocalCluster, name: str, template: str) -> str:
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" template "{template}" owner postgres')
    return cluster.url(name)


@pytest.fixture(scope="session")
def cluster() -> LocalCluster:
    get_settings.cache_clear()
    local = LocalCluster(get_settings())
    local.up()
    _drop_stale_databases(local)
    return local


@pytest.fixture(scope="session")
def template_database(cluster: LocalCluster) -> Iterator[str]:
    """A database migrated from scratch with the checkout's migrations and function files."""
    name = f"opsdata_tpl_{SESSION_TAG}"
    _drop_database(cluster, name)
    with connect(cluster.admin_url()) as admin:
        admin.execute(f'create database "{name}" owner postgres')
    cluster.apply_platform(name)
    with connect(cluster.url(name)) as conn:
        migrations.migrate(conn)
    yield name
    _drop_database(cluster, name)


@pytest.fixture(scope="session")
def test_database_url(cluster: LocalCluster, template_database: str) -> Iterator[str]:
    name = f"opsdata_test_{SESSION_TAG}"
    _drop_database(cluster, name)
    url = create_database_from(cluster, name, template_database)
    yield url
    _drop_database(cluster, name)


@pytest.fixture
def db(test_database_url: str) -> Iterator[psycopg.Connection]:
    """A connection as `postgres` whose every change is rolled back after the test."""
    with connect(test_database_url) as conn, conn.transaction(force_rollback=True):
        yield conn


@pytest.fixture
def fresh_database_url(cluster: LocalCluster, template_database: str) -> Iterator[str]:
    name = f"opsdata_fresh_{SESSION_TAG}_{uuid.uuid4().hex[:8]}"
    url = create_database_from(cluster, name, template_database)
    yield url
    _drop_database(cluster, name)


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch, fresh_database_url: str) -> Iterator[str]:
    """Points the settings (and so every command) at a fresh database via DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", fresh_database_url)
    get_settings.cache_clear()
    yield fresh_database_url
    get_settings.cache_clear()


@pytest.fixture
def new_project_database(cluster: LocalCluster) -> Iterator[Callable[[], str]]:
    """Makes databases with only the platform emulation (what a new Supabase project has).

    Call it for each database you need; all are dropped afterwards.
    """
    made: list[str] = []

    def make() -> str:
        name = f"opsdata_fresh_{SESSION_TAG}_{uuid.uuid4().hex[:8]}"
        with connect(cluster.admin_url()) as admin:
            admin.execute(f'create database "{name}" owner postgres')
        made.append(name)
        cluster.apply_platform(name)
        return cluster.url(name)

    yield make
    for name in made:
        _drop_database(cluster, name)


@pytest.fixture
def empty_database(new_project_database: Callable[[], str]) -> str:
    """One database with only the platform emulation: what a new Supabase project looks like."""
    return new_project_database()


# ----- loopback HTTP (untrusted downloads) ----------------------------------------------
@pytest.fixture
def loopback_network() -> Iterator[list[str]]:
    """Any TCP connection off loopback is refused and fails the test afterwards."""
    from support_http import loopback_only

    with loopback_only() as violations:
        yield violations
    assert not violations, f"the code under test tried to connect to {violations}"


@pytest.fixture
def http_server(loopback_network: list[str]):
    """A real threaded HTTP server on 127.0.0.1 (see tests/support_http.py)."""
    from support_http import LoopbackServer

    with LoopbackServer() as server:
        yield server
