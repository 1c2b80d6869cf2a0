-- affinity_rules_full: the rule set computed from scratch in one statement, straight from the
-- landing tables: one row per product and other product whose co-occurrence count reaches
-- p_min_count in the p_window_days days ending p_as_of (shop-local). Same lines
-- (affinity_lines_of) and metrics (affinity_metrics) as the stored path, none of its state: it is
-- the reference the incremental refresh is tested against (the benchmark times it as "recompute
-- from the landing tables"; its "full recompute" is affinity_rules_of_baskets). Pairs come from
-- joining each order's distinct lines with themselves (product < other product); each product's
-- count from the lines alone.
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
set jit = off  -- compiling costs more than it saves here
-- The window's size is unknown to the planner (its bounds depend on the shop's timezone), so it
-- underestimates every step by 10x and would look lines up order by order and sort the pairs;
-- hashing is right for all of it
set enable_nestloop = off
set enable_mergejoin = off
set work_mem = '128MB'  -- the lines, their sort, the pair join and counts stay in memory at 500k orders
as $$
  with window_end as (
    select coalesce(p_as_of, (now() at time zone s.timezone)::date) as as_of
    from public.shops s where s.id = p_shop_id
  ),
  lines as materialized (
    select l.order_id, l.product_id
    from window_end e
    cross join lateral private.affinity_lines_of(p_shop_id, e.as_of - p_window_days + 1, e.as_of) l
  ),
  orders as (
    select count(distinct l.order_id) as n from lines l
  ),
  item_counts as (
    select l.product_id, count(*) as n from lines l group by l.product_id
  ),
  pairs as (
    select a.product_id, c.product_id as other_product_id, count(*) as n
    from lines a
    join lines c on c.order_id = a.order_id and c.product_id > a.product_id
    group by a.product_id, c.product_id
    having count(*) >= p_min_count
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
  'Reference full recompute of the affinity rules of a shop (same lines and metrics as public.product_affinity).';
revoke execute on function private.affinity_rules_full(uuid, integer, integer, date) from public, anon, authenticated;
grant execute on function private.affinity_rules_full(uuid, integer, integer, date) to service_role;
