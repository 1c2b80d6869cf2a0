-- frequently_bought_with: products bought together with p_product_id, strongest first (score:
-- shrunk lift, then confidence), only products Shopify would recommend
-- (private.product_is_recommendable), without p_exclude (e.g. what is already in the cart).
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
begin
  perform private.require_shop_member(p_shop_id);
  if p_limit is null or p_limit not between 1 and 100 then
    raise exception 'p_limit must be between 1 and 100 (got %)', p_limit using errcode = 'OD003';
  end if;
  return query
    select a.*
    from public.product_affinity a
    join public.products p on p.shop_id = a.shop_id and p.id = a.other_product_id
    where a.shop_id = p_shop_id
      and a.window_days = p_window_days
      and a.product_id = p_product_id
      and a.other_product_id <> all (coalesce(p_exclude, '{}'))
      and private.product_is_recommendable(p)
    order by a.score desc, a.confidence desc, a.other_product_id
    limit p_limit;
end
$$;
comment on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) is
  'Products frequently bought with p_product_id (rules product -> other), eligible for recommendation, best score first.';
revoke execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) from public, anon;
grant execute on function public.frequently_bought_with(uuid, bigint, integer, bigint[], integer) to authenticated, service_role;
