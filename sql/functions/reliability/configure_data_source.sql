-- configure_data_source: set a source's thresholds (hours), expected lag, reminder interval and
-- whether it is checked. Callable by authenticated (admin of the shop) and service_role.
-- Errors: 42501 not an admin, OD003 bad source name or thresholds.
create or replace function public.configure_data_source(
  p_shop_id uuid,
  p_source text,
  p_warn_after_hours numeric default null,
  p_error_after_hours numeric default null,
  p_expected_lag_hours numeric default null,
  p_reminder_every_hours numeric default null,
  p_enabled boolean default null
)
returns public.data_sources
language sql
volatile
set search_path = ''
as $$
  select * from private.configure_data_source_checked(
    p_shop_id, p_source, p_warn_after_hours, p_error_after_hours, p_expected_lag_hours, p_reminder_every_hours,
    p_enabled)
$$;
comment on function public.configure_data_source(uuid, text, numeric, numeric, numeric, numeric, boolean) is
  'Admins set a source''s warn/error thresholds, expected lag, reminder interval and enabled flag (NULL keeps).';
revoke execute on function public.configure_data_source(uuid, text, numeric, numeric, numeric, numeric, boolean)
  from public, anon;
grant execute on function public.configure_data_source(uuid, text, numeric, numeric, numeric, numeric, boolean)
  to authenticated, service_role;
