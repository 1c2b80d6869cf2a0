-- anomaly_series_status: per series of a shop, the last judged day and its verdict (ok, anomaly,
-- or insufficient history with how many points it has and needs). Members only (42501).
create or replace function public.anomaly_series_status(p_shop_id uuid)
returns setof public.anomaly_series_state
language plpgsql stable
set search_path = ''
as $$
begin
  perform private.require_shop_member(p_shop_id);
  return query
  select s.* from public.anomaly_series_state s where s.shop_id = p_shop_id order by s.source, s.series;
end
$$;
comment on function public.anomaly_series_status(uuid) is
  'Per series: last evaluated day, verdict and history (insufficient history is reported, not silent). Members only.';
revoke execute on function public.anomaly_series_status(uuid) from public, anon;
grant execute on function public.anomaly_series_status(uuid) to authenticated, service_role;
