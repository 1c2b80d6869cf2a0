-- check_volume: rows loaded today so far (shop's time zone) against the median of the same
-- weekday, up to the same time of day, in the last 4 weeks (weeks before the source's first
-- successful sync do not count). Yellow below half the usual volume, red below a fifth; exactly
-- at a threshold is still the better status. Grey with fewer than 2 comparable weeks.
create or replace function private.check_volume(p_source public.data_sources, p_now timestamptz)
returns public.data_quality_checks
language plpgsql stable
set search_path = ''
as $$
declare
  c_weeks constant integer := 4;
  c_min_weeks constant integer := 2;
  c_warn_fraction constant numeric := 0.5;
  c_error_fraction constant numeric := 0.2;
  v_label text := private.source_label(p_source.source);
  v_tz text := (select s.timezone from public.shops s where s.id = p_source.shop_id);
  v_local_now timestamp := p_now at time zone v_tz;
  v_day_start timestamp := date_trunc('day', v_local_now);
  v_first_run timestamptz;
  v_today numeric;
  v_weeks numeric[] := '{}'::numeric[];
  v_rows numeric;
  v_expected numeric;
  v_warn numeric;
  v_error numeric;
  v_status text;
  v_message text;
begin
  select min(r.started_at) into v_first_run
  from public.sync_runs r
  where r.shop_id = p_source.shop_id and r.source = p_source.source and r.status = 'succeeded';

  if v_first_run is null then
    return row(null, p_source.shop_id, p_source.source, 'volume', 'grey', null, null, null, 'rows',
      format('No successful %s sync yet, so there is no volume to compare.', v_label), '{}'::jsonb, p_now
    )::public.data_quality_checks;
  end if;

  select coalesce(sum(r.rows_loaded), 0) into v_today
  from public.sync_runs r
  where r.shop_id = p_source.shop_id and r.source = p_source.source and r.status = 'succeeded'
    and r.started_at >= v_day_start at time zone v_tz and r.started_at <= p_now;

  for k in 1..c_weeks loop
    exit when (v_day_start - make_interval(days => 7 * k)) at time zone v_tz < v_first_run;
    select coalesce(sum(r.rows_loaded), 0) into v_rows
    from public.sync_runs r
    where r.shop_id = p_source.shop_id and r.source = p_source.source and r.status = 'succeeded'
      and r.started_at >= (v_day_start - make_interval(days => 7 * k)) at time zone v_tz
      and r.started_at <= (v_local_now - make_interval(days => 7 * k)) at time zone v_tz;
    v_weeks := v_weeks || v_rows;
  end loop;

  if cardinality(v_weeks) < c_min_weeks then
    v_status := 'grey';
    v_message := format('Not enough history to judge %s volume: %s of %s comparable %ss (needs %s).',
      v_label, cardinality(v_weeks), c_weeks, trim(to_char(v_local_now, 'Day')), c_min_weeks);
  else
    select percentile_cont(0.5) within group (order by w) into v_expected from unnest(v_weeks) w;
    v_warn := c_warn_fraction * v_expected;
    v_error := c_error_fraction * v_expected;
    v_status := case when v_today < v_error then 'red' when v_today < v_warn then 'yellow' else 'green' end;
    v_message := format('%s rows of %s loaded today by %s; on the last %s %ss a median of %s by this time (yellow below %s, red below %s).',
      v_today, v_label, to_char(v_local_now, 'HH24:MI'), cardinality(v_weeks), trim(to_char(v_local_now, 'Day')),
      round(v_expected, 1), round(v_warn, 1), round(v_error, 1));
  end if;
  return row(
    null, p_source.shop_id, p_source.source, 'volume', v_status, v_today, v_warn, v_error, 'rows', v_message,
    jsonb_build_object('comparison_weeks', to_jsonb(v_weeks), 'expected', v_expected, 'lower_is_worse', true),
    p_now
  )::public.data_quality_checks;
end
$$;
comment on function private.check_volume(public.data_sources, timestamptz) is
  'Volume check: rows loaded today so far against the same weekday (same time of day) in the last 4 weeks.';
revoke execute on function private.check_volume(public.data_sources, timestamptz) from public, anon, authenticated;
grant execute on function private.check_volume(public.data_sources, timestamptz) to service_role;
