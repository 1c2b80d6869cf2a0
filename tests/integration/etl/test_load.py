"""`opsdata load` against the real cluster: whole-file rejection, skipping, idempotent reloads."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import psycopg
import pytest

from opsdata.etl.landing import LoadError, load_file
from support import make_shop, make_user

PRODUCTS_CSV = """id,title,handle,price,status,inventory
101,Linen Mug,linen-mug,12.50,active,4
102,Oak Tray,oak-tray,30,ACTIVE,
103,Wool Throw,wool-throw,80.00,draft,0
"""

ORDERS_JSONL = "\n".join(
    json.dumps(o)
    for o in [
        {"id": 1, "created_at": "2026-03-01T10:00:00Z", "currency": "USD", "subtotal": "12.50", "total": "18.49"},
        {"id": 2, "created_at": "2026-03-02T11:00:00+01:00", "currency": "USD", "subtotal": "30", "total": "30"},
    ]
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _runs(db: psycopg.Connection, shop: uuid.UUID) -> list[tuple]:
    return db.execute(
        "select source, status, rows_loaded, rows_rejected, max_data_at, error from public.sync_runs"
        " where shop_id = %s order by id",
        (shop,),
    ).fetchall()


@pytest.fixture
def shop(db: psycopg.Connection) -> uuid.UUID:
    return make_shop(db, "loader.myshopify.com")


@pytest.fixture
def shop_with_catalogue_and_orders(db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path) -> uuid.UUID:
    load_file(db, "products", _write(tmp_path, "products.csv", PRODUCTS_CSV), shop_domain="loader.myshopify.com")
    load_file(db, "shopify_orders", _write(tmp_path, "orders.jsonl", ORDERS_JSONL), shop_domain="loader.myshopify.com")
    return shop


def test_a_good_file_loads_and_records_a_sync_run(db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path) -> None:
    report = load_file(
        db, "products", _write(tmp_path, "products.csv", PRODUCTS_CSV), shop_domain="loader.myshopify.com"
    )
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (3, 0, 0, 0)
    rows = db.execute(
        "select id, status, inventory, price from public.products where shop_id = %s order by id", (shop,)
    )
    assert [(r[0], r[1], r[2], str(r[3])) for r in rows] == [
        (101, "active", 4, "12.50"),
        (102, "active", None, "30.00"),
        (103, "draft", 0, "80.00"),
    ]
    assert _runs(db, shop) == [("shopify", "succeeded", 3, 0, None, None)]


def test_reloading_the_same_file_changes_nothing(db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path) -> None:
    path = _write(tmp_path, "orders.jsonl", ORDERS_JSONL)
    load_file(db, "shopify_orders", path, shop_domain="loader.myshopify.com")
    before = db.execute("select id, loaded_at, xmin::text from public.shopify_orders order by id").fetchall()
    report = load_file(db, "shopify_orders", path, shop_domain="loader.myshopify.com")
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 2)
    after = db.execute("select id, loaded_at, xmin::text from public.shopify_orders order by id").fetchall()
    assert after == before, "unchanged rows are not rewritten (loaded_at and row version stay)"
    assert [r[:4] for r in _runs(db, shop)] == [("shopify", "succeeded", 2, 0)] * 2
    assert str(_runs(db, shop)[0][4]) == "2026-03-02 10:00:00+00:00", "max_data_at is the newest order"


def test_a_changed_row_is_updated_and_only_that_one(db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path) -> None:
    load_file(db, "products", _write(tmp_path, "p.csv", PRODUCTS_CSV), shop_domain="loader.myshopify.com")
    changed = PRODUCTS_CSV.replace("Oak Tray,oak-tray,30", "Oak Tray,oak-tray,35")
    report = load_file(db, "products", _write(tmp_path, "p2.csv", changed), shop_domain="loader.myshopify.com")
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    assert db.execute("select price::text from public.products where id = 102").fetchone() == ("35.00",)


def test_a_bad_file_is_rejected_whole_with_every_bad_line(
    db: psycopg.Connection, shop_with_catalogue_and_orders: uuid.UUID, tmp_path: Path
) -> None:
    # Given lines with a type error, a missing field, an unknown order, an unknown product and a duplicate
    lines = _write(
        tmp_path,
        "lines.csv",
        "line_id,order_id,product_id,quantity,current_quantity,unit_price,discounted_total\n"
        "11,1,101,1,1,12.50,12.50\n"
        "12,1,101,two,1,12.50,12.50\n"
        "13,1,102,1,1,,30\n"
        "14,99,102,1,1,30,30\n"
        "15,2,999,1,1,30,30\n"
        "11,2,102,1,1,30,30\n"
        "16,2,,1,0,5,5\n",
    )
    # When it is loaded
    with pytest.raises(LoadError) as failure:
        load_file(db, "shopify_order_lines", lines, shop_domain="loader.myshopify.com")
    # Then every bad line is named with its field and reason, and nothing is written
    found = [(p.line, p.field, p.reason) for p in failure.value.problems]
    assert found == [
        (3, "quantity", "expected an integer, got 'two'"),
        (4, "unit_price", "is required"),
        (5, "order_id", "no order 99 in this shop (load its order first)"),
        (6, "product_id", "no product 999 in this shop (load products first, or leave it empty)"),
        (7, "line_id", "duplicate line_id: also on line 2"),
    ]
    assert db.execute("select count(*) from public.shopify_order_lines").fetchone() == (0,)
    last = _runs(db, shop_with_catalogue_and_orders)[-1]
    assert last[:4] == ("shopify", "failed", 0, 5)
    assert "5 bad line(s), nothing loaded" in last[5]
    assert failure.value.sync_run_id is not None


def test_skip_bad_rows_loads_the_good_ones_and_writes_rejects(
    db: psycopg.Connection, shop_with_catalogue_and_orders: uuid.UUID, tmp_path: Path
) -> None:
    lines = _write(
        tmp_path,
        "lines.jsonl",
        '{"line_id": 11, "order_id": 1, "product_id": 101, "quantity": 1, "current_quantity": 1,'
        ' "unit_price": 12.5, "discounted_total": 12.5}\n'
        '{"line_id": 12, "order_id": 42, "product_id": 101, "quantity": 1, "current_quantity": 1,'
        ' "unit_price": 12.5, "discounted_total": 12.5}\n'
        "not json\n",
    )
    rejects = tmp_path / "out" / "rejects.jsonl"
    rejects.parent.mkdir()
    report = load_file(
        db, "shopify_order_lines", lines, shop_domain="loader.myshopify.com", skip_bad_rows=True, rejects_path=rejects
    )
    assert (report.inserted, report.rejected, report.rejects_file) == (1, 2, str(rejects))
    written = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(w["line"], w["problems"][0]["field"]) for w in written] == [(2, "order_id"), (3, None)]
    assert written[1]["raw"] == "not json"
    assert '"order_id": 42' in written[0]["raw"]
    assert db.execute("select line_id from public.shopify_order_lines").fetchall() == [(11,)]
    assert _runs(db, shop_with_catalogue_and_orders)[-1][:4] == ("shopify", "succeeded", 1, 2)


def test_gzipped_search_console_data_loads_with_its_date_as_max_data_at(
    db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path
) -> None:
    import gzip

    path = tmp_path / "gsc.csv.gz"
    path.write_bytes(
        gzip.compress(
            b"date,page,clicks,impressions,ctr,position,is_final\n"
            b"2026-03-01,https://loader.example/,3,100,0.03,4.2,true\n"
            b"20260302,https://loader.example/,1,50,0.0200004,5.25,false\n"
        )
    )
    report = load_file(db, "gsc_page_daily", path, shop_domain="loader.myshopify.com")
    assert report.inserted == 2
    assert str(report.max_data_at) == "2026-03-02 00:00:00+00:00"
    assert db.execute("select ctr::text from public.gsc_page_daily order by date").fetchall() == [
        ("0.030000",),
        ("0.020000",),
    ]
    assert _runs(db, shop)[-1][0] == "gsc"


def test_a_handle_taken_by_another_product_is_a_conflict(
    db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path
) -> None:
    load_file(db, "products", _write(tmp_path, "p.csv", PRODUCTS_CSV), shop_domain="loader.myshopify.com")
    clash = _write(tmp_path, "clash.csv", "id,title,handle,price\n104,Another Mug,linen-mug,9\n")
    with pytest.raises(LoadError) as failure:
        load_file(db, "products", clash, shop_domain="loader.myshopify.com")
    assert [(p.line, p.field, p.reason) for p in failure.value.problems] == [
        (2, "handle", "handle already belongs to product 101")
    ]


def test_actions_load_with_their_decider_and_stay_in_their_shop(
    db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path
) -> None:
    operator = make_user(db)
    other_shop = make_shop(db, "other.myshopify.com")
    foreign = uuid.uuid4()
    db.execute(
        "insert into public.actions (id, shop_id, recommender, action_type, target_kind, target_ref)"
        " values (%s, %s, 'r', 't', 'page', '/')",
        (foreign, other_shop),
    )
    rows = [
        {
            "id": str(uuid.uuid4()),
            "recommender": "seo_titles",
            "action_type": "rewrite_title",
            "target_kind": "page",
            "target_ref": "/products/linen-mug",
            "status": "approved",
            "proposed_at": "2026-03-01T10:00:00Z",
            "decided_at": "2026-03-01T12:00:00Z",
            "decided_by": str(operator),
            "payload": {"after": "Linen Mug | Handmade"},
        },
        {
            "id": str(foreign),
            "recommender": "r",
            "action_type": "t",
            "target_kind": "page",
            "target_ref": "/",
            "proposed_at": "2026-03-01T10:00:00Z",
        },
        {
            "id": str(uuid.uuid4()),
            "recommender": "r",
            "action_type": "t",
            "target_kind": "page",
            "target_ref": "/",
            "status": "rejected",
            "proposed_at": "2026-03-01T10:00:00Z",
            "decided_at": "2026-03-01T12:00:00Z",
            "decided_by": str(uuid.uuid4()),
        },
    ]
    path = _write(tmp_path, "actions.jsonl", "\n".join(json.dumps(r) for r in rows))
    report = load_file(db, "actions", path, shop_domain="loader.myshopify.com", skip_bad_rows=True)
    assert (report.inserted, report.rejected) == (1, 2)
    assert Path(report.rejects_file or "").name == "actions.jsonl.rejects.jsonl"
    problems = [json.loads(line)["problems"][0] for line in Path(report.rejects_file or "").read_text().splitlines()]
    assert problems == [
        {"field": "id", "reason": "this action id belongs to another shop"},
        {"field": "decided_by", "reason": f"no user {rows[2]['decided_by']}"},
    ]
    loaded = db.execute("select status, decided_by, payload from public.actions where shop_id = %s", (shop,)).fetchall()
    assert loaded == [("approved", operator, {"after": "Linen Mug | Handmade"})]


def test_the_shop_must_be_named_when_several_exist(db: psycopg.Connection, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PRODUCTS_CSV)
    with pytest.raises(LoadError, match="no shops yet"):
        load_file(db, "products", path)
    make_shop(db, "one.myshopify.com")
    assert load_file(db, "products", path).shop_domain == "one.myshopify.com", "the only shop is the default"
    make_shop(db, "two.myshopify.com")
    with pytest.raises(LoadError, match="several shops exist: pass --shop"):
        load_file(db, "products", path)
    with pytest.raises(LoadError, match=r"no shop with domain 'three.myshopify.com' \(known: one"):
        load_file(db, "products", path, shop_domain="three.myshopify.com")


def test_the_load_writes_as_service_role_and_leaves_the_session_as_it_was(
    db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path
) -> None:
    load_file(db, "products", _write(tmp_path, "p.csv", PRODUCTS_CSV), shop_domain="loader.myshopify.com")
    assert db.execute("select current_user").fetchone() == ("postgres",)
    assert db.execute("select to_regclass('pg_temp._load')").fetchone() == (None,)


def test_a_file_that_cannot_be_read_fails_its_sync_run(db: psycopg.Connection, shop: uuid.UUID, tmp_path: Path) -> None:
    header = _write(tmp_path, "p.csv", "id,title,handle\n1,Mug,mug\n")
    with pytest.raises(LoadError, match=r"p\.csv: the CSV header does not match the table"):
        load_file(db, "products", header, shop_domain="loader.myshopify.com")
    broken = tmp_path / "e.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(LoadError, match=r"e\.jsonl\.gz cannot be read"):
        load_file(db, "events", broken, shop_domain="loader.myshopify.com")
    runs = _runs(db, shop)
    assert [(r[0], r[1]) for r in runs] == [("shopify", "failed"), ("events", "failed")]
    assert db.execute("select count(*) from public.products").fetchone() == (0,)
