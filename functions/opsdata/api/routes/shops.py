"""GET /api/data/shops ↔ sql/functions/tenancy/my_shops.sql."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from opsdata.api.endpoint import ApiItem, ApiParams, Endpoint


class Shop(ApiItem):
    id: UUID
    domain: str
    name: str
    currency: str
    timezone: str
    role: Literal["viewer", "operator", "admin"]


ENDPOINTS = [
    Endpoint(
        path="/api/data/shops",
        function="public.my_shops",
        params=ApiParams,
        item=Shop,
        summary="The caller's shops with their role in each",
        ttl_minutes=5,
    ),
]
