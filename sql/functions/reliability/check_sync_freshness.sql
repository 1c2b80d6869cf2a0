-- check_sync_freshness: age of the source's last successful sync_runs row against its
-- thresholds. Grey when the source never synced successfully. One result row, not stored here.
create or replace function private.check_sync_freshness(p_source public.data_sources, p_now timestamptz)
returns public.data_quality_checks
language plpgsql stable
set search_path = ''
as $$
declare
  v_label text := private.source_label(p_source.source);
  v_warn numeric := private.hours(p_source.warn_after);
  v_error numeric := private.hours(p_source.error_after);
  v_last timestamptz;
  v_failed_at timestamptz;
  v_age numeric;
  v_status text;
  v_message text;
begin
  select max(r.finished_at) into v_last
  from public.sync_runs r
  where r.shop_id = p_source.shop_id and r.source = p_source.source
    and r.status = 'succeeded' and r.finished_at <= p_now;

  select max(r.finished_at) into v_failed_at
  from public.sync_runs r
  where r.shop_id = p_source.shop_id and r.source = p_source.source
    and r.status = 'failed' and r.finished_at <= p_now and r.finished_at > coalesce(v_last, '-infinity');

  if v_last is null then
    v_status := 'grey';
    v_message := format('No successful %s sync yet.', v_label);
  else
    v_age := private.hours(p_now - v_last);
    v_status := private.quality_status(v_age, v_warn, v_error);
    v_message := format('Last successful %s sync finished %s ago (yellow after %s, red after %s).',
      v_label, private.format_hours(v_age), private.format_hours(v_warn), private.format_hours(v_error));
  end if;
  if v_failed_at is not null then
    v_message := v_message || format(' Failed since then: the latest attempt, %s ago.',
      private.format_hours(private.hours(p_now - v_failed_at)));
  end if;

  return row(
    null, p_source.shop_id, p_source.source, 'sync_freshness', v_status, round(v_age, 4), v_warn, v_error,
    'hours', v_message,
    jsonb_build_object('last_success_at', v_last, 'last_failure_at', v_failed_at),
    p_now
  )::public.data_quality_checks;
end
$$;
comment on function private.check_sync_freshness(public.data_sources, timestamptz) is
  'Sync freshness check: hours since the last successful sync against warn_after / error_after.';
revoke execute on function private.check_sync_freshness(public.data_sources, timestamptz) from public, anon, authenticated;
grant execute on function private.check_sync_freshness(public.data_sources, timestamptz) to service_role;
