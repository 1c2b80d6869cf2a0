-- source_daily_rows: rows loaded per source and day over the last p_days (shop's time zone),
-- zeros included, with the rows_loaded anomaly of that day if any: the status page's chart.
-- One row per source and day. Members only (42501); OD003 when p_days is outside 1-366.
create or replace function public.source_daily_rows(p_shop_id uuid, p_days integer default 30)
returns table (source text, day date, rows_loaded bigint, anomaly_id bigint, anomaly_direction text)
language plpgsql stable
set search_path = ''
as $$
declare
  v_today date;
begin
  perform private.require_shop_member(p_shop_id);
  if p_days is null or p_days not between 1 and 366 then
    raise exception 'p_days must be between 1 and 366 (got %)', p_days using errcode = 'OD003';
  end if;
  select (now() at time zone s.timezone)::date into v_today from public.shops s where s.id = p_shop_id;
  return query
  with days as (
    select d::date as day from generate_series(v_today - (p_days - 1), v_today, interval '1 day') d
  ),
  sources as (
    select d.source from public.data_sources d where d.shop_id = p_shop_id
  ),
  loaded as (
    select r.source, (r.started_at at time zone s.timezone)::date as day, sum(r.rows_loaded)::bigint as n
    from public.sync_runs r join public.shops s on s.id = r.shop_id
    where r.shop_id = p_shop_id and r.status = 'succeeded'
      and r.started_at >= (v_today - (p_days - 1))::timestamp at time zone s.timezone
    group by 1, 2
  )
  select src.source, days.day, coalesce(l.n, 0), a.id, a.direction
  from sources src
  cross join days
  left join loaded l on l.source = src.source and l.day = days.day
  left join public.anomalies a
    on a.shop_id = p_shop_id and a.series = 'rows_loaded.' || src.source and a.observed_on = days.day
  order by src.source, days.day;
end
$$;
comment on function public.source_daily_rows(uuid, integer) is
  'Rows loaded per source and day (last p_days) with that day''s rows_loaded anomaly: the status page chart.';
revoke execute on function public.source_daily_rows(uuid, integer) from public, anon;
grant execute on function public.source_daily_rows(uuid, integer) to authenticated, service_role;
