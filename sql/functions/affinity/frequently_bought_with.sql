-- frequently_bought_with: products bought together with p_product_id, strongest first (score:
-- shrunk lift, then confidence), only products Shopify would recommend
-- (private.product_is_recommendable), without p_exclude (e.g. what is already in the cart).
-- The rows of public.product_affinity for the product, as one query planned for this product
-- (EXECUTE, the product a constant): the column statistics know how many partners the most bought
-- products have, so a few partners are looked up by key and thousands are hashed. The view's
-- generic plan scanned every product's count and eligibility even for a product with 8 partners.
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..100.
create or replace function public.frequently_bought_with(
  p_shop_id uuid,
  p_product_id bigint,
  p_limit integer default 10,
  p_exclude bigint[] default '{}',
  p_window_days integer default 365
)
returns setof public.product_affinity
language plpgsql
stable
set search_path = ''
as $$
declare
  v_window private.affinity_windows;
  v_n_product integer;
begin
  perform private.require_shop_member(p_shop_id);
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = 'OD003';
  end if;
  select * into v_window from private.affinity_windows w
  where w.shop_id = p_shop_id and w.window_days = p_window_days;
  select a.n_orders into v_n_product from private.affinity_product_totals a
  where a.shop_id = p_shop_id and a.window_days = p_window_days and a.product_id = p_product_id;
  if v_n_product is null then  -- no such window, or the product is in none of its orders
    return;
  end if;
  -- the partners: both directions of the product's pairs (each pair is stored once)
  return query execute
    'select $1, $2, $3, x.other_product_id, x.n_together, $4, c.n_orders, $5,
            m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind, m.score, $6, $7, $8
     from (
       select t.other_product_id, t.n_together from private.affinity_pair_totals t
       where t.shop_id = $1 and t.window_days = $2 and t.product_id = $3 and t.n_together >= $9
       union all
       select t.product_id, t.n_together from private.affinity_pair_totals t
       where t.shop_id = $1 and t.window_days = $2 and t.other_product_id = $3 and t.n_together >= $9
     ) x
     join private.affinity_product_totals c
       on c.shop_id = $1 and c.window_days = $2 and c.product_id = x.other_product_id
     join public.products p on p.shop_id = $1 and p.id = x.other_product_id
     cross join lateral private.affinity_metrics(x.n_together, $4, c.n_orders, $5) m
     where private.product_is_recommendable(p) and x.other_product_id <> all ($10)
     order by m.score desc, m.confidence desc, x.other_product_id
     limit $11'
  using p_shop_id, p_window_days, p_product_id, v_n_product, v_window.n_orders,
        v_window.first_day, v_window.last_day, v_window.refreshed_at, v_window.min_count,
        coalesce(p_exclude, '{}'), p_limit;
end
$$;
comment on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) is
  'Products frequently bought with p_product_id (rules product -> other), eligible for recommendation, best score first.';
revoke execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) from public, anon;
grant execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) to authenticated, service_role;
