-- Product affinity: each product's own count (orders holding it, the "diagonal") moves out of
-- private.affinity_pair_totals into a table of its own, private.affinity_product_totals.
-- Why: a rule's metrics need the other product's count, and frequently_bought_with reads every
-- candidate's. As a diagonal row among 570k pair rows each was an index probe of its own (12 of the
-- 29 ms of the most-ruled product's query under EXPLAIN ANALYZE); a few thousand rows in a table of
-- their own are read once and hashed. The refresh writes the same rows as before, split in two.
-- Design and figures: sql/README.md, section "Product affinity".

-- ===== tables =======================================================================
create table private.affinity_product_totals (
  shop_id uuid not null,
  window_days integer not null,
  product_id bigint not null,
  n_orders integer not null,  -- qualifying orders in the window holding the product (0 rows are deleted)
  primary key (shop_id, window_days, product_id)
) with (fillfactor = 80);  -- room for HOT updates: every refresh updates the day's products in place
comment on table private.affinity_product_totals is
  'Per shop, window and product: qualifying orders in the window holding the product (the rules'' n_product / n_other). Derived by private.refresh_affinity.';

-- the state's rows as they are: the diagonal rows become product totals
insert into private.affinity_product_totals (shop_id, window_days, product_id, n_orders)
select t.shop_id, t.window_days, t.product_id, t.n_together
from private.affinity_pair_totals t
where t.product_id = t.other_product_id;
delete from private.affinity_pair_totals t where t.product_id = t.other_product_id;
alter table private.affinity_pair_totals drop constraint affinity_pair_totals_check;
alter table private.affinity_pair_totals add constraint affinity_pair_totals_check check (product_id < other_product_id);
comment on table private.affinity_pair_totals is
  'Per shop and window: orders holding both products of a pair (product_id < other_product_id), every pair seen at least once. Derived by private.refresh_affinity.';

-- every row is a pair now: the reverse lookup needs no predicate
drop index private.affinity_pair_totals_other_idx;
create index affinity_pair_totals_other_idx on private.affinity_pair_totals using hash (other_product_id);

-- ===== row level security ===========================================================
alter table private.affinity_product_totals enable row level security;
create policy members_read on private.affinity_product_totals
  for select to authenticated using (shop_id in (select private.my_shop_ids()));

-- ===== grants =======================================================================
revoke all on private.affinity_product_totals from public, anon, authenticated;
grant select on private.affinity_product_totals to authenticated;
grant select, insert, update, delete on private.affinity_product_totals to service_role;

-- ===== cleanup =====================================================================
create or replace function private.affinity_forget_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_table_name = 'shops' then
    delete from private.affinity_baskets b where b.shop_id in (select g.id from gone g);
    delete from private.affinity_products p where p.shop_id in (select g.id from gone g);
    delete from private.affinity_pair_totals t where t.shop_id in (select g.id from gone g);
    delete from private.affinity_product_totals t where t.shop_id in (select g.id from gone g);
  else
    delete from private.affinity_pair_totals t
    using gone g where t.shop_id = g.shop_id and t.window_days = g.window_days;
    delete from private.affinity_product_totals t
    using gone g where t.shop_id = g.shop_id and t.window_days = g.window_days;
  end if;
  return null;
end
$$;
comment on function private.affinity_forget_deleted() is
  'Trigger: removes the affinity state of deleted shops, the pair and product totals of deleted windows.';

-- ===== the served rules =============================================================
-- Same columns; n_product and n_other now come from the product totals.
create or replace view public.product_affinity
with (security_invoker = true)
as
with directed as (
  select t.shop_id, t.window_days, t.product_id, t.other_product_id, t.n_together
  from private.affinity_pair_totals t
  union all
  select t.shop_id, t.window_days, t.other_product_id, t.product_id, t.n_together
  from private.affinity_pair_totals t
)
select
  d.shop_id,
  d.window_days,
  d.product_id,
  d.other_product_id,
  d.n_together,
  a.n_orders as n_product,
  c.n_orders as n_other,
  w.n_orders,
  m.support,
  m.confidence,
  m.lift,
  m.leverage,
  m.conviction,
  m.conviction_kind,
  m.score,
  w.first_day,
  w.last_day,
  w.refreshed_at
from directed d
join private.affinity_windows w on w.shop_id = d.shop_id and w.window_days = d.window_days
join private.affinity_product_totals a
  on a.shop_id = d.shop_id and a.window_days = d.window_days and a.product_id = d.product_id
join private.affinity_product_totals c
  on c.shop_id = d.shop_id and c.window_days = d.window_days and c.product_id = d.other_product_id
cross join lateral private.affinity_metrics(d.n_together, a.n_orders, c.n_orders, w.n_orders) m
where d.n_together >= w.min_count;
