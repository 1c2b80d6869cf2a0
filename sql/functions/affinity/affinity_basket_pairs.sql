-- affinity_basket_pairs: the pairs a basket contributes: every (product, other product) with
-- product <= other product; the diagonal (a product with itself) is the basket's count for that
-- product. p_product_ids must be distinct and ascending (as affinity_baskets_of returns them).
-- No SET clause so that it inlines into its callers.
create or replace function private.affinity_basket_pairs(p_product_ids bigint[])
returns table (product_id bigint, other_product_id bigint)
language sql
immutable
as $$
  select p_product_ids[i], p_product_ids[j]
  from pg_catalog.generate_series(1, pg_catalog.cardinality(p_product_ids)) i,
       pg_catalog.generate_series(i, pg_catalog.cardinality(p_product_ids)) j
$$;
comment on function private.affinity_basket_pairs(bigint[]) is
  'Pairs (i <= j) of a sorted distinct basket; the diagonal counts the products themselves.';
revoke execute on function private.affinity_basket_pairs(bigint[]) from public, anon, authenticated;
grant execute on function private.affinity_basket_pairs(bigint[]) to service_role;
