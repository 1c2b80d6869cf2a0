"""The OpenAPI 3.1 document, generated from the endpoint declarations (their pydantic models)."""

from __future__ import annotations

from typing import Any

from opsdata.api.endpoint import STATEMENT_TIMEOUT_MS, Endpoint
from opsdata.api.status_page import STATUS_PATH

REF = "#/components/schemas/{model}"

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "SQLSTATE for database errors, else a short name"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
_META = {
    "type": "object",
    "required": ["total", "cached", "cache_expires_at", "next_cursor"],
    "properties": {
        "total": {"type": ["integer", "null"], "description": "Rows behind all pages (null if not counted)"},
        "cached": {"type": "boolean", "description": "True exactly when served from the shared cache"},
        "cache_expires_at": {"type": ["string", "null"], "format": "date-time"},
        "next_cursor": {"type": ["string", "null"], "description": "Pass as `cursor` for the next page"},
    },
}
_ERROR_RESPONSES = {
    "400": "Bad parameter, cursor or query string",
    "401": "Missing or invalid bearer token (see WWW-Authenticate)",
    "403": "Not a member of the shop",
    "500": "Internal error (details.correlation_id)",
    "503": "Database or signing keys unavailable",
}


def _error_responses() -> dict[str, Any]:
    return {
        code: {"description": text, "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
        for code, text in _ERROR_RESPONSES.items()
    }


def _parameters(endpoint: Endpoint, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = endpoint.params.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema.get("properties", {}).items():
        value = {k: v for k, v in prop.items() if k not in ("description", "title")}
        # an omitted query parameter is the null of an optional field: document the value's type
        options = [o for o in value.pop("anyOf", []) if o != {"type": "null"}]
        if len(options) == 1:
            value.update(options[0])
        elif options:
            value["anyOf"] = options
        if value.get("default", 0) is None:
            del value["default"]
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": prop.get("description", ""),
                "schema": value,
            }
        )
    return sorted(parameters, key=lambda p: not p["required"])


def build_document(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR, "Meta": _META}
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        item = endpoint.item.model_json_schema(ref_template=REF)
        schemas.update(item.pop("$defs", {}))
        schemas[endpoint.item.__name__] = item
        notes = [
            f"SQL: `{endpoint.function}` (also callable by PostgREST RPC with the same arguments).",
            f"Cached for {endpoint.ttl_minutes} min per shop scope;"
            f" statement timeout {STATEMENT_TIMEOUT_MS[endpoint.timeout] // 1000} s ({endpoint.timeout}).",
        ]
        if endpoint.keyset:
            notes.append(f"Keyset pagination on ({', '.join(endpoint.keyset)}).")
        paths[endpoint.path] = {
            "get": {
                "operationId": endpoint.function.split(".")[-1],
                "summary": endpoint.summary,
                "description": "\n\n".join(filter(None, [endpoint.description, *notes])),
                "parameters": _parameters(endpoint, schemas),
                "responses": {
                    "200": {
                        "description": "The envelope",
                        "headers": {
                            "ETag": {"schema": {"type": "string"}},
                            "Cache-Control": {"schema": {"type": "string"}},
                        },
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["data", "meta"],
                                    "properties": {
                                        "data": {
                                            "type": "array",
                                            "items": {"$ref": REF.format(model=endpoint.item.__name__)},
                                        },
                                        "meta": {"$ref": REF.format(model="Meta")},
                                    },
                                }
                            }
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                    **_error_responses(),
                },
            }
        }
    paths["/health"] = {
        "get": {
            "operationId": "health",
            "summary": "Liveness: the database answers (no authentication)",
            "security": [],
            "responses": {"200": {"description": "ok"}, "503": {"description": "database unavailable"}},
        }
    }
    paths[STATUS_PATH] = {
        "get": {
            "operationId": "status_page",
            "summary": "The data status page (HTML; no authentication: it holds no data)",
            "description": "A self-contained page that signs in with a Supabase access token (pasted, or"
            " `/status#access_token=...`) and reads /api/data/shops, data-quality, alerts, anomalies,"
            " anomaly-series and source-daily-rows with it. A token in the query string is refused (400).",
            "security": [],
            "responses": {
                "200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}},
                "304": {"description": "Not modified"},
                "400": {
                    "description": "An access token in the query string",
                    "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
                },
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "opsdata read API", "version": version},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Supabase Auth access token (role authenticated)",
                }
            },
        },
    }
