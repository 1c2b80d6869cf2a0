-- refresh_baselines: replaces a shop's stored baselines (public.baseline_metrics) with
-- private.baseline_rows for a p_days window ending at each source's last complete day.
-- One transaction: readers see the previous baselines until it commits. Records the run in
-- public.sync_runs (source 'baselines'). Job: refresh_baselines (nightly, per shop); also
-- `opsdata baselines backfill --shop DOMAIN --days N`. Errors: OD002 unknown shop, OD003 bad p_days.
create or replace function private.refresh_baselines(p_shop_id uuid, p_days integer default 90)
returns jsonb
language plpgsql
set search_path = ''
set jit = off  -- compiling this query costs more than running it
set work_mem = '128MB'  -- every page's daily series sorts in memory
as $$
declare
  v_started timestamptz := clock_timestamp();
  v_rows bigint;
  v_run_id bigint;
  v_windows jsonb;
begin
  if not exists (select 1 from public.shops s where s.id = p_shop_id) then
    raise exception 'shop % not found', p_shop_id using errcode = 'OD002';
  end if;
  if p_days is null or p_days not between 7 and 730 then
    raise exception 'p_days must be between 7 and 730 (got %)', p_days using errcode = 'OD003';
  end if;

  delete from public.baseline_metrics b where b.shop_id = p_shop_id;
  insert into public.baseline_metrics
  select * from private.baseline_rows(p_shop_id, p_days => p_days);
  get diagnostics v_rows = row_count;

  select coalesce(jsonb_object_agg(w.source, jsonb_build_object('window_start', w.window_start, 'window_end', w.window_end)), '{}')
  into v_windows
  from (select distinct b.source, b.window_start, b.window_end
        from public.baseline_metrics b where b.shop_id = p_shop_id and b.page = '*') w;

  insert into public.sync_runs (shop_id, source, started_at, finished_at, status, rows_loaded, max_data_at, details)
  values (p_shop_id, 'baselines', v_started, clock_timestamp(), 'succeeded', v_rows,
          (select max(b.window_end)::timestamp at time zone 'UTC' from public.baseline_metrics b where b.shop_id = p_shop_id),
          jsonb_build_object('days', p_days, 'windows', v_windows))
  returning id into v_run_id;

  return jsonb_build_object('shop_id', p_shop_id, 'days', p_days, 'baselines', v_rows,
                            'windows', v_windows, 'sync_run_id', v_run_id);
end
$$;
comment on function private.refresh_baselines(uuid, integer) is
  'Recomputes and stores the baselines of every page and the site of a shop; records a sync_runs row; returns a summary.';
revoke execute on function private.refresh_baselines(uuid, integer) from public, anon, authenticated;
grant execute on function private.refresh_baselines(uuid, integer) to service_role;
