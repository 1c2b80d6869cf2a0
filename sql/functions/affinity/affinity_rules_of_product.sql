-- affinity_rules_of_product: the rows of public.product_affinity for one product (rules
-- p_product_id -> each partner), read the way one product's rules are cheapest to read: its
-- partners from both directions of its pairs (by the primary key and the reverse hash index),
-- then each partner's own count by key. The view's one generic plan hashes every product's count
-- instead (right for the whole rule set, ~2.5 ms wasted for a product with a few partners).
-- Used by frequently_bought_with and list_product_affinity; tests hold both to the view's rows.
-- No SET clause, so the planner inlines it into its callers' queries; every name is qualified.
-- Reads as the caller (RLS applies).
create or replace function private.affinity_rules_of_product(
  p_shop_id uuid,
  p_window_days integer,
  p_product_id bigint
)
returns setof public.product_affinity
language sql
stable
as $$
  select w.shop_id, w.window_days, a.product_id, x.other_product_id, x.n_together, a.n_orders, c.n_orders,
         w.n_orders, m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind, m.score,
         w.first_day, w.last_day, w.refreshed_at
  from private.affinity_windows w
  join private.affinity_product_totals a
    on a.shop_id = w.shop_id and a.window_days = w.window_days and a.product_id = p_product_id
  cross join lateral (  -- each pair is stored once, either way round
    select t.other_product_id, t.n_together from private.affinity_pair_totals t
    where t.shop_id = w.shop_id and t.window_days = w.window_days and t.product_id = p_product_id
      and t.n_together >= w.min_count
    union all
    select t.product_id, t.n_together from private.affinity_pair_totals t
    where t.shop_id = w.shop_id and t.window_days = w.window_days and t.other_product_id = p_product_id
      and t.n_together >= w.min_count
  ) x
  cross join lateral (  -- offset 0: a lookup per partner, never a join the planner may hash
    select c.n_orders from private.affinity_product_totals c
    where c.shop_id = w.shop_id and c.window_days = w.window_days and c.product_id = x.other_product_id
    offset 0
  ) c
  cross join lateral private.affinity_metrics(x.n_together, a.n_orders, c.n_orders, w.n_orders) m
  where w.shop_id = p_shop_id and w.window_days = p_window_days
$$;
comment on function private.affinity_rules_of_product(uuid, integer, bigint) is
  'The rules of one product (public.product_affinity rows), partners and their counts read by key.';
revoke execute on function private.affinity_rules_of_product(uuid, integer, bigint) from public, anon;
grant execute on function private.affinity_rules_of_product(uuid, integer, bigint) to authenticated, service_role;
