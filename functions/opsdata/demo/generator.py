"""A realistic demo shop as numpy columns: deterministic for the same parameters, no database.

Everything is drawn from one numpy Generator seeded with the parameters' seed, table by table in
a fixed order, so the same DemoParams always give the same rows. Shapes follow the sources:
Shopify orders with lines, refunds (current_quantity), cancellations and test orders; Search
Console page-days whose last two days are not final yet; GA4 page-days whose transactions come
from the orders; storefront events for a browse -> cart -> checkout -> purchase funnel; actions
moving through their lifecycle; and one sync run per source and day.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

GENERATOR_VERSION = 3  # bump when the same parameters would produce different rows

DAY = 86_400
PRODUCT_ID_BASE = 8_000_000_000_000
VARIANT_ID_BASE = 45_000_000_000_000
ORDER_ID_BASE = 5_500_000_000_000
LINE_ID_BASE = 14_000_000_000_000
CUSTOMER_ID_BASE = 7_000_000_000_000
ZIPF_EXPONENT = 1.1  # product popularity ~ 1 / (rank + ZIPF_OFFSET)^1.1 (Zipf-Mandelbrot)
ZIPF_OFFSET = 3  # flattens the head: the best seller is ~5% of lines, not 15-20%
EVENT_DAYS = 14  # storefront events cover the most recent two weeks
# the sources whose sync runs the generator writes (derived jobs add runs of their own)
GENERATED_SOURCES = ("shopify", "gsc", "ga", "events")
BROWSE_SESSIONS_PER_ORDER = 6  # sessions that view products without buying, per purchase
GSC_FINAL_LAG_DAYS = 2  # the two most recent Search Console days are not final yet


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


class DemoParams(BaseModel):
    """What a demo shop is generated from. Same parameters (and generator version), same rows."""

    model_config = ConfigDict(frozen=True)

    # the same rule as shops.domain
    shop: str = Field(
        default="demo.myshopify.com", pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
    )
    days: int = Field(default=180, ge=14, le=3650)
    orders: int = Field(default=20_000, ge=20, le=20_000_000)
    seed: int = Field(default=1, ge=0)
    end_date: date = Field(default_factory=_yesterday, description="last day with data (UTC)")

    @property
    def n_products(self) -> int:
        return max(50, self.orders // 100)

    @property
    def n_product_pages(self) -> int:
        return min(self.n_products // 2, max(20, self.orders // 250))

    @property
    def n_actions(self) -> int:
        return max(300, self.orders // 10)

    @property
    def start(self) -> datetime:
        """Midnight UTC of the first day with data."""
        first = self.end_date - timedelta(days=self.days - 1)
        return datetime(first.year, first.month, first.day, tzinfo=UTC)

    @property
    def as_of(self) -> datetime:
        """The moment the data describes: midnight after the last day."""
        return self.start + timedelta(days=self.days)

    def recorded(self) -> dict[str, object]:
        """What is stored with the data to decide whether a re-run may skip."""
        return {**self.model_dump(mode="json"), "generator_version": GENERATOR_VERSION}


class PlantedPair(BaseModel):
    """Buying `product_id` adds `with_product_id` to the order with probability `probability`."""

    product_id: int
    with_product_id: int
    probability: float


Kind = Literal["int", "money", "ts", "date", "bool", "text", "fixed3", "fixed6"]


@dataclass
class Col:
    """One column: values, how to write them, and which rows are NULL."""

    values: np.ndarray
    kind: Kind
    null: np.ndarray | None = None


Table = dict[str, Col]


@dataclass
class DemoData:
    tables: dict[str, Table]  # in load order (foreign keys first)
    planted: list[PlantedPair]
    operator_email: str

    def rows(self, table: str) -> int:
        return len(next(iter(self.tables[table].values())).values)


# ----- products ---------------------------------------------------------------------------

_ADJECTIVES = [
    "Classic",
    "Everyday",
    "Organic",
    "Vintage",
    "Compact",
    "Deluxe",
    "Rustic",
    "Modern",
    "Cozy",
    "Bold",
    "Handmade",
    "Minimal",
]
_MATERIALS = [
    "Linen",
    "Cotton",
    "Ceramic",
    "Oak",
    "Copper",
    "Wool",
    "Leather",
    "Bamboo",
    "Glass",
    "Steel",
    "Cork",
    "Canvas",
]
_NOUNS = [
    "Mug",
    "Tote",
    "Candle",
    "Throw",
    "Planter",
    "Apron",
    "Journal",
    "Lamp",
    "Scarf",
    "Bowl",
    "Teapot",
    "Blanket",
    "Cushion",
    "Vase",
    "Tray",
    "Backpack",
]


def planted_pairs(seed: int, n_products: int) -> list[PlantedPair]:
    """The co-purchase pairs planted in the orders of a shop generated with this seed and size.

    One pair per popularity band, so recovery can be measured from head to tail: the first
    product of pair k has popularity rank ~ n_products * (k/n)^2, the second is a random
    other product; attach probabilities are 0.25-0.6 (as in the affinity reference data).
    """
    rng = np.random.default_rng([seed, 7])
    rank_of = _popularity_ranks(seed, n_products)
    by_rank = np.argsort(rank_of)
    n_pairs = min(20, n_products // 10)
    pairs: list[PlantedPair] = []
    used: set[int] = set()
    for k in range(n_pairs):
        target_rank = int((n_products - 1) * ((k + 0.5) / n_pairs) ** 2)
        first = int(by_rank[target_rank])
        while first in used or _is_gift_card(first, n_products):
            first = int(by_rank[(target_rank + 1) % n_products])
            target_rank += 1
        second = int(rng.integers(n_products))
        while second in used or second == first or _is_gift_card(second, n_products):
            second = int(rng.integers(n_products))
        used |= {first, second}
        pairs.append(
            PlantedPair(
                product_id=PRODUCT_ID_BASE + first,
                with_product_id=PRODUCT_ID_BASE + second,
                probability=round(float(rng.uniform(0.25, 0.6)), 3),
            )
        )
    return pairs


def _popularity_ranks(seed: int, n_products: int) -> np.ndarray:
    """rank (0 = best seller) of each product index."""
    return np.random.default_rng([seed, 1]).permutation(n_products)


def _is_gift_card(index: int, n_products: int) -> bool:
    # the last 1% of product indexes (at least one) are gift cards
    return index >= n_products - max(1, n_products // 100)


@dataclass
class _Catalogue:
    price_cents: np.ndarray
    weight: np.ndarray  # purchase probability per product
    handle: list[str]
    is_gift_card: np.ndarray
    status: np.ndarray


def _products(rng: np.random.Generator, p: DemoParams) -> tuple[Table, _Catalogue]:
    n = p.n_products
    idx = np.arange(n)
    rank = _popularity_ranks(p.seed, n)
    gift = np.array([_is_gift_card(i, n) for i in range(n)])
    price = np.clip(rng.lognormal(math.log(28), 0.7, n), 4, 400)
    cents = np.rint(price).astype(np.int64) * 100 - 1  # x.99 pricing
    cents[gift] = rng.choice([2500, 5000, 10000], gift.sum())
    status = rng.choice(np.array(["active", "draft", "archived"]), n, p=[0.92, 0.04, 0.04])
    status[rank < 200] = "active"  # best sellers are on sale
    status[gift] = "active"
    adjective = rng.integers(len(_ADJECTIVES), size=n)
    material = rng.integers(len(_MATERIALS), size=n)
    noun = rng.integers(len(_NOUNS), size=n)
    titles = [
        f"Gift Card ${cents[i] // 100}" if gift[i] else f"{_ADJECTIVES[a]} {_MATERIALS[m]} {_NOUNS[o]}"
        for i, a, m, o in zip(idx.tolist(), adjective.tolist(), material.tolist(), noun.tolist(), strict=True)
    ]
    handles = [f"{t.lower().replace(' ', '-').replace('$', '')}-{i}" for i, t in enumerate(titles)]
    tracked = rng.random(n) >= 0.2  # a fifth of products do not track inventory (NULL)
    inventory = rng.poisson(40, n)
    inventory[rng.random(n) < 0.05] = 0
    weight = (rank + 1.0 + ZIPF_OFFSET) ** -ZIPF_EXPONENT
    weight[status == "draft"] = 0  # drafts were never on sale
    weight /= weight.sum()
    published = (status == "active") & (rng.random(n) < 0.97)
    table: Table = {
        "id": Col(PRODUCT_ID_BASE + idx, "int"),
        "title": Col(np.array(titles, dtype=object), "text"),
        "handle": Col(np.array(handles, dtype=object), "text"),
        "status": Col(status, "text"),
        "price": Col(cents, "money"),
        "inventory": Col(inventory, "int", null=~tracked | gift),
        "is_gift_card": Col(gift, "bool"),
        "is_published": Col(published, "bool"),
    }
    return table, _Catalogue(cents, weight, handles, gift, status)


# ----- pages ------------------------------------------------------------------------------


@dataclass
class _Pages:
    path: list[str]
    product_index: np.ndarray  # product behind a product page, -1 for other pages
    demand: np.ndarray  # share of search demand
    position: np.ndarray  # typical Google position


def _pages(rng: np.random.Generator, p: DemoParams, cat: _Catalogue) -> _Pages:
    eligible = np.flatnonzero((cat.status == "active") & ~cat.is_gift_card)
    top = eligible[np.argsort(-cat.weight[eligible], kind="stable")][: p.n_product_pages]
    n_collections = max(3, len(top) // 20)
    paths = ["/"] + [f"/collections/{_NOUNS[i % len(_NOUNS)].lower()}s-{i}" for i in range(n_collections)]
    paths += [f"/blogs/news/{_ADJECTIVES[i].lower()}-living-guide" for i in range(5)]
    paths += [f"/products/{cat.handle[i]}" for i in top]
    product_index = np.concatenate([np.full(1 + n_collections + 5, -1), top])
    demand = np.concatenate(
        [
            [0.08],
            np.full(n_collections, 0.15 / n_collections),
            np.full(5, 0.02 / 5),
            cat.weight[top] ** 0.7 / (cat.weight[top] ** 0.7).sum() * 0.75,
        ]
    )
    demand = demand * rng.lognormal(0, 0.4, len(demand))
    demand /= demand.sum()
    # popular pages rank better; positions 1-60
    z = np.log(demand / demand.mean())
    position = np.clip(rng.lognormal(math.log(14) - 0.45 * z, 0.35), 1.0, 60.0)
    return _Pages(paths, product_index, demand, position)


# ----- seasonality ------------------------------------------------------------------------

_WEEKLY = np.array([0.95, 0.93, 0.95, 0.98, 1.03, 1.10, 1.06])  # Monday .. Sunday
_HOURLY = np.array([2, 1.5, 1, 0.8, 0.7, 0.8, 1.2, 2, 3, 4, 4.5, 5, 5.2, 5, 4.8, 4.8, 5, 5.5, 6, 6.5, 6.8, 6, 4.5, 3])


def _day_weights(p: DemoParams) -> np.ndarray:
    """Relative demand per day: weekly cycle, a yearly wave peaking in December, Black Friday, growth."""
    days = [p.start.date() + timedelta(days=t) for t in range(p.days)]
    weekly = _WEEKLY[[d.weekday() for d in days]]
    doy = np.array([d.timetuple().tm_yday for d in days])
    yearly = 1 + 0.2 * np.cos(2 * np.pi * (doy - 355) / 365.25)
    black_friday = 1 + 0.8 * np.exp(-(((doy - 332) / 3.0) ** 2))
    growth = 1 + 0.3 * np.arange(p.days) / p.days
    return weekly * yearly * black_friday * growth


def _times_in_days(rng: np.random.Generator, p: DemoParams, day: np.ndarray) -> np.ndarray:
    """Epoch seconds within the given day indexes, following the daily traffic curve."""
    hour = rng.choice(24, len(day), p=_HOURLY / _HOURLY.sum())
    return int(p.start.timestamp()) + day * DAY + hour * 3600 + rng.integers(0, 3600, len(day))


# ----- orders and lines -------------------------------------------------------------------


@dataclass
class _Orders:
    created: np.ndarray
    day: np.ndarray
    customer: np.ndarray
    has_customer: np.ndarray
    is_test: np.ndarray
    is_web: np.ndarray
    total_cents: np.ndarray
    landing: np.ndarray  # page index, -1 none
    line_order: np.ndarray  # order index of each line
    line_product: np.ndarray  # product index of each line, -1 custom item


def _orders(
    rng: np.random.Generator, p: DemoParams, cat: _Catalogue, pages: _Pages, pairs: list[PlantedPair]
) -> tuple[Table, Table, _Orders]:
    n = p.orders
    weights = _day_weights(p)
    per_day = rng.multinomial(n, weights / weights.sum())
    day = np.repeat(np.arange(p.days), per_day)
    created = np.sort(_times_in_days(rng, p, day))
    day = (created - int(p.start.timestamp())) // DAY

    # baskets: 48% single-item (~46% after planted add-ons), the rest 1 + geometric extra items;
    # ~2.5 lines per order, so 500k orders give >= 1.2M lines
    extra = np.where(rng.random(n) < 0.52, rng.geometric(0.35, n), 0)
    sizes = 1 + extra
    line_order = np.repeat(np.arange(n), sizes)
    line_product = rng.choice(len(cat.weight), len(line_order), p=cat.weight)
    for pair in pairs:  # planted co-purchases: buying A adds B with the pair's probability
        a, b = pair.product_id - PRODUCT_ID_BASE, pair.with_product_id - PRODUCT_ID_BASE
        with_a = np.unique(line_order[line_product == a])
        with_b = np.unique(line_order[line_product == b])
        add = with_a[(rng.random(len(with_a)) < pair.probability) & ~np.isin(with_a, with_b)]
        line_order = np.concatenate([line_order, add])
        line_product = np.concatenate([line_product, np.full(len(add), b)])
    keep = np.argsort(line_order, kind="stable")
    line_order, line_product = line_order[keep], line_product[keep]
    n_lines = len(line_order)
    custom = rng.random(n_lines) < 0.002  # custom items: no product behind the line
    line_product = np.where(custom, -1, line_product)

    is_test = rng.random(n) < 0.005
    source = rng.choice(
        np.array(["web", "pos", "shopify_draft_order", "iphone", "android"]), n, p=[0.82, 0.05, 0.03, 0.05, 0.05]
    )
    is_web = source == "web"
    quantity = rng.choice([1, 2, 3, 4], n_lines, p=[0.86, 0.10, 0.03, 0.01])
    unit = np.where(custom, rng.integers(500, 5000, n_lines), cat.price_cents[np.maximum(line_product, 0)])
    discount = np.where(rng.random(n) < 0.18, rng.choice([10, 15, 20], n), 0)
    line_discount = np.where(cat.is_gift_card[np.maximum(line_product, 0)] & ~custom, 0, discount[line_order])
    discounted = (unit * quantity * (100 - line_discount) + 50) // 100

    cancelled = ~is_test & (rng.random(n) < 0.02)
    cancel_at = np.minimum(created + rng.integers(600, 3 * DAY, n), int(p.as_of.timestamp()) - 60)
    refunded = ~is_test & ~cancelled & (rng.random(n) < 0.06)
    first_line = np.r_[True, line_order[1:] != line_order[:-1]]
    refund_line = refunded[line_order] & (first_line | (rng.random(n_lines) < 0.5))
    current = quantity.copy()
    current[refund_line] = quantity[refund_line] - rng.integers(1, quantity[refund_line] + 1)
    current[cancelled[line_order]] = 0
    refunded_cents = discounted * (quantity - current) // quantity

    subtotal = np.bincount(line_order, weights=discounted, minlength=n).astype(np.int64)
    shipping = np.where((subtotal >= 5000) | (source == "pos"), 0, 599)
    total = subtotal + shipping
    total_refunded = np.bincount(line_order, weights=refunded_cents, minlength=n).astype(np.int64)
    total_refunded[cancelled] = total[cancelled]

    # 72% of orders come from a new customer; the rest from a random earlier one (orders are in
    # time order), so about a quarter of customers come back
    is_new = rng.random(n) < 0.72
    is_new[0] = True
    known = np.cumsum(is_new)
    customer = np.where(is_new, known - 1, (rng.random(n) * (known - is_new)).astype(np.int64))
    has_customer = (rng.random(n) >= 0.04) & (source != "pos")

    # half of web orders land on the page of what they bought, the rest where search sends them
    page_of_product = np.full(len(cat.weight), -1)
    page_of_product[pages.product_index[pages.product_index >= 0]] = np.flatnonzero(pages.product_index >= 0)
    first_product = line_product[first_line]
    landing = np.where(
        rng.random(n) < 0.5,
        page_of_product[np.maximum(first_product, 0)],
        rng.choice(len(pages.path), n, p=pages.demand),
    )
    landing = np.where(is_web & (rng.random(n) < 0.9), landing, -1)

    order_ids = ORDER_ID_BASE + np.arange(n) * 3
    orders: Table = {
        "id": Col(order_ids, "int"),
        "created_at": Col(created, "ts"),
        "processed_at": Col(created + rng.integers(0, 6, n), "ts"),
        "cancelled_at": Col(cancel_at, "ts", null=~cancelled),
        "is_test": Col(is_test, "bool"),
        "customer_id": Col(CUSTOMER_ID_BASE + customer, "int", null=~has_customer),
        "currency": Col(np.full(n, "USD"), "text"),
        "subtotal": Col(subtotal, "money"),
        "total": Col(total, "money"),
        "total_refunded": Col(total_refunded, "money"),
        "landing_page": Col(np.array(pages.path, dtype=object)[np.maximum(landing, 0)], "text", null=landing < 0),
        "source_name": Col(source, "text"),
    }
    lines: Table = {
        "order_id": Col(order_ids[line_order], "int"),
        "line_id": Col(LINE_ID_BASE + np.arange(n_lines) * 2, "int"),
        "product_id": Col(PRODUCT_ID_BASE + np.maximum(line_product, 0), "int", null=custom),
        "variant_id": Col(
            VARIANT_ID_BASE + np.maximum(line_product, 0) * 4 + rng.integers(0, 3, n_lines), "int", null=custom
        ),
        "quantity": Col(quantity, "int"),
        "current_quantity": Col(current, "int"),
        "unit_price": Col(unit, "money"),
        "discounted_total": Col(discounted, "money"),
    }
    facts = _Orders(created, day, customer, has_customer, is_test, is_web, total, landing, line_order, line_product)
    return orders, lines, facts


# ----- search console and analytics -------------------------------------------------------


def _search_and_analytics(
    rng: np.random.Generator, p: DemoParams, pages: _Pages, orders: _Orders
) -> tuple[Table, Table, np.ndarray, np.ndarray]:
    n_pages = len(pages.path)
    season = _day_weights(p) ** 0.5  # search demand moves less than sales
    daily_impressions = max(5000.0, p.orders / p.days * 400)  # ~3% of sessions convert
    expected = daily_impressions * np.outer(pages.demand, season / season.mean())  # pages x days
    impressions = rng.poisson(expected)
    position = np.clip(pages.position[:, None] * rng.lognormal(0, 0.08, expected.shape), 1.0, 100.0)
    expected_ctr = np.clip(0.28 * position**-0.95, 0.002, 0.6)
    clicks = rng.binomial(impressions, expected_ctr)
    # the most recent days are not final: Search Console is still counting them
    partial = np.ones(p.days)
    partial[-1], partial[-2] = 0.55, 0.85
    gsc_impressions = rng.binomial(impressions, partial)
    gsc_clicks = np.minimum(rng.binomial(clicks, partial), gsc_impressions)
    is_final = np.arange(p.days) < p.days - GSC_FINAL_LAG_DAYS

    page_ix, day_ix = np.nonzero(gsc_impressions)
    start_day = (p.start.date() - date(1970, 1, 1)).days
    urls = np.array([f"https://{p.shop}{path}" for path in pages.path], dtype=object)
    gsc_ctr = gsc_clicks[page_ix, day_ix] * 1_000_000 // gsc_impressions[page_ix, day_ix]
    gsc: Table = {
        "date": Col(start_day + day_ix, "date"),
        "page": Col(urls[page_ix], "text"),
        "clicks": Col(gsc_clicks[page_ix, day_ix], "int"),
        "impressions": Col(gsc_impressions[page_ix, day_ix], "int"),
        "ctr": Col(gsc_ctr, "fixed6"),
        "position": Col(np.rint(position[page_ix, day_ix] * 1000).astype(np.int64), "fixed3"),
        "is_final": Col(is_final[day_ix], "bool"),
    }

    # GA4: organic sessions are the clicks, other channels add traffic; transactions are the
    # orders that landed on the page that day, of which GA sees ~93% (consent, ad blockers)
    web = (orders.landing >= 0) & ~orders.is_test
    cell = orders.landing[web] * p.days + orders.day[web]
    true_tx = np.bincount(cell, minlength=n_pages * p.days).reshape(n_pages, p.days)
    true_revenue = np.bincount(cell, weights=orders.total_cents[web], minlength=n_pages * p.days).reshape(
        n_pages, p.days
    )
    ga_tx = rng.binomial(true_tx, 0.93)
    revenue = np.where(true_tx > 0, np.rint(true_revenue * ga_tx / np.maximum(true_tx, 1)), 0).astype(np.int64)
    other = rng.poisson(expected * 0.035 + 0.3)  # other channels bring about as many sessions as search
    sessions = np.maximum(clicks + other, ga_tx)
    engaged = np.maximum(rng.binomial(sessions, 0.61), ga_tx)
    key_events = ga_tx + rng.binomial(sessions, 0.05)
    page_ix, day_ix = np.nonzero(sessions)
    paths = np.array(pages.path, dtype=object)
    ga: Table = {
        "date": Col(start_day + day_ix, "date"),
        "page": Col(paths[page_ix], "text"),
        "sessions": Col(sessions[page_ix, day_ix], "int"),
        "engaged_sessions": Col(engaged[page_ix, day_ix], "int"),
        "key_events": Col(key_events[page_ix, day_ix], "int"),
        "transactions": Col(ga_tx[page_ix, day_ix], "int"),
        "purchase_revenue": Col(revenue[page_ix, day_ix], "money"),
    }
    gsc_per_day = np.bincount(np.nonzero(gsc_impressions)[1], minlength=p.days)
    ga_per_day = np.bincount(day_ix, minlength=p.days)
    return gsc, ga, gsc_per_day, ga_per_day


# ----- events -----------------------------------------------------------------------------


def _events(rng: np.random.Generator, p: DemoParams, cat: _Catalogue, orders: _Orders) -> Table:
    """Funnel events for the last EVENT_DAYS days: purchasing sessions from the orders, plus sessions
    that browse products and drop off before cart, checkout or payment."""
    first_day = max(0, p.days - EVENT_DAYS)
    buying = np.flatnonzero((orders.day >= first_day) & orders.is_web & ~orders.is_test)
    n_browse = len(buying) * BROWSE_SESSIONS_PER_ORDER

    # browsing sessions: 1 page view, 1+ product views, then maybe cart, maybe checkout
    views = 1 + rng.poisson(0.8, n_browse)
    cart = rng.random(n_browse) < 0.22
    checkout = cart & (rng.random(n_browse) < 0.35)
    browse_len = 1 + views + cart + checkout
    browse_start = _times_in_days(rng, p, rng.integers(first_day, p.days, n_browse))
    visitors = max(1, n_browse // 2)

    # purchasing sessions: a page view, each line viewed and added to cart, checkout, purchase
    lines_per_order = np.bincount(orders.line_order, minlength=len(orders.created))
    buy_lines = lines_per_order[buying]
    buy_len = 3 + 2 * buy_lines
    buy_start = orders.created[buying] - buy_len * 45

    n_sessions = n_browse + len(buying)
    length = np.concatenate([browse_len, buy_len])
    session = np.repeat(np.arange(n_sessions), length)
    step = np.arange(len(session)) - np.repeat(np.cumsum(length) - length, length)
    start = np.concatenate([browse_start, buy_start])
    occurred = np.minimum(start[session] + step * 45 + rng.integers(0, 30, len(session)), int(p.as_of.timestamp()) - 1)

    name = np.full(len(session), "product_viewed", dtype=object)
    name[step == 0] = "page_viewed"
    is_browse = session < n_browse
    b_views = np.concatenate([views, np.zeros(len(buying), dtype=views.dtype)])[session]
    name[is_browse & (step == b_views + 1) & cart[np.minimum(session, n_browse - 1)]] = "product_added_to_cart"
    name[is_browse & (step == b_views + 2)] = "checkout_started"
    k = np.concatenate([np.zeros(n_browse, dtype=buy_lines.dtype), buy_lines])[session]
    buy = ~is_browse
    name[buy & (step > k) & (step <= 2 * k)] = "product_added_to_cart"
    name[buy & (step == 2 * k + 1)] = "checkout_started"
    name[buy & (step == 2 * k + 2)] = "checkout_completed"

    # products: browsing sessions view popular products; buyers view and add what they bought
    product = rng.choice(len(cat.weight), len(session), p=cat.weight)
    order_of_session = np.concatenate([np.full(n_browse, -1), buying])[session]
    first_line_of_order = np.cumsum(lines_per_order) - lines_per_order
    line_ix = first_line_of_order[np.maximum(order_of_session, 0)] + np.where(step > k, step - k - 1, step - 1)
    bought = buy & (step >= 1) & (step <= 2 * k)
    product = np.where(bought, orders.line_product[np.clip(line_ix, 0, len(orders.line_product) - 1)], product)
    product_event = (name == "product_viewed") | (name == "product_added_to_cart")
    product_event &= product >= 0

    handles = np.array(cat.handle, dtype=object)
    page = np.where(product_event, "/products/" + handles[np.maximum(product, 0)], None)
    page = np.where(name == "page_viewed", "/", page)
    page = np.where((name == "checkout_started") | (name == "checkout_completed"), "/checkout", page)

    properties = np.full(len(session), "{}", dtype=object)
    pid = (PRODUCT_ID_BASE + np.maximum(product, 0)).astype(str).astype(object)
    properties[product_event] = '{"product_id": ' + pid[product_event] + "}"
    done = name == "checkout_completed"
    order_ix = order_of_session[done]
    properties[done] = (
        '{"order_id": '
        + (ORDER_ID_BASE + order_ix * 3).astype(str).astype(object)
        + ', "value": '
        + np.array([f"{c / 100:.2f}" for c in orders.total_cents[order_ix].tolist()], dtype=object)
        + "}"
    )

    browse_person = "v" + rng.integers(0, visitors, n_browse).astype(str).astype(object)
    buyer = orders.customer[buying]
    buy_person = np.where(
        orders.has_customer[buying],
        "c" + (CUSTOMER_ID_BASE + buyer).astype(str).astype(object),
        "g" + buying.astype(str).astype(object),
    )
    person = np.concatenate([browse_person, buy_person])[session]
    session_ids = "s" + session.astype(str).astype(object)
    return {
        "event_id": Col("e" + np.arange(len(session)).astype(str).astype(object), "text"),
        "occurred_at": Col(occurred, "ts"),
        "person_id": Col(person, "text"),
        "session_id": Col(session_ids, "text"),
        "event_name": Col(name, "text"),
        "page": Col(page, "text", null=np.equal(page, None)),
        "properties": Col(properties, "text"),
    }


# ----- actions ----------------------------------------------------------------------------

_RECOMMENDERS = (
    # recommender, action type, target kind, modality
    ("seo_titles", "rewrite_title", "page", "text"),
    ("seo_titles", "rewrite_meta_description", "page", "text"),
    ("guided_selling", "bundle", "product", "text"),
    ("product_images", "alt_text", "product", "image"),
    ("support_replies", "faq_answer", "product", "text"),
)
_REJECT_NOTES = ("off-brand tone", "wrong product", "already done by hand", "needs legal review")


def _actions(rng: np.random.Generator, p: DemoParams, cat: _Catalogue, pages: _Pages) -> Table:
    n = p.n_actions
    kind = rng.choice(len(_RECOMMENDERS), n, p=[0.35, 0.15, 0.25, 0.15, 0.10])
    start, as_of = int(p.start.timestamp()), int(p.as_of.timestamp())
    proposed = np.sort(start + rng.integers(0, as_of - start - 3600, n))
    decided = proposed + rng.exponential(20 * 3600, n).astype(np.int64) + 60
    executed = decided + rng.exponential(6 * 3600, n).astype(np.int64) + 60
    reverted = executed + rng.exponential(5 * DAY, n).astype(np.int64) + 60
    # intended fate; timestamps past as_of mean it has not happened yet
    fate = rng.choice(np.array(["rejected", "approved", "executed", "reverted"]), n, p=[0.25, 0.1, 0.57, 0.08])
    backlog = rng.random(n) < 0.04  # some proposals are never looked at
    status = np.where((decided >= as_of) | backlog, "proposed", fate)
    status = np.where((status == "executed") & (executed >= as_of), "approved", status)
    status = np.where((status == "reverted") & (executed >= as_of), "approved", status)
    status = np.where((status == "reverted") & (reverted >= as_of), "executed", status)
    is_decided = status != "proposed"
    is_executed = (status == "executed") | (status == "reverted")

    products = rng.choice(len(cat.weight), n, p=cat.weight)
    page = rng.choice(len(pages.path), n, p=pages.demand)
    targets_page = np.array([_RECOMMENDERS[k][2] == "page" for k in kind.tolist()])
    target_ref = np.where(
        targets_page,
        np.array(pages.path, dtype=object)[page],
        (PRODUCT_ID_BASE + products).astype(str).astype(object),
    )
    partner = rng.choice(len(cat.weight), n, p=cat.weight)
    payloads = []
    for i, k in enumerate(kind.tolist()):
        action_type = _RECOMMENDERS[k][1]
        if action_type == "bundle":
            payloads.append(f'{{"bundle_with": {PRODUCT_ID_BASE + int(partner[i])}}}')
        elif action_type == "alt_text":
            payloads.append(f'{{"alt": "Photo of {cat.handle[products[i]].rsplit("-", 1)[0].replace("-", " ")}"}}')
        elif action_type == "faq_answer":
            payloads.append('{"question": "How do I care for it?", "answer": "Hand wash, dry flat."}')
        else:
            payloads.append(f'{{"field": "{action_type.removeprefix("rewrite_")}", "page": "{target_ref[i]}"}}')
    raw = rng.bytes(16 * n)
    ids = [str(uuid.UUID(bytes=raw[i : i + 16], version=4)) for i in range(0, 16 * n, 16)]
    note = np.where(
        (status == "rejected") & (rng.random(n) < 0.6),
        np.array(_REJECT_NOTES, dtype=object)[rng.integers(0, 4, n)],
        None,
    )
    recommenders = np.array([r[0] for r in _RECOMMENDERS], dtype=object)
    return {
        "id": Col(np.array(ids, dtype=object), "text"),
        "recommender": Col(recommenders[kind], "text"),
        "action_type": Col(np.array([r[1] for r in _RECOMMENDERS], dtype=object)[kind], "text"),
        "target_kind": Col(np.array([r[2] for r in _RECOMMENDERS], dtype=object)[kind], "text"),
        "target_ref": Col(target_ref, "text"),
        "modality": Col(np.array([r[3] for r in _RECOMMENDERS], dtype=object)[kind], "text"),
        "status": Col(status, "text"),
        "proposed_at": Col(proposed, "ts"),
        "decided_at": Col(decided, "ts", null=~is_decided),
        "decided_by": Col(np.full(n, "", dtype=object), "text", null=~is_decided),  # the operator, set on load
        "decision_note": Col(note, "text", null=np.equal(note, None)),
        "executed_at": Col(executed, "ts", null=~is_executed),
        "reverted_at": Col(reverted, "ts", null=status != "reverted"),
        "payload": Col(np.array(payloads, dtype=object), "text"),
    }


# ----- sync runs --------------------------------------------------------------------------


def _sync_runs(rng: np.random.Generator, p: DemoParams, per_source: dict[str, tuple[np.ndarray, np.ndarray]]) -> Table:
    """One run per source and day, late in the day; ~2% fail (the next run catches up).

    per_source maps a source to (rows loaded per day, newest data point per day in epoch seconds).
    """
    source_names, started, rows, max_data, failed = [], [], [], [], []
    start = int(p.start.timestamp())
    for offset, (source, (loaded, newest)) in enumerate(per_source.items()):
        days = np.arange(p.days)
        fails = rng.random(p.days) < 0.02
        fails[-1] = False  # the demo's latest runs are healthy
        source_names += [source] * p.days
        started.append(start + days * DAY + 23 * 3600 + 30 * 60 + offset * 300 + rng.integers(0, 120, p.days))
        rows.append(np.where(fails, 0, loaded))
        max_data.append(newest)
        failed.append(fails)
    started_at = np.concatenate(started)
    failures = np.concatenate(failed)
    newest_at = np.concatenate(max_data)
    rows_loaded = np.concatenate(rows)
    duration = rng.integers(3, 90, len(started_at))
    return {
        "source": Col(np.array(source_names, dtype=object), "text"),
        "started_at": Col(started_at, "ts"),
        "finished_at": Col(started_at + duration, "ts"),
        "status": Col(np.where(failures, "failed", "succeeded"), "text"),
        "rows_loaded": Col(rows_loaded, "int"),
        "rows_rejected": Col(np.zeros(len(started_at), dtype=np.int64), "int"),
        "max_data_at": Col(newest_at, "ts", null=failures | (newest_at < 0)),
        "error": Col(
            np.full(len(started_at), "upstream answered HTTP 503; the next run catches up"), "text", null=~failures
        ),
    }


# ----- the whole shop ---------------------------------------------------------------------


def generate(p: DemoParams) -> DemoData:
    """All tables of a demo shop, deterministic for p."""
    rng = np.random.default_rng([p.seed, 0])
    products, cat = _products(rng, p)
    pages = _pages(rng, p, cat)
    pairs = planted_pairs(p.seed, p.n_products)
    orders, lines, facts = _orders(rng, p, cat, pages, pairs)
    gsc, ga, gsc_per_day, ga_per_day = _search_and_analytics(rng, p, pages, facts)
    events = _events(rng, p, cat, facts)
    actions = _actions(rng, p, cat, pages)

    day_end = int(p.start.timestamp()) + (np.arange(p.days) + 1) * DAY
    orders_per_day = np.bincount(facts.day, minlength=p.days)
    lines_per_day = np.bincount(facts.day[facts.line_order], minlength=p.days)
    shopify_rows = orders_per_day + lines_per_day
    shopify_rows[0] += len(products["id"].values)  # the first run imports the catalogue
    last_order = np.full(p.days, -1, dtype=np.int64)
    np.maximum.at(last_order, facts.day, facts.created)
    first_event_day = max(0, p.days - EVENT_DAYS)
    event_day = (events["occurred_at"].values - int(p.start.timestamp())) // DAY
    events_per_day = np.bincount(np.clip(event_day, 0, p.days - 1), minlength=p.days)
    last_event = np.full(p.days, -1, dtype=np.int64)
    np.maximum.at(last_event, np.clip(event_day, 0, p.days - 1), events["occurred_at"].values)
    sync_runs = _sync_runs(
        rng,
        p,
        {
            "shopify": (shopify_rows, last_order),
            "gsc": (gsc_per_day, day_end - DAY),  # a day's data point is its date
            "ga": (ga_per_day, day_end - DAY),
            "events": (events_per_day, last_event),
        },
    )
    # event runs only exist for the days events cover
    keep = ~((sync_runs["source"].values == "events") & (np.tile(np.arange(p.days), 4) < first_event_day))
    sync_runs = {
        name: Col(c.values[keep], c.kind, None if c.null is None else c.null[keep]) for name, c in sync_runs.items()
    }
    return DemoData(
        tables={
            "products": products,
            "shopify_orders": orders,
            "shopify_order_lines": lines,
            "gsc_page_daily": gsc,
            "ga_page_daily": ga,
            "events": events,
            "actions": actions,
            "sync_runs": sync_runs,
        },
        planted=pairs,
        operator_email=f"operator@{p.shop}",
    )
