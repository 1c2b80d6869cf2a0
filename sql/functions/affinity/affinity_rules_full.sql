-- affinity_rules_full: the rule set computed from scratch in one statement, straight from the
-- landing tables: one row per product and other product whose co-occurrence count reaches
-- p_min_count in the p_window_days days ending p_as_of (shop-local). Same baskets
-- (affinity_baskets_of) and metrics (affinity_metrics) as the stored path; it is the reference
-- the incremental refresh is tested against, and what the benchmark times as "full recompute".
create or replace function private.affinity_rules_full(
  p_shop_id uuid,
  p_window_days integer default 365,
  p_min_count integer default 5,
  p_as_of date default null
)
returns table (
  product_id bigint,
  other_product_id bigint,
  n_together bigint,
  n_product bigint,
  n_other bigint,
  n_orders bigint,
  support double precision,
  confidence double precision,
  lift double precision,
  leverage double precision,
  conviction double precision,
  conviction_kind text,
  score double precision
)
language sql
stable
set search_path = ''
set jit = off
-- the window's row count is unknown to the planner (its bounds depend on the shop's timezone);
-- reading all of it, orders and lines are best merged in key order, not looked up one by one
set enable_nestloop = off
as $$
  with window_end as (
    select coalesce(p_as_of, (now() at time zone s.timezone)::date) as as_of
    from public.shops s where s.id = p_shop_id
  ),
  baskets as materialized (
    select b.product_ids
    from window_end e
    cross join lateral private.affinity_baskets_of(p_shop_id, e.as_of - p_window_days + 1, e.as_of) b
  ),
  orders as (
    select count(*) as n from baskets
  ),
  counts as materialized (
    select p.product_id, p.other_product_id, count(*) as n
    from baskets b
    cross join lateral private.affinity_basket_pairs(b.product_ids) p
    group by p.product_id, p.other_product_id
  ),
  item_counts as (
    select c.product_id, c.n from counts c where c.product_id = c.other_product_id
  ),
  pairs as (
    select c.product_id, c.other_product_id, c.n
    from counts c
    where c.product_id < c.other_product_id and c.n >= p_min_count
  ),
  directed as (
    select p.product_id, p.other_product_id, p.n from pairs p
    union all
    select p.other_product_id, p.product_id, p.n from pairs p
  )
  select d.product_id, d.other_product_id, d.n, a.n, c.n, o.n,
         m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind, m.score
  from directed d
  cross join orders o
  join item_counts a on a.product_id = d.product_id
  join item_counts c on c.product_id = d.other_product_id
  cross join lateral private.affinity_metrics(d.n, a.n, c.n, o.n) m
$$;
comment on function private.affinity_rules_full(uuid, integer, integer, date) is
  'Reference full recompute of the affinity rules of a shop (same baskets and metrics as public.product_affinity).';
revoke execute on function private.affinity_rules_full(uuid, integer, integer, date) from public, anon, authenticated;
grant execute on function private.affinity_rules_full(uuid, integer, integer, date) to service_role;
