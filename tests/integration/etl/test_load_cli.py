"""`opsdata load` as a user runs it: real files, a real database, exit codes and messages."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from opsdata import cli
from opsdata.core.db import connect

PRODUCTS = "id,title,handle,price\n1,Mug,mug,9.99\n2,Tray,tray,oops\n3,Lamp,lamp,45\n"


def _shop(url: str) -> None:
    with connect(url) as conn:
        conn.execute("insert into public.shops (domain, name) values ('cli.myshopify.com', 'CLI')")


def test_a_bad_file_exits_1_listing_each_bad_line_and_writes_nothing(use_database: str, tmp_path: Path) -> None:
    _shop(use_database)
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS)
    result = CliRunner().invoke(cli.main, ["load", "products", str(path)])
    assert result.exit_code == 1
    assert f"{path}:3: price: expected a number, got 'oops'" in result.output
    assert "1 bad line(s), nothing loaded" in result.output and "recorded as failed" in result.output
    with connect(use_database) as conn:
        assert conn.execute("select count(*) from public.products").fetchone() == (0,)
        assert conn.execute("select status, rows_rejected from public.sync_runs").fetchall() == [("failed", 1)]


def test_skip_bad_rows_loads_the_rest_and_reloading_is_a_no_op(use_database: str, tmp_path: Path) -> None:
    _shop(use_database)
    path = tmp_path / "products.csv"
    path.write_text(PRODUCTS)
    rejects = tmp_path / "bad.jsonl"
    args = ["load", "products", str(path), "--shop", "CLI.myshopify.com", "--skip-bad-rows", "--rejects", str(rejects)]
    first = CliRunner().invoke(cli.main, args)
    assert first.exit_code == 0, first.output
    assert "loaded 2 row(s) into products for cli.myshopify.com: 2 inserted, 0 updated, 0 unchanged" in first.output
    assert f"skipped 1 bad line(s): see {rejects}" in first.output
    again = CliRunner().invoke(cli.main, args)
    assert "0 inserted, 0 updated, 2 unchanged" in again.output


def test_rejects_needs_skip_bad_rows_and_unknown_files_are_named(use_database: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli.main, ["load", "products", "x.csv", "--rejects", "r.jsonl"])
    assert result.exit_code == 2 and "--rejects only makes sense with --skip-bad-rows" in result.output
    _shop(use_database)
    missing = CliRunner().invoke(cli.main, ["load", "events", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "no such file" in missing.output
