-- recommend_for_cart: products to suggest for a cart. Each candidate's evidence is combined over
-- the cart's products as the sum of ln(score) of the rules cart product -> candidate (the log of
-- the product of shrunk lifts, i.e. independent evidence multiplies); only candidates the cart
-- makes more likely (sum > 0), eligible for recommendation, and not in the cart.
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..100.
create or replace function public.recommend_for_cart(
  p_shop_id uuid,
  p_product_ids bigint[],
  p_limit integer default 10,
  p_window_days integer default 365
)
returns table (
  product_id bigint,
  score double precision,          -- sum over supporting cart products of ln(rule score)
  n_supporting integer,            -- cart products with a rule to this product
  supported_by bigint[],           -- those cart products
  best_confidence double precision,
  best_lift double precision
)
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = 'OD003';
  end if;
  return query
    select a.other_product_id,
           sum(ln(a.score)),
           count(*)::integer,
           array_agg(a.product_id order by a.product_id),
           max(a.confidence),
           max(a.lift)
    from (select distinct c.product_id from unnest(coalesce(p_product_ids, '{}')) c (product_id)) c
    cross join lateral private.affinity_rules_of_product(p_shop_id, p_window_days, c.product_id) a
    where a.other_product_id <> all (coalesce(p_product_ids, '{}'))
      and exists (select 1 from public.products p
                  where p.shop_id = p_shop_id and p.id = a.other_product_id and private.product_is_recommendable(p)
                  offset 0)  -- a lookup per candidate, not a scan of every product
    group by a.other_product_id
    having sum(ln(a.score)) > 0
    order by 2 desc, 5 desc, 1
    limit p_limit;
end
$$;
comment on function public.recommend_for_cart(uuid, bigint[], integer, integer) is
  'Products to suggest for a cart: evidence of the cart''s rules combined (sum of ln shrunk lift), eligible, not in the cart.';
revoke execute on function public.recommend_for_cart(uuid, bigint[], integer, integer) from public, anon;
grant execute on function public.recommend_for_cart(uuid, bigint[], integer, integer) to authenticated, service_role;
