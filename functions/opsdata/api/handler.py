"""AWS Lambda entry point for the read API: the ASGI app behind Mangum (API Gateway HTTP API v2).

Cold start: settings, with the secrets read from SSM Parameter Store when their parameter names
are configured (opsdata.core.secrets), then the app. The app opens
its one database connection on the first request and keeps it for the execution environment.

API Gateway puts a named stage in the path (`/prod/api/data/shops`; the `$default` stage does
not); it is stripped before routing, as is OPSDATA_API_BASE_PATH for custom domain mappings.
"""

from __future__ import annotations

from typing import Any

from opsdata.core.db import database_url
from opsdata.core.secrets import with_secrets
from opsdata.core.session import ConnectionSlots
from opsdata.core.settings import LOCAL_CURSOR_SECRET, LOCAL_JWT_SECRET, LOCAL_SUPABASE_URL, Settings, get_settings


class ConfigurationError(RuntimeError):
    """The function is deployed without something it needs; it refuses to serve."""


def lambda_settings(settings: Settings | None = None) -> Settings:
    """Settings with the SSM-held secrets filled in; refuses local development defaults on Lambda."""
    settings = with_secrets(settings or get_settings(), ("database_url", "supabase_jwt_secret", "cursor_secret"))
    if settings.on_lambda:
        problems = []
        if not settings.database_url:
            problems.append("no database URL (set DATABASE_URL_PARAMETER)")
        if settings.supabase_url == LOCAL_SUPABASE_URL:
            problems.append("SUPABASE_URL is the local default")
        secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else ""
        if secret == LOCAL_JWT_SECRET:
            problems.append("the JWT secret is the local development secret")
        if settings.cursor_secret.get_secret_value() == LOCAL_CURSOR_SECRET:
            problems.append("the cursor secret is the local development secret (set OPSDATA_CURSOR_SECRET_PARAMETER)")
        if problems:
            raise ConfigurationError("refusing to serve: " + "; ".join(problems))
    return settings


def strip_base_path(event: dict[str, Any], base_path: str | None) -> dict[str, Any]:
    """The event with the stage (and a configured base path) removed from the request path."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    path = http.get("path") or event.get("rawPath") or "/"
    prefixes = []
    stage = context.get("stage")
    if stage and stage != "$default":
        prefixes.append("/" + stage)
    if base_path and base_path.strip("/"):
        prefixes.append("/" + base_path.strip("/"))
    for prefix in prefixes:
        if path == prefix or path.startswith(prefix + "/"):
            path = path[len(prefix) :] or "/"
    if path == (http.get("path") or event.get("rawPath")):
        return event
    return {**event, "rawPath": path, "requestContext": {**context, "http": {**http, "path": path}}}


# Cold start: settings (and secrets) first, then the database connection is opened in the
# background while the web framework, the routes and Powertools are imported.
_settings = lambda_settings()
_slots = ConnectionSlots(database_url(_settings), size=_settings.api_connections)
_slots.prewarm_in_background()

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402
from mangum import Mangum  # noqa: E402

from opsdata.api.app import build_context, create_app  # noqa: E402
from opsdata.core.observability import count, get_metrics, logger  # noqa: E402

app = create_app(context=build_context(_settings, _slots), one_request_at_a_time=True)
_asgi = Mangum(app, lifespan="off")
metrics = get_metrics()


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    response = _asgi(strip_base_path(event, _settings.api_base_path), context)
    status = int(response.get("statusCode", 500))
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    count("Requests")
    if status >= 500:
        count("ServerErrors")
    if headers.get("x-cache") in ("hit", "miss"):
        count(f"Cache{headers['x-cache'].capitalize()}")
    return response
