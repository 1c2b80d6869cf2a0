"""Product affinity: equal to mlxtend, incremental equal to full, served to members only."""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from shop_data import add_orders, add_products, cancel_order, refund_line
from support import acting_as, add_member, make_shop, make_user

AS_OF = date(2026, 11, 1)
RULE_COLUMNS = (
    "product_id, other_product_id, n_together, n_product, n_other, n_orders,"
    " support, confidence, lift, leverage, conviction, conviction_kind, score"
)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _refresh(conn: psycopg.Connection, shop: uuid.UUID, as_of: date = AS_OF, **args: object) -> dict:
    named = "".join(f", p_{name} => %({name})s" for name in args)
    row = conn.execute(
        f"select private.refresh_affinity(%(shop)s, p_as_of => %(as_of)s{named})",
        {"shop": shop, "as_of": as_of, **args},
    ).fetchone()
    assert row is not None
    return row[0]


def _served(conn: psycopg.Connection, shop: uuid.UUID, window_days: int = 365) -> list[tuple]:
    return conn.execute(
        f"select {RULE_COLUMNS} from public.product_affinity where shop_id = %s and window_days = %s"
        " order by product_id, other_product_id",
        (shop, window_days),
    ).fetchall()


def _recomputed(
    conn: psycopg.Connection, shop: uuid.UUID, window_days: int, min_count: int, as_of: date
) -> list[tuple]:
    return conn.execute(
        f"select {RULE_COLUMNS} from private.affinity_rules_full(%s, %s, %s, %s) order by product_id, other_product_id",
        (shop, window_days, min_count, as_of),
    ).fetchall()


def _of_baskets(
    conn: psycopg.Connection, shop: uuid.UUID, window_days: int, min_count: int, as_of: date
) -> list[tuple]:
    return conn.execute(
        f"select {RULE_COLUMNS} from private.affinity_rules_of_baskets(%s, %s, %s, %s)"
        " order by product_id, other_product_id",
        (shop, window_days, min_count, as_of),
    ).fetchall()


def _stored_pair_totals(conn: psycopg.Connection, shop: uuid.UUID, window_days: int) -> list[tuple]:
    """Every stored pair total (either orientation), and that no product total is 0 or less."""
    assert (
        conn.execute(
            "select count(*) from private.affinity_product_totals where shop_id = %s and window_days = %s"
            " and n_orders <= 0",
            (shop, window_days),
        ).fetchone()[0]
        == 0
    ), "a product total of 0 is kept"
    return conn.execute(
        "select least(product_id, other_product_id), greatest(product_id, other_product_id), n_together"
        " from private.affinity_pair_totals where shop_id = %s and window_days = %s order by 1, 2",
        (shop, window_days),
    ).fetchall()


def _recomputed_pair_totals(conn: psycopg.Connection, shop: uuid.UUID, window_days: int, as_of: date) -> list[tuple]:
    return conn.execute(
        "select product_id, other_product_id, n_together from private.affinity_rules_full(%s, %s, 1, %s)"
        " where product_id < other_product_id order by 1, 2",
        (shop, window_days, as_of),
    ).fetchall()


def _random_baskets(rng: random.Random, n_orders: int, n_products: int, always: int | None = None) -> list[list[int]]:
    """Zipf-ish popularity, 40% single-item orders, some duplicate lines, one planted pair."""
    weights = [1 / (rank + 1) ** 1.1 for rank in range(n_products)]
    baskets = []
    for _ in range(n_orders):
        size = 1 if rng.random() < 0.4 else rng.randint(2, 5)
        basket = rng.choices(range(1, n_products + 1), weights=weights, k=size)
        if 3 in basket and rng.random() < 0.5:
            basket.append(7)  # planted: 7 often comes with 3
        if rng.random() < 0.1:
            basket.append(basket[0])  # a duplicate line of the same product
        if always is not None:
            basket.append(always)
        baskets.append(basket)
    return baskets


# ----- equal to mlxtend ---------------------------------------------------------------
def _mlxtend_rules(baskets: list[list[int]], min_count: int) -> dict[tuple[int, int], dict[str, float]]:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    encoder = TransactionEncoder()
    frame = pd.DataFrame(encoder.fit(baskets).transform(baskets), columns=encoder.columns_)
    n = len(baskets)
    # fpgrowth keeps count >= ceil(min_support * N): half a count below the integer threshold
    # makes that exactly min_count, whatever the float round-off
    itemsets = fpgrowth(frame, min_support=(min_count - 0.5) / n, use_colnames=True, max_len=2)
    rules = association_rules(itemsets, num_itemsets=n, metric="confidence", min_threshold=0.0)
    return {
        (int(next(iter(r.antecedents))), int(next(iter(r.consequents)))): {
            "support": r.support,
            "confidence": r.confidence,
            "lift": r.lift,
            "leverage": r.leverage,
            "conviction": r.conviction,
        }
        for r in rules.itertuples()
    }


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # mlxtend's certainty
@pytest.mark.parametrize(
    ("seed", "min_count", "always"),
    [(1, 5, None), (2, 3, None), (3, 5, 1), (4, 2, None)],
    ids=["min5", "min3", "a-product-in-every-order", "min2"],
)
def test_rules_equal_mlxtend_on_the_same_baskets(
    db: psycopg.Connection, seed: int, min_count: int, always: int | None
) -> None:
    # Given qualifying baskets, plus orders that must not count (test, cancelled, fully refunded)
    rng = random.Random(seed)
    baskets = _random_baskets(rng, 400, 25, always)
    shop = make_shop(db)
    add_products(db, shop, range(1, 26))
    days = [AS_OF - timedelta(days=rng.randrange(300)) for _ in baskets]
    add_orders(db, shop, [(i + 1, _at(day), basket) for i, (day, basket) in enumerate(zip(days, baskets, strict=True))])
    add_orders(db, shop, [(5001, _at(AS_OF), [3, 7, 3, 7])], is_test=True)
    add_orders(db, shop, [(5002, _at(AS_OF), [3, 7])], cancelled_at=_at(AS_OF, 13))
    refunded = add_orders(db, shop, [(5003, _at(AS_OF), [3, 7])])
    for line in refunded[5003]:
        refund_line(db, shop, line)
    add_orders(db, shop, [(5004, _at(AS_OF - timedelta(days=400)), [3, 7])])  # outside the window

    # When the shop is refreshed with that integer minimum count
    _refresh(db, shop, min_count=min_count)

    # Then the rule set and every metric equal mlxtend's
    expected = _mlxtend_rules([sorted(set(b)) for b in baskets], min_count)
    served = {(r[0], r[1]): r for r in _served(db, shop)}
    assert set(served) == set(expected)
    assert len(expected) > 10
    for key, metrics in expected.items():
        row = served[key]
        assert row[5] == len(baskets), "N counts every qualifying order, single-item ones included"
        for name, value in zip(("support", "confidence", "lift", "leverage"), row[6:10], strict=True):
            assert value == pytest.approx(metrics[name], rel=1e-9, abs=1e-12), (key, name)
        if math.isinf(metrics["conviction"]):
            assert row[10] is None and row[11] in ("infinite", "undefined"), key
        else:
            assert row[11] == "finite" and row[10] == pytest.approx(metrics["conviction"], rel=1e-9), key
    if always is not None:
        into_always = [r for k, r in served.items() if k[1] == always]
        assert into_always and all(r[8] == pytest.approx(1.0) and r[11] == "undefined" for r in into_always)


# ----- incremental equals full --------------------------------------------------------
class _Shop:
    """A shop whose orders change day by day, as the loaders would change them."""

    def __init__(self, conn: psycopg.Connection, rng: random.Random, n_products: int = 12) -> None:
        self.conn, self.rng, self.n_products = conn, rng, n_products
        self.id = make_shop(conn)
        add_products(conn, self.id, range(1, n_products + 1))
        self.next_order = 1
        self.lines: dict[int, list[int]] = {}
        self.live: list[int] = []

    def new_orders(self, day: date, count: int) -> None:
        orders = []
        for _ in range(count):
            size = 1 if self.rng.random() < 0.35 else self.rng.randint(2, 4)
            basket = self.rng.choices(range(1, self.n_products + 1), k=size)
            if self.rng.random() < 0.1:
                basket.append(basket[0])
            orders.append((self.next_order, _at(day, self.rng.randrange(24)), basket))
            self.next_order += 1
        kind = self.rng.random()
        lines = add_orders(
            self.conn,
            self.id,
            orders,
            is_test=kind < 0.05,
            cancelled_at=_at(day, 23) if 0.05 <= kind < 0.1 else None,
        )
        self.lines.update(lines)
        self.live += list(lines)

    def change_old_orders(self, day: date) -> None:
        for _ in range(self.rng.randint(0, 4)):
            order = self.rng.choice(self.live)
            action = self.rng.random()
            if action < 0.45:
                refund_line(self.conn, self.id, self.rng.choice(self.lines[order]))
            elif action < 0.7:
                cancel_order(self.conn, self.id, order, _at(day))
            elif action < 0.8:
                self.conn.execute(
                    "delete from public.shopify_order_lines where shop_id = %s and line_id = %s",
                    (self.id, self.rng.choice(self.lines[order])),
                )
            elif action < 0.9:
                self.conn.execute("delete from public.shopify_orders where shop_id = %s and id = %s", (self.id, order))
                self.live.remove(order)
            else:  # a late-arriving order dated days ago
                self.new_orders(day - timedelta(days=self.rng.randint(1, 20)), 1)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_incremental_refresh_equals_a_full_recompute_after_random_changes(db: psycopg.Connection, seed: int) -> None:
    # Given a shop with 40 days of orders and two windows (7 and 30 days, min count 2)
    shop = _Shop(db, random.Random(seed))
    start = AS_OF - timedelta(days=40)
    for offset in range(41):
        shop.new_orders(start + timedelta(days=offset), shop.rng.randint(0, 12))
    assert _refresh(db, shop.id, window_days=30, min_count=2)["mode"] == "full"
    _refresh(db, shop.id, window_days=7, min_count=2)

    # When days pass with new orders, refunds, cancellations, deletions and late orders
    as_of = AS_OF
    for _ in range(16):
        as_of += timedelta(days=shop.rng.choice([1, 1, 1, 2]))
        shop.new_orders(as_of, shop.rng.randint(0, 15))
        shop.change_old_orders(as_of)
        summary = _refresh(db, shop.id, as_of)

        # Then every refresh is incremental and serves exactly what a full recompute gives
        assert summary["mode"] == "incremental"
        for window in (7, 30):
            expected = _recomputed(db, shop.id, window, 2, as_of)
            assert _served(db, shop.id, window) == expected, (as_of, window)
            assert _of_baskets(db, shop.id, window, 2, as_of) == expected, ("from the stored baskets", as_of, window)
            # the totals below the minimum count too: a pair gone from the window leaves no 0 behind
            totals = _stored_pair_totals(db, shop.id, window)
            assert totals == _recomputed_pair_totals(db, shop.id, window, as_of), ("stored totals", as_of, window)
    assert len(_served(db, shop.id, 30)) > 20

    # And a forced full refresh leaves the same result
    before = _served(db, shop.id, 30)
    assert _refresh(db, shop.id, as_of, full=True)["mode"] == "full"
    assert _served(db, shop.id, 30) == before


def test_baskets_of_more_than_64_products_count_every_pair(db: psycopg.Connection) -> None:
    # Given orders of 70 products (beyond the 64-product pair table) beside small ones
    shop = make_shop(db)
    add_products(db, shop, range(1, 81))
    big = list(range(1, 71))
    add_orders(db, shop, [(i, _at(AS_OF), big) for i in range(1, 4)] + [(9, _at(AS_OF), [1, 75, 80])])

    # When the shop is refreshed in full with min count 1
    _refresh(db, shop, min_count=1)

    # Then every pair of the big baskets counts 3 (70 x 69 rules), plus the small basket's, equal everywhere
    served = _served(db, shop)
    assert served == _recomputed(db, shop, 365, 1, AS_OF) == _of_baskets(db, shop, 365, 1, AS_OF)
    counts = {(r[0], r[1]): r[2] for r in served}
    assert len(counts) == 70 * 69 + 6
    assert counts[(1, 70)] == 3 and counts[(2, 69)] == 3 and counts[(1, 75)] == 1 and counts[(75, 80)] == 1


def test_a_refresh_touches_only_the_orders_that_changed(db: psycopg.Connection) -> None:
    shop = _Shop(db, random.Random(5))
    for offset in range(30):
        shop.new_orders(AS_OF - timedelta(days=offset), 5)
    _refresh(db, shop.id)
    nothing = _refresh(db, shop.id)
    assert nothing["orders_changed"] == 0 and nothing["totals_changed"] == 0

    refund_line(db, shop.id, shop.lines[1][0])
    shop.new_orders(AS_OF + timedelta(days=1), 3)
    summary = _refresh(db, shop.id, AS_OF + timedelta(days=1))
    assert summary["mode"] == "incremental"
    assert summary["orders_changed"] == 4, "the refunded order and the three new ones"


def test_refresh_records_a_sync_run(db: psycopg.Connection) -> None:
    shop = _Shop(db, random.Random(6))
    shop.new_orders(AS_OF, 10)
    summary = _refresh(db, shop.id)
    status, source, details = db.execute(
        "select status, source, details from public.sync_runs where id = %s", (summary["sync_run_id"],)
    ).fetchone()
    assert (status, source, details["mode"], details["as_of"]) == ("succeeded", "affinity", "full", "2026-11-01")


def _window_days_statistics(conn: psycopg.Connection) -> list[int]:
    row = conn.execute(
        "select most_common_vals::text::int[] from pg_stats"
        " where schemaname = 'private' and tablename = 'affinity_pair_totals' and attname = 'window_days'"
    ).fetchone()
    return row[0] if row else []


def test_a_full_refresh_leaves_statistics_that_know_its_rows(db: psycopg.Connection) -> None:
    # Without them the planner takes a new window for one row and reads its rules by nested loops
    shop = _Shop(db, random.Random(8))
    for back in range(10):
        shop.new_orders(AS_OF - timedelta(days=back), 12)
    assert 17 not in _window_days_statistics(db)
    _refresh(db, shop.id, window_days=17, min_count=1)
    assert 17 in _window_days_statistics(db)
    # a caller that does not own the tables (the service role) refreshes all the same, leaving it to autovacuum
    db.execute("set local role service_role")
    assert _refresh(db, shop.id, window_days=23, min_count=1, full=True)["mode"] == "full"
    db.execute("reset role")
    assert 23 not in _window_days_statistics(db)


def test_changing_the_shop_timezone_recuts_the_days(db: psycopg.Connection) -> None:
    shop = _Shop(db, random.Random(7))
    add_orders(db, shop.id, [(900, datetime(2026, 10, 31, 23, 30, tzinfo=UTC), [1, 2])])
    _refresh(db, shop.id, window_days=1, min_count=1)
    assert _served(db, shop.id, 1) == []  # 31 October in UTC: outside a one-day window ending 1 November
    db.execute("update public.shops set timezone = 'Europe/Berlin' where id = %s", (shop.id,))
    assert _refresh(db, shop.id)["mode"] == "full"
    assert [r[:3] for r in _served(db, shop.id, 1)] == [(1, 2, 1), (2, 1, 1)]


def test_bad_arguments_are_refused(db: psycopg.Connection) -> None:
    shop = make_shop(db)
    for args, code in (({"window_days": 0}, "OD003"), ({"min_count": 0}, "OD003")):
        with pytest.raises(psycopg.Error) as failure, db.transaction():
            _refresh(db, shop, **args)
        assert failure.value.diag.sqlstate == code
    with pytest.raises(psycopg.Error) as failure, db.transaction():
        _refresh(db, uuid.uuid4())
    assert failure.value.diag.sqlstate == "OD002"


# ----- serving --------------------------------------------------------------------------
@pytest.fixture
def served_shop(db: psycopg.Connection) -> dict:
    """Product 1 is bought with 2 (often), 3 (sometimes), 4 (a gift card), 5 (sold out)."""
    shop = make_shop(db)
    add_products(db, shop, [1, 2, 3, 6, 7])
    add_products(db, shop, [4], is_gift_card=True)
    add_products(db, shop, [5], inventory=0)
    orders = [[1, 2]] * 8 + [[1, 3]] * 4 + [[1, 4]] * 6 + [[1, 5]] * 6 + [[2, 3]] * 3 + [[3, 6]] * 5 + [[7]] * 40
    add_orders(db, shop, [(i + 1, _at(AS_OF), basket) for i, basket in enumerate(orders)])
    _refresh(db, shop, min_count=3)
    people = {"shop": shop, "member": make_user(db), "stranger": make_user(db)}
    add_member(db, shop, people["member"])
    return people


def _call(conn: psycopg.Connection, sql: str, params: dict) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def test_frequently_bought_with_serves_eligible_products_strongest_first(
    db: psycopg.Connection, served_shop: dict
) -> None:
    with acting_as(db, "authenticated", served_shop["member"]):
        rows = _call(
            db,
            "select other_product_id, n_together from public.frequently_bought_with(p_shop_id => %(s)s,"
            " p_product_id => 1, p_limit => 10)",
            {"s": served_shop["shop"]},
        )
        excluded = _call(
            db,
            "select other_product_id from public.frequently_bought_with(p_shop_id => %(s)s, p_product_id => 1,"
            " p_exclude => '{2}')",
            {"s": served_shop["shop"]},
        )
    assert rows == [(2, 8), (3, 4)], "gift card 4 and sold-out 5 are never recommended"
    assert excluded == [(3,)]


# what frequently_bought_with must return, straight from the view
FREQUENTLY_BOUGHT_WITH_FROM_THE_VIEW = (
    "select a.* from public.product_affinity a join public.products p on p.shop_id = a.shop_id"
    " and p.id = a.other_product_id where a.shop_id = %(s)s and a.window_days = 365 and a.product_id = %(p)s"
    " and a.other_product_id <> all (%(x)s) and private.product_is_recommendable(p)"
    " order by a.score desc, a.confidence desc, a.other_product_id limit %(n)s"
)


def _random_served_shop(
    conn: psycopg.Connection, seed: int, sold_out: int | None = None
) -> tuple[uuid.UUID, uuid.UUID]:
    """A refreshed shop of 30 days of random baskets over 12 products (min count 2), and a member."""
    shop = _Shop(conn, random.Random(seed))
    for offset in range(30):
        shop.new_orders(AS_OF - timedelta(days=offset), 12)
    if sold_out is not None:
        conn.execute("update public.products set inventory = 0 where shop_id = %s and id = %s", (shop.id, sold_out))
    _refresh(conn, shop.id, min_count=2)
    member = make_user(conn)
    add_member(conn, shop.id, member)
    return shop.id, member


def test_frequently_bought_with_is_the_views_rules_for_the_product(db: psycopg.Connection) -> None:
    # Given a shop with random baskets over 12 products, one of them sold out, and a member
    shop, member = _random_served_shop(db, 21, sold_out=5)

    # When the member asks for each product's partners (with and without exclusions)
    # Then they are the view's eligible rules for that product, every column, best score first
    served = 0
    with acting_as(db, "authenticated", member):
        for product in range(1, 14):  # 13 has no orders: no rules
            for exclude, limit in (([], 100), ([3, 7], 4)):
                params = {"s": shop, "p": product, "x": exclude, "n": limit}
                rows = _call(
                    db,
                    "select * from public.frequently_bought_with(p_shop_id => %(s)s, p_product_id => %(p)s,"
                    " p_limit => %(n)s, p_exclude => %(x)s)",
                    params,
                )
                assert rows == _call(db, FREQUENTLY_BOUGHT_WITH_FROM_THE_VIEW, params), (product, exclude)
                assert all(r[3] not in exclude and r[3] != 5 for r in rows)
                served += len(rows)
    assert served > 50


def test_frequently_bought_with_a_product_with_thousands_of_partners(db: psycopg.Connection) -> None:
    # Given product 1 bought with each of 2,100 others (some twice, the gift cards never recommended)
    shop = make_shop(db)
    add_products(db, shop, range(1, 2102))
    db.execute("update public.products set is_gift_card = true where shop_id = %s and id %% 97 = 0", (shop,))
    orders = [[1, k] for k in range(2, 2102)] + [[1, k] for k in range(2, 2102, 7)] + [[k] for k in range(2, 60)]
    add_orders(db, shop, [(i + 1, _at(AS_OF), basket) for i, basket in enumerate(orders)])
    _refresh(db, shop, min_count=1)
    member = make_user(db)
    add_member(db, shop, member)

    # When a member asks for its partners; Then they are the view's rows (the hashed path, > 2,000 partners)
    with acting_as(db, "authenticated", member):
        params = {"s": shop, "p": 1, "x": [2, 9], "n": 100}
        rows = _call(
            db,
            "select * from public.frequently_bought_with(p_shop_id => %(s)s, p_product_id => 1, p_limit => %(n)s,"
            " p_exclude => %(x)s)",
            params,
        )
        expected = _call(db, FREQUENTLY_BOUGHT_WITH_FROM_THE_VIEW, params)
    assert len(rows) == 100 and rows == expected
    assert all(r[3] % 97 != 0 and r[3] not in (2, 9) for r in rows)


def test_recommend_for_cart_combines_the_cart_and_leaves_it_out(db: psycopg.Connection, served_shop: dict) -> None:
    with acting_as(db, "authenticated", served_shop["member"]):
        rows = _call(
            db,
            "select product_id, n_supporting, supported_by from public.recommend_for_cart(p_shop_id => %(s)s,"
            " p_product_ids => '{1,3}')",
            {"s": served_shop["shop"]},
        )
    products = [r[0] for r in rows]
    assert 1 not in products and 3 not in products
    assert rows == [(6, 1, [3]), (2, 2, [1, 3])], "6 is bought with 3 far above chance; 2 with both, less so"


def test_recommend_for_cart_combines_the_views_rules(db: psycopg.Connection) -> None:
    # Given a shop with random baskets over 12 products, one of them sold out, and a member
    shop, member = _random_served_shop(db, 23, sold_out=4)

    # When the member asks for carts of one to four products (one repeated, one never sold)
    # Then each answer combines the view's eligible rules of the cart's products
    view = (
        "select a.other_product_id, sum(ln(a.score)), count(*)::integer, array_agg(a.product_id order by a.product_id),"
        " max(a.confidence), max(a.lift) from public.product_affinity a join public.products p on p.shop_id = a.shop_id"
        " and p.id = a.other_product_id where a.shop_id = %(s)s and a.window_days = 365 and a.product_id = any (%(c)s)"
        " and a.other_product_id <> all (%(c)s) and private.product_is_recommendable(p)"
        " group by 1 having sum(ln(a.score)) > 0 order by 2 desc, 5 desc, 1 limit 100"
    )
    answered = 0
    with acting_as(db, "authenticated", member):
        for cart in ([1], [2, 5], [3, 3, 7], [1, 6, 8, 13], [5, 9, 10, 11]):
            params = {"s": shop, "c": cart}
            rows = _call(
                db,
                "select * from public.recommend_for_cart(p_shop_id => %(s)s, p_product_ids => %(c)s, p_limit => 100)",
                params,
            )
            expected = _call(db, view, params)
            assert [r[0] for r in rows] == [r[0] for r in expected], cart
            for got, want in zip(rows, expected, strict=True):
                assert got[2:4] == want[2:4] and got[1] == pytest.approx(want[1], rel=1e-12), cart
                assert got[4:] == pytest.approx(want[4:], rel=1e-12), cart
            answered += len(rows)
    assert answered > 4  # random baskets: few candidates beat chance, but some do


def test_serving_functions_refuse_non_members_with_42501(db: psycopg.Connection, served_shop: dict) -> None:
    calls = [
        "select * from public.frequently_bought_with(p_shop_id => %(s)s, p_product_id => 1)",
        "select * from public.recommend_for_cart(p_shop_id => %(s)s, p_product_ids => '{1}')",
        "select * from public.list_product_affinity(p_shop_id => %(s)s)",
    ]
    stranger = served_shop["stranger"]
    for sql in calls:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "authenticated", stranger):
            _call(db, sql, {"s": served_shop["shop"]})
        with pytest.raises(psycopg.errors.InsufficientPrivilege), acting_as(db, "anon"):
            _call(db, sql, {"s": served_shop["shop"]})


def _pages(conn: psycopg.Connection, shop: uuid.UUID, limit: int, product: int | None = None) -> list[tuple]:
    rows: list[tuple] = []
    after: tuple = (None, None)
    while True:
        page = _call(
            conn,
            "select * from public.list_product_affinity(p_shop_id => %(s)s, p_product_id => %(p)s,"
            " p_after_product_id => %(a)s, p_after_other_product_id => %(b)s, p_limit => %(n)s)",
            {"s": shop, "p": product, "a": after[0], "b": after[1], "n": limit},
        )
        assert len(page) <= limit
        if not page:
            return rows
        rows += page
        after = (page[-1][2], page[-1][3])


def test_list_product_affinity_pages_through_every_rule_once(db: psycopg.Connection, served_shop: dict) -> None:
    with acting_as(db, "authenticated", served_shop["member"]):
        everything = _call(
            db, "select * from public.product_affinity where shop_id = %(s)s order by 3, 4", {"s": served_shop["shop"]}
        )
        pages = _pages(db, served_shop["shop"], 3)
    assert pages == everything and len(everything) > 6


def test_list_product_affinity_is_the_views_rules_in_any_page_size(db: psycopg.Connection) -> None:
    # Given a shop with random baskets over 12 products and a member
    shop, member = _random_served_shop(db, 22)

    # When the member pages through every rule, or one product's, in pages of any size
    # Then the pages hold the view's rows, every column, each once, in (product, other product) order
    with acting_as(db, "authenticated", member):
        view = (
            "select * from public.product_affinity where shop_id = %(s)s"
            " and (%(p)s::bigint is null or product_id = %(p)s) order by 3, 4"
        )
        everything = _call(db, view, {"s": shop, "p": None})
        assert len(everything) > 40
        for limit in (1, 5, 11, 1000):
            assert _pages(db, shop, limit) == everything, limit
        assert _pages(db, shop, 4, product=3) == _call(db, view, {"s": shop, "p": 3})


@pytest.mark.parametrize(
    "sql",
    [
        "select * from public.frequently_bought_with(p_shop_id => %(s)s, p_product_id => 1, p_limit => 0)",
        "select * from public.list_product_affinity(p_shop_id => %(s)s, p_after_product_id => 1)",
    ],
)
def test_serving_functions_name_bad_arguments(db: psycopg.Connection, served_shop: dict, sql: str) -> None:
    with pytest.raises(psycopg.Error) as failure, acting_as(db, "authenticated", served_shop["member"]):
        _call(db, sql, {"s": served_shop["shop"]})
    assert failure.value.diag.sqlstate == "OD003"


def test_conviction_is_valid_json_when_infinite(db: psycopg.Connection, served_shop: dict) -> None:
    rows = db.execute(
        "select json_agg(json_build_object('c', conviction, 'k', conviction_kind))::text"
        " from public.product_affinity where shop_id = %s and product_id = 6",
        (served_shop["shop"],),
    ).fetchone()[0]
    assert rows == '[{"c" : null, "k" : "infinite"}]', "6 is always bought with 3: the rule never fails"


# ----- readers never see a half-built result --------------------------------------------
def test_readers_see_the_previous_result_until_a_refresh_commits(fresh_database_url: str) -> None:
    from opsdata.core.db import connect

    with connect(fresh_database_url) as writer, connect(fresh_database_url) as reader:
        shop = make_shop(writer)
        add_products(writer, shop, [1, 2, 3])
        add_orders(writer, shop, [(i, _at(AS_OF), [1, 2]) for i in range(1, 6)])
        _refresh(writer, shop)
        count = "select count(*) from public.product_affinity where shop_id = %s"
        assert reader.execute(count, (shop,)).fetchone() == (2,)

        with writer.transaction():
            add_orders(writer, shop, [(i, _at(AS_OF), [1, 3]) for i in range(6, 12)])
            _refresh(writer, shop)
            assert writer.execute(count, (shop,)).fetchone() == (4,)
            assert reader.execute(count, (shop,)).fetchone() == (2,), "the refresh is not visible before commit"
        assert reader.execute(count, (shop,)).fetchone() == (4,)


def test_a_shop_with_orders_and_affinity_can_be_deleted(db: psycopg.Connection) -> None:
    shop = _Shop(db, random.Random(8))
    shop.new_orders(AS_OF, 5)
    _refresh(db, shop.id)
    shop.new_orders(AS_OF, 2)  # marks pending when the shop goes
    db.execute("delete from public.shops where id = %s", (shop.id,))
    left = db.execute(
        "select (select count(*) from private.affinity_dirty_orders where shop_id = %(s)s)"
        " + (select count(*) from private.affinity_baskets where shop_id = %(s)s)",
        {"s": shop.id},
    ).fetchone()
    assert left == (0,)
