-- quality_status: the status of a measurement where higher is worse (ages, invalid fractions).
-- Strict `>` at both boundaries: exactly at a threshold is still the lower status. NULL is grey.
create or replace function private.quality_status(p_observed numeric, p_warn numeric, p_error numeric)
returns text
language sql immutable
set search_path = ''
as $$
  select case
    when p_observed is null then 'grey'
    when p_observed > p_error then 'red'
    when p_observed > p_warn then 'yellow'
    else 'green'
  end
$$;
comment on function private.quality_status(numeric, numeric, numeric) is
  'green when observed <= warn, yellow when warn < observed <= error, red when observed > error, grey when NULL.';
revoke execute on function private.quality_status(numeric, numeric, numeric) from public, anon;
grant execute on function private.quality_status(numeric, numeric, numeric) to authenticated, service_role;
