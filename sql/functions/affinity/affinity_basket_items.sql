-- affinity_basket_items: the de-duplicated baskets of a shop's qualifying orders whose shop-local
-- day falls in [p_from, p_to]; one row per order and product.
-- Qualifying: not a test order, not cancelled; lines with current_quantity > 0 (refunded and
-- removed lines drop out) and a product (custom items and deleted products have none).
-- An order left with no such line is no basket and is not counted in N.
-- The one definition of a basket: the refresh (per day and in full) and the reference
-- recompute read it. No SET clause so that it inlines into its callers (names are qualified).
create or replace function private.affinity_basket_items(p_shop_id uuid, p_from date, p_to date)
returns table (order_id bigint, day date, product_id bigint)
language sql
stable
as $$
  with shop as (
    select s.timezone from public.shops s where s.id = p_shop_id
  )
  select distinct o.id, (o.created_at at time zone shop.timezone)::date, l.product_id
  from shop
  join public.shopify_orders o
    on o.shop_id = p_shop_id
   and o.created_at >= (p_from::timestamp at time zone shop.timezone)
   and o.created_at < ((p_to + 1)::timestamp at time zone shop.timezone)
  join public.shopify_order_lines l on l.shop_id = o.shop_id and l.order_id = o.id
  where not o.is_test
    and o.cancelled_at is null
    and l.current_quantity > 0
    and l.product_id is not null
$$;
comment on function private.affinity_basket_items(uuid, date, date) is
  'Qualifying (order, shop-local day, product) rows of a shop for days p_from..p_to, each basket de-duplicated.';
revoke execute on function private.affinity_basket_items(uuid, date, date) from public, anon, authenticated;
grant execute on function private.affinity_basket_items(uuid, date, date) to service_role;
