-- count_anomalies: how many anomalies list_anomalies pages through for the same filters (meta.total).
-- Reads as the caller (RLS applies); 42501 when the caller is not a member of the shop.
create or replace function public.count_anomalies(p_shop_id uuid, p_series text default null, p_source text default null)
returns bigint
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  return (
    select count(*) from public.anomalies a
    where a.shop_id = p_shop_id
      and (p_series is null or a.series = p_series)
      and (p_source is null or a.source = p_source)
  );
end
$$;
comment on function public.count_anomalies(uuid, text, text) is
  'Number of anomalies of a shop (optionally one series and source): the total behind list_anomalies. Members only.';
revoke execute on function public.count_anomalies(uuid, text, text) from public, anon;
grant execute on function public.count_anomalies(uuid, text, text) to authenticated, service_role;
