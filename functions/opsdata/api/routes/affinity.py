"""Product affinity routes ↔ sql/functions/affinity/ (list_product_affinity, frequently_bought_with,
recommend_for_cart).

Conviction is infinite when a rule never fails; JSON has no infinity, so it is served as `null`
with `conviction_kind` saying why (`infinite`, or `undefined` when the other product is in every order).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from opsdata.api.endpoint import ApiItem, Endpoint, PageParams, ShopParams

WindowDays = Field(default=None, ge=1, le=3660, description="The rules' window in days (default 365).")
Products = list[int]


class AffinityRule(ApiItem):
    shop_id: UUID
    window_days: int
    product_id: int = Field(description="Antecedent: the product in the cart")
    other_product_id: int = Field(description="Consequent: the product bought with it")
    n_together: int = Field(description="Orders with both products")
    n_product: int
    n_other: int
    n_orders: int = Field(description="Qualifying orders in the window (N), single-item orders included")
    support: float
    confidence: float
    lift: float
    leverage: float
    conviction: float | None = Field(description="null unless conviction_kind is finite (JSON has no infinity)")
    conviction_kind: Literal["finite", "infinite", "undefined"]
    score: float = Field(description="Shrunk lift: (n_together + 1) / (expected + 1); ranks rare pairs fairly")
    first_day: date
    last_day: date
    refreshed_at: datetime


class ProductAffinityParams(ShopParams, PageParams):
    product_id: int | None = Field(default=None, ge=1, description="Only rules from this product.")
    window_days: int | None = WindowDays


class FrequentlyBoughtWithParams(ShopParams):
    product_id: int = Field(alias="product", ge=1, description="The product (a Shopify product id).")
    limit: int = Field(default=10, ge=1, le=100, description="At most this many products, 1-100.")
    exclude: Products = Field(
        default_factory=list, max_length=100, description="Leave out these products (repeat the parameter)."
    )
    window_days: int | None = WindowDays


class CartParams(ShopParams):
    product_ids: Products = Field(
        alias="products", min_length=1, max_length=100, description="The cart's product ids (repeat the parameter)."
    )
    limit: int = Field(default=10, ge=1, le=100, description="At most this many products, 1-100.")
    window_days: int | None = WindowDays


class CartRecommendation(ApiItem):
    product_id: int
    score: float = Field(description="Sum over the cart's products with a rule to this one of ln(score)")
    n_supporting: int
    supported_by: list[int]
    best_confidence: float
    best_lift: float


ENDPOINTS = [
    Endpoint(
        path="/api/data/product-affinity",
        function="public.list_product_affinity",
        params=ProductAffinityParams,
        item=AffinityRule,
        summary="Bought-together rules of a shop (both directions), by product",
        ttl_minutes=60,  # recomputed nightly
        timeout="aggregation",
        keyset=("product_id", "other_product_id"),
    ),
    Endpoint(
        path="/api/data/frequently-bought-with",
        function="public.frequently_bought_with",
        params=FrequentlyBoughtWithParams,
        item=AffinityRule,
        summary="Products bought with a product, strongest first, only those Shopify would recommend",
        ttl_minutes=60,
        timeout="simple",
    ),
    Endpoint(
        path="/api/data/recommend-for-cart",
        function="public.recommend_for_cart",
        params=CartParams,
        item=CartRecommendation,
        summary="Products to suggest for a cart (the cart's rules combined; nothing already in it)",
        ttl_minutes=30,
        timeout="simple",
    ),
]
