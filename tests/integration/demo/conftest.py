"""`opsdata demo` in tests: a fresh database, its files in a temporary local dir, loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdata.core.settings import get_settings


@pytest.fixture
def demo_env(use_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loopback_network: list[str]) -> str:
    """The database URL; the demo writes under tmp_path/local instead of the checkout's .local (run
    from tmp_path, as `make demo` runs from the checkout), and any connection off loopback (the
    demo's image downloads included) fails the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OPSDATA_LOCAL_DIR", str(tmp_path / "local"))
    get_settings.cache_clear()
    return use_database
