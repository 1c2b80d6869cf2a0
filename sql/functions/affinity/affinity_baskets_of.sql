-- affinity_baskets_of: the baskets of private.affinity_lines_of (the one definition of a qualifying
-- line), one row per order: its shop-local day and distinct product ids, ascending.
-- No SET clause so that it inlines into its callers (every name is qualified instead).
create or replace function private.affinity_baskets_of(
  p_shop_id uuid,
  p_from date,
  p_to date,
  p_order_ids bigint[] default null
)
returns table (order_id bigint, day date, product_ids bigint[])
language sql
stable
as $$
  select l.order_id, min(l.day), array_agg(l.product_id order by l.product_id)
  from private.affinity_lines_of(p_shop_id, p_from, p_to, p_order_ids) l
  group by l.order_id
$$;
comment on function private.affinity_baskets_of(uuid, date, date, bigint[]) is
  'Qualifying baskets (order, shop-local day, distinct product ids ascending) of a shop for days p_from..p_to, optionally only p_order_ids.';
revoke execute on function private.affinity_baskets_of(uuid, date, date, bigint[]) from public, anon, authenticated;
grant execute on function private.affinity_baskets_of(uuid, date, date, bigint[]) to service_role;
