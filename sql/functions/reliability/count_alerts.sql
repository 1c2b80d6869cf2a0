-- count_alerts: how many alerts list_alerts pages through for the same filters (meta.total).
-- Reads as the caller (RLS applies); 42501 when the caller is not a member of the shop.
create or replace function public.count_alerts(p_shop_id uuid, p_source text default null, p_kind text default null)
returns bigint
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  return (
    select count(*) from public.alerts a
    where a.shop_id = p_shop_id
      and (p_source is null or a.source = p_source)
      and (p_kind is null or a.kind = p_kind)
  );
end
$$;
comment on function public.count_alerts(uuid, text, text) is
  'Number of alerts of a shop (optionally one source and kind): the total behind list_alerts. Members only.';
revoke execute on function public.count_alerts(uuid, text, text) from public, anon;
grant execute on function public.count_alerts(uuid, text, text) to authenticated, service_role;
