-- affinity_number_products: gives each of p_product_ids that has no number yet in the shop the next
-- free dense number (private.affinity_products), in the order given (the refresh lists the most
-- bought first: a pair is stored with its lower-numbered product first, so a popular product's
-- partners sit together; sql/README.md). Called by the refresh before it stores baskets (as product
-- numbers); numbers are never reassigned, except by a full refresh, which rebuilds every basket.
-- Callers hold the shop's refresh lock, so two refreshes never number the same shop at once.
create or replace function private.affinity_number_products(p_shop_id uuid, p_product_ids bigint[])
returns integer
language sql
volatile
set search_path = ''
as $$
  with unseen as (
    select u.product_id, min(u.position) as position
    from unnest(p_product_ids) with ordinality u (product_id, position)
    where u.product_id is not null
      and not exists (select 1 from private.affinity_products p
                      where p.shop_id = p_shop_id and p.product_id = u.product_id)
    group by u.product_id
  ),
  numbered as (
    insert into private.affinity_products (shop_id, product_id, product_no)
    select p_shop_id, u.product_id,
           (select coalesce(max(p.product_no), 0) from private.affinity_products p where p.shop_id = p_shop_id)
           + row_number() over (order by u.position)
    from unseen u
    returning 1
  )
  select count(*)::integer from numbered
$$;
comment on function private.affinity_number_products(uuid, bigint[]) is
  'Numbers the products of p_product_ids new to the shop''s affinity baskets; returns how many were new.';
revoke execute on function private.affinity_number_products(uuid, bigint[]) from public, anon, authenticated;
grant execute on function private.affinity_number_products(uuid, bigint[]) to service_role;
