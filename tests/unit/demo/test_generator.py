"""The demo generator without a database: determinism, sizes, and rows the schema will accept."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from opsdata.demo import DemoParams, generate, planted_pairs
from opsdata.demo.generator import GENERATOR_VERSION, PRODUCT_ID_BASE, Col
from opsdata.demo.store import _format

PARAMS = DemoParams(shop="unit.myshopify.com", days=60, orders=1500, seed=9, end_date=date(2026, 11, 28))


def _same(a: dict, b: dict) -> bool:
    return all(
        np.array_equal(a[t][c].values, b[t][c].values)
        and np.array_equal(
            a[t][c].null if a[t][c].null is not None else [], b[t][c].null if b[t][c].null is not None else []
        )
        for t in a
        for c in a[t]
    )


def test_the_same_parameters_give_the_same_tables_and_another_seed_does_not() -> None:
    first, second = generate(PARAMS), generate(PARAMS)
    assert _same(first.tables, second.tables)
    assert not _same(first.tables, generate(PARAMS.model_copy(update={"seed": 10})).tables)


def test_benchmark_scale_sizes_follow_from_the_order_count() -> None:
    bench = DemoParams(orders=500_000)
    assert (bench.n_products, bench.n_product_pages, bench.n_actions) == (5000, 2000, 50_000)
    assert PARAMS.recorded()["generator_version"] == GENERATOR_VERSION
    assert PARAMS.recorded()["end_date"] == "2026-11-28"


def test_parameters_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        DemoParams(days=3)
    with pytest.raises(ValueError, match="shop"):
        DemoParams(shop="Not A Domain!")
    with pytest.raises(ValueError, match="shop"):
        DemoParams(shop="localhost")


def test_planted_pairs_are_distinct_real_products_spread_over_popularity() -> None:
    pairs = planted_pairs(9, 1000)
    assert len(pairs) == 20
    products = [p.product_id for p in pairs] + [p.with_product_id for p in pairs]
    assert len(set(products)) == 40
    gift_cards = range(PRODUCT_ID_BASE + 990, PRODUCT_ID_BASE + 1000)
    assert not set(products) & set(gift_cards)
    assert all(0.25 <= p.probability <= 0.6 for p in pairs)
    assert planted_pairs(9, 1000) == pairs and planted_pairs(8, 1000) != pairs
    assert len(planted_pairs(1, 50)) == 5, "small shops get fewer pairs"


def test_rows_respect_the_schema_rules_they_will_meet() -> None:
    data = generate(PARAMS)
    orders, lines, actions = (data.tables[t] for t in ("shopify_orders", "shopify_order_lines", "actions"))
    assert len(np.unique(orders["id"].values)) == PARAMS.orders
    assert len(np.unique(lines["line_id"].values)) == data.rows("shopify_order_lines")
    assert np.isin(lines["order_id"].values, orders["id"].values).all()
    assert (lines["current_quantity"].values <= lines["quantity"].values).all()
    status = actions["status"].values
    assert ((status == "proposed") == actions["decided_at"].null).all()
    executed = (status == "executed") | (status == "reverted")
    assert (executed == ~actions["executed_at"].null).all()
    assert (actions["executed_at"].values[executed] >= actions["decided_at"].values[executed]).all()
    assert (actions["proposed_at"].values < int(PARAMS.as_of.timestamp())).all()
    events = data.tables["events"]
    assert (events["occurred_at"].values < int(PARAMS.as_of.timestamp())).all()


def test_columns_are_written_as_copy_text() -> None:
    assert _format(Col(np.array([1999, 5, 120000]), "money"), 0, 3) == ["19.99", "0.05", "1200.00"]
    assert _format(Col(np.array([33333]), "fixed6"), 0, 1) == ["0.033333"]
    assert _format(Col(np.array([4250]), "fixed3"), 0, 1) == ["4.250"]
    assert _format(Col(np.array([0, 86_400]), "ts"), 0, 2) == ["1970-01-01T00:00:00Z", "1970-01-02T00:00:00Z"]
    assert _format(Col(np.array([1]), "date"), 0, 1) == ["1970-01-02"]
    assert _format(Col(np.array([True, False]), "bool", null=np.array([False, True])), 0, 2) == ["t", "\\N"]
