"""Settings: one pydantic model, read once from the environment.

Nothing else in opsdata reads os.environ for configuration. Each setting is read from the
variable named by its alias, else its field name, case-insensitively; values given to
`Settings(...)` win over the environment. A plain model rather than pydantic-settings: the
Lambda cold start does not pay (~6 % of the handler import) for sources opsdata never uses
(dotenv, secret directories, cloud vaults).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

# functions/opsdata/core/settings.py -> the checkout root (only meaningful outside Lambda).
REPO_ROOT = Path(__file__).resolve().parents[3]

LOCAL_DB_PASSWORD = "postgres"  # noqa: S105 - the embedded cluster's password, as with `supabase start`
# The Supabase CLI's local defaults: `supabase start` signs tokens with this secret and serves
# Auth on this URL. Never valid on Lambda (the API handler refuses to start with them).
LOCAL_SUPABASE_URL = "http://127.0.0.1:54321"
LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"  # noqa: S105
LOCAL_CURSOR_SECRET = "opsdata-local-development-cursor-secret"  # noqa: S105


class Settings(BaseModel):
    # validate_default: a bad default fails at once, as with pydantic-settings
    model_config = ConfigDict(extra="ignore", frozen=True, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, given: Any) -> Any:
        """The environment's values under the ones given explicitly."""
        if not isinstance(given, dict):
            return given
        environ = {name.lower(): value for name, value in os.environ.items()}
        found = {}
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key.lower() in environ:
                found[key] = environ[key.lower()]
        return {**found, **given}

    database_url: str | None = Field(
        default=None,
        description="Postgres URL (role postgres). When set, nothing local is started.",
    )
    db_port: int = Field(default=54322, alias="OPSDATA_DB_PORT", ge=1024, le=65535)
    local_dir: Path = Field(default=REPO_ROOT / ".local", alias="OPSDATA_LOCAL_DIR")
    pg_bin: Path = Field(default=Path("/usr/lib/postgresql/15/bin"), alias="OPSDATA_PG_BIN")
    # Attachment worker (Lambda): where cleaned images go, the idempotency table, and hosts
    # that may resolve to non-public addresses (comma-separated; e.g. a self-hosted Chatwoot).
    attachment_store: str | None = Field(default=None, alias="OPSDATA_ATTACHMENT_STORE")
    idempotency_table: str | None = Field(default=None, alias="IDEMPOTENCY_TABLE")  # template Globals
    attachment_allow_hosts: str = Field(default="", alias="OPSDATA_ATTACHMENT_ALLOW_HOSTS")
    # ----- Chatwoot export pipeline on AWS (S3 upload -> slices -> workers -> corpus) -----
    chatwoot_slices_queue_url: str | None = Field(
        default=None, alias="OPSDATA_CHATWOOT_SLICES_QUEUE_URL", description="SQS queue of export slices."
    )
    attachments_queue_url: str | None = Field(
        default=None, alias="OPSDATA_ATTACHMENTS_QUEUE_URL", description="SQS queue of the attachment worker."
    )
    chatwoot_work_store: str | None = Field(
        default=None,
        alias="OPSDATA_CHATWOOT_WORK_STORE",
        description="s3://bucket/prefix for slices and per-slice outputs (temporary).",
    )
    chatwoot_corpus_store: str | None = Field(
        default=None, alias="OPSDATA_CHATWOOT_CORPUS_STORE", description="s3://bucket/prefix for assembled corpora."
    )
    chatwoot_slice_conversations: int = Field(
        default=250, ge=1, le=10_000, alias="OPSDATA_CHATWOOT_SLICE_CONVERSATIONS"
    )
    chatwoot_slice_bytes: int = Field(
        default=16 * 1024 * 1024, ge=64 * 1024, le=200 * 1024 * 1024, alias="OPSDATA_CHATWOOT_SLICE_BYTES"
    )
    # A slice whose images are still being downloaded looks again after this delay, this many times.
    chatwoot_image_wait_seconds: int = Field(default=300, ge=0, le=900, alias="OPSDATA_CHATWOOT_IMAGE_WAIT_SECONDS")
    chatwoot_image_wait_passes: int = Field(default=12, ge=0, le=96, alias="OPSDATA_CHATWOOT_IMAGE_WAIT_PASSES")
    # The slices queue's maxReceiveCount: on the last receive a failing slice is recorded as failed.
    chatwoot_slice_max_receives: int = Field(default=5, ge=1, le=1000, alias="OPSDATA_CHATWOOT_SLICE_MAX_RECEIVES")

    # Where the process runs: progress displays stay quiet in CI and on Lambda.
    ci: bool = Field(default=False, alias="CI")
    lambda_function_name: str | None = Field(default=None, alias="AWS_LAMBDA_FUNCTION_NAME")

    # ----- data reliability (alerts delivery, backups) -----
    database_url_parameter: str | None = Field(
        default=None,
        alias="DATABASE_URL_PARAMETER",
        description="SSM SecureString holding the Postgres URL; Lambda functions read it when DATABASE_URL is unset.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None, description="Slack-compatible incoming webhook for alerts (a secret: never logged)."
    )
    alert_webhook_url_parameter: str | None = Field(
        default=None,
        description="SSM SecureString holding the alert webhook URL (used when ALERT_WEBHOOK_URL is unset).",
    )
    backup_target: str | None = Field(
        default=None, description="Where scheduled backups go: a folder or s3://bucket/prefix."
    )
    backup_keep_daily: int = Field(default=7, ge=1, le=366)
    backup_keep_weekly: int = Field(default=4, ge=0, le=520)

    # ----- the read API (opsdata.api) ----------------------------------------------------
    supabase_url: str = Field(
        default=LOCAL_SUPABASE_URL,
        alias="SUPABASE_URL",
        description="Project URL; tokens must carry iss = <SUPABASE_URL>/auth/v1.",
    )
    supabase_jwt_secret: SecretStr | None = Field(
        default=SecretStr(LOCAL_JWT_SECRET),
        alias="SUPABASE_JWT_SECRET",
        description="Legacy HS256 project secret; empty disables HS256 (JWKS keys only).",
    )
    supabase_jwks_url: str | None = Field(
        default=None,
        alias="SUPABASE_JWKS_URL",
        description="JWKS for ES256/RS256 tokens; default <SUPABASE_URL>/auth/v1/.well-known/jwks.json.",
    )
    cursor_secret: SecretStr = Field(
        default=SecretStr(LOCAL_CURSOR_SECRET),
        alias="OPSDATA_CURSOR_SECRET",
        description="HMAC key that signs pagination cursors.",
    )
    api_cache: bool = Field(default=True, alias="OPSDATA_API_CACHE", description="Serve and fill the response cache.")
    api_connections: int = Field(
        default=4, alias="OPSDATA_API_CONNECTIONS", ge=1, le=64, description="Database connections per server process."
    )
    # On Lambda the secrets live in SSM Parameter Store (SecureString); these name the parameters
    # (the database URL's parameter is database_url_parameter above).
    jwt_secret_parameter: str | None = Field(default=None, alias="OPSDATA_JWT_SECRET_PARAMETER")
    cursor_secret_parameter: str | None = Field(default=None, alias="OPSDATA_CURSOR_SECRET_PARAMETER")
    api_base_path: str | None = Field(
        default=None, alias="OPSDATA_API_BASE_PATH", description="A custom domain's base path mapping, stripped."
    )

    @property
    def issuer(self) -> str:
        return self.supabase_url.rstrip("/") + "/auth/v1"

    @property
    def jwks_url(self) -> str:
        return self.supabase_jwks_url or self.issuer + "/.well-known/jwks.json"

    @property
    def on_lambda(self) -> bool:
        return self.lambda_function_name is not None

    @property
    def uses_local_cluster(self) -> bool:
        return not self.database_url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
