"""Stage and base-path stripping for API Gateway events, and the OpenAPI document's integrity."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from opsdata.core.settings import get_settings


@pytest.fixture(scope="module")
def handler_module() -> Iterator[ModuleType]:
    # the handler module reads settings and starts a background connection attempt at import;
    # point it at a closed port so this unit test needs no database, and leave nothing behind
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:9/postgres")
        get_settings.cache_clear()
        sys.modules.pop("opsdata.api.handler", None)
        yield importlib.import_module("opsdata.api.handler")
    sys.modules.pop("opsdata.api.handler", None)
    get_settings.cache_clear()


def _event(path: str, stage: str) -> dict:
    return {"rawPath": path, "requestContext": {"stage": stage, "http": {"path": path, "method": "GET"}}}


@pytest.mark.parametrize(
    ("path", "stage", "base", "expected"),
    [
        ("/api/data/shops", "$default", None, "/api/data/shops"),
        ("/prod/api/data/shops", "prod", None, "/api/data/shops"),
        ("/prod", "prod", None, "/"),
        ("/production/api/data/shops", "prod", None, "/production/api/data/shops"),
        ("/opsdata/api/data/shops", "$default", "opsdata", "/api/data/shops"),
        ("/prod/opsdata/health", "prod", "/opsdata/", "/health"),
    ],
)
def test_stage_and_base_path_are_stripped(
    handler_module, path: str, stage: str, base: str | None, expected: str
) -> None:
    event = handler_module.strip_base_path(_event(path, stage), base)
    assert event["rawPath"] == expected and event["requestContext"]["http"]["path"] == expected


def test_openapi_refs_all_resolve() -> None:
    from opsdata import __version__
    from opsdata.api.openapi import build_document
    from opsdata.api.routes import ENDPOINTS

    document = build_document(ENDPOINTS, __version__)
    text = json.dumps(document)
    schemas = document["components"]["schemas"]
    refs = {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}
    assert refs and refs <= schemas.keys()
    assert "$defs" not in text
    for endpoint in ENDPOINTS:
        operation = document["paths"][endpoint.path]["get"]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]
        assert {"400", "401", "403", "500"} <= operation["responses"].keys()


def test_endpoint_declarations_are_checked() -> None:
    from opsdata.api.endpoint import ApiItem, ApiParams, Endpoint

    with pytest.raises(ValueError, match="TTL"):
        Endpoint(path="/api/data/x", function="public.x", params=ApiParams, item=ApiItem, summary="x", ttl_minutes=61)
    with pytest.raises(ValueError, match="PageParams"):
        Endpoint(
            path="/api/data/x",
            function="public.x",
            params=ApiParams,
            item=ApiItem,
            summary="x",
            ttl_minutes=5,
            keyset=("id",),
        )
