-- format_hours: a duration in hours as a person would say it ("45 minutes", "26.5 hours", "3.2 days").
create or replace function private.format_hours(p_hours numeric)
returns text
language sql immutable
set search_path = ''
as $$
  select case
    when p_hours is null then 'unknown'
    when abs(p_hours) < 1 then round(p_hours * 60)::text || ' minutes'
    when abs(p_hours) < 72 then trim(to_char(round(p_hours, 1), 'FM999990.0')) || ' hours'
    else trim(to_char(round(p_hours / 24, 1), 'FM999990.0')) || ' days'
  end
$$;
comment on function private.format_hours(numeric) is 'Human-readable duration for messages.';
revoke execute on function private.format_hours(numeric) from public, anon;
grant execute on function private.format_hours(numeric) to authenticated, service_role;
