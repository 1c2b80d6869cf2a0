-- list_product_affinity: one page of a shop's affinity rules for `GET /api/data/product-affinity`,
-- in (product_id, other_product_id) order; keyset pagination: pass the last row's
-- product_id / other_product_id as p_after_product_id / p_after_other_product_id.
-- Optional p_product_id narrows to one antecedent. No eligibility filter: this is the data, not
-- a recommendation. Reads as the caller (RLS applies). Callable by authenticated and service_role.
-- Errors: 42501 not a member of the shop, OD003 p_limit outside 1..1000 or half a cursor.
create or replace function public.list_product_affinity(
  p_shop_id uuid,
  p_window_days integer default 365,
  p_product_id bigint default null,
  p_after_product_id bigint default null,
  p_after_other_product_id bigint default null,
  p_limit integer default 100
)
returns setof public.product_affinity
language plpgsql
stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  perform private.require_page_args(p_limit, 1000, array[p_after_product_id is not null, p_after_other_product_id is not null],
                                    'p_after_product_id and p_after_other_product_id');
  return query
    select a.*
    from public.product_affinity a
    where a.shop_id = p_shop_id
      and a.window_days = p_window_days
      and (p_product_id is null or a.product_id = p_product_id)
      and (p_after_product_id is null
           or (a.product_id, a.other_product_id) > (p_after_product_id, p_after_other_product_id))
    order by a.product_id, a.other_product_id
    limit p_limit;
end
$$;
comment on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) is
  'A page of affinity rules (product, other product order) for the HTTP listing; keyset cursor p_after_product_id/p_after_other_product_id.';
revoke execute on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) from public, anon;
grant execute on function public.list_product_affinity(uuid, integer, bigint, bigint, bigint, integer) to authenticated, service_role;
