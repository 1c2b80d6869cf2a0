"""The README's "Adding an endpoint", done in a test: a SQL function, a declaration, a request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import Field

from api_support import running_server
from opsdata.api.app import ApiContext, create_app
from opsdata.api.endpoint import ApiItem, Endpoint, ShopParams
from opsdata.api.routes import ENDPOINTS
from opsdata.core.db import connect

from .conftest import World

# 1. the SQL function (a capability returning one jsonb value, PostgREST-callable as is)
FUNCTION = """
create or replace function public.test_run_summary(p_shop_id uuid, p_min_rows integer default 0)
returns jsonb
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.assert_shop_member(p_shop_id);
  return (
    select coalesce(jsonb_agg(jsonb_build_object('source', r.source, 'runs', r.n) order by r.source), '[]')
    from (select source, count(*) as n from public.sync_runs
          where shop_id = p_shop_id and rows_loaded >= p_min_rows group by source) r
  );
end
$$;
revoke execute on function public.test_run_summary(uuid, integer) from public, anon;
grant execute on function public.test_run_summary(uuid, integer) to authenticated, service_role;
"""


# 2. the declaration
class RunSummaryParams(ShopParams):
    min_rows: int = Field(default=0, ge=0, description="Only runs that loaded at least this many rows")


class RunSummary(ApiItem):
    source: str
    runs: int


SUMMARY = Endpoint(
    path="/api/data/run-summary",
    function="public.test_run_summary",
    params=RunSummaryParams,
    item=RunSummary,
    summary="Runs per source",
    ttl_minutes=10,
    timeout="aggregation",
    result="value",
)


@pytest.fixture(scope="module")
def extended_api(world: World, api_context: ApiContext) -> Iterator[httpx.Client]:
    with connect(world.url) as conn:
        conn.execute(FUNCTION)
    app = create_app(context=api_context, endpoints=[*ENDPOINTS, SUMMARY])
    with running_server(app) as base, httpx.Client(base_url=base) as client:
        yield client


# 3. the test
def test_a_new_endpoint_gets_the_whole_pattern(extended_api: httpx.Client, world: World) -> None:
    params = {"shop": "alpha.test.myshopify.com", "min_rows": 50}
    first = extended_api.get("/api/data/run-summary", params=params, headers=world.auth(world.alice))
    assert first.status_code == 200, first.text
    assert first.json()["data"] == [{"source": "ga4", "runs": 24}, {"source": "shopify_orders", "runs": 57}]
    assert first.json()["meta"]["total"] == 2
    again = extended_api.get("/api/data/run-summary", params=params, headers=world.auth(world.carol))
    assert again.json()["meta"]["cached"] is True
    forbidden = extended_api.get("/api/data/run-summary", params=params, headers=world.auth(world.bob))
    assert forbidden.status_code == 403
    invalid = extended_api.get(
        "/api/data/run-summary", params={**params, "min_rows": -1}, headers=world.auth(world.alice)
    )
    assert invalid.status_code == 400 and "min_rows" in invalid.json()["error"]["message"]
    document = extended_api.get("/api/data/openapi.json", headers=world.auth(world.alice)).json()
    assert "/api/data/run-summary" in document["paths"] and "RunSummary" in document["components"]["schemas"]
