-- list_product_affinity: one page of a shop's affinity rules for `GET /api/data/product-affinity`,
-- in (product_id, other_product_id) order; keyset pagination: pass the last row's
-- product_id / other_product_id as p_after_product_id / p_after_other_product_id.
-- Optional p_product_id narrows to one antecedent. No eligibility filter: this is the data, not
-- a recommendation. The rows of public.product_affinity (a test pages through them all), read
-- product by product in id order from the cursor on (private.affinity_rules_of_product) until the
-- page is full: a page costs the few products it spans. Read from the view, every page computed
-- and sorted one direction of every pair (0.5-0.7 s at 570k pairs).
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..1000 or half a cursor.
create or replace function public.list_product_affinity(
  p_shop_id uuid,
  p_window_days integer default 365,
  p_product_id bigint default null,
  p_after_product_id bigint default null,
  p_after_other_product_id bigint default null,
  p_limit integer default 100
)
returns setof public.product_affinity
language plpgsql
stable
set search_path = ''
as $$
declare
  v_product_id bigint;
  v_left integer := p_limit;
  v_rows integer;
begin
  perform private.require_shop_member(p_shop_id);
  perform private.require_page_args(p_limit, 1000, array[p_after_product_id is not null, p_after_other_product_id is not null],
                                    'p_after_product_id and p_after_other_product_id');
  for v_product_id in
    select a.product_id from private.affinity_product_totals a
    where a.shop_id = p_shop_id and a.window_days = p_window_days
      and (p_product_id is null or a.product_id = p_product_id)
      and (p_after_product_id is null or a.product_id >= p_after_product_id)
    order by a.product_id
  loop
    return query
      select r.*
      from private.affinity_rules_of_product(p_shop_id, p_window_days, v_product_id) r
      where p_after_product_id is null
         or (r.product_id, r.other_product_id) > (p_after_product_id, p_after_other_product_id)
      order by r.other_product_id
      limit v_left;
    get diagnostics v_rows = row_count;
    v_left := v_left - v_rows;
    exit when v_left = 0;
  end loop;
end
$$;
comment on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) is
  'A page of affinity rules (product, other product order) for the HTTP listing; keyset cursor p_after_product_id/p_after_other_product_id.';
revoke execute on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) from public, anon;
grant execute on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) to authenticated, service_role;
