"""Secrets from SSM Parameter Store: the one way every Lambda handler reads them.

Settings name the SecureString parameters (`DATABASE_URL_PARAMETER`, `OPSDATA_JWT_SECRET_PARAMETER`,
`OPSDATA_CURSOR_SECRET_PARAMETER`, `ALERT_WEBHOOK_URL_PARAMETER`); `with_secrets(settings, fields)`
returns the settings with those fields filled in from SSM, decrypted, in one GetParameters call
(Powertools Parameters, cached 15 minutes per execution environment). A named parameter wins over
a plain value of the same setting, so a deployment that names one never falls back to a local
development default. boto3 (shipped by the Lambda runtime) is imported only when a name is set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import SecretStr

from opsdata.core.settings import Settings

SecretField = Literal["database_url", "supabase_jwt_secret", "cursor_secret", "alert_webhook_url"]
# each secret setting and the setting naming its parameter
PARAMETER_OF: dict[SecretField, str] = {
    "database_url": "database_url_parameter",
    "supabase_jwt_secret": "jwt_secret_parameter",
    "cursor_secret": "cursor_secret_parameter",
    "alert_webhook_url": "alert_webhook_url_parameter",
}
MAX_AGE_SECONDS = 900


def with_secrets(settings: Settings, fields: Iterable[SecretField]) -> Settings:
    """`settings` with each of `fields` read from its named SSM parameter (fields without a name stay)."""
    wanted = {field: getattr(settings, PARAMETER_OF[field]) for field in fields}
    wanted = {field: name for field, name in wanted.items() if name}
    if not wanted:
        return settings
    from aws_lambda_powertools.utilities import parameters

    values = parameters.get_parameters_by_name(
        {name: {"decrypt": True} for name in set(wanted.values())}, max_age=MAX_AGE_SECONDS, raise_on_error=True
    )
    update: dict[str, str | SecretStr] = {}
    for field, name in wanted.items():
        value = str(values[name])
        update[field] = value if field == "database_url" else SecretStr(value)
    return settings.model_copy(update=update)


def clear_cache() -> None:
    """Forget cached values (tests; a rotated secret is otherwise picked up within MAX_AGE_SECONDS)."""
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
