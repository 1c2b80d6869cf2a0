-- hours: a duration in hours, the unit of the freshness and recency checks and their thresholds.
create or replace function private.hours(p_duration interval)
returns numeric
language sql immutable
set search_path = ''
as $$ select extract(epoch from p_duration) / 3600 $$;
comment on function private.hours(interval) is 'A duration in (fractional) hours.';
revoke execute on function private.hours(interval) from public, anon;
grant execute on function private.hours(interval) to authenticated, service_role;
