-- product_is_recommendable: Shopify's eligibility rules for product recommendations (Search &
-- Discovery): active, published to the Online Store, in stock or inventory not tracked (NULL),
-- price above zero, not a gift card. No SET clause so that it inlines into queries.
create or replace function private.product_is_recommendable(p public.products)
returns boolean
language sql
immutable
as $$
  select p.status = 'active'
     and p.is_published
     and (p.inventory is null or p.inventory > 0)
     and p.price > 0
     and not p.is_gift_card
$$;
comment on function private.product_is_recommendable(public.products) is
  'True when Shopify would show the product as a recommendation (active, published, purchasable, priced, not a gift card).';
revoke execute on function private.product_is_recommendable(public.products) from public, anon;
grant execute on function private.product_is_recommendable(public.products) to authenticated, service_role;
