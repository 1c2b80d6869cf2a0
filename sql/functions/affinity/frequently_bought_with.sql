-- frequently_bought_with: products bought together with p_product_id, strongest first (score:
-- shrunk lift, then confidence), only products Shopify would recommend
-- (private.product_is_recommendable), without p_exclude (e.g. what is already in the cart).
-- The rows of public.product_affinity for the product (a test holds them equal), read in two
-- steps: its partners reaching the window's minimum count (both directions of its pairs), then
-- each partner's own count and eligibility. Up to 1,000 partners those are looked up by key (a
-- cached plan; ~2 µs each); more are hashed by a query planned for their number (EXECUTE: about
-- 1 ms of planning and a scan of every product, cheaper beyond that). The view's one generic plan
-- did one or the other for every product (sql/README.md).
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
  v_others bigint[];
  v_together integer[];
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

  -- the partners (each pair is stored once, either way round)
  select array_agg(x.other_product_id), array_agg(x.n_together) into v_others, v_together
  from (
    select t.other_product_id, t.n_together from private.affinity_pair_totals t
    where t.shop_id = p_shop_id and t.window_days = p_window_days and t.product_id = p_product_id
      and t.n_together >= v_window.min_count
    union all
    select t.product_id, t.n_together from private.affinity_pair_totals t
    where t.shop_id = p_shop_id and t.window_days = p_window_days and t.other_product_id = p_product_id
      and t.n_together >= v_window.min_count
  ) x
  where x.other_product_id <> all (coalesce(p_exclude, '{}'));
  if v_others is null then
    return;
  end if;

  -- the two queries differ only in how a partner's count and eligibility are found
  if cardinality(v_others) <= 1000 then
    return query
      select p_shop_id, p_window_days, p_product_id, x.other_product_id, x.n_together, v_n_product, c.n_orders,
             v_window.n_orders, m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind,
             m.score, v_window.first_day, v_window.last_day, v_window.refreshed_at
      from unnest(v_others, v_together) x (other_product_id, n_together)
      cross join lateral (  -- offset 0: a lookup per partner, never a join the planner may hash
        select c.n_orders from private.affinity_product_totals c
        where c.shop_id = p_shop_id and c.window_days = p_window_days and c.product_id = x.other_product_id
        offset 0
      ) c
      cross join lateral private.affinity_metrics(x.n_together, v_n_product, c.n_orders, v_window.n_orders) m
      where exists (select 1 from public.products p
                    where p.shop_id = p_shop_id and p.id = x.other_product_id and private.product_is_recommendable(p)
                    offset 0)
      order by m.score desc, m.confidence desc, x.other_product_id
      limit p_limit;
  else
    return query execute
      'select $1, $2, $3, x.other_product_id, x.n_together, $4, c.n_orders,
              $5, m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind,
              m.score, $6, $7, $8
       from unnest($9::bigint[], $10::integer[]) x (other_product_id, n_together)
       join private.affinity_product_totals c
         on c.shop_id = $1 and c.window_days = $2 and c.product_id = x.other_product_id
       cross join lateral private.affinity_metrics(x.n_together, $4, c.n_orders, $5) m
       where exists (select 1 from public.products p
                     where p.shop_id = $1 and p.id = x.other_product_id and private.product_is_recommendable(p))
       order by m.score desc, m.confidence desc, x.other_product_id
       limit $11'
    using p_shop_id, p_window_days, p_product_id, v_n_product, v_window.n_orders,
          v_window.first_day, v_window.last_day, v_window.refreshed_at, v_others, v_together, p_limit;
  end if;
end
$$;
comment on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) is
  'Products frequently bought with p_product_id (rules product -> other), eligible for recommendation, best score first.';
revoke execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) from public, anon;
grant execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) to authenticated, service_role;
