"""`opsdata load` throughput: files of products, orders and order lines, first load and reload.

Files are written from the demo generator (100k orders), loaded into a scratch database, then
loaded again (the reload path compares every row and writes none).
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import date
from pathlib import Path

from opsdata.core.db import connect
from opsdata.demo import DemoParams, generate
from opsdata.demo.store import _format
from opsdata.etl.landing import load_file
from tests.bench.data import scratch_database
from tests.bench.framework import BenchContext, Result

PARAMS = DemoParams(shop="load.myshopify.com", days=90, orders=100_000, seed=3, end_date=date(2026, 11, 28))


def _write_files(folder: Path) -> dict[str, Path]:
    data = generate(PARAMS)
    files = {}
    for table, suffix in (("products", "csv"), ("shopify_orders", "jsonl"), ("shopify_order_lines", "csv.gz")):
        cols = data.tables[table]
        n = data.rows(table)
        text = {name: _format(col, 0, n) for name, col in cols.items()}
        path = folder / f"{table}.{suffix}"
        rows = (dict(zip(text, values, strict=True)) for values in zip(*text.values(), strict=True))
        if suffix == "jsonl":
            body = "\n".join(json.dumps({k: v for k, v in r.items() if v != "\\N"}) for r in rows)
        else:
            body = (
                ",".join(text) + "\n" + "\n".join(",".join("" if v == "\\N" else v for v in r.values()) for r in rows)
            )
        if suffix.endswith("gz"):
            import gzip

            path.write_bytes(gzip.compress(body.encode(), compresslevel=1))
        else:
            path.write_text(body)
        files[table] = path
    return files


def run(ctx: BenchContext) -> list[Result]:
    rows = []
    with scratch_database("opsdata_bench_load") as url, tempfile.TemporaryDirectory() as folder, connect(url) as conn:
        conn.execute("insert into public.shops (domain, name) values (%s, 'Load')", (PARAMS.shop,))
        files = _write_files(Path(folder))
        for attempt in ("first load", "reload (unchanged)"):
            for table, path in files.items():
                started = time.perf_counter()
                report = load_file(conn, table, path, shop_domain=PARAMS.shop)
                seconds = time.perf_counter() - started
                rows.append([attempt, f"{table} ({path.name})", report.rows_read, seconds, report.rows_read / seconds])
    return [Result("opsdata load", ["run", "file", "rows", "seconds", "rows/s"], rows)]
