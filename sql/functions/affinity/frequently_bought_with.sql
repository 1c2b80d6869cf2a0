-- frequently_bought_with: products bought together with p_product_id, strongest first (score:
-- shrunk lift, then confidence), only products Shopify would recommend
-- (private.product_is_recommendable), without p_exclude (e.g. what is already in the cart).
-- The rows of public.product_affinity for the product (tests hold them equal). Up to 2,000
-- partners their counts and eligibility are looked up by key (private.affinity_rules_of_product,
-- a cached plan, ~2 µs a partner); more are hashed by a query planned for this product (EXECUTE:
-- ~2 ms of planning and a scan of every product, cheaper beyond that; the column statistics
-- know how many partners the most bought products have). sql/README.md has the figures.
-- Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..100.
create or replace function public.frequently_bought_with(
  p_shop_id uuid,
  p_product_id bigint,
  p_limit integer default 10,
  p_exclude bigint[] default '{}',
  p_window_days integer default 365
)
returns setof public.product_affinity
language plpgsql
stable
set search_path = ''
as $$
declare
  v_min_count integer;
  v_partners integer;
begin
  perform private.require_shop_member(p_shop_id);
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = 'OD003';
  end if;
  select w.min_count into v_min_count from private.affinity_windows w
  where w.shop_id = p_shop_id and w.window_days = p_window_days;
  select count(*) into v_partners
  from (
    select 1 from private.affinity_pair_totals t
    where t.shop_id = p_shop_id and t.window_days = p_window_days and t.product_id = p_product_id
      and t.n_together >= v_min_count
    union all
    select 1 from private.affinity_pair_totals t
    where t.shop_id = p_shop_id and t.window_days = p_window_days and t.other_product_id = p_product_id
      and t.n_together >= v_min_count
    limit 2001
  ) x;

  if v_partners <= 2000 then
    return query
      select r.*
      from private.affinity_rules_of_product(p_shop_id, p_window_days, p_product_id) r
      where r.other_product_id <> all (coalesce(p_exclude, '{}'))
        and exists (select 1 from public.products p
                    where p.shop_id = p_shop_id and p.id = r.other_product_id and private.product_is_recommendable(p)
                    offset 0)  -- a lookup per partner
      order by r.score desc, r.confidence desc, r.other_product_id
      limit p_limit;
  else
    return query execute
      'select a.*
       from public.product_affinity a
       join public.products p on p.shop_id = a.shop_id and p.id = a.other_product_id
       where a.shop_id = $1 and a.window_days = $2 and a.product_id = $3
         and a.other_product_id <> all ($4) and private.product_is_recommendable(p)
       order by a.score desc, a.confidence desc, a.other_product_id
       limit $5'
    using p_shop_id, p_window_days, p_product_id, coalesce(p_exclude, '{}'), p_limit;
  end if;
end
$$;
comment on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) is
  'Products frequently bought with p_product_id (rules product -> other), eligible for recommendation, best score first.';
revoke execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) from public, anon;
grant execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) to authenticated, service_role;
