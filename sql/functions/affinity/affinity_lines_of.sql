-- affinity_lines_of: the de-duplicated basket lines of a shop's qualifying orders whose shop-local
-- day falls in [p_from, p_to] (and, when given, whose id is in p_order_ids): one row per order and
-- product. Qualifying: not a test order, not cancelled; lines with current_quantity > 0 (refunded
-- and removed lines drop out) and a product (custom items and deleted products have none). An order
-- left with no such line has no rows and is not counted in N.
-- The one definition of a basket: the refresh (which stores baskets from it) and the reference
-- recompute (which joins an order's lines with themselves) read it. No SET clause so that it
-- inlines into its callers (every name is qualified instead).
create or replace function private.affinity_lines_of(
  p_shop_id uuid,
  p_from date,
  p_to date,
  p_order_ids bigint[] default null
)
returns table (order_id bigint, day date, product_id bigint)
language sql
stable
as $$
  select distinct on (o.id, l.product_id) o.id, (o.created_at at time zone s.timezone)::date, l.product_id
  from public.shops s
  join public.shopify_orders o
    on o.shop_id = s.id
   and o.created_at >= (p_from::timestamp at time zone s.timezone)
   and o.created_at < ((p_to + 1)::timestamp at time zone s.timezone)
  join public.shopify_order_lines l on l.shop_id = o.shop_id and l.order_id = o.id
  where s.id = p_shop_id
    and (p_order_ids is null or o.id = any (p_order_ids))
    and not o.is_test
    and o.cancelled_at is null
    and l.current_quantity > 0
    and l.product_id is not null
  order by o.id, l.product_id  -- DISTINCT ON: duplicates dropped by one sort, never by hashing
$$;
comment on function private.affinity_lines_of(uuid, date, date, bigint[]) is
  'Qualifying de-duplicated basket lines (order, shop-local day, product) of a shop for days p_from..p_to, optionally only p_order_ids.';
revoke execute on function private.affinity_lines_of(uuid, date, date, bigint[]) from public, anon, authenticated;
grant execute on function private.affinity_lines_of(uuid, date, date, bigint[]) to service_role;
