"""Settings come from the environment (alias, else field name, any case); explicit values win."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opsdata.core.settings import LOCAL_CURSOR_SECRET, Settings


def test_settings_are_read_from_the_environment_by_alias_or_field_name_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSDATA_DB_PORT", "55001")  # alias
    monkeypatch.setenv("backup_keep_daily", "9")  # field name, lower case
    monkeypatch.setenv("Opsdata_Api_Cache", "false")  # alias, mixed case
    monkeypatch.setenv("OPSDATA_CURSOR_SECRET", "from-the-environment")
    settings = Settings()
    assert settings.db_port == 55001
    assert settings.backup_keep_daily == 9
    assert settings.api_cache is False
    assert settings.cursor_secret.get_secret_value() == "from-the-environment"
    assert "from-the-environment" not in repr(settings)  # secrets stay masked


def test_explicit_values_win_over_the_environment_and_unset_ones_keep_their_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPSDATA_DB_PORT", "55001")
    monkeypatch.delenv("OPSDATA_CURSOR_SECRET", raising=False)
    settings = Settings(OPSDATA_DB_PORT=55002)
    assert settings.db_port == 55002
    assert settings.cursor_secret.get_secret_value() == LOCAL_CURSOR_SECRET


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSDATA_API_CONNECTIONS", "0")
    with pytest.raises(ValidationError, match="OPSDATA_API_CONNECTIONS"):
        Settings()


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError):
        Settings().db_port = 1  # type: ignore[misc]
