-- affinity_rules_of_baskets: the rule set computed from scratch from the stored baskets
-- (private.affinity_baskets, as of the shop's last refresh) in one statement: one row per product
-- and other product whose co-occurrence count reaches p_min_count in the p_window_days days ending
-- p_as_of (shop-local; days the refresh keeps baskets for). The same baskets as the stored totals
-- and as private.affinity_rules_full reads from the landing tables, the same metrics
-- (affinity_metrics). Its input is what mlxtend and DuckDB get in the benchmark (de-duplicated
-- baskets), so the benchmark times it as "full recompute".
create or replace function private.affinity_rules_of_baskets(
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
-- the counts' size is unknown to the planner (a function's result): hash joins on the few
-- thousand products, never a lookup per rule
set enable_nestloop = off
set enable_mergejoin = off
as $$
  with window_days as (
    select e.as_of - p_window_days + 1 as first_day, e.as_of as last_day
    from (select coalesce(p_as_of, (now() at time zone s.timezone)::date) as as_of
          from public.shops s where s.id = p_shop_id) e
  ),
  orders as (
    select count(*) as n
    from window_days w
    join private.affinity_baskets b on b.shop_id = p_shop_id and b.day between w.first_day and w.last_day
  ),
  counts as materialized (
    select c.product_no, c.other_product_no, c.n
    from window_days w
    cross join lateral private.affinity_pair_counts(p_shop_id, w.first_day, w.last_day, p_min_count) c
  ),
  items as (
    select c.product_no, p.product_id, c.n
    from counts c
    join private.affinity_products p on p.shop_id = p_shop_id and p.product_no = c.product_no
    where c.product_no = c.other_product_no
  ),
  pairs as (
    select a.product_id, a.n as n_product, o.product_id as other_product_id, o.n as n_other, c.n
    from counts c
    join items a on a.product_no = c.product_no
    join items o on o.product_no = c.other_product_no
    where c.product_no < c.other_product_no
  ),
  directed as (
    select p.product_id, p.other_product_id, p.n, p.n_product, p.n_other from pairs p
    union all
    select p.other_product_id, p.product_id, p.n, p.n_other, p.n_product from pairs p
  )
  select d.product_id, d.other_product_id, d.n, d.n_product, d.n_other, o.n,
         m.support, m.confidence, m.lift, m.leverage, m.conviction, m.conviction_kind, m.score
  from directed d
  cross join orders o
  cross join lateral private.affinity_metrics(d.n, d.n_product, d.n_other, o.n) m
$$;
comment on function private.affinity_rules_of_baskets(uuid, integer, integer, date) is
  'Affinity rules of a shop recomputed in full from its stored baskets (same rows and metrics as public.product_affinity after a refresh).';
revoke execute on function private.affinity_rules_of_baskets(uuid, integer, integer, date) from public, anon, authenticated;
grant execute on function private.affinity_rules_of_baskets(uuid, integer, integer, date) to service_role;
