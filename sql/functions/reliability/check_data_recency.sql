-- check_data_recency: how old the newest data is, against the source's expected lag plus its
-- thresholds (GSC data is normally 3 days behind: yellow only beyond 3 days + warn_after).
create or replace function private.check_data_recency(p_source public.data_sources, p_now timestamptz)
returns public.data_quality_checks
language plpgsql stable
set search_path = ''
as $$
declare
  v_label text := private.source_label(p_source.source);
  v_lag numeric := private.hours(p_source.expected_lag);
  v_warn numeric := v_lag + private.hours(p_source.warn_after);
  v_error numeric := v_lag + private.hours(p_source.error_after);
  v_through timestamptz := private.source_data_through(p_source.shop_id, p_source.source);
  v_tz text := (select s.timezone from public.shops s where s.id = p_source.shop_id);
  v_age numeric;
  v_status text;
  v_message text;
begin
  if v_through is null then
    v_status := 'grey';
    v_message := format('No %s data loaded yet, so its recency cannot be judged.', v_label);
  else
    v_age := private.hours(p_now - v_through);
    v_status := private.quality_status(v_age, v_warn, v_error);
    v_message := format('Newest %s data is from %s (%s old); %s, so yellow after %s, red after %s.',
      v_label, to_char(v_through at time zone v_tz, 'YYYY-MM-DD HH24:MI'), private.format_hours(greatest(v_age, 0)),
      case when v_lag > 0 then 'this source normally lags ' || private.format_hours(v_lag)
           else 'this source has no built-in lag' end,
      private.format_hours(v_warn), private.format_hours(v_error));
  end if;
  return row(
    null, p_source.shop_id, p_source.source, 'data_recency', v_status, round(v_age, 4), v_warn, v_error,
    'hours', v_message, jsonb_build_object('data_through', v_through, 'expected_lag_hours', v_lag), p_now
  )::public.data_quality_checks;
end
$$;
comment on function private.check_data_recency(public.data_sources, timestamptz) is
  'Data recency check: age of the newest data against expected_lag + warn_after / error_after.';
revoke execute on function private.check_data_recency(public.data_sources, timestamptz) from public, anon, authenticated;
grant execute on function private.check_data_recency(public.data_sources, timestamptz) to service_role;
