-- configure_data_source_checked: the checked upsert behind public.configure_data_source.
-- SECURITY DEFINER (app users hold no write grant on data_sources): it checks the caller itself
-- (admin of the shop, or a job / service_role). Arguments left NULL keep the current value (or
-- the source kind's default for a new row). Hours, not intervals: JSON callers send numbers.
create or replace function private.configure_data_source_checked(
  p_shop_id uuid, p_source text, p_warn_after_hours numeric, p_error_after_hours numeric,
  p_expected_lag_hours numeric, p_reminder_every_hours numeric, p_enabled boolean
)
returns public.data_sources
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_current public.data_sources;
  v_defaults private.source_defaults;
  v_warn interval;
  v_error interval;
  v_lag interval;
  v_reminder interval;
  v_row public.data_sources;
begin
  if not (private.is_privileged_caller() or private.has_shop_role(p_shop_id, 'admin')) then
    raise exception 'configuring data sources needs the admin role on shop %', p_shop_id using errcode = '42501';
  end if;
  if p_source is null or p_source !~ '^[a-z][a-z0-9_]*$' then
    raise exception 'source must be lowercase letters, digits and underscores (got %)', coalesce(p_source, 'null')
      using errcode = 'OD003';
  end if;
  select * into v_current from public.data_sources d where d.shop_id = p_shop_id and d.source = p_source;
  select * into v_defaults from private.source_defaults d where d.source = p_source;

  v_warn := coalesce(make_interval(secs => p_warn_after_hours * 3600), v_current.warn_after, v_defaults.warn_after,
                     interval '24 hours');
  v_error := coalesce(make_interval(secs => p_error_after_hours * 3600), v_current.error_after, v_defaults.error_after,
                      interval '48 hours');
  v_lag := coalesce(make_interval(secs => p_expected_lag_hours * 3600), v_current.expected_lag,
                    v_defaults.expected_lag, interval '0');
  v_reminder := coalesce(make_interval(secs => p_reminder_every_hours * 3600), v_current.reminder_every,
                         interval '24 hours');
  if v_warn <= interval '0' or v_error < v_warn or v_lag < interval '0' or v_reminder < interval '1 hour' then
    raise exception 'need 0 < warn_after <= error_after, expected_lag >= 0 and reminder_every >= 1 hour'
      using errcode = 'OD003';
  end if;

  insert into public.data_sources as d (shop_id, source, warn_after, error_after, expected_lag, reminder_every, enabled)
  values (p_shop_id, p_source, v_warn, v_error, v_lag, v_reminder, coalesce(p_enabled, v_current.enabled, true))
  on conflict (shop_id, source) do update
    set warn_after = excluded.warn_after, error_after = excluded.error_after, expected_lag = excluded.expected_lag,
        reminder_every = excluded.reminder_every, enabled = excluded.enabled, is_auto_configured = false,
        updated_at = now()
  returning d.* into v_row;
  return v_row;
end
$$;
comment on function private.configure_data_source_checked(uuid, text, numeric, numeric, numeric, numeric, boolean) is
  'Checked upsert of a shop''s data source settings (admin or service_role); called through public.configure_data_source.';
revoke execute on function private.configure_data_source_checked(uuid, text, numeric, numeric, numeric, numeric, boolean)
  from public, anon;
grant execute on function private.configure_data_source_checked(uuid, text, numeric, numeric, numeric, numeric, boolean)
  to authenticated, service_role;
